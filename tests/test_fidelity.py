"""AWS KMS behaviour the operation table and the pipeline must reproduce, through lab.client().

Each rule is tested both ways: what AWS refuses (with its error code and message) and what it
accepts. Sources: the API Reference texts shipped in botocore's model (and its examples), the
Developer Guide, and moto's AWS-consistent tests for the messages.
"""

import os

import pytest

from kmslab import errors, operations
from kmslab.byok import wrap_key_material
from kmslab.operations import model
from kmslab.specs import KEY_SPECS

LAB_SEED = 15
ACCOUNT = "111122223333"
ARN_PREFIX = f"arn:aws:kms:us-east-1:{ACCOUNT}"


def _key_or_arn_operations():
    """Every operation whose key member the API Reference describes as 'key ID or key ARN'."""
    out = []
    for name, spec in operations.specs().items():
        if spec.key is None or not spec.key.param:
            continue
        text = model.member_text(name, spec.key.param)
        if "alias name, or alias ARN" not in text and "key ARN" in text:
            out.append(name)
    return sorted(out)


def _sample(shape, name):
    """A valid value of a request member (enough for the request to pass validation)."""
    special = {
        "Policy": '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": '
                  '{"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}]}',
        "Tags": [{"TagKey": "team", "TagValue": "blue"}], "TagKeys": ["team"],
        "Operations": ["Encrypt"], "GranteePrincipal": f"arn:aws:iam::{ACCOUNT}:user/admin",
        "GrantId": "0" * 64, "ReplicaRegion": "us-west-2", "PrimaryRegion": "us-west-2",
        "Description": "d", "AliasName": "alias/fidelity", "ImportToken": b"t" * 16,
        "EncryptedKeyMaterial": b"m" * 16, "PolicyName": "default",
    }
    if name in special:
        return special[name]
    t = shape.type_name
    if t == "string":
        return (shape.enum or ["x"])[0]
    if t == "blob":
        return b"x"
    if t in ("integer", "long"):
        return max(shape.metadata.get("min", 1), 7)
    if t == "boolean":
        return False
    if t == "list":
        return [_sample(shape.member, name)]
    return {}


def _request(name: str, key: str) -> dict:
    spec = operations.spec(name)
    shape = spec.input_shape
    params = {m: _sample(shape.members[m], m) for m in shape.required_members}
    params[spec.key.param] = key
    return params


def _call(kms, name, params):
    from botocore import xform_name
    return getattr(kms, xform_name(name))(**params)


# ------------------------------------------------------------------ key identifier forms
def test_the_table_names_every_key_id_or_arn_operation_the_model_lists():
    names = _key_or_arn_operations()
    # the operations issue 15 lists, and more: every one the model describes so
    for name in ("DisableKey", "EnableKey", "ScheduleKeyDeletion", "CancelKeyDeletion", "TagResource",
                 "UntagResource", "PutKeyPolicy", "GetKeyPolicy", "CreateGrant", "ListGrants",
                 "UpdateKeyDescription", "EnableKeyRotation", "DisableKeyRotation",
                 "GetKeyRotationStatus", "RotateKeyOnDemand", "ImportKeyMaterial"):
        assert name in names
    assert len(names) >= 25
    for name in names:
        forms = operations.spec(name).key.forms
        assert forms == {"key_id", "key_arn"}, name


@pytest.mark.parametrize("name", _key_or_arn_operations())
@pytest.mark.parametrize("form", ["alias name", "alias ARN"])
def test_key_id_or_arn_operations_refuse_aliases(lab, kms, key_id, name, form):
    kms.create_alias(AliasName="alias/my-alias", TargetKeyId=key_id)
    identifier = "alias/my-alias" if form == "alias name" else f"{ARN_PREFIX}:alias/my-alias"
    before = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    with pytest.raises(errors.KMSError) as exc:
        _call(kms, name, _request(name, identifier))
    if name in ("CreateAlias", "UpdateAlias"):
        assert exc.value.code == "ValidationException"
        assert exc.value.message == "Aliases must refer to keys. Not aliases"
    else:
        assert exc.value.code == "NotFoundException"
        assert exc.value.message == f"Invalid keyId {identifier}"
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"] == before


