"""What kmslab knows about each KMS operation, beside botocore's model: one table, as data.

botocore's model says what an operation's request and response *are* (shapes,
enums, lengths, errors). It does not say, as data, how KMS treats a request:
which key the request names and in which forms, whether that key may belong
to another account, which permission is checked against which policy, which
condition keys the request carries, what CloudTrail logs, which request quota
it counts against, or whether it works on a key in a custom key store. Those
are written here, once, and compiled into :class:`kmslab.operations.OperationSpec`,
which every part of kmslab reads (the client, the request pipeline, the
authorizer, the audit trail, the quotas, the grant rules).

Columns (a row names only what differs from the default):

=================  ==================================================  =========================
column             meaning                                             default
=================  ==================================================  =========================
key                the request member naming the KMS key               None (no key)
forms              identifier forms that member accepts                ``IDS``
from_ciphertext    the blob member whose ciphertext names the key      None
locate             how the handler finds the key when no member names  None
                   it (``"alias"``: DeleteAlias, ``"grant"``: RetireGrant)
cross_account      a key in another account may be named               False
policy             ``"key"`` (key policy, IAM, grants), ``"iam"`` (IAM  ``"key"``
                   policies only), ``"grant"`` (decided by the grant)
action             the IAM action checked on the key                   ``kms:<Operation>``
usage              KeyUsage the key must have                          None (any)
key_spec           ``"SYMMETRIC_DEFAULT"`` or ``"asymmetric"``          None (any)
algorithm          (member, default) naming the algorithm to check     None
                   against the key spec
context            the member holding the encryption context that      None
                   conditions and grant constraints read
grant              the action is a grant operation (GrantOperation)    False
conditions         condition keys the request sets: name -> source     {}
source             ReEncrypt's second key: a row of the same columns   None
read_only          CloudTrail's ``readOnly``                           False
response_logged    response members CloudTrail logs                    ()
defaults_logged    members CloudTrail logs with KMS's default          {}
key_id_as_arn      CloudTrail logs ``keyId`` as the ARN of the key     False
additional_data    CloudTrail logs ``additionalEventData``             False
key_arn_response   CloudTrail logs ``responseElements.keyId``, the     False
                   key ARN, though the response has none
request_logged     CloudTrail logs ``requestParameters`` (else null)   True
resources_logged   CloudTrail names the key in ``resources`` (else     True
                   an empty list)
quota              ``"cryptographic"``, ``"data key pair"``, a rate     None (no published quota)
                   (requests per second) of its own
custom_key_store   valid for a key in a custom key store               True
limit              (min, max, default) of ``Limit``                    None
creates_aws_managed_key  DescribeKey of a predefined ``alias/aws/...``  False
                   creates the AWS managed key
alias_refused      (error code, message) when an alias form is given   NotFoundException,
                                                                       ``Invalid keyId <id>``
alias              the member holding an alias name, checked against    None
                   AWS's alias name rules with the request
=================  ==================================================  =========================

Where each column comes from (:data:`SOURCES`): the API Reference text of the
operation and of its members as botocore ships it (``forms``, ``cross_account``,
``policy``, ``limit``, ``creates_aws_managed_key``; ``tests/test_operations.py``
checks every row against that text), and the Developer Guide pages named in
:data:`SOURCES` for the rest. A row's ``notes`` cite anything more specific.

Condition sources are tuples: ``("param", member, default)`` (the member's
value, or ``default`` when absent), ``("const", value)``, ``("derived", name)``
(computed by the authorizer, :mod:`kmslab.service.authorization`). A default
fills a key in only where AWS KMS's condition-keys page says the key works
without the parameter ("such as when you use the parameter's default value");
kms:BypassPolicyLockoutSafetyCheck and kms:ExpirationModel are absent when the
request omits the parameter (that page's own Null examples allow exactly those
requests).

Each operation's row of the *key-state table* (which key states allow it)
lives in :mod:`kmslab.service.states`, the pipeline's step 4.
"""

