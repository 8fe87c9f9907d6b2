"""A small integrated service: an object store that encrypts for you with KMS (like Amazon S3).

    >>> s3 = lab.service("s3")                       # acting as the account's admin
    >>> s3.create_bucket(Bucket="reports")
    >>> s3.put_object(Bucket="reports", Key="q1.csv", Body=b"...", ServerSideEncryption="aws:kms")
    >>> s3.get_object(Bucket="reports", Key="q1.csv")["Body"].read()

What it models (Amazon S3 User Guide, "Using server-side encryption with AWS KMS keys"):

* **SSE-KMS** (``ServerSideEncryption="aws:kms"``): per object, S3 asks KMS for
  a data key (GenerateDataKey) *on the caller's behalf*: the request carries
  ``kms:ViaService = s3.<region>.amazonaws.com`` and the caller's identity,
  so key policies can say "only through S3", and CloudTrail shows S3 as
  ``invokedBy``. The object is encrypted with AES-256-GCM under the data key;
  the encrypted data key is stored beside it. Reading calls KMS Decrypt. The
  encryption context is ``{"aws:s3:arn": "arn:aws:s3:::bucket/key"}`` plus
  any the caller adds. Without ``SSEKMSKeyId`` S3 uses the AWS managed key
  ``alias/aws/s3``, created in your account the first time it is needed.
* **S3 Bucket Keys** (``BucketKeyEnabled=True``): S3 gets one data key per
  bucket and KMS key from KMS and reuses it for a while, deriving a unique
  key per object (HKDF-SHA256); the context is the *bucket* ARN. KMS calls,
  and their cost, drop sharply (visible in the audit trail).
* **SSE-S3** (``ServerSideEncryption="AES256"``, the default since 2023):
  S3 encrypts with an AWS owned key: a KMS key in an account of the service,
  never listed in yours and never in your CloudTrail.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from .. import errors
from ..crypto.objects import derive_object_key, new_object_salt, open_object, seal_object

if TYPE_CHECKING:  # pragma: no cover
    from ..identity import Principal
    from ..lab import Lab

__all__ = ["S3World", "S3Client", "StreamingBody", "S3_SERVICE_ACCOUNT", "BUCKET_KEY_LIFETIME"]

#: the account that owns S3's AWS owned keys in the lab (not one of yours)
S3_SERVICE_ACCOUNT = "555555555555"
#: how long S3 reuses a bucket key before asking KMS for a new one (the lab's choice)
BUCKET_KEY_LIFETIME = timedelta(hours=1)


class StreamingBody:
    """The ``Body`` of get_object: ``read()`` the bytes (botocore's StreamingBody, in memory)."""

    def __init__(self, data: bytes):
        self._stream = io.BytesIO(data)
        self._length = len(data)

    def read(self, amt: int | None = None) -> bytes:
        return self._stream.read(amt)

    def __repr__(self) -> str:
        return f"<StreamingBody {self._length} bytes>"


@dataclass(slots=True, eq=False)
class StoredObject:
    """An object as S3 keeps it: ciphertext, the encrypted data key, encryption settings."""

    key: str
    ciphertext: bytes = field(repr=False)
    nonce: bytes = field(repr=False)
    encrypted_data_key: bytes = field(repr=False)
    sse: str
    kms_key_arn: str | None
    context: dict
    bucket_key: bool
    salt: bytes | None = field(default=None, repr=False)
    size: int = 0
    etag: str = ""
    last_modified: datetime | None = None
    user_context: str | None = None


@dataclass(slots=True, eq=False)
class BucketRecord:
    name: str
    account: str
    region: str
    created: datetime
    objects: dict = field(default_factory=dict)


@dataclass(slots=True, eq=False)
class _BucketKey:
    """A bucket-level data key S3 holds in memory for a while (never stored in plaintext)."""

    plaintext: bytes = field(repr=False)
    encrypted: bytes = field(repr=False)
    expires: datetime


class S3World:
    """The object store's state in a lab (``lab.s3``): buckets, bucket keys, owned keys."""

    def __init__(self, lab: Lab):
        self._lab = lab
        self.buckets: dict[str, BucketRecord] = {}
        # plaintext bucket keys live in memory only (a lab snapshot never holds them)
        self._bucket_keys: dict[tuple[str, str, str | bytes], _BucketKey] = {}
        self._owned_keys: dict[str, str] = {}  # region -> AWS owned key id

    def client(self, caller: Principal, region: str) -> S3Client:
        return S3Client(self, caller, region)

    # ------------------------------------------------------------ KMS on the caller's behalf
    def kms(self, operation: str, params: dict, caller: Principal, region: str) -> dict:
        """Call KMS for ``caller`` through S3 (kms:ViaService s3.<region>.amazonaws.com)."""
        return self._lab.handle(operation, params, region=region, caller=caller,
                                via_service=f"s3.{region}.amazonaws.com",
                                source_ip="s3.amazonaws.com", user_agent="s3.amazonaws.com")

    def aws_owned_key(self, region: str) -> str:
        """S3's AWS owned key in ``region``: a KMS key in S3's own account, never listed."""
        key_id = self._owned_keys.get(region)
        if key_id is None:
            lab = self._lab
            lab.add_account(S3_SERVICE_ACCOUNT, name="Amazon S3 (AWS owned keys)")
            out = lab.handle("CreateKey", {"Description": "AWS owned key for SSE-S3"},
                             region=region, caller=lab.accounts[S3_SERVICE_ACCOUNT]["root"])
            key_id = out["KeyMetadata"]["KeyId"]
            svc = lab.kms_service(S3_SERVICE_ACCOUNT, region)
            svc.keys[key_id].manager = "AWS"
            svc.hidden_keys.add(key_id)
            self._owned_keys[region] = key_id
        return key_id

    def owned_key_call(self, operation: str, params: dict, region: str) -> dict:
        lab = self._lab
        return lab.handle(operation, params, region=region,
                          caller=lab.accounts[S3_SERVICE_ACCOUNT]["root"],
                          source_ip="s3.amazonaws.com", user_agent="s3.amazonaws.com")


def _s3_error(code: str, message: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message},
                        "ResponseMetadata": {  # type: ignore[typeddict-item]
                            "HTTPStatusCode": 404 if code.startswith("NoSuch") else 400}},
                       operation)