@pytest.mark.parametrize("name", _key_or_arn_operations())
@pytest.mark.parametrize("form", ["key id", "key ARN"])
def test_key_id_or_arn_operations_find_the_key_by_id_and_arn(lab, kms, key_id, name, form):
    kms.create_alias(AliasName="alias/other", TargetKeyId=key_id)
    identifier = key_id if form == "key id" else f"{ARN_PREFIX}:key/{key_id}"
    try:
        _call(kms, name, _request(name, identifier))
    except errors.KMSError as err:  # the request may fail later, for its own reasons ...
        assert "Invalid keyId" not in err.message and "must refer to keys" not in err.message
    # ... but the key was found: the audit record of the call names it (ListAliases names
    # none, as AWS logs it: ct-listaliases, "resources": []; its answer lists the key's aliases)
    record = lab.audit.records()[-1]
    assert record["eventName"] == name
    if name == "ListAliases":
        assert record["resources"] == [] and "errorCode" not in record
        return
    assert f"{ARN_PREFIX}:key/{key_id}" in [r["ARN"] for r in record["resources"]], record


def test_named_operations_accept_id_and_arn_and_refuse_aliases_end_to_end(kms, key_id):
    kms.create_alias(AliasName="alias/my-alias", TargetKeyId=key_id)
    arn = f"{ARN_PREFIX}:key/{key_id}"
    kms.disable_key(KeyId=arn)
    assert kms.describe_key(KeyId="alias/my-alias")["KeyMetadata"]["KeyState"] == "Disabled"
    kms.enable_key(KeyId=key_id)
    kms.tag_resource(KeyId=arn, Tags=[{"TagKey": "a", "TagValue": "1"}])
    with pytest.raises(errors.NotFoundException, match="^.*Invalid keyId alias/my-alias$"):
        kms.tag_resource(KeyId="alias/my-alias", Tags=[{"TagKey": "b", "TagValue": "2"}])
    assert kms.list_resource_tags(KeyId=key_id)["Tags"] == [{"TagKey": "a", "TagValue": "1"}]
    with pytest.raises(errors.NotFoundException):
        kms.enable_key_rotation(KeyId=f"{ARN_PREFIX}:alias/my-alias")
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is False
    kms.enable_key_rotation(KeyId=arn)
    assert kms.get_key_rotation_status(KeyId=arn)["KeyRotationEnabled"] is True


@pytest.mark.parametrize("identifier", ["{id}", "{arn}", "alias/app", "{prefix}:alias/app"])
def test_describe_key_and_cryptographic_operations_take_all_four_forms(kms, key_id, identifier):
    kms.create_alias(AliasName="alias/app", TargetKeyId=key_id)
    ident = identifier.format(id=key_id, arn=f"{ARN_PREFIX}:key/{key_id}", prefix=ARN_PREFIX)
    assert kms.describe_key(KeyId=ident)["KeyMetadata"]["KeyId"] == key_id
    blob = kms.encrypt(KeyId=ident, Plaintext=b"x")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob, KeyId=ident)["Plaintext"] == b"x"
    assert kms.generate_data_key(KeyId=ident, NumberOfBytes=16)["KeyId"].endswith(key_id)
    assert kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=ident, SourceKeyId=ident)["KeyId"] \
        .endswith(key_id)


def test_an_unknown_key_id_says_invalid_key_id_as_aws_does(kms):
    with pytest.raises(errors.NotFoundException) as exc:
        kms.describe_key(KeyId="unknown")
    assert exc.value.message == "Invalid keyId unknown"


# ------------------------------------------------------------------ alias names
ALIAS_OPERATIONS = ["CreateAlias", "UpdateAlias", "DeleteAlias"]


def _alias_call(kms, name, alias, key_id):
    if name == "CreateAlias":
        return kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    if name == "UpdateAlias":
        return kms.update_alias(AliasName=alias, TargetKeyId=key_id)
    return kms.delete_alias(AliasName=alias)


@pytest.mark.parametrize("name", ALIAS_OPERATIONS)
@pytest.mark.parametrize("alias, code, message", [
    ("my-alias", "ValidationException",
     'Alias must start with the prefix "alias/". Please see '
     "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html"),
    ("alias/my:alias", "ValidationException", "alias/my:alias contains invalid characters for an alias"),
    ("alias/aws/my-alias", "NotAuthorizedException", ""),
    ("alias/aws/ebs", "NotAuthorizedException", ""),
])
def test_alias_name_rules_of_every_alias_operation(kms, key_id, name, alias, code, message):
    with pytest.raises(errors.KMSError) as exc:
        _alias_call(kms, name, alias, key_id)
    assert (exc.value.code, exc.value.message) == (code, message)
    assert exc.value.response["Error"] == {"Code": code, "Message": message}
    assert [a["AliasName"] for a in kms.list_aliases(KeyId=key_id)["Aliases"]] == []


