"""``kmslab serve`` over loopback with real boto3 clients and raw HTTP."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from datetime import UTC, datetime, timedelta

import boto3
import botocore.auth
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from kmslab.interop import server as server_module
from kmslab.interop.server import ServerThread

from interop_fakes import ALICE_KEY_ID, ALICE_SECRET, FakeLab

NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})


@pytest.fixture(scope="module")
def running():
    with_reset = ServerThread(FakeLab(), reset=FakeLab, admin_token="admin-secret",
                              client_timeout=0.5, max_body_bytes=64 * 1024,
                              regions=["us-east-1", "eu-west-1"])
    with_reset.start()
    yield with_reset
    with_reset.stop()


@pytest.fixture
def server(running):
    running.app.holder.lab = FakeLab()  # each test starts from a fresh lab
    return running


def client(server, key_id=ALICE_KEY_ID, secret=ALICE_SECRET, region="us-east-1"):
    return boto3.session.Session().client(
        "kms", endpoint_url=server.url, region_name=region, aws_access_key_id=key_id,
        aws_secret_access_key=secret, config=NO_RETRY)


def raw(server, body=b"{}", headers=None, method="POST", path="/"):
    conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, response.headers, data  # case-insensitive


def signed(server, target="TrentService.ListKeys", body=b"{}", key_id=ALICE_KEY_ID,
           secret=ALICE_SECRET, region="us-east-1", extra=None):
    request = AWSRequest("POST", server.url + "/", data=body, headers={
        "X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1", **(extra or {})})
    SigV4Auth(Credentials(key_id, secret), "kms", region).add_auth(request)
    return dict(request.headers.items())


def error_of(reply):
    status, headers, body = reply
    document = json.loads(body)
    assert headers["x-amzn-RequestId"]
    assert headers["x-amzn-ErrorType"].startswith(document["__type"])
    return status, document["__type"], document["message"]


def assert_still_serving(server):
    assert client(server).list_keys()["ResponseMetadata"]["HTTPStatusCode"] == 200


# ----------------------------------------------------------------- happy path

def test_real_boto3_client_round_trip(server):
    kms = client(server)
    meta = kms.create_key(Description="over http")["KeyMetadata"]
    assert meta["Description"] == "over http"
    assert meta["CreationDate"] == server.lab.clock.now()
    ct = kms.encrypt(KeyId=meta["KeyId"], Plaintext=b"\x00secret")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=ct)["Plaintext"] == b"\x00secret"
    pages = list(kms.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 1}))
    assert len(pages) == 1 and pages[0]["Keys"][0]["KeyId"] == meta["KeyId"]
    operation, params, region, caller = server.lab.calls[1]
    assert (operation, region, caller) == ("Encrypt", "us-east-1", server.lab.alice)
    assert params["Plaintext"] == b"\x00secret"


def test_region_comes_from_the_credential_scope(server):
    key_id = client(server, region="eu-west-1").create_key()["KeyMetadata"]["KeyId"]
    assert server.lab.calls[-1][2] == "eu-west-1"
    us = client(server)
    with pytest.raises(us.exceptions.NotFoundException):
        us.describe_key(KeyId=key_id)


def test_service_errors_are_client_errors(server):
    kms = client(server)
    with pytest.raises(kms.exceptions.NotFoundException) as caught:
        kms.describe_key(KeyId="alias/none")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_concurrent_clients(server):
    failures = []

    def work(n):
        try:
            kms = client(server)
            key_id = kms.create_key()["KeyMetadata"]["KeyId"]
            for i in range(5):
                data = f"{n}-{i}".encode()
                ct = kms.encrypt(KeyId=key_id, Plaintext=data)["CiphertextBlob"]
                assert kms.decrypt(CiphertextBlob=ct)["Plaintext"] == data
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert len(server.lab.keys) == 4


# ----------------------------------------------------------------- authentication

def test_missing_authentication(server):
    reply = raw(server, headers={"X-Amz-Target": "TrentService.ListKeys"})
    assert error_of(reply) == (400, "MissingAuthenticationTokenException", "Missing Authentication Token")


@pytest.mark.parametrize("authorization", [
    "AWS4-HMAC-SHA256 Credential=AKIAALICE00000000001/20250101/us-east-1/kms/aws4_request",
    "AWS4-HMAC-SHA256 garbage",
    "Basic dXNlcjpwYXNz",
    "AWS4-HMAC-SHA256 Credential=short, SignedHeaders=host, Signature=abc",
])
def test_malformed_authorization_is_incomplete_signature(server, authorization):
    headers = signed(server)
    headers["Authorization"] = authorization
    status, code, _message = error_of(raw(server, headers=headers))
    assert (status, code) == (400, "IncompleteSignature")
    assert_still_serving(server)


def test_missing_date_is_incomplete_signature(server):
    headers = signed(server)
    del headers["X-Amz-Date"]
    assert error_of(raw(server, headers=headers))[1] == "IncompleteSignature"


def test_unknown_access_key(server):
    kms = client(server, key_id="AKIANOBODY0000000000")
    with pytest.raises(kms.exceptions.ClientError) as caught:
        kms.list_keys()
    assert caught.value.response["Error"] == {
        "Code": "UnrecognizedClientException",
        "Message": "The security token included in the request is invalid."}


def test_wrong_secret(server):
    kms = client(server, secret="not-alices-secret")
    with pytest.raises(kms.exceptions.ClientError) as caught:
        kms.list_keys()
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidSignatureException"
    assert error["Message"].startswith(
        "The request signature we calculated does not match the signature you provided.")
    assert server.lab.calls == []


def test_tampered_body(server):
    headers = signed(server, target="TrentService.CreateKey", body=b'{"Description":"a"}')
    assert error_of(raw(server, b'{"Description":"b"}', headers))[1] == "InvalidSignatureException"
    assert server.lab.keys == {}


@pytest.mark.parametrize("skew, wording", [(-timedelta(minutes=6), "Signature expired: "),
                                           (timedelta(minutes=6), "Signature not yet current: ")])
def test_clock_skew(server, monkeypatch, skew, wording):
    real_now = botocore.auth.get_current_datetime
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: real_now() + skew)
    kms = client(server)
    with pytest.raises(kms.exceptions.ClientError) as caught:
        kms.list_keys()
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidSignatureException"
    assert error["Message"].startswith(wording)


def test_small_skew_is_accepted(server, monkeypatch):
    real_now = botocore.auth.get_current_datetime
    monkeypatch.setattr(botocore.auth, "get_current_datetime",
                        lambda: real_now() - timedelta(minutes=4))
    assert_still_serving(server)


def test_a_replayed_request_is_served_again_as_aws_does(server):
    # AWS accepts a signed request again while its X-Amz-Date is within 5 minutes;
    # the SigV4 module's docstring says so (and that TLS is what prevents capture).
    headers = signed(server, target="TrentService.CreateKey")
    assert raw(server, headers=headers)[0] == 200
    assert raw(server, headers=headers)[0] == 200
    assert len(server.lab.keys) == 2


def test_an_unsigned_target_is_refused(server):
    request = AWSRequest("POST", server.url + "/", data=b"{}", headers={
        "X-Amz-Target": "TrentService.ListKeys", "Content-Type": "application/x-amz-json-1.1"})

    class LeaveOutTarget(SigV4Auth):
        def headers_to_sign(self, request):
            headers = super().headers_to_sign(request)
            del headers["x-amz-target"]
            return headers

    LeaveOutTarget(Credentials(ALICE_KEY_ID, ALICE_SECRET), "kms", "us-east-1").add_auth(request)
    headers = dict(request.headers.items())
    headers["X-Amz-Target"] = "TrentService.CreateKey"  # changed after signing
    status, code, message = error_of(raw(server, headers=headers))
    assert (status, code) == (400, "InvalidSignatureException")
    assert "not signed: x-amz-target" in message
    assert server.lab.calls == []


@pytest.mark.parametrize("content_type", [None, "application/json", "text/plain",
                                          "application/x-amz-json-1.0"])
def test_a_wrong_content_type_names_no_operation(server, content_type):
    extra = {"Content-Type": content_type} if content_type else {}
    request = AWSRequest("POST", server.url + "/", data=b"{}", headers={
        "X-Amz-Target": "TrentService.CreateKey", **extra})
    SigV4Auth(Credentials(ALICE_KEY_ID, ALICE_SECRET), "kms", "us-east-1").add_auth(request)
    status, code, message = error_of(raw(server, headers=dict(request.headers.items())))
    assert (status, code) == (400, "UnknownOperationException")
    assert "application/x-amz-json-1.1" in message
    assert server.lab.calls == []


def test_content_type_parameters_are_ignored(server):
    # Smithy's protocol test AwsJson11MustSupportParametersInContentType
    headers = signed(server, extra={"Content-Type": "application/x-amz-json-1.1; charset=utf-8"})
    assert raw(server, headers=headers)[0] == 200


def test_a_repeated_target_names_no_operation(server):
    conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
    headers = signed(server)
    conn.putrequest("POST", "/", skip_accept_encoding=True)
    for name, value in headers.items():
        conn.putheader(name, value)
    conn.putheader("X-Amz-Target", "TrentService.CreateKey")  # a second one, added on the way
    conn.putheader("Content-Length", "2")
    conn.endheaders(b"{}")
    response = conn.getresponse()
    document = json.loads(response.read())
    conn.close()
    assert response.status == 400
    assert document["__type"] == "InvalidSignatureException"  # the signature covers one target
    assert server.lab.calls == []


def test_identical_sdk_calls_in_the_same_second_are_not_replays(server):
    kms = client(server)
    for _ in range(3):  # identical requests, signed within the same second
        assert kms.list_keys()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_region_outside_the_lab(server):
    kms = client(server, region="ap-south-1")
    with pytest.raises(kms.exceptions.ClientError) as caught:
        kms.list_keys()
    assert caught.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert "valid region" in caught.value.response["Error"]["Message"]


def test_accept_any_signature_selects_principal():
    lab = FakeLab()
    with ServerThread(lab, accept_any_signature=True) as url:
        for key_id in (ALICE_KEY_ID, "AKIAUNKNOWN000000000"):
            boto3.session.Session().client(
                "kms", endpoint_url=url, region_name="eu-west-1", aws_access_key_id=key_id,
                aws_secret_access_key="wrong", config=NO_RETRY).list_keys()
    assert [c[3].name for c in lab.calls] == ["alice", "root"]
    assert [c[2] for c in lab.calls] == ["eu-west-1", "eu-west-1"]


# ----------------------------------------------------------------- bad input

@pytest.mark.parametrize("target, body, code", [
    ("TrentService.NoSuchOperation", b"{}", "UnknownOperationException"),
    ("TrentService.Encrypt", b"{not json", "SerializationException"),
    ("TrentService.Encrypt", b'{"KeyId": 1, "Plaintext": "AA=="}', "SerializationException"),
    ("TrentService.Encrypt", b'{"KeyId": "k", "Plaintext": "%%%"}', "SerializationException"),
    ("TrentService.Encrypt", b"\xff\xfe\x00", "SerializationException"),
    ("TrentService.GenerateRandom", b'{"NumberOfBytes": 1e400}', "SerializationException"),
    ("TrentService.ListKeys", b'{"Limit": -1e400}', "SerializationException"),
])
def test_bad_requests_get_aws_errors(server, target, body, code):
    headers = signed(server, target=target, body=body)
    status, got, _ = error_of(raw(server, body, headers))
    assert (status, got) == (400, code)
    assert server.lab.calls == []
    assert_still_serving(server)


def test_oversize_body_declared(server):
    body = b'{"Plaintext":"' + b"A" * (70 * 1024) + b'"}'
    headers = signed(server, target="TrentService.Encrypt", body=body)
    status, code, _ = error_of(raw(server, body, headers))
    assert (status, code) == (413, "RequestEntityTooLargeException")
    assert_still_serving(server)


def test_oversize_body_is_read_to_its_end_and_the_connection_stays_usable(server):
    """A client sends its whole body before it reads the answer (boto3 does): the 413 is
    answered after the body, so the connection is not reset under the client and serves the
    next request."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
    for _ in range(2):
        body = b'{"Plaintext":"' + b"A" * (200 * 1024) + b'"}'
        conn.request("POST", "/", body=body,
                     headers=signed(server, target="TrentService.Encrypt", body=body))
        response = conn.getresponse()
        assert response.status == 413
        assert json.loads(response.read())["__type"] == "RequestEntityTooLargeException"
    conn.request("POST", "/", body=b"{}", headers=signed(server))
    response = conn.getresponse()
    assert response.status == 200 and "Keys" in json.loads(response.read())
    conn.close()


