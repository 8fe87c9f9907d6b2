"""Every cell of the key-state table, checked against AWS's documented table.

``AWS_TABLE`` is AWS's key-state table as the Developer Guide prints it ("Key states of
AWS KMS keys", https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html),
cell by cell (``✓``, ``X [n]``, ``? [n]``, ``N/A``), and ``AWS_FOOTNOTES`` its footnotes'
errors and messages. Both are written out here, independently of
``kmslab.service.states``: each cell of kmslab's table is looked up and its answer (the
error code and the whole message, or no error) compared with what AWS's cell says.
Then, through the lab's client, every refused cell: a key in each of the eight states is
asked for each operation its state refuses, and answers with AWS's error and message and no
change.
"""

import pytest

from kmslab import errors
from kmslab.service import states

ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

#: AWS's columns; "Pending deletion" also stands for "Pending replica deletion"
COLUMNS = ("Enabled", "Disabled", "PendingDeletion", "PendingImport", "Unavailable", "Creating",
           "Updating")

# fmt: off
AWS_TABLE = {
    "CancelKeyDeletion":         ("X [4]", "X [4]", "✓", "X [4]", "X [4], [13]", "X [4]", "X [4]"),
    "CreateAlias":               ("✓", "✓", "X [3]", "✓", "✓", "✓", "✓"),
    "CreateGrant":               ("✓", "X [1]", "X [2] or [3]", "X [5]", "✓", "X [14]", "✓"),
    "Decrypt":                   ("✓", "X [1]", "X [2] or [3]", "X [5]", "X [11]", "X [14]", "✓"),
    "DeleteAlias":               ("✓", "✓", "✓", "✓", "✓", "✓", "✓"),
    "DeleteImportedKeyMaterial": ("✓ [9]", "✓ [9]", "✓ [9]", "✓ (No effect)", "N/A", "X [14]", "X [15]"),
    "DescribeKey":               ("✓", "✓", "✓", "✓", "✓", "✓", "✓"),
    "DisableKey":                ("✓", "✓", "X [3]", "X [5]", "✓ [12]", "X [14]", "X [15]"),
    "DisableKeyRotation":        ("? [7]", "X [1] or [7]", "X [3] or [7]", "X [6]", "X [7]", "X [14]", "? [7]"),
    "EnableKey":                 ("✓", "✓", "X [3]", "X [5]", "✓ [12]", "X [14]", "X [15]"),
    "EnableKeyRotation":         ("? [7]", "X [1] or [7]", "X [3] or [7]", "X [6]", "X [7]", "X [14]", "? [7]"),
    "Encrypt":                   ("✓", "X [1]", "X [2] or [3]", "X [5]", "X [11]", "X [14]", "✓"),
    "GenerateDataKey":           ("✓", "X [1]", "X [2] or [3]", "X [5]", "X [11]", "X [14]", "✓"),
    "GenerateDataKeyPair":       ("✓", "X [1]", "X [2] or [3]", "X [5]", "X [11]", "X [14]", "✓"),
    "GenerateDataKeyPairWithoutPlaintext":
                                 ("✓", "X [1]", "X [2] or [3]", "X [5]", "X [11]", "X [14]", "✓"),
    "GenerateDataKeyWithoutPlaintext":
                                 ("✓", "X [1]", "X [2] or [3]", "X [5]", "X [11]", "X [14]", "✓"),
    "GenerateMac":               ("✓", "X [1]", "X [2] or [3]", "N/A", "N/A", "X [14]", "✓"),
    "GetKeyPolicy":              ("✓", "✓", "✓", "✓", "✓", "✓", "✓"),
    "GetKeyRotationStatus":      ("? [7]", "? [7]", "? [7]", "X [6]", "X [7]", "? [7]", "? [7]"),
    "GetParametersForImport":    ("? [9]", "? [9]", "X [8] or [9]", "✓", "X [9]", "X [14]", "X [15]"),
    "GetPublicKey":              ("✓", "X [1]", "X [2] or [3]", "N/A", "N/A", "X [14]", "✓"),
    "ImportKeyMaterial":         ("? [9]", "? [9]", "X [8] or [9]", "✓", "X [9]", "X [14]", "✓"),
    "ListAliases":               ("✓", "✓", "✓", "✓", "✓", "✓", "✓"),
    "ListGrants":                ("✓", "✓", "✓", "✓", "✓", "✓", "✓"),
    "ListKeyPolicies":           ("✓", "✓", "✓", "✓", "✓", "✓", "✓"),
    "ListResourceTags":          ("✓", "✓", "✓", "✓", "✓", "✓", "✓"),
    "PutKeyPolicy":              ("✓", "✓", "✓", "✓", "✓", "✓", "✓"),
    "ReEncrypt":                 ("✓", "X [1]", "X [2] or [3]", "X [5]", "X [11]", "X [14]", "✓"),
    "ReplicateKey":              ("✓", "X [1]", "X [2] or [3]", "X [5]", "N/A", "X [14]", "X [15]"),
    "RetireGrant":               ("✓", "✓", "✓", "✓", "✓", "✓", "✓"),
    "RevokeGrant":               ("✓", "✓", "✓", "✓", "✓", "✓", "✓"),
    "ScheduleKeyDeletion":       ("✓", "✓", "X [3]", "✓", "✓", "✓", "X [15]"),
    "Sign":                      ("✓", "X [1]", "X [2] or [3]", "N/A", "N/A", "X [14]", "✓"),
    "TagResource":               ("✓", "✓", "X [3]", "✓", "✓", "✓", "✓"),
    "UntagResource":             ("✓", "✓", "X [3]", "✓", "✓", "✓", "✓"),
    "UpdateAlias":               ("✓", "✓", "? [10]", "✓", "✓", "✓", "✓"),
    "UpdateKeyDescription":      ("✓", "✓", "X [3]", "✓", "✓", "✓", "✓"),
    "UpdatePrimaryRegion":       ("✓", "X [1]", "X [2] or [3]", "X [5]", "N/A", "X [14]", "✓"),
    "Verify":                    ("✓", "X [1]", "X [2] or [3]", "N/A", "N/A", "X [14]", "✓"),
    "VerifyMac":                 ("✓", "X [1]", "X [2] or [3]", "N/A", "N/A", "X [14]", "✓"),
}