def _kms_error(err: errors.KMSError, operation: str) -> ClientError:
    """S3 reports KMS failures as ``KMS.<code>`` (AccessDenied for access denied)."""
    code = "AccessDenied" if err.code == "AccessDeniedException" else f"KMS.{err.code}"
    return _s3_error(code, err.message, operation)


class S3Client:
    """A boto3-shaped S3 client bound to a caller: create_bucket, put_object, get_object..."""

    def __init__(self, world: S3World, caller: Principal, region: str):
        self._world = world
        self._caller = caller
        self._region = region

    def __repr__(self) -> str:
        return f"<kmslab S3 client {self._region} as {self._caller.arn}>"

    @property
    def _lab(self):
        return self._world._lab

    def _bucket(self, name: str, operation: str) -> BucketRecord:
        bucket = self._world.buckets.get(name)
        if bucket is None:
            raise _s3_error("NoSuchBucket", "The specified bucket does not exist", operation)
        if bucket.account != self._caller.account_id:
            raise _s3_error("AccessDenied", "Access Denied", operation)
        return bucket

    def create_bucket(self, *, Bucket: str, CreateBucketConfiguration: dict | None = None) -> dict:
        """CreateBucket: a bucket in the client's Region (names are global)."""
        if Bucket in self._world.buckets:
            owned = self._world.buckets[Bucket].account == self._caller.account_id
            raise _s3_error("BucketAlreadyOwnedByYou" if owned else "BucketAlreadyExists",
                            "The requested bucket name is not available.", "CreateBucket")
        region = (CreateBucketConfiguration or {}).get("LocationConstraint") or self._region
        self._world.buckets[Bucket] = BucketRecord(Bucket, self._caller.account_id, region,
                                              self._lab.clock.now())
        return {"Location": f"/{Bucket}", "ResponseMetadata": {"HTTPStatusCode": 200}}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes | str = b"",
                   ServerSideEncryption: str | None = None, SSEKMSKeyId: str | None = None,
                   BucketKeyEnabled: bool = False, SSEKMSEncryptionContext: str | None = None) -> dict:
        """PutObject with server-side encryption (default SSE-S3; ``"aws:kms"`` for SSE-KMS)."""
        op = "PutObject"
        bucket = self._bucket(Bucket, op)
        body = Body.encode() if isinstance(Body, str) else bytes(Body)
        sse = ServerSideEncryption or "AES256"
        if sse not in ("AES256", "aws:kms"):
            raise _s3_error("InvalidArgument", f"Server Side Encryption {sse} is not supported "
                            f"in this lab (AES256 or aws:kms).", op)
        if sse == "AES256" and (SSEKMSKeyId or SSEKMSEncryptionContext):
            raise _s3_error("InvalidArgument", "Server Side Encryption with KMS managed key "
                            "requires HTTP header x-amz-server-side-encryption : aws:kms", op)
        user_context = {}
        if SSEKMSEncryptionContext:
            user_context = json.loads(base64.b64decode(SSEKMSEncryptionContext))
        now = self._lab.clock.now()
        obj_arn = f"arn:aws:s3:::{Bucket}/{Key}"
        salt = None
        try:
            if sse == "AES256":
                kms_key_arn = None
                context = {"aws:s3:arn": obj_arn}
                world = self._world
                out = world.owned_key_call("GenerateDataKey", {
                    "KeyId": world.aws_owned_key(bucket.region), "KeySpec": "AES_256",
                    "EncryptionContext": context}, bucket.region)
                data_key, encrypted = out["Plaintext"], out["CiphertextBlob"]
            else:
                key_ref = SSEKMSKeyId or self._managed_key(bucket)
                if BucketKeyEnabled:
                    context = {"aws:s3:arn": f"arn:aws:s3:::{Bucket}", **user_context}
                    bucket_key, kms_key_arn = self._bucket_key(bucket, key_ref, context)
                    salt = new_object_salt()
                    data_key = derive_object_key(bucket_key.plaintext, salt, Key)
                    encrypted = bucket_key.encrypted
                else:
                    context = {"aws:s3:arn": obj_arn, **user_context}
                    out = self._world.kms("GenerateDataKey", {
                        "KeyId": key_ref, "KeySpec": "AES_256", "EncryptionContext": context},
                        self._caller, bucket.region)
                    data_key, encrypted, kms_key_arn = out["Plaintext"], out["CiphertextBlob"], out["KeyId"]
        except errors.KMSError as err:
            raise _kms_error(err, op) from None
        nonce, ciphertext = seal_object(data_key, body, obj_arn)
        etag = '"' + hashlib.md5(body, usedforsecurity=False).hexdigest() + '"'
        bucket.objects[Key] = StoredObject(Key, ciphertext, nonce, encrypted, sse, kms_key_arn,
                                           context, bool(BucketKeyEnabled and sse == "aws:kms"),
                                           salt, len(body), etag, now, SSEKMSEncryptionContext)
        return self._sse_fields(bucket.objects[Key], {"ETag": etag})

    def _sse_fields(self, obj: StoredObject, out: dict) -> dict:
        out["ServerSideEncryption"] = obj.sse
        if obj.sse == "aws:kms":
            out["SSEKMSKeyId"] = obj.kms_key_arn
            out["BucketKeyEnabled"] = obj.bucket_key
            if obj.user_context:
                out["SSEKMSEncryptionContext"] = obj.user_context
        out["ResponseMetadata"] = {"HTTPStatusCode": 200}
        return out

    def get_object(self, *, Bucket: str, Key: str) -> dict:
        """GetObject: S3 decrypts the data key with KMS (as the caller) and returns the body."""
        op = "GetObject"
        bucket = self._bucket(Bucket, op)
        obj = bucket.objects.get(Key)
        if obj is None:
            raise _s3_error("NoSuchKey", "The specified key does not exist.", op)
        try:
            if obj.sse == "AES256":
                data_key = self._world.owned_key_call("Decrypt", {
                    "CiphertextBlob": obj.encrypted_data_key, "EncryptionContext": obj.context},
                    bucket.region)["Plaintext"]
            elif obj.bucket_key:
                data_key = derive_object_key(self._decrypted_bucket_key(bucket, obj), obj.salt, Key)
            else:
                data_key = self._world.kms("Decrypt", {
                    "CiphertextBlob": obj.encrypted_data_key, "EncryptionContext": obj.context},
                    self._caller, bucket.region)["Plaintext"]
        except errors.KMSError as err:
            raise _kms_error(err, op) from None
        body = open_object(data_key, obj.nonce, obj.ciphertext, f"arn:aws:s3:::{Bucket}/{Key}")
        return self._sse_fields(obj, {"Body": StreamingBody(body), "ContentLength": obj.size,
                                      "ETag": obj.etag, "LastModified": obj.last_modified})

    def head_object(self, *, Bucket: str, Key: str) -> dict:
        """HeadObject: the object's metadata and encryption settings, no KMS call."""
        bucket = self._bucket(Bucket, "HeadObject")
        obj = bucket.objects.get(Key)
        if obj is None:
            raise _s3_error("NoSuchKey", "Not Found", "HeadObject")
        return self._sse_fields(obj, {"ContentLength": obj.size, "ETag": obj.etag,
                                      "LastModified": obj.last_modified})

    def list_objects_v2(self, *, Bucket: str, Prefix: str = "") -> dict:
        """ListObjectsV2 (one page): keys, sizes, ETags."""
        bucket = self._bucket(Bucket, "ListObjectsV2")
        contents = [{"Key": o.key, "LastModified": o.last_modified, "ETag": o.etag,
                     "Size": o.size, "StorageClass": "STANDARD"}
                    for name, o in sorted(bucket.objects.items()) if name.startswith(Prefix)]
        out = {"IsTruncated": False, "Name": Bucket, "Prefix": Prefix, "KeyCount": len(contents),
               "MaxKeys": 1000, "ResponseMetadata": {"HTTPStatusCode": 200}}
        if contents:
            out["Contents"] = contents
        return out

    def delete_object(self, *, Bucket: str, Key: str) -> dict:
        """DeleteObject (no KMS call)."""
        self._bucket(Bucket, "DeleteObject").objects.pop(Key, None)
        return {"ResponseMetadata": {"HTTPStatusCode": 204}}

    # ------------------------------------------------------------ keys
    def _managed_key(self, bucket: BucketRecord) -> str:
        from ..service.managed import aws_managed_key
        return aws_managed_key(self._lab.env, bucket.account, bucket.region, "s3").arn

    def _bucket_key(self, bucket: BucketRecord, key_ref: str, context: dict):
        """The bucket's data key for this KMS key: reused until it expires."""
        now = self._lab.clock.now()
        cache_id = (bucket.name, key_ref, json.dumps(context, sort_keys=True))
        cached = self._world._bucket_keys.get(cache_id)
        if cached is not None and cached.expires > now:
            return cached, cached_arn(cached)
        out = self._world.kms("GenerateDataKey", {"KeyId": key_ref, "KeySpec": "AES_256",
                                                  "EncryptionContext": context},
                              self._caller, bucket.region)
        entry = _BucketKey(out["Plaintext"], out["CiphertextBlob"], now + BUCKET_KEY_LIFETIME)
        self._world._bucket_keys[cache_id] = entry
        return entry, out["KeyId"]

    def _decrypted_bucket_key(self, bucket: BucketRecord, obj: StoredObject) -> bytes:
        """Reads reuse a decrypted bucket key too, so GETs also spare KMS calls."""
        now = self._lab.clock.now()
        cache_id = (bucket.name, "decrypt", obj.encrypted_data_key)
        cached = self._world._bucket_keys.get(cache_id)
        if cached is not None and cached.expires > now:
            return cached.plaintext
        plaintext = self._world.kms("Decrypt", {
            "CiphertextBlob": obj.encrypted_data_key, "EncryptionContext": obj.context},
            self._caller, bucket.region)["Plaintext"]
        self._world._bucket_keys[cache_id] = _BucketKey(plaintext, obj.encrypted_data_key,
                                                        now + BUCKET_KEY_LIFETIME)
        return plaintext


def cached_arn(entry: _BucketKey) -> str:
    """The KMS key ARN a cached bucket key was made under (read from its ciphertext header)."""
    from ..crypto.symmetric import parse_blob
    return parse_blob(entry.encrypted).key_arn