def test_a_body_far_over_the_cap_is_refused_without_being_read(server):
    size = (server_module.DRAIN_FACTOR + 1) * 64 * 1024 + 1
    sock = socket.create_connection((server.host, server.port), timeout=5)
    sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: TrentService.Encrypt\r\n"
                 b"Content-Length: " + str(size).encode() + b"\r\n\r\n{")
    answer = sock.recv(65536)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 413")
    assert_still_serving(server)


def test_oversize_body_chunked(server):
    conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
    conn.request("POST", "/", body=iter([b"{" + b" " * 8192] * 10), encode_chunked=True,
                 headers={"X-Amz-Target": "TrentService.Encrypt"})
    response = conn.getresponse()
    assert response.status == 413
    assert json.loads(response.read())["__type"] == "RequestEntityTooLargeException"
    conn.close()
    assert_still_serving(server)


def test_slow_body_times_out(server):
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        reply = sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 408")
    assert b"RequestTimeoutException" in reply
    assert_still_serving(server)


def test_slow_request_head_is_cut_off(server):
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
        assert sock.recv(65536) == b""  # closed by the server after client_timeout
    assert_still_serving(server)


def test_garbage_http_is_survived(server):
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
        sock.recv(65536)
    assert_still_serving(server)


def test_backend_crash_is_internal_error(server, monkeypatch):
    monkeypatch.setattr(FakeLab, "_ListKeys", lambda *a: 1 / 0)
    headers = signed(server)
    status, code, _ = error_of(raw(server, headers=headers))
    assert (status, code) == (500, "KMSInternalException")
    monkeypatch.undo()
    assert_still_serving(server)


