"""SigV4 verification on its own: AWS's wording, a fixed wall clock, botocore-signed requests."""

from __future__ import annotations

from datetime import UTC, datetime
from unittest import mock

import botocore.auth
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from kmslab import errors
from kmslab.interop.sigv4 import SigV4Verifier, parse_authorization

from interop_fakes import ALICE_KEY_ID, ALICE_SECRET, FakeLab

SIGNED_AT = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
BODY = b'{"KeyId":"alias/x","Plaintext":"aGk="}'


class _SignerLeavingOut(SigV4Auth):
    """botocore's signer, leaving some headers out of SignedHeaders."""

    def __init__(self, *args, leave_out=()):
        super().__init__(*args)
        self.leave_out = leave_out

    def headers_to_sign(self, request):
        headers = super().headers_to_sign(request)
        for name in self.leave_out:
            del headers[name]
        return headers


def botocore_signed(secret=ALICE_SECRET, region="us-east-1", headers=None, leave_out=()):
    request = AWSRequest("POST", "http://127.0.0.1:4599/", data=BODY, headers={
        "X-Amz-Target": "TrentService.Encrypt", "Content-Type": "application/x-amz-json-1.1",
        **(headers or {})})
    with mock.patch.object(botocore.auth, "get_current_datetime",
                           lambda: SIGNED_AT.replace(tzinfo=None)):
        _SignerLeavingOut(Credentials(ALICE_KEY_ID, secret), "kms", region,
                          leave_out=leave_out).add_auth(request)
    request.headers["Host"] = "127.0.0.1:4599"
    return [(k.lower(), v) for k, v in request.headers.items()]


def verifier(now=SIGNED_AT, accept_any=False):
    lab = FakeLab()
    return SigV4Verifier(lab.authenticate, lambda r: r in lab.regions,
                         lambda: lab.regions[0], lambda: lab.default_account,
                         accept_any_signature=accept_any, wall_clock=lambda: now.timestamp()), lab


def test_botocore_signature_verifies():
    check, lab = verifier()
    who = check.verify("POST", "/", "", botocore_signed(), BODY)
    assert (who.principal, who.region, who.access_key_id) == (lab.alice, "us-east-1", ALICE_KEY_ID)


def test_expired_wording():
    check, _ = verifier(now=SIGNED_AT.replace(minute=6))
    with pytest.raises(errors.InvalidSignatureException) as caught:
        check.verify("POST", "/", "", botocore_signed(), BODY)
    assert caught.value.message == ("Signature expired: 20250601T120000Z is now earlier than "
                                    "20250601T120100Z (20250601T120600Z - 5 min.)")


def test_not_yet_current_wording():
    check, _ = verifier(now=SIGNED_AT.replace(hour=11, minute=50))
    with pytest.raises(errors.InvalidSignatureException) as caught:
        check.verify("POST", "/", "", botocore_signed(), BODY)
    assert caught.value.message == ("Signature not yet current: 20250601T120000Z is still later "
                                    "than 20250601T115500Z (20250601T115000Z + 5 min.)")


def test_at_the_edge_of_the_window_is_accepted():
    check, lab = verifier(now=SIGNED_AT.replace(minute=5))
    assert check.verify("POST", "/", "", botocore_signed(), BODY).principal == lab.alice


def test_any_signed_header_changed_breaks_the_signature():
    check, _ = verifier()
    headers = [(k, "TrentService.Decrypt" if k == "x-amz-target" else v)
               for k, v in botocore_signed()]
    with pytest.raises(errors.InvalidSignatureException):
        check.verify("POST", "/", "", headers, BODY)


def test_unsigned_headers_may_change():
    check, lab = verifier()
    who = check.verify("POST", "/", "", botocore_signed() + [("user-agent", "anything")], BODY)
    assert who.principal == lab.alice


@pytest.mark.parametrize("leave_out", [("x-amz-target",), ("content-type",),
                                       ("content-type", "x-amz-target")])