#: operations newer than AWS's table, read as their relatives: cryptographic operations
#: like Encrypt; RotateKeyOnDemand like EnableKeyRotation, except that a key pending
#: import may rotate to material imported for the rotation (the handler decides, [16]
#: here); the read-only listings like DescribeKey
NEWER = {
    "DeriveSharedSecret":        AWS_TABLE["Encrypt"],
    "Encapsulate":               AWS_TABLE["Encrypt"],
    "Decapsulate":               AWS_TABLE["Encrypt"],
    "RotateKeyOnDemand":         ("? [7]", "X [1] or [7]", "X [3] or [7]", "? [16]", "X [7]", "X [14]", "? [7]"),
    "ListKeyRotations":          AWS_TABLE["DescribeKey"],
    "GetKeyLastUsage":           AWS_TABLE["DescribeKey"],
}
# fmt: on

#: AWS's footnotes that name an error and its message ({arn}: the key ARN)
AWS_FOOTNOTES = {
    1: ("DisabledException", "{arn} is disabled."),
    3: ("KMSInvalidStateException", "{arn} is pending deletion."),
    4: ("KMSInvalidStateException", "{arn} is not pending deletion."),
    5: ("KMSInvalidStateException", "{arn} is pending import."),
    6: ("UnsupportedOperationException",
        "{arn} origin is EXTERNAL which is not valid for this operation."),
    11: ("KMSInvalidStateException", "{arn} is unavailable."),
    14: ("KMSInvalidStateException", "{arn} is creating."),
    15: ("KMSInvalidStateException", "{arn} is updating."),
}
#: footnotes that depend on the key, not its state (imported material, a custom key store,
#: which alias), decided by the operation's handler: the state table lets them through
HANDLER_FOOTNOTES = {7, 9, 10, 12, 13, 16}
#: "[2] or [3]": AWS documents both; KMS answers [3] (KMSInvalidStateException) today.
#: "[8] or [9]": [8] is KMSInvalidStateException for a key pending deletion, the message of [3].
CHOICES = {"X [2] or [3]": 3, "X [8] or [9]": 3, "X [1] or [7]": 1, "X [3] or [7]": 3,
           "X [4], [13]": 4}