@pytest.mark.parametrize("alias", ["alias/my-alias_/", "alias/app/data-1", "alias/awsome", "alias/a"])
def test_valid_alias_names_are_accepted_by_every_alias_operation(kms, key_id, alias):
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    kms.update_alias(AliasName=alias, TargetKeyId=other)
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == other
    kms.delete_alias(AliasName=alias)
    with pytest.raises(errors.NotFoundException):
        kms.describe_key(KeyId=alias)


def test_not_authorized_is_a_client_error_over_http_too(lab, key_id):
    from kmslab.interop import protocol
    reply = protocol.serve_json_request(
        lab, "TrentService.CreateAlias",
        b'{"AliasName": "alias/aws/mine", "TargetKeyId": "%s"}' % key_id.encode(),
        region="us-east-1", caller=lab.admin())
    assert reply.status == 400
    assert reply.body == b'{"__type": "NotAuthorizedException", "message": ""}'


# ------------------------------------------------------------------ AWS managed keys
def test_describe_key_of_a_predefined_alias_creates_the_aws_managed_key(lab, kms):
    listed = {a["AliasName"]: a for a in kms.list_aliases()["Aliases"]}
    assert "TargetKeyId" not in listed["alias/aws/ebs"]
    md = kms.describe_key(KeyId="alias/aws/ebs")["KeyMetadata"]
    assert md["KeyManager"] == "AWS" and md["KeyState"] == "Enabled"
    assert md["Description"] == "Default key that protects my EBS volumes when no other key is defined"
    listed = {a["AliasName"]: a for a in kms.list_aliases()["Aliases"]}
    assert listed["alias/aws/ebs"]["TargetKeyId"] == md["KeyId"]
    # the same key again, by alias name or alias ARN
    assert kms.describe_key(KeyId=f"{ARN_PREFIX}:alias/aws/ebs")["KeyMetadata"]["KeyId"] == md["KeyId"]
    assert kms.describe_key(KeyId="alias/aws/ebs")["KeyMetadata"]["KeyId"] == md["KeyId"]
    assert sum(1 for k in kms.list_keys()["Keys"] if k["KeyId"] == md["KeyId"]) == 1


def test_describe_key_creates_no_key_for_other_aliases(kms):
    for alias in ("alias/aws/not-a-service", "alias/my-app"):
        with pytest.raises(errors.NotFoundException, match="is not found"):
            kms.describe_key(KeyId=alias)
    assert kms.list_keys()["Keys"] == []


def test_only_describe_key_creates_aws_managed_keys(kms):
    with pytest.raises(errors.NotFoundException):
        kms.encrypt(KeyId="alias/aws/ebs", Plaintext=b"x")
    assert kms.list_keys()["Keys"] == []


# ------------------------------------------------------------------ paging
def _limit_cases():
    cases = []
    for name, spec in operations.specs().items():
        if spec.limit is not None:
            cases.append((name, spec.limit))
    return cases


@pytest.mark.parametrize("name, limit", _limit_cases())
def test_limit_ranges_and_defaults_are_those_of_the_api_reference(name, limit):
    text = model.member_text(name, "Limit")
    lo, hi, default = limit
    if "must be between" in text:
        assert f"must be between {lo} and {hi}, inclusive" in text
        assert f"it defaults to {default}" in text
    else:  # no documented range: the model's
        shape = operations.spec(name).input_shape.members["Limit"]
        assert (lo, hi) == (shape.metadata["min"], shape.metadata["max"])


@pytest.mark.parametrize("name, limit", _limit_cases())
def test_limit_outside_the_documented_range_is_refused(lab, kms, key_id, name, limit):
    lo, hi, _ = limit
    params = {"Limit": hi + 1}
    spec = operations.spec(name)
    if spec.key is not None and spec.key.param and spec.key.param in spec.input_shape.required_members:
        params[spec.key.param] = key_id
    if name == "ListRetirableGrants":
        params["RetiringPrincipal"] = f"arn:aws:iam::{ACCOUNT}:user/admin"
    with pytest.raises(errors.ValidationException) as exc:
        _call(kms, name, params)
    assert f"Value '{hi + 1}' at 'limit' failed to satisfy constraint: Member must have value " \
           f"less than or equal to {hi}" in exc.value.message
    with pytest.raises(errors.ValidationException, match="greater than or equal to 1"):
        _call(kms, name, {**params, "Limit": lo - 1})
    _call(kms, name, {**params, "Limit": hi})  # the top of the range is accepted