def test_wrong_method_or_path(server):
    assert error_of(raw(server, method="GET", body=None))[1] == "UnknownOperationException"
    assert error_of(raw(server, path="/other", headers=signed(server)))[1] == \
        "UnknownOperationException"


# ----------------------------------------------------------------- admin

def test_health_needs_no_auth(server):
    status, _, body = raw(server, method="GET", path="/_kmslab/health", body=None)
    assert (status, json.loads(body)["status"]) == (200, "ok")


@pytest.mark.parametrize("path", ["/_kmslab/reset", "/_kmslab/clock/advance"])
@pytest.mark.parametrize("token", [None, "Bearer wrong", "admin-secret"])
def test_admin_needs_the_token(server, path, token):
    before = server.lab
    status, _, body = raw(server, path=path, body=b'{"days": 1}',
                          headers={"Authorization": token} if token else {})
    assert status == 403
    assert json.loads(body)["__type"] == "AccessDeniedException"
    assert server.lab is before and server.lab.clock.now() == datetime(2025, 1, 1, 9, tzinfo=UTC)


def test_clock_advance(server):
    start = server.lab.clock.now()
    status, _, body = raw(server, path="/_kmslab/clock/advance", body=b'{"days": 2, "hours": 3}',
                          headers={"Authorization": "Bearer admin-secret"})
    assert status == 200
    assert server.lab.clock.now() == start + timedelta(days=2, hours=3)
    assert json.loads(body)["now"] == server.lab.clock.now().isoformat()


@pytest.mark.parametrize("body", [b'{"days": -1}', b'{"weeks": 1}', b'{"days": "1"}', b"[1]", b"{"])
def test_clock_advance_rejects_bad_input(server, body):
    start = server.lab.clock.now()
    status, _, _ = raw(server, path="/_kmslab/clock/advance", body=body,
                       headers={"Authorization": "Bearer admin-secret"})
    assert status == 400
    assert server.lab.clock.now() == start


def test_reset_gives_a_fresh_lab(server):
    client(server).create_key()
    old = server.lab
    status, _, _ = raw(server, path="/_kmslab/reset", headers={"Authorization": "Bearer admin-secret"})
    assert status == 200
    assert server.lab is not old and server.lab.keys == {}
    assert client(server).list_keys()["Keys"] == []