def _not_applicable(operation, state):
    """N/A: no key of that kind can be in that state. Keys that sign, MAC or have a public key
    answer in PendingImport as Encrypt does (their material can be imported today) and in
    Unavailable as Encrypt does; the other N/A cells are refused by their handlers (a custom
    key store's key has no imported material and is never multi-Region)."""
    if operation in ("Sign", "Verify", "GenerateMac", "VerifyMac", "GetPublicKey"):
        return {"PendingImport": 5, "Unavailable": 11}[state]
    return None


def expected(operation, state):
    """AWS's answer for ``operation`` on a key in ``state``: None (the state allows it) or
    (error code, message)."""
    row = AWS_TABLE.get(operation) or NEWER[operation]
    column = "PendingDeletion" if state == "PendingReplicaDeletion" else state
    cell = row[COLUMNS.index(column)]
    if cell.startswith("✓") or cell.startswith("?"):
        return None
    if cell == "N/A":
        footnote = _not_applicable(operation, column)
    elif cell in CHOICES:
        footnote = CHOICES[cell]
    else:
        footnote = int(cell.removeprefix("X [").removesuffix("]"))
        if footnote in HANDLER_FOOTNOTES:
            return None
    if footnote is None:
        return None
    code, message = AWS_FOOTNOTES[footnote]
    if state == "PendingReplicaDeletion":
        message = message.replace("pending deletion", "pending replica deletion")
    return code, message.format(arn=ARN)


def _answer(operation, state):
    try:
        states.check(operation, state, ARN)
    except errors.KMSError as e:
        return e.code, e.message
    return None


CELLS = [(op, state) for op in sorted(states.TABLE) for state in states.STATES]


def test_every_operation_of_the_table_is_in_aws_table_or_read_as_a_relative():
    assert set(states.TABLE) == (set(AWS_TABLE) | set(NEWER)) - {"ListAliases"}
    # ListAliases takes a KeyId only to filter: no state refuses it, in or out of the table
    for state in states.STATES:
        assert _answer("ListAliases", state) is None
    assert set(states.STATES) == set(COLUMNS) | {"PendingReplicaDeletion"}


@pytest.mark.parametrize("operation, state", CELLS, ids=[f"{o}-{s}" for o, s in CELLS])
def test_each_cell_answers_as_aws_table_says(operation, state):
    assert _answer(operation, state) == expected(operation, state)


def test_the_table_refuses_and_allows_in_aws_proportions():
    """A check on the expectation itself: it is not all "allowed"."""
    answers = [expected(op, state) for op, state in CELLS]
    refused = [a for a in answers if a is not None]
    assert len(refused) == 157 and len(answers) - len(refused) == 203
    assert {code for code, _ in refused} == {"DisabledException", "KMSInvalidStateException",
                                             "UnsupportedOperationException"}


def test_an_operation_not_in_the_table_is_not_refused_by_state():
    for state in states.STATES:
        assert _answer("CreateKey", state) is None


# ------------------------------------------------------------------ through the lab
@pytest.fixture
def keys_in_states(lab, kms):
    """One symmetric key per state a key outside custom key stores and Regions can reach here."""
    made = {}
    for state in ("Enabled", "Disabled", "PendingDeletion"):
        made[state] = kms.create_key()["KeyMetadata"]
    kms.disable_key(KeyId=made["Disabled"]["KeyId"])
    kms.schedule_key_deletion(KeyId=made["PendingDeletion"]["KeyId"], PendingWindowInDays=7)
    made["PendingImport"] = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]
    return made


@pytest.fixture
def grantee(lab):
    return lab.add_user("app").arn


