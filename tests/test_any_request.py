"""Any request, valid or not, gets an AWS answer and leaves exactly one audit record.

Hypothesis drives random operations with random, partly invalid parameters, generated from
botocore's KMS shapes, through ``lab.client()``: keys of every usage (and their ARNs and
aliases, and ids of no key), ciphertexts (real, forged, truncated, random), encryption
contexts with text UTF-8 cannot carry or very long values, wrong types, unknown members.
Only KMS errors may escape, never KMSInternalException (a bug in kmslab), and each call
records exactly one AwsApiCall event, whose request id is the call's.

RSA key generation takes a good part of a second, so generated requests ask for elliptic
curve and symmetric keys and key pairs (the RSA paths have their own tests); every example
starts from a fresh lab, so a failure replays exactly.
"""

from __future__ import annotations

from datetime import timedelta

import botocore.session
import pytest
from botocore import xform_name
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kmslab
from kmslab import errors
from kmslab.service.registry import ROUTES

MODEL = botocore.session.get_session().get_service_model("kms")
OPERATIONS = sorted(ROUTES)
ACCOUNT = "111122223333"
SLOW_SPECS = ("RSA_2048", "RSA_3072", "RSA_4096")  # key generation: a second each
KEY_MEMBERS = {"KeyId", "DestinationKeyId", "SourceKeyId", "TargetKeyId"}
CONTEXT_MEMBERS = {"EncryptionContext", "SourceEncryptionContext", "DestinationEncryptionContext",
                   "EncryptionContextEquals", "EncryptionContextSubset"}