def test_list_aliases_pages_50_by_default(kms, key_id):
    for i in range(40):
        kms.create_alias(AliasName=f"alias/a{i:02d}", TargetKeyId=key_id)
    page = kms.list_aliases()  # 40 + the 14 predefined aliases
    assert len(page["Aliases"]) == 50 and page["Truncated"] is True
    rest = kms.list_aliases(Marker=page["NextMarker"])
    assert len(rest["Aliases"]) == 4 and rest["Truncated"] is False
    assert len(kms.list_aliases(Limit=100)["Aliases"]) == 54


def test_list_grants_and_retirable_grants_page_50_by_default(kms, key_id):
    me = f"arn:aws:iam::{ACCOUNT}:user/admin"
    for i in range(51):
        kms.create_grant(KeyId=key_id, GranteePrincipal=me, RetiringPrincipal=me,
                         Operations=["Encrypt"], Name=f"g{i}")
    page = kms.list_grants(KeyId=key_id)
    assert len(page["Grants"]) == 50 and page["Truncated"] is True
    page = kms.list_retirable_grants(RetiringPrincipal=me)
    assert len(page["Grants"]) == 50 and page["Truncated"] is True
    assert len(kms.list_grants(KeyId=key_id, Limit=100)["Grants"]) == 51


# ------------------------------------------------------------------ grant constraints
def _constrained_grant(lab, kms, key_id, kind):
    lab.add_user("app")
    grantee = lab.iam.user(ACCOUNT, "app").arn
    kms.create_grant(KeyId=key_id, GranteePrincipal=grantee, Operations=["Encrypt", "Decrypt"],
                     Constraints={kind: {"Department": "IT"}})
    return lab.client(as_="app")


@pytest.mark.parametrize("kind", ["EncryptionContextSubset", "EncryptionContextEquals"])
def test_grant_constraint_keys_are_case_insensitive_values_case_sensitive(lab, kms, key_id, kind):
    app = _constrained_grant(lab, kms, key_id, kind)
    for context in ({"Department": "IT"}, {"department": "IT"}, {"DEPARTMENT": "IT"}):
        blob = app.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext=context)["CiphertextBlob"]
        assert app.decrypt(CiphertextBlob=blob, EncryptionContext=context)["Plaintext"] == b"x"
    for context in ({"Department": "it"}, {"department": "It"}, {"Dept": "IT"}, {}):
        with pytest.raises(errors.AccessDeniedException):
            app.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext=context)


def test_encryption_context_itself_stays_case_sensitive(kms, key_id):
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext={"Department": "IT"})["CiphertextBlob"]
    with pytest.raises(errors.InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=blob, EncryptionContext={"department": "IT"})


# ------------------------------------------------------------------ custom key stores
@pytest.fixture
def store_key(kms, cloudhsm_store):
    return kms.create_key(CustomKeyStoreId=cloudhsm_store)["KeyMetadata"]["KeyId"]


@pytest.mark.parametrize("name", ["GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext"])
def test_data_key_pairs_are_refused_under_a_key_in_a_custom_key_store(lab, kms, store_key, key_id,
                                                                     name):
    call = getattr(kms, "generate_data_key_pair" if name == "GenerateDataKeyPair"
                   else "generate_data_key_pair_without_plaintext")
    with pytest.raises(errors.UnsupportedOperationException) as exc:
        call(KeyId=store_key, KeyPairSpec="ECC_NIST_P256")
    assert "custom key store" in exc.value.message and store_key in exc.value.message
    assert call(KeyId=key_id, KeyPairSpec="ECC_NIST_P256")["KeyId"].endswith(key_id)
    # symmetric data keys under the same key are fine
    assert kms.generate_data_key(KeyId=store_key, NumberOfBytes=32)["KeyId"].endswith(store_key)