def _calls(kms, key_id, grantee):
    return {
        "CreateGrant": lambda: kms.create_grant(KeyId=key_id, GranteePrincipal=grantee,
                                                Operations=["Decrypt"]),
        "DisableKey": lambda: kms.disable_key(KeyId=key_id),
        "GenerateDataKeyWithoutPlaintext": lambda: kms.generate_data_key_without_plaintext(
            KeyId=key_id, KeySpec="AES_256"),
        "GenerateDataKeyPair": lambda: kms.generate_data_key_pair(KeyId=key_id,
                                                                  KeyPairSpec="ECC_NIST_P256"),
        "GenerateDataKeyPairWithoutPlaintext": lambda: kms.generate_data_key_pair_without_plaintext(
            KeyId=key_id, KeyPairSpec="ECC_NIST_P256"),
    }


@pytest.mark.parametrize("state", ["Disabled", "PendingDeletion", "PendingImport"])
@pytest.mark.parametrize("operation", ["CreateGrant", "DisableKey", "GenerateDataKeyWithoutPlaintext",
                                       "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext"])
def test_through_the_client_each_refusal_is_aws_error_and_message_and_changes_nothing(
        kms, keys_in_states, grantee, operation, state):
    key = keys_in_states[state]
    want = expected(operation, state)
    call = _calls(kms, key["KeyId"], grantee)[operation]
    if want is None:
        call()
        return
    code, message = want
    with pytest.raises(errors.KMSError) as caught:
        call()
    assert (caught.value.code, caught.value.message) == (code, message.replace(ARN, key["Arn"]))
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == state
    assert kms.list_grants(KeyId=key["KeyId"])["Grants"] == []


def test_through_the_client_the_same_calls_succeed_on_an_enabled_key(kms, keys_in_states, grantee):
    key_id = keys_in_states["Enabled"]["KeyId"]
    calls = _calls(kms, key_id, grantee)
    assert calls["CreateGrant"]()["GrantId"]
    assert calls["GenerateDataKeyWithoutPlaintext"]()["KeyId"].endswith(key_id)
    assert calls["GenerateDataKeyPair"]()["KeyPairSpec"] == "ECC_NIST_P256"
    assert "PrivateKeyPlaintext" not in calls["GenerateDataKeyPairWithoutPlaintext"]()
    calls["DisableKey"]()
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"


@pytest.fixture
def store_key(kms, cloudhsm_store):
    """A key in a CloudHSM key store, and the store's id."""
    store_id = cloudhsm_store
    key = kms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=store_id)["KeyMetadata"]
    return key, store_id


def test_an_unavailable_key_refuses_data_keys_and_takes_grants(kms, store_key, grantee):
    key, store_id = store_key
    kms.disconnect_custom_key_store(CustomKeyStoreId=store_id)
    for operation in ("GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair",
                      "GenerateDataKeyPairWithoutPlaintext"):
        with pytest.raises(errors.KMSInvalidStateException) as caught:
            _calls(kms, key["KeyId"], grantee)[operation]()
        assert caught.value.message == f"{key['Arn']} is unavailable.", operation
    # CreateGrant and DisableKey are allowed on an unavailable key ([12]: DisableKey waits)
    assert kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee,
                            Operations=["Decrypt"])["GrantId"]
    kms.disable_key(KeyId=key["KeyId"])
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Unavailable"


@pytest.fixture
def multi_region(lab, kms):
    primary = kms.create_key(MultiRegion=True)["KeyMetadata"]
    west = lab.client(region_name="us-west-2")
    return primary, west


def test_a_replica_being_created_refuses_grants_and_disable(kms, multi_region, grantee):
    primary, west = multi_region
    replica = kms.replicate_key(KeyId=primary["KeyId"], ReplicaRegion="us-west-2")["ReplicaKeyMetadata"]
    assert replica["KeyState"] == "Creating"
    for operation in ("CreateGrant", "DisableKey", "GenerateDataKeyWithoutPlaintext",
                      "GenerateDataKeyPair"):
        with pytest.raises(errors.KMSInvalidStateException) as caught:
            _calls(west, replica["KeyId"], grantee)[operation]()
        assert caught.value.message == f"{replica['Arn']} is creating.", operation
    assert west.describe_key(KeyId=replica["KeyId"])["KeyMetadata"]["KeyState"] == "Creating"
    assert west.list_grants(KeyId=replica["KeyId"])["Grants"] == []


