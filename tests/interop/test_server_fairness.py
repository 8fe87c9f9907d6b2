"""``kmslab serve`` stays fair: bounded request heads, a connection cap per client, slow calls
that hold up nobody else, and AWS JSON for every refusal, whichever HTTP parser uvicorn uses."""

from __future__ import annotations

import dataclasses
import json
import re
import socket
import threading
from contextlib import contextmanager

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import kmslab
from kmslab.interop.connections import MAX_HEAD_BYTES
from kmslab.interop.server import ConnectionLimits, ServerThread
from kmslab.service import registry

from interop_fakes import ALICE_KEY_ID, ALICE_SECRET, FakeLab

NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})
PARSERS = ["h11", "httptools"]
WAIT = 30
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ALL_KMS = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}'


@contextmanager
def serving(lab, **options):
    server = ServerThread(lab, **options)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def fake_client(server):
    return boto3.session.Session().client(
        "kms", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id=ALICE_KEY_ID,
        aws_secret_access_key=ALICE_SECRET, config=NO_RETRY)


def lab_client(server, lab, user):
    key = lab.iam.create_access_key(lab.iam.user(lab.default_account, user))
    return boto3.session.Session().client(
        "kms", endpoint_url=server.url, region_name=lab.default_region,
        aws_access_key_id=key.access_key_id, aws_secret_access_key=key.secret, config=NO_RETRY)


def read_reply(sock) -> bytes:
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def json_error(reply: bytes) -> tuple[int, str, dict]:
    head, _, body = reply.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    document = json.loads(body)
    headers = {name.lower(): value for name, value in
               (line.split(b": ", 1) for line in head.split(b"\r\n")[1:])}
    assert UUID.match(headers[b"x-amzn-requestid"].decode())
    assert headers[b"content-type"] == b"application/x-amz-json-1.1"
    assert headers[b"connection"] == b"close"
    return status, document["__type"], document


@pytest.fixture(params=PARSERS)
def parser(request):
    if request.param == "httptools":
        pytest.importorskip("httptools")
    return request.param


# ----------------------------------------------------------------- request heads

def test_a_request_head_over_the_limit_is_refused_in_aws_json(parser):
    with serving(FakeLab(), http_parser=parser) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (MAX_HEAD_BYTES + 1024))
            reply = read_reply(sock)
        status, code, document = json_error(reply)
        assert (status, code) == (400, "RequestHeaderSectionTooLarge")
        assert str(MAX_HEAD_BYTES) in document["message"]


def test_a_100_mb_header_is_cut_off_early(parser):
    with serving(FakeLab(), http_parser=parser) as server:
        sent = 0
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Big: ")
            chunk = b"a" * 65536
            try:
                while sent < 100 * 1024 * 1024:
                    sock.sendall(chunk)
                    sent += len(chunk)
            except OSError:  # the server closed the connection
                pass
        assert sent < 16 * 1024 * 1024  # of 100 MB; the rest never left the client
        assert fake_client(server).list_keys()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_a_head_within_the_limit_is_served(parser):
    with serving(FakeLab(), http_parser=parser) as server:
        kms = fake_client(server)
        padding = "p" * (MAX_HEAD_BYTES - 4096)  # an unsigned header: the head is ~14 KiB
        kms.meta.events.register("before-send.kms.ListKeys",
                                 lambda request, **_: request.headers.__setitem__("X-Padding", padding))
        assert kms.list_keys()["ResponseMetadata"]["HTTPStatusCode"] == 200


# ----------------------------------------------------------------- connections per client

def _slow_heads(port: int, count: int, source: str) -> list[socket.socket]:
    try:
        with socket.socket() as probe:
            probe.bind((source, 0))
    except OSError:
        pytest.skip(f"{source} is not a loopback address here (Linux routes all of 127/8)")
    socks = []
    for _ in range(count):
        sock = socket.socket()
        sock.bind((source, 0))
        sock.settimeout(10)
        sock.connect(("127.0.0.1", port))
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")  # and nothing more, for now
        socks.append(sock)
    return socks