# ------------------------------------------------------------------ key policies
@pytest.mark.parametrize("policy_name", ["AWS_RAM", "custom"])
def test_put_key_policy_sets_only_the_default_policy(kms, key_id, policy_name):
    before = kms.get_key_policy(KeyId=key_id)["Policy"]
    policy = _sample(None, "Policy")
    with pytest.raises(errors.ValidationException, match=f"PolicyName {policy_name} is not valid"):
        kms.put_key_policy(KeyId=key_id, PolicyName=policy_name, Policy=policy)
    assert kms.get_key_policy(KeyId=key_id)["Policy"] == before
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=policy)
    assert kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"] == policy
    kms.put_key_policy(KeyId=key_id, Policy=before)  # PolicyName defaults to default
    assert kms.get_key_policy(KeyId=key_id)["Policy"] == before


def test_get_key_policy_aws_ram_is_not_found_for_a_key_not_shared(kms, key_id):
    with pytest.raises(errors.NotFoundException):
        kms.get_key_policy(KeyId=key_id, PolicyName="AWS_RAM")
    assert kms.get_key_policy(KeyId=key_id, PolicyName="default")["PolicyName"] == "default"


# ------------------------------------------------------------------ CreateGrant principals
SERVICE = "s3.amazonaws.com"
SOURCE = {"SourceArn": "arn:aws:s3:us-east-1:111122223333:bucket/reports"}


def test_a_service_principal_grant_needs_a_retiring_principal(kms, key_id):
    with pytest.raises(errors.ValidationException, match="RetiringPrincipal or a RetiringServicePrincipal"):
        kms.create_grant(KeyId=key_id, GranteeServicePrincipal=SERVICE, Operations=["Decrypt"],
                         Constraints=SOURCE)
    assert kms.list_grants(KeyId=key_id)["Grants"] == []
    kms.create_grant(KeyId=key_id, GranteeServicePrincipal=SERVICE, Operations=["Decrypt"],
                     Constraints=SOURCE, RetiringServicePrincipal=SERVICE)
    kms.create_grant(KeyId=key_id, GranteeServicePrincipal=SERVICE, Operations=["Decrypt"],
                     Constraints=SOURCE, RetiringPrincipal=f"arn:aws:iam::{ACCOUNT}:user/admin")
    assert len(kms.list_grants(KeyId=key_id)["Grants"]) == 2


def test_retiring_principal_and_retiring_service_principal_are_exclusive(kms, key_id):
    me = f"arn:aws:iam::{ACCOUNT}:user/admin"
    with pytest.raises(errors.ValidationException,
                       match="either RetiringPrincipal or RetiringServicePrincipal, but not both"):
        kms.create_grant(KeyId=key_id, GranteePrincipal=me, Operations=["Encrypt"],
                         RetiringPrincipal=me, RetiringServicePrincipal=SERVICE)
    assert kms.list_grants(KeyId=key_id)["Grants"] == []
    kms.create_grant(KeyId=key_id, GranteePrincipal=me, Operations=["Encrypt"], RetiringPrincipal=me)
    kms.create_grant(KeyId=key_id, GranteePrincipal=me, Operations=["Encrypt"],
                     RetiringServicePrincipal=SERVICE)
    grants = kms.list_grants(KeyId=key_id)["Grants"]
    assert [g.get("RetiringPrincipal") for g in grants] == [me, None]
    assert [g.get("RetiringServicePrincipal") for g in grants] == [None, SERVICE]


# ------------------------------------------------------------------ multi-Region imported material
def _import(kms, key, material, **params):
    p = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                      WrappingKeySpec="RSA_2048")
    return kms.import_key_material(
        KeyId=key, ImportToken=p["ImportToken"], ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
        EncryptedKeyMaterial=wrap_key_material(p["PublicKey"], "RSAES_OAEP_SHA_256", material),
        **params)