def test_a_key_being_updated_refuses_disable_and_takes_grants(lab, kms, multi_region, grantee):
    primary, west = multi_region
    kms.replicate_key(KeyId=primary["KeyId"], ReplicaRegion="us-west-2")
    lab.clock.advance(seconds=10)
    kms.update_primary_region(KeyId=primary["KeyId"], PrimaryRegion="us-west-2")
    assert kms.describe_key(KeyId=primary["KeyId"])["KeyMetadata"]["KeyState"] == "Updating"
    with pytest.raises(errors.KMSInvalidStateException) as caught:
        kms.disable_key(KeyId=primary["KeyId"])
    assert caught.value.message == f"{primary['Arn']} is updating."
    assert kms.create_grant(KeyId=primary["KeyId"], GranteePrincipal=grantee,
                            Operations=["Decrypt"])["GrantId"]
    assert kms.generate_data_key_without_plaintext(KeyId=primary["KeyId"], KeySpec="AES_256")
    assert kms.describe_key(KeyId=primary["KeyId"])["KeyMetadata"]["KeyState"] == "Updating"


# ------------------------------------------------------------------ every refusal, through the lab
@pytest.fixture
def keys_in_every_state(lab, kms, cloudhsm_store):
    """state -> (client, key metadata, a ciphertext of the key) for each of the eight key
    states, each key able to serve every operation of the table as far as its state lets it
    (multi-Region where it can be; its ciphertext made while it was enabled)."""
    from kmslab.byok import import_key_material

    west = lab.client(region_name="us-west-2")
    keys = {state: kms.create_key(MultiRegion=True)["KeyMetadata"]
            for state in ("Enabled", "Disabled", "PendingDeletion", "Updating",
                          "PendingReplicaDeletion", "Creating")}
    keys["PendingImport"] = kms.create_key(MultiRegion=True, Origin="EXTERNAL")["KeyMetadata"]
    import_key_material(kms, keys["PendingImport"]["KeyId"], b"\x07" * 32,
                        wrapping_algorithm="RSAES_OAEP_SHA_256", wrapping_key_spec="RSA_2048")
    keys["Unavailable"] = kms.create_key(Origin="AWS_CLOUDHSM",
                                         CustomKeyStoreId=cloudhsm_store)["KeyMetadata"]
    blobs = {state: kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
             for state, key in keys.items()}
    made = {state: (kms, key, blobs[state]) for state, key in keys.items()}
    kms.delete_imported_key_material(KeyId=keys["PendingImport"]["KeyId"])
    for state in ("Updating", "PendingReplicaDeletion"):
        kms.replicate_key(KeyId=keys[state]["KeyId"], ReplicaRegion="us-west-2")
    lab.clock.advance(seconds=10)
    kms.update_primary_region(KeyId=keys["Updating"]["KeyId"], PrimaryRegion="us-west-2")
    kms.schedule_key_deletion(KeyId=keys["PendingReplicaDeletion"]["KeyId"], PendingWindowInDays=7)
    # a replica being created: the primary's ciphertext names it too
    made["Creating"] = (west, kms.replicate_key(KeyId=keys["Creating"]["KeyId"],
                                                ReplicaRegion="us-west-2")["ReplicaKeyMetadata"],
                        blobs["Creating"])
    kms.disable_key(KeyId=keys["Disabled"]["KeyId"])
    kms.schedule_key_deletion(KeyId=keys["PendingDeletion"]["KeyId"], PendingWindowInDays=7)
    kms.disconnect_custom_key_store(CustomKeyStoreId=cloudhsm_store)
    for state, (client, key, _) in made.items():
        assert client.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == state
    return made