def test_600_slow_heads_from_one_address_leave_the_others_served(parser):
    with serving(FakeLab(), http_parser=parser, client_timeout=5) as server:
        hog = _slow_heads(server.port, 600, "127.0.0.2")
        try:
            # a connection beyond the cap gets an AWS JSON refusal once its head arrives
            hog[-1].sendall(b"Content-Length: 2\r\n\r\n{}")
            status, code, document = json_error(read_reply(hog[-1]))
            assert (status, code) == (400, "ThrottlingException")
            assert "127.0.0.2" in document["message"] and "64" in document["message"]
            # every other learner is served as usual meanwhile
            results = []

            def learner():
                kms = fake_client(server)
                results.append([kms.list_keys()["ResponseMetadata"]["HTTPStatusCode"]
                                for _ in range(5)])

            threads = [threading.Thread(target=learner) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(WAIT)
            assert results == [[200] * 5] * 8
        finally:
            for sock in hog:
                sock.close()


def test_a_client_over_its_cap_is_throttled_until_it_closes_connections(parser):
    with serving(FakeLab(), http_parser=parser, limits=ConnectionLimits(per_client=2)) as server:
        idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(2)]
        kms = fake_client(server)
        with pytest.raises(kms.exceptions.ClientError) as caught:
            kms.list_keys()
        error = caught.value.response["Error"]
        assert error["Code"] == "ThrottlingException"
        assert "a client may hold 2 at a time" in error["Message"]
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        for sock in idle:
            sock.close()
        for _ in range(100):  # the server notices the closed connections
            try:
                assert fake_client(server).list_keys()["ResponseMetadata"]["HTTPStatusCode"] == 200
                break
            except ClientError:
                threading.Event().wait(0.05)
        else:
            raise AssertionError("still throttled after the idle connections closed")


def test_the_limits_count_and_release_connections():
    limits = ConnectionLimits(per_client=1, total=2)
    a = limits.opened(("10.0.0.1", 1000))
    assert limits.refusal(("10.0.0.1", 1000)) is None
    b = limits.opened(("10.0.0.1", 1001))
    assert "a client may hold 1" in limits.refusal(("10.0.0.1", 1001)).message
    c = limits.opened(("10.0.0.2", 1000))
    assert "limit of 2 connections" in limits.refusal(("10.0.0.2", 1000)).message
    assert limits.head_deadline(b, 10.0) == 1.0 and limits.head_deadline(a, 10.0) == 10.0
    for peer in (a, b, c):
        limits.closed(peer)
    assert limits.open_connections == 0 and not limits.by_address
    assert limits.opened(None) is None and limits.opened("/tmp/socket") is None


# ----------------------------------------------------------------- slow calls

def test_an_rsa_key_pair_in_the_making_holds_up_no_other_learner(held_keygen):
    started, release, _calls = held_keygen
    lab = kmslab.Lab(seed=11)
    for user in ("alice", "bob"):
        lab.add_user(user, ALL_KMS)
    with serving(lab) as server:
        alice, bob = lab_client(server, lab, "alice"), lab_client(server, lab, "bob")
        key = alice.create_key()["KeyMetadata"]["KeyId"]
        result = {}
        thread = threading.Thread(target=lambda: result.update(
            alice.generate_data_key_pair(KeyId=key, KeyPairSpec="RSA_2048")))
        thread.start()
        assert started.wait(WAIT)
        # while alice's prime search is held, bob's calls and the server answer at once
        assert bob.list_keys()["Keys"] == [{"KeyId": key, "KeyArn": lab.key_arn(key)}]
        assert bob.encrypt(KeyId=key, Plaintext=b"x")["KeyId"].endswith(key)
        assert "PublicKey" not in result
        release.set()
        thread.join(WAIT)
        assert result["KeyPairSpec"] == "RSA_2048"


# ----------------------------------------------------------------- unexpected errors

def _boom(call, params):
    raise ZeroDivisionError("a bug")


@pytest.mark.parametrize("lab_kind", ["lab", "fake"])
def test_an_unexpected_exception_is_kms_internal_exception_with_a_request_id(monkeypatch, lab_kind):
    if lab_kind == "lab":  # served on the event loop (the lab's lock is free)
        lab = kmslab.Lab(seed=12)
        lab.add_user("alice", ALL_KMS)
        monkeypatch.setitem(registry.OPERATIONS, "ListKeys",
                            dataclasses.replace(registry.OPERATIONS["ListKeys"], handler=_boom))
    else:  # served in a worker thread (a lab without a lock)
        lab = FakeLab()
        monkeypatch.setattr(FakeLab, "_ListKeys", lambda *a: 1 / 0)
    with serving(lab) as server:
        kms = lab_client(server, lab, "alice") if lab_kind == "lab" else fake_client(server)
        with pytest.raises(kms.exceptions.KMSInternalException) as caught:
            kms.list_keys()
        metadata = caught.value.response["ResponseMetadata"]
        assert metadata["HTTPStatusCode"] == 500
        assert metadata["RequestId"] and metadata["RequestId"] == metadata["HTTPHeaders"]["x-amzn-requestid"]
        assert "ZeroDivisionError" not in str(caught.value)  # the bug stays in the server's log
        monkeypatch.undo()
        if lab_kind == "lab":
            lab.add_user("carol", ALL_KMS)
            assert lab_client(server, lab, "carol").list_keys()["Keys"] == []
        else:
            assert fake_client(server).list_keys()["Keys"] == []