def test_multi_region_imported_keys_take_new_material_on_the_primary(lab, kms):
    west = lab.client(region_name="us-west-2")
    key = kms.create_key(Origin="EXTERNAL", MultiRegion=True)["KeyMetadata"]["KeyId"]
    first, second = os.urandom(32), os.urandom(32)
    old = _import(kms, key, first)["KeyMaterialId"]
    kms.replicate_key(KeyId=key, ReplicaRegion="us-west-2")
    lab.clock.advance(seconds=10)
    assert west.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingImport"
    assert _import(west, key, first)["KeyMaterialId"] == old
    before = kms.encrypt(KeyId=key, Plaintext=b"before")["CiphertextBlob"]
    # new material goes into the primary first ...
    new = _import(kms, key, second, ImportType="NEW_KEY_MATERIAL")["KeyMaterialId"]
    assert new != old
    with pytest.raises(errors.UnsupportedOperationException, match="replica key"):
        _import(west, key, second, ImportType="NEW_KEY_MATERIAL")
    # ... and the primary rotates only once every replica has it
    with pytest.raises(errors.KMSInvalidStateException, match="us-west-2"):
        kms.rotate_key_on_demand(KeyId=key)
    assert _import(west, key, second, ImportType="EXISTING_KEY_MATERIAL")["KeyMaterialId"] == new
    states = [(r["KeyMaterialId"], r["KeyMaterialState"]) for r in
              west.list_key_rotations(KeyId=key, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]]
    assert states == [(old, "CURRENT"), (new, "PENDING_ROTATION")]
    kms.rotate_key_on_demand(KeyId=key)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"] == new
    assert west.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"] == new
    after = kms.encrypt(KeyId=key, Plaintext=b"after")["CiphertextBlob"]
    assert west.decrypt(CiphertextBlob=after)["Plaintext"] == b"after"
    assert west.decrypt(CiphertextBlob=before)["Plaintext"] == b"before"


def test_a_replica_refuses_material_its_primary_does_not_have(lab, kms):
    west = lab.client(region_name="us-west-2")
    key = kms.create_key(Origin="EXTERNAL", MultiRegion=True)["KeyMetadata"]["KeyId"]
    material = os.urandom(32)
    _import(kms, key, material)
    kms.replicate_key(KeyId=key, ReplicaRegion="us-west-2")
    lab.clock.advance(seconds=10)
    _import(west, key, material)
    with pytest.raises(errors.IncorrectKeyMaterialException):
        _import(west, key, os.urandom(32), ImportType="EXISTING_KEY_MATERIAL")


# ------------------------------------------------------------------ DescribeKey algorithm order
def _example_algorithm_lists():
    fields = ("EncryptionAlgorithms", "SigningAlgorithms", "MacAlgorithms", "KeyAgreementAlgorithms")
    for examples in model.examples().values():
        for example in examples:
            md = (example.get("output") or {}).get("KeyMetadata") or {}
            for field in fields:
                if field in md and md.get("KeySpec"):
                    yield md["KeySpec"], md["KeyUsage"], field, md[field]


@pytest.mark.parametrize("spec, usage, field, listed", list(_example_algorithm_lists()))
def test_describe_key_lists_algorithms_in_the_order_of_aws_examples(kms, spec, usage, field, listed):
    if KEY_SPECS[spec].unsupported:
        pytest.skip(KEY_SPECS[spec].unsupported)
    md = kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]
    assert md[field] == listed
    assert kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"][field] == listed


def test_rsa_signing_algorithms_put_pkcs1_before_pss(kms):
    md = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    assert md["SigningAlgorithms"] == [
        "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
        "RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512"]
    public = kms.get_public_key(KeyId=md["KeyId"])
    assert public["SigningAlgorithms"] == md["SigningAlgorithms"]


# ------------------------------------------------------------------ the audit frame
def test_the_audit_frame_has_request_ids_to_join_with_responses(lab, kms, key_id):
    response = kms.encrypt(KeyId=key_id, Plaintext=b"x")
    frame = lab.audit.frame()
    assert "requestID" in frame.columns
    row = frame[frame["requestID"] == response["ResponseMetadata"]["RequestId"]]
    assert list(row["eventName"]) == ["Encrypt"]
    assert "requestID" in lab.frame("audit").columns
    assert "requestID" not in lab.audit.frame(request_id=False).columns


# ------------------------------------------------------------------ deletion responses
def test_schedule_and_cancel_key_deletion_answer_with_the_key_arn(kms, key_id):
    arn = f"{ARN_PREFIX}:key/{key_id}"
    assert kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)["KeyId"] == arn
    assert kms.cancel_key_deletion(KeyId=key_id)["KeyId"] == arn
    assert kms.schedule_key_deletion(KeyId=arn)["KeyId"] == arn
    assert kms.cancel_key_deletion(KeyId=arn)["KeyId"] == arn
    kms.create_alias(AliasName="alias/gone", TargetKeyId=key_id)
    with pytest.raises(errors.NotFoundException, match="Invalid keyId alias/gone"):
        kms.schedule_key_deletion(KeyId="alias/gone")
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"