from __future__ import annotations

__all__ = ["OPERATIONS", "SOURCES", "ANY", "IDS", "FORMS"]

#: every identifier form a KeyId can take
FORMS = ("key_id", "key_arn", "alias_name", "alias_arn")
#: "To specify a KMS key, use its key ID, key ARN, alias name, or alias ARN."
ANY = FORMS
#: "Specify the key ID or key ARN of the KMS key."
IDS = ("key_id", "key_arn")

_SYM = "SYMMETRIC_DEFAULT"
_API = "https://docs.aws.amazon.com/kms/latest/APIReference/API_{op}.html"
_DG = "https://docs.aws.amazon.com/kms/latest/developerguide/"

#: column -> where its facts come from (a row's ``notes`` may add a more specific source)
SOURCES = {
    "key": "API Reference, the operation's request syntax (botocore's model): the member naming the key",
    "forms": "API Reference, the text of the key member (botocore's model), e.g. "
             "'Specify the key ID or key ARN of the KMS key.'",
    "from_ciphertext": "API Reference, Decrypt and ReEncrypt: 'KMS can get the KMS key from "
                       "metadata that it adds to the symmetric ciphertext blob.'",
    "locate": "API Reference, DeleteAlias (the alias names its key) and RetireGrant (the "
              "grant token, or KeyId and GrantId)",
    "cross_account": "API Reference, the operation's text: 'Cross-account use: Yes/No'",
    "policy": "API Reference, the operation's text: 'Required permissions: kms:<Action> "
              "(key policy)' or '(IAM policy)'",
    "action": "API Reference, 'Required permissions'; " + _DG + "kms-api-permissions-reference.html",
    "usage": _DG + "symm-asymm-compare.html (Key type reference: the Key type table)",
    "key_spec": _DG + "symm-asymm-compare.html (Key type reference: the Key type table)",
    "algorithm": "API Reference, the algorithm member of each cryptographic operation",
    "context": _DG + "encrypt_context.html; " + _DG + "create-grant-overview.html#grant-constraints",
    "grant": "API Reference, CreateGrant: the GrantOperation values (botocore's model)",
    "conditions": _DG + "conditions-kms.html (AWS KMS condition keys: which operations each "
                  "key applies to)",
    "source": "API Reference, ReEncrypt: 'kms:ReEncryptFrom permission on the source KMS key "
              "(key policy), kms:ReEncryptTo permission on the destination KMS key'",
    "read_only": _DG + "logging-using-cloudtrail.html (the CloudTrail entries of each operation)",
    "response_logged": _DG + "logging-using-cloudtrail.html (responseElements of each entry)",
    "defaults_logged": _DG + "logging-using-cloudtrail.html (requestParameters of each entry)",
    "key_id_as_arn": _DG + "ct-decrypt.html (Decrypt's entry logs the key ARN it used)",
    "additional_data": _DG + "logging-using-cloudtrail.html (additionalEventData: keyMaterialId, "
                       "customKeyStoreId)",
    "key_arn_response": _DG + "ct-enablekey.html, ct-createalias.html, ct-creategrant.html...: "
                        "'CloudTrail log entries for this operation recorded on or after "
                        "December 2022 include the key ARN of the affected KMS key in the "
                        "responseElements.keyId value, even though this operation does not "
                        "return the key ARN.'",
    "request_logged": _DG + "ct-retire-grant.html, ct-generaterandom.html (requestParameters: null)",
    "resources_logged": _DG + "ct-generaterandom.html, ct-listaliases.html (resources: [])",
    "quota": _DG + "requests-per-second.html (Request quotas)",
    "custom_key_store": _DG + "symm-asymm-compare.html (Key type reference: the Special "
                        "features table, 'Not valid on KMS keys in custom key stores')",
    "limit": "API Reference, the text of the Limit member: 'it must be between 1 and 100, "
             "inclusive. If you do not include a value, it defaults to 50.'",
    "creates_aws_managed_key": "API Reference, DescribeKey: 'Amazon Web Services services use "
                               "DescribeKey to create Amazon Web Services managed keys from a "
                               "predefined Amazon Web Services alias with no key ID.'",
    "alias": _DG + "alias-create.html ('The alias name must begin with alias/ ... cannot begin "
             "with alias/aws/'); the errors: getmoto/moto tests/test_kms/test_kms_boto3.py",
    "alias_refused": "getmoto/moto tests/test_kms/test_kms_boto3.py (checked against AWS): "
                     "'Invalid keyId alias/my-alias'; CreateAlias: 'Aliases must refer to keys. "
                     "Not aliases'",
}