def test_target_and_content_type_must_be_signed(leave_out):
    check, _ = verifier()
    headers = botocore_signed(leave_out=leave_out)
    assert all(name not in parse_authorization(dict(headers)["authorization"]).signed_headers
               for name in leave_out)
    with pytest.raises(errors.InvalidSignatureException) as caught:
        check.verify("POST", "/", "", headers, BODY)
    assert caught.value.message.startswith(
        f"There were headers present in the request which were not signed: {', '.join(leave_out)}.")
    # so a target nobody signed cannot be swapped in on the way
    swapped = [(k, "TrentService.ScheduleKeyDeletion" if k == "x-amz-target" else v)
               for k, v in headers]
    with pytest.raises(errors.InvalidSignatureException):
        check.verify("POST", "/", "", swapped, BODY)


def test_a_request_without_those_headers_needs_no_signature_of_them():
    check, lab = verifier()
    request = AWSRequest("POST", "http://127.0.0.1:4599/", data=BODY, headers={})
    with mock.patch.object(botocore.auth, "get_current_datetime",
                           lambda: SIGNED_AT.replace(tzinfo=None)):
        SigV4Auth(Credentials(ALICE_KEY_ID, ALICE_SECRET), "kms", "us-east-1").add_auth(request)
    request.headers["Host"] = "127.0.0.1:4599"
    verified = check.verify("POST", "/", "", [(k.lower(), v) for k, v in request.headers.items()], BODY)
    assert verified.principal == lab.alice


def test_a_replay_is_accepted_within_the_window_as_aws_does():
    now = [SIGNED_AT]
    lab = FakeLab()
    check = SigV4Verifier(lab.authenticate, lambda r: r in lab.regions, lambda: lab.regions[0],
                          lambda: lab.default_account, wall_clock=lambda: now[0].timestamp())
    headers = botocore_signed()
    for minute in (0, 1, 4):
        now[0] = SIGNED_AT.replace(minute=minute)
        assert check.verify("POST", "/", "", headers, BODY).principal == lab.alice
    now[0] = SIGNED_AT.replace(minute=6)
    with pytest.raises(errors.InvalidSignatureException, match="Signature expired"):
        check.verify("POST", "/", "", headers, BODY)


def test_payload_hash_header_must_match_the_body():
    check, _ = verifier()
    headers = botocore_signed(headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    with pytest.raises(errors.InvalidSignatureException):
        check.verify("POST", "/", "", headers, BODY)


def test_scope_checks():
    check, _ = verifier()
    with pytest.raises(errors.InvalidSignatureException, match="valid region"):
        check.verify("POST", "/", "", botocore_signed(region="sa-east-1"), BODY)
    bad_service = [(k, v.replace("/kms/", "/s3/")) for k, v in botocore_signed()]
    with pytest.raises(errors.InvalidSignatureException, match="correct service: 'kms'"):
        check.verify("POST", "/", "", bad_service, BODY)


@pytest.mark.parametrize("header, error", [
    (None, errors.MissingAuthenticationTokenException),
    ("", errors.MissingAuthenticationTokenException),
    ("AWS4-HMAC-SHA256", errors.IncompleteSignature),
    ("AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request, SignedHeaders=host", errors.IncompleteSignature),
    ("AWS4-HMAC-SHA256 Credential=a/b/c/d, SignedHeaders=host, Signature=x", errors.IncompleteSignature),
    ("AWS3 Credential=a/b/c/d/aws4_request, SignedHeaders=host, Signature=x", errors.IncompleteSignature),
])
def test_parse_authorization_errors(header, error):
    with pytest.raises(error):
        parse_authorization(header)


def test_parse_authorization_parts():
    auth = parse_authorization("AWS4-HMAC-SHA256 Credential=AKIA1/20250601/eu-west-1/kms/aws4_request,"
                               " SignedHeaders=host;x-amz-date, Signature=abc123")
    assert (auth.access_key_id, auth.date, auth.region, auth.service) == \
        ("AKIA1", "20250601", "eu-west-1", "kms")
    assert auth.signed_headers == ("host", "x-amz-date") and auth.signature == "abc123"
