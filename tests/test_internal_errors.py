"""A failure inside kmslab is a bug, but the caller still gets an AWS answer and the trail a record.

Any exception that is not a KMS error, escaping a handler or any step of the pipeline (the
slow work before the lab's lock included), becomes ``KMSInternalException`` (HTTP 500, the
API Reference's message) with the request's id, audited like every failed call; over HTTP it
is an AWS JSON error, never a traceback.
"""

import dataclasses
import json
import urllib.request

import pytest

import kmslab
from kmslab import errors
from kmslab.interop import boto3_client
from kmslab.service.registry import ROUTES

LAB_SEED = 41
INTERNAL = ("The request was rejected because an internal exception occurred. "
            "The request can be retried.")


def _break(monkeypatch, operation, **replacements):
    monkeypatch.setitem(ROUTES, operation, dataclasses.replace(ROUTES[operation], **replacements))


def _boom(*_args):
    raise RuntimeError("a bug")


def _last(lab):
    return lab.audit.records()[-1]


def test_a_failing_handler_is_an_audited_internal_error(lab, kms, monkeypatch):
    _break(monkeypatch, "ListKeys", handler=_boom)
    with pytest.raises(errors.KMSInternalException) as info:
        kms.list_keys()
    err = info.value
    assert err.message == INTERNAL and err.status == 500
    assert isinstance(err.__cause__, RuntimeError)
    assert "RuntimeError" in err.explanation and "ListKeys" in err.explanation
    record = _last(lab)
    assert record["eventName"] == "ListKeys" and record["errorCode"] == "KMSInternalException"
    assert record["errorMessage"] == INTERNAL and record["requestID"] == err.request_id != ""
    monkeypatch.undo()  # the same call, working: no internal error, a normal record
    assert kms.list_keys()["Keys"] == [] and "errorCode" not in _last(lab)


def test_a_failure_before_the_lock_is_audited_too(lab, kms, key_id, monkeypatch):
    """GenerateDataKeyPair makes its key pair before the lab's lock is taken."""
    _break(monkeypatch, "GenerateDataKeyPair", prepare=_boom)
    before = len(lab.audit)
    with pytest.raises(errors.KMSInternalException) as info:
        kms.generate_data_key_pair(KeyId=key_id, KeyPairSpec="ECC_NIST_P256")
    assert len(lab.audit) == before + 1
    record = _last(lab)
    assert record["eventName"] == "GenerateDataKeyPair"
    assert record["errorCode"] == "KMSInternalException"
    assert record["requestID"] == info.value.request_id


def test_a_kms_error_before_the_lock_keeps_its_code(lab, kms, key_id, monkeypatch):
    def refuse(_request):
        raise errors.ValidationException("refused early")
    _break(monkeypatch, "GenerateDataKeyPair", prepare=refuse)
    with pytest.raises(errors.ValidationException, match="refused early"):
        kms.generate_data_key_pair(KeyId=key_id, KeyPairSpec="ECC_NIST_P256")
    assert _last(lab)["errorCode"] == "ValidationException"


def test_the_boto3_adapter_answers_a_bug_as_aws_does(lab, monkeypatch):
    _break(monkeypatch, "ListKeys", handler=_boom)
    client = boto3_client(lab)
    with pytest.raises(client.exceptions.KMSInternalException) as info:
        client.list_keys()
    assert info.value.response["Error"]["Message"] == INTERNAL
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert _last(lab)["requestID"] == info.value.response["ResponseMetadata"]["RequestId"]


def test_over_http_a_bug_is_an_aws_json_error_with_the_audited_request_id(monkeypatch):
    from kmslab.interop.server import ServerThread
    lab = kmslab.Lab(seed=LAB_SEED)
    _break(monkeypatch, "ListKeys", handler=_boom)
    with ServerThread(lab, accept_any_signature=True) as endpoint:
        request = urllib.request.Request(
            endpoint + "/", data=b"{}", method="POST",
            headers={"X-Amz-Target": "TrentService.ListKeys",
                     "Content-Type": "application/x-amz-json-1.1",
                     "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAANY/20250101/us-east-1/kms/"
                                      "aws4_request, SignedHeaders=host, Signature=00"})
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request, timeout=5)
    reply = info.value
    assert reply.code == 500
    assert json.loads(reply.read()) == {"__type": "KMSInternalException", "message": INTERNAL}
    assert reply.headers["x-amzn-RequestId"] == _last(lab)["requestID"]
    assert _last(lab)["errorCode"] == "KMSInternalException"