def _any_call(client, operation, key_id, grantee, blob):
    """A request for ``operation`` on ``key_id`` that only the key's state can refuse
    (``blob``: a ciphertext of the key)."""
    params = {
        "ReEncrypt": {}, "CancelKeyDeletion": {}, "DescribeKey": {}, "DisableKey": {}, "EnableKey": {},
        "DisableKeyRotation": {}, "EnableKeyRotation": {}, "GetKeyRotationStatus": {},
        "DeleteImportedKeyMaterial": {}, "GetKeyPolicy": {}, "ListGrants": {},
        "ListKeyPolicies": {}, "ListResourceTags": {}, "RotateKeyOnDemand": {},
        "ListKeyRotations": {}, "GetKeyLastUsage": {}, "GetPublicKey": {},
        "CreateAlias": {"AliasName": "alias/refused"},
        "CreateGrant": {"GranteePrincipal": grantee, "Operations": ["DescribeKey"]},
        "Decrypt": {"CiphertextBlob": blob},
        "Encrypt": {"Plaintext": b"x"},
        "GenerateDataKey": {"KeySpec": "AES_256"},
        "GenerateDataKeyWithoutPlaintext": {"KeySpec": "AES_256"},
        "GenerateDataKeyPair": {"KeyPairSpec": "ECC_NIST_P256"},
        "GenerateDataKeyPairWithoutPlaintext": {"KeyPairSpec": "ECC_NIST_P256"},
        "GenerateMac": {"Message": b"m", "MacAlgorithm": "HMAC_SHA_256"},
        "VerifyMac": {"Message": b"m", "Mac": b"\x00" * 32, "MacAlgorithm": "HMAC_SHA_256"},
        "Sign": {"Message": b"m", "SigningAlgorithm": "ECDSA_SHA_256"},
        "Verify": {"Message": b"m", "Signature": b"\x00" * 64, "SigningAlgorithm": "ECDSA_SHA_256"},
        "DeriveSharedSecret": {"KeyAgreementAlgorithm": "ECDH", "PublicKey": b"\x00" * 91},
        "Encapsulate": {"EncapsulationAlgorithm": "ML_KEM"},
        "Decapsulate": {"EncapsulationAlgorithm": "ML_KEM", "SharedSecretCiphertextBlob": blob},
        "GetParametersForImport": {"WrappingAlgorithm": "RSAES_OAEP_SHA_256",
                                   "WrappingKeySpec": "RSA_2048"},
        "ImportKeyMaterial": {"ImportToken": blob, "EncryptedKeyMaterial": blob,
                              "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"},
        "PutKeyPolicy": {"Policy": "{}", "PolicyName": "default"},
        "ReplicateKey": {"ReplicaRegion": "eu-west-1"},
        "ScheduleKeyDeletion": {"PendingWindowInDays": 7},
        "TagResource": {"Tags": [{"TagKey": "k", "TagValue": "v"}]},
        "UntagResource": {"TagKeys": ["k"]},
        "UpdateKeyDescription": {"Description": "d"},
        "UpdatePrimaryRegion": {"PrimaryRegion": "eu-west-1"},
    }[operation]
    if operation == "ReEncrypt":
        return client.re_encrypt(CiphertextBlob=blob, SourceKeyId=key_id, DestinationKeyId=key_id)
    if operation == "CreateAlias":
        return client.create_alias(TargetKeyId=key_id, **params)
    method = getattr(client, "".join("_" + c.lower() if c.isupper() else c for c in operation)[1:])
    return method(KeyId=key_id, **params)


#: every refused cell (an operation that no state refuses has no entry in _any_call)
REFUSED = [(op, state) for op, state in CELLS if expected(op, state) is not None]


@pytest.mark.parametrize("operation", sorted({op for op, _ in REFUSED}))
def test_every_refused_cell_through_the_client_is_aws_error_and_message_and_changes_nothing(
        keys_in_every_state, lab, operation):
    grantee = lab.add_user("grantee").arn
    for state in states.STATES:
        want = expected(operation, state)
        if want is None:
            continue
        client, key, blob = keys_in_every_state[state]
        with pytest.raises(errors.KMSError) as caught:
            _any_call(client, operation, key["KeyId"], grantee, blob)
        code, message = want
        assert (caught.value.code, caught.value.message) == (code, message.replace(ARN, key["Arn"])), \
            (operation, state)
        assert client.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == state
        assert client.list_grants(KeyId=key["KeyId"])["Grants"] == []