# ------------------------------------------------------------------ the world of one example
class World:
    """A fresh lab with a key of every cheap kind, in several states, and ciphertexts."""

    def __init__(self):
        self.lab = kmslab.Lab(seed=3)
        kms = self.kms = self.lab.client()

        def make(**params):
            return kms.create_key(**params)["KeyMetadata"]

        self.keys = {
            "symmetric": make(), "hmac": make(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC"),
            "sign": make(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY"),
            "agree": make(KeySpec="ECC_NIST_P256", KeyUsage="KEY_AGREEMENT"),
            "multi-region": make(MultiRegion=True), "external": make(Origin="EXTERNAL"),
            "disabled": make(), "pending-deletion": make(),
        }
        kms.disable_key(KeyId=self.keys["disabled"]["KeyId"])
        kms.schedule_key_deletion(KeyId=self.keys["pending-deletion"]["KeyId"], PendingWindowInDays=7)
        kms.create_alias(AliasName="alias/app", TargetKeyId=self.keys["symmetric"]["KeyId"])
        sym = self.keys["symmetric"]["KeyId"]
        blob = kms.encrypt(KeyId=sym, Plaintext=b"secret", EncryptionContext={"a": "b"})["CiphertextBlob"]
        hmac_arn = self.keys["hmac"]["Arn"].encode()
        arn_length = blob[1]
        self.blobs = [
            blob, blob[:40], blob[:-1] + bytes([blob[-1] ^ 1]),
            bytes((1, len(hmac_arn))) + hmac_arn + blob[2 + arn_length:],  # names the HMAC key
            blob.replace(sym.encode(), b"00000000-0000-0000-0000-000000000000"),  # no such key
            kms.encrypt(KeyId=self.keys["multi-region"]["KeyId"], Plaintext=b"m")["CiphertextBlob"],
        ]
        self.identifiers = ["alias/app", "alias/none", "alias/aws/s3", "nope",
                            "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                            "1234abcd-12ab-34cd-56ef-1234567890ab", f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/app"]
        for meta in self.keys.values():
            self.identifiers += [meta["KeyId"], meta["Arn"]]
        self.audit_length = len(self.lab.audit)


# ------------------------------------------------------------------ values from shapes
LONE_SURROGATES = st.sampled_from(["\ud800", "\udfff", "a\udc80b"])
TEXT = st.one_of(
    st.text(max_size=12),
    st.text(st.characters(codec=None, exclude_categories=()), max_size=8),  # surrogates too
    LONE_SURROGATES,
    st.builds(lambda c, n: c * n, st.sampled_from("xé🔐"), st.sampled_from([65_535, 65_536, 70_000])),
)
WRONG_TYPE = st.sampled_from([None, 0, -1, 1.5, True, "", "x", b"x", [], {}, {"x": 1}, ["x"]])
WORD = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)


def _mostly(*weighted):
    """``st.one_of`` with weights: ``(weight, strategy), ...``."""
    return st.one_of(*[strategy for weight, strategy in weighted for _ in range(weight)])


def _context():
    """Encryption contexts: ordinary ones, and the edges (text UTF-8 cannot carry, a value or a
    key longer than 65,535 bytes, more pairs than that, grant constraints' 8 pairs and 384
    characters)."""
    ordinary = st.dictionaries(st.sampled_from("abc"), st.sampled_from(["b", "x", "é"]), max_size=2)
    surrogates = st.dictionaries(_mostly((1, LONE_SURROGATES), (1, WORD)), LONE_SURROGATES,
                                 min_size=1, max_size=2)
    many = st.builds(lambda n: {f"k{i}": "v" for i in range(n)}, st.sampled_from([8, 9, 70_000]))
    long_ = st.sampled_from([{"k": "v" * 385}, {"k": "v" * 70_000}, {"k" * 65_536: "v"}])
    return _mostly((6, ordinary), (2, surrogates), (1, many), (1, long_),
                   (1, st.dictionaries(TEXT, TEXT, max_size=3)))


def _text_for(shape):
    meta = shape.metadata
    lo, hi = meta.get("min", 0), min(meta.get("max", 20), 20)
    pattern = meta.get("pattern")
    if pattern:
        try:
            return st.from_regex(pattern, fullmatch=True).filter(lambda v: lo <= len(v) <= meta.get("max", 10**6))
        except Exception:  # noqa: BLE001 - a pattern Python's re does not read
            pass
    return st.text(min_size=lo, max_size=max(lo, hi))


def _valid(shape, name: str, world: World, depth: int = 0):
    """A value the model accepts for the member (most of the time; contexts test the edges)."""
    t, meta = shape.type_name, shape.metadata
    if name in KEY_MEMBERS and t == "string":
        return st.sampled_from(world.identifiers)
    if name == "CiphertextBlob":
        return st.sampled_from(world.blobs)
    if name in CONTEXT_MEMBERS:
        return _context()
    if t == "string":
        enum = [e for e in (shape.enum or []) if e not in SLOW_SPECS]
        return st.sampled_from(enum) if enum else _text_for(shape)
    if t == "blob":
        lo = max(meta.get("min", 1), 1)
        return st.binary(min_size=lo, max_size=max(lo, min(meta.get("max", 64), 64)))
    if t in ("integer", "long"):
        lo = meta.get("min", 0)
        return st.integers(lo, min(meta.get("max", lo + 1000), lo + 1000))
    if t == "boolean":
        return _mostly((3, st.just(False)), (1, st.just(True)))
    if t == "timestamp":
        return st.integers(-2, 400).map(lambda days: world.lab.clock.now() + timedelta(days=days))
    if t == "list":
        return st.lists(_valid(shape.member, name, world, depth + 1),
                        min_size=meta.get("min", 0), max_size=max(meta.get("min", 0), 3))
    if t == "map":
        return st.dictionaries(_valid(shape.key, name, world, depth + 1),
                               _valid(shape.value, name, world, depth + 1), max_size=3)
    if t == "structure" and depth < 3:
        required = set(shape.required_members)
        return st.fixed_dictionaries(
            {m: _valid(s, m, world, depth + 1) for m, s in shape.members.items() if m in required},
            optional={m: _valid(s, m, world, depth + 1) for m, s in shape.members.items()
                      if m not in required})
    return st.just({})


def _invalid(shape):
    """A value the model refuses (or that tests its limits) for a member of ``shape``."""
    t, meta = shape.type_name, shape.metadata
    edges = [WRONG_TYPE]
    if t == "string":
        edges += [LONE_SURROGATES, TEXT, st.just("x" * (meta.get("max", 2048) + 1))]
    elif t in ("integer", "long"):
        edges += [st.sampled_from([meta.get("min", 0) - 1, meta.get("max", 2**31) + 1, 2**31, 10**30])]
    elif t == "blob":
        edges += [st.just(b""), st.just(b"x" * (meta.get("max", 8192) + 1)), LONE_SURROGATES]
    elif t == "timestamp":
        edges += [st.sampled_from([10**20, "soon", float("inf")])]
    return st.one_of(*edges)


@st.composite
def requests(draw, world: World):
    """A request of a random operation: valid members, then perhaps one made invalid, a
    required one left out, or an unknown one added."""
    operation = draw(st.sampled_from(OPERATIONS))
    shape = MODEL.operation_model(operation).input_shape
    params = {}
    if shape is None:
        return operation, params
    members = shape.members
    for name, member in members.items():
        if name in shape.required_members or draw(st.integers(0, 2)) == 0:
            params[name] = draw(_valid(member, name, world))
    change = draw(st.integers(0, 14))
    if change < 4 and members:
        name = draw(st.sampled_from(sorted(members)))
        params[name] = draw(_invalid(members[name]))
    elif change == 4 and shape.required_members:
        params.pop(draw(st.sampled_from(sorted(shape.required_members))), None)
    elif change == 5:
        params["NotAMember"] = "x"
    return operation, params


# ------------------------------------------------------------------ the property
def _serve(world: World, operation: str, params: dict) -> None:
    lab = world.lab
    before = len(lab.audit)
    try:
        response = getattr(world.kms, xform_name(operation))(**params)
        request_id = response["ResponseMetadata"]["RequestId"]
    except errors.KMSError as err:
        assert not isinstance(err, errors.KMSInternalException), \
            f"{operation} failed inside kmslab: {err.__cause__!r}"
        request_id = err.request_id
    calls = [lab.audit.record_at(i) for i in range(before, len(lab.audit))]
    calls = [r for r in calls if r["eventType"] == "AwsApiCall"]
    assert [r["eventName"] for r in calls] == [operation]
    assert calls[0]["requestID"] == request_id


@settings(max_examples=600, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_any_request_gets_an_aws_answer_and_one_audit_record(data):
    world = World()
    for _ in range(data.draw(st.integers(1, 3))):
        operation, params = data.draw(requests(world))
        _serve(world, operation, params)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_operation_with_nothing_at_all(operation):
    """The smallest request of each operation: an AWS answer and one record."""
    _serve(World(), operation, {})