# ------------------------------------------------------------------ shared rows
def _crypto(**row) -> dict:
    """A cryptographic operation: any key form, cross-account, grantable, read-only, the
    shared cryptographic-operations quota, key material logged as additionalEventData."""
    return {"key": "KeyId", "forms": ANY, "cross_account": True, "grant": True, "read_only": True,
            "quota": "cryptographic", "additional_data": True, **row}


_ENCRYPTION_ALGORITHM = {"kms:EncryptionAlgorithm": ("param", "EncryptionAlgorithm", _SYM)}
_SYMMETRIC_ONLY = {"kms:EncryptionAlgorithm": ("const", _SYM)}
_SIGNING = {"kms:SigningAlgorithm": ("param", "SigningAlgorithm", None),
            "kms:MessageType": ("param", "MessageType", "RAW")}
_MAC = {"kms:MacAlgorithm": ("param", "MacAlgorithm", None)}
_VIA_AWS = {"kms:GrantIsForAWSResource": ("derived", "grant_is_for_aws_resource")}
_LIST_100 = (1, 100, 50)
_LIST_1000 = (1, 1000, 100)


#: operation -> its facts (see the module docstring for the columns and their sources)
OPERATIONS: dict[str, dict] = {
    # ------------------------------------------------------------ keys
    "CreateKey": {
        "policy": "iam", "quota": 5, "additional_data": True, "response_logged": ("KeyMetadata",),
        "conditions": {
            "kms:BypassPolicyLockoutSafetyCheck": ("param", "BypassPolicyLockoutSafetyCheck", None),
            "kms:KeySpec": ("derived", "requested_key_spec"),
            "kms:KeyUsage": ("derived", "requested_key_usage"),
            "kms:KeyOrigin": ("param", "Origin", "AWS_KMS"),
            "kms:MultiRegion": ("param", "MultiRegion", False),
            "kms:MultiRegionKeyType": ("derived", "requested_multi_region_key_type"),
            "aws:RequestTag/*": ("derived", "request_tags"),
        },
    },
    "DescribeKey": {
        "key": "KeyId", "forms": ANY, "cross_account": True, "grant": True, "read_only": True,
        "quota": 2_000, "creates_aws_managed_key": True,
    },
    "ListKeys": {"policy": "iam", "read_only": True, "quota": 500, "limit": _LIST_1000},
    "EnableKey": {"key": "KeyId", "quota": 5, "key_arn_response": True},
    "DisableKey": {"key": "KeyId", "quota": 5, "key_arn_response": True},
    "ScheduleKeyDeletion": {
        "key": "KeyId", "quota": 15, "response_logged": ("KeyId", "KeyState", "DeletionDate"),
        "conditions": {"kms:ScheduleKeyDeletionPendingWindowInDays":
                       ("param", "PendingWindowInDays", 30)},
    },
    "CancelKeyDeletion": {"key": "KeyId", "quota": 5, "response_logged": ("KeyId",)},
    "UpdateKeyDescription": {"key": "KeyId", "quota": 5},
    # ------------------------------------------------------------ aliases
    "CreateAlias": {
        "key": "TargetKeyId", "alias": "AliasName", "quota": 5, "key_arn_response": True,
        "alias_refused": ("ValidationException", "Aliases must refer to keys. Not aliases"),
        "notes": "kms:CreateAlias is also checked on the alias ARN, in IAM policies "
                 "(API Reference, CreateAlias: 'Required permissions')",
    },
    "UpdateAlias": {
        "key": "TargetKeyId", "alias": "AliasName", "quota": 5, "key_arn_response": True,
        "alias_refused": ("ValidationException", "Aliases must refer to keys. Not aliases"),
        "notes": "kms:UpdateAlias is also checked on the alias's current key and, in IAM "
                 "policies, on the alias ARN (API Reference, UpdateAlias)",
    },
    "DeleteAlias": {
        "locate": "alias", "alias": "AliasName", "quota": 15, "key_arn_response": True,
        "notes": "kms:DeleteAlias is also checked on the alias ARN, in IAM policies",
    },
    "ListAliases": {
        "key": "KeyId", "policy": "iam", "action": None, "read_only": True, "quota": 500,
        "resources_logged": False,
        "limit": _LIST_100,
        "notes": "KeyId only filters the list: kms:ListAliases is an IAM permission",
    },
    # ------------------------------------------------------------ tags and policies
    "TagResource": {
        "key": "KeyId", "quota": 10,
        "conditions": {"aws:RequestTag/*": ("derived", "request_tags")},
    },
    "UntagResource": {
        "key": "KeyId", "quota": 5, "key_arn_response": True, "conditions": {"aws:TagKeys": ("param", "TagKeys", None)},
    },
    "ListResourceTags": {"key": "KeyId", "read_only": True, "quota": 2_000, "limit": (1, 50, 50)},
    "GetKeyPolicy": {"key": "KeyId", "read_only": True, "quota": 1_000},
    "PutKeyPolicy": {
        "key": "KeyId", "quota": 15,
        "conditions": {"kms:BypassPolicyLockoutSafetyCheck":
                       ("param", "BypassPolicyLockoutSafetyCheck", None)},
    },
    "ListKeyPolicies": {"key": "KeyId", "read_only": True, "quota": 100, "limit": _LIST_1000},
    # ------------------------------------------------------------ cryptographic operations
    "Encrypt": _crypto(
        usage="ENCRYPT_DECRYPT", algorithm=("EncryptionAlgorithm", _SYM),
        context="EncryptionContext", conditions=_ENCRYPTION_ALGORITHM,
        defaults_logged={"EncryptionAlgorithm": _SYM}),
    "Decrypt": _crypto(
        from_ciphertext="CiphertextBlob", usage="ENCRYPT_DECRYPT",
        algorithm=("EncryptionAlgorithm", _SYM), context="EncryptionContext",
        conditions=_ENCRYPTION_ALGORITHM, defaults_logged={"EncryptionAlgorithm": _SYM},
        key_id_as_arn=True),
    "ReEncrypt": _crypto(
        key="DestinationKeyId", action="kms:ReEncryptTo", usage="ENCRYPT_DECRYPT",
        algorithm=("DestinationEncryptionAlgorithm", _SYM),
        context="DestinationEncryptionContext",
        conditions={"kms:EncryptionAlgorithm": ("param", "DestinationEncryptionAlgorithm", _SYM),
                    "kms:ReEncryptOnSameKey": ("derived", "reencrypt_on_same_key")},
        source={"key": "SourceKeyId", "forms": ANY, "from_ciphertext": "CiphertextBlob",
                "action": "kms:ReEncryptFrom", "usage": "ENCRYPT_DECRYPT",
                "algorithm": ("SourceEncryptionAlgorithm", _SYM),
                "context": "SourceEncryptionContext", "grant": True,
                "conditions": {
                    "kms:EncryptionAlgorithm": ("param", "SourceEncryptionAlgorithm", _SYM),
                    "kms:ReEncryptOnSameKey": ("derived", "reencrypt_on_same_key")}},
        defaults_logged={"SourceEncryptionAlgorithm": _SYM, "DestinationEncryptionAlgorithm": _SYM}),
    "GenerateDataKey": _crypto(
        usage="ENCRYPT_DECRYPT", key_spec=_SYM, context="EncryptionContext",
        conditions=_SYMMETRIC_ONLY),
    "GenerateDataKeyWithoutPlaintext": _crypto(
        usage="ENCRYPT_DECRYPT", key_spec=_SYM, context="EncryptionContext",
        conditions=_SYMMETRIC_ONLY),
    "GenerateDataKeyPair": _crypto(
        usage="ENCRYPT_DECRYPT", key_spec=_SYM, context="EncryptionContext",
        conditions={"kms:DataKeyPairSpec": ("param", "KeyPairSpec", None), **_SYMMETRIC_ONLY},
        quota="data key pair", custom_key_store=False,
        notes="API Reference, GenerateDataKeyPair: 'You cannot use an asymmetric KMS key or a "
              "KMS key in a custom key store.'"),
    "GenerateDataKeyPairWithoutPlaintext": _crypto(
        usage="ENCRYPT_DECRYPT", key_spec=_SYM, context="EncryptionContext",
        conditions={"kms:DataKeyPairSpec": ("param", "KeyPairSpec", None), **_SYMMETRIC_ONLY},
        quota="data key pair", custom_key_store=False,
        notes="API Reference, GenerateDataKeyPairWithoutPlaintext: 'You cannot use an "
              "asymmetric KMS key or a KMS key in a custom key store.'"),
    "GenerateRandom": {"policy": "iam", "read_only": True, "quota": "cryptographic",
                       "request_logged": False, "resources_logged": False},
    "Sign": _crypto(usage="SIGN_VERIFY", algorithm=("SigningAlgorithm", None),
                    conditions=_SIGNING),
    "Verify": _crypto(usage="SIGN_VERIFY", algorithm=("SigningAlgorithm", None),
                      conditions=_SIGNING),
    "GetPublicKey": {
        "key": "KeyId", "forms": ANY, "cross_account": True, "grant": True, "read_only": True,
        "key_spec": "asymmetric", "quota": 2_000,
    },
    "GenerateMac": _crypto(usage="GENERATE_VERIFY_MAC", algorithm=("MacAlgorithm", None),
                           conditions=_MAC,
                           notes="forms: API Reference, GenerateMac: 'specify the key ARN or "
                                 "alias ARN in the value of the KeyId parameter'"),
    "VerifyMac": _crypto(usage="GENERATE_VERIFY_MAC", algorithm=("MacAlgorithm", None),
                         conditions=_MAC,
                         notes="forms: API Reference, VerifyMac: 'specify the key ARN or alias "
                               "ARN in the value of the KeyId parameter'"),
    "DeriveSharedSecret": _crypto(
        usage="KEY_AGREEMENT", algorithm=("KeyAgreementAlgorithm", None),
        conditions={"kms:KeyAgreementAlgorithm": ("param", "KeyAgreementAlgorithm", None)}),
    "Encapsulate": _crypto(usage="ENCAPSULATE_DECAPSULATE",
                           algorithm=("EncapsulationAlgorithm", None), quota=None),
    "Decapsulate": _crypto(usage="ENCAPSULATE_DECAPSULATE",
                           algorithm=("EncapsulationAlgorithm", None), quota=None),
    # ------------------------------------------------------------ grants
    "CreateGrant": {
        "key": "KeyId", "cross_account": True, "grant": True, "quota": 50,
        "context": "Constraints", "response_logged": ("GrantId",), "key_arn_response": True,
        "conditions": {"kms:GrantOperations": ("param", "Operations", None),
                       "kms:GranteePrincipal": ("param", "GranteePrincipal", None),
                       "kms:RetiringPrincipal": ("param", "RetiringPrincipal", None),
                       "kms:GrantConstraintType": ("derived", "grant_constraint_type"),
                       **_VIA_AWS},
    },
    "ListGrants": {
        "key": "KeyId", "cross_account": True, "read_only": True, "quota": 100,
        "limit": _LIST_100,
        "conditions": {"kms:GranteePrincipal": ("param", "GranteePrincipal", None), **_VIA_AWS},
    },
    "ListRetirableGrants": {"policy": "iam", "read_only": True, "quota": 100, "limit": _LIST_100},
    "RetireGrant": {
        "locate": "grant", "cross_account": True, "policy": "grant", "grant": True, "quota": 50,
        "request_logged": False, "additional_data": True,
        "notes": "forms: the KeyId text asks for the key ARN; a key id of the caller's own "
                 "account is taken too, aliases are not",
    },
    "RevokeGrant": {"key": "KeyId", "cross_account": True, "quota": 50, "conditions": _VIA_AWS},
    # ------------------------------------------------------------ rotation
    "EnableKeyRotation": {
        "key": "KeyId", "quota": 15, "custom_key_store": False, "key_arn_response": True,
        "conditions": {"kms:RotationPeriodInDays": ("param", "RotationPeriodInDays", 365)},
    },
    "DisableKeyRotation": {"key": "KeyId", "quota": 5, "custom_key_store": False},
    "GetKeyRotationStatus": {"key": "KeyId", "cross_account": True, "read_only": True,
                             "quota": 1_000},
    "RotateKeyOnDemand": {"key": "KeyId", "quota": 5, "custom_key_store": False, "response_logged": ("KeyId",)},
    "ListKeyRotations": {"key": "KeyId", "read_only": True, "quota": 100, "limit": _LIST_1000},
    "GetKeyLastUsage": {"key": "KeyId", "read_only": True, "quota": 5},
    # ------------------------------------------------------------ imported key material
    "GetParametersForImport": {
        "key": "KeyId", "quota": 1, "custom_key_store": False, "read_only": True,
        "conditions": {"kms:WrappingAlgorithm": ("param", "WrappingAlgorithm", None),
                       "kms:WrappingKeySpec": ("param", "WrappingKeySpec", None)},
    },
    "ImportKeyMaterial": {
        "key": "KeyId", "quota": 15, "custom_key_store": False,
        "response_logged": ("KeyId", "KeyMaterialId"),
        "conditions": {"kms:ExpirationModel": ("param", "ExpirationModel", None),
                       "kms:ValidTo": ("param", "ValidTo", None)},
    },
    "DeleteImportedKeyMaterial": {
        "key": "KeyId", "quota": 15, "custom_key_store": False,
        "response_logged": ("KeyId", "KeyMaterialId"),
    },
    # ------------------------------------------------------------ multi-Region keys
    "ReplicateKey": {
        "key": "KeyId", "quota": 5, "custom_key_store": False,
        "response_logged": ("ReplicaKeyMetadata", "ReplicaPolicy"),
        "defaults_logged": {"BypassPolicyLockoutSafetyCheck": False, "Description": ""},
        "conditions": {"kms:ReplicaRegion": ("param", "ReplicaRegion", None)},
    },
    "UpdatePrimaryRegion": {
        "key": "KeyId", "quota": 5, "custom_key_store": False, "key_arn_response": True,
        "conditions": {"kms:PrimaryRegion": ("param", "PrimaryRegion", None)},
    },
    # ------------------------------------------------------------ custom key stores
    "CreateCustomKeyStore": {"policy": "iam", "quota": 5},
    "DescribeCustomKeyStores": {
        "policy": "iam", "read_only": True, "quota": 5, "limit": _LIST_1000,
        "notes": "limit: the Limit text gives no range or default; the model's range, and "
                 "the default of the other List operations",
    },
    "ConnectCustomKeyStore": {"policy": "iam", "quota": 5},
    "DisconnectCustomKeyStore": {"policy": "iam", "quota": 5},
    "UpdateCustomKeyStore": {"policy": "iam", "quota": 5},
    "DeleteCustomKeyStore": {"policy": "iam", "quota": 5},
}
