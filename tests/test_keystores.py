"""Custom key stores end to end: CloudHSM clusters, external key store proxies, keys in them."""

import pytest

from kmslab import errors
from kmslab.crypto.symmetric import parse_blob

from shapes import check_response


@pytest.fixture
def cluster_id(lab):
    return lab.create_cloudhsm_cluster(hsm_count=2)


@pytest.fixture
def cluster(lab, cluster_id):
    return lab.cloudhsm.cluster(cluster_id)


def _create_hsm_store(kms, cluster, name="hsm-store", password="kmsPswd1"):
    return kms.create_custom_key_store(
        CustomKeyStoreName=name, CloudHsmClusterId=cluster.cluster_id,
        TrustAnchorCertificate=cluster.trust_anchor_certificate,
        KeyStorePassword=password)["CustomKeyStoreId"]


def _describe(kms, store_id):
    return kms.describe_custom_key_stores(CustomKeyStoreId=store_id)["CustomKeyStores"][0]


@pytest.fixture
def connected_store(lab, kms, cluster):
    store_id = _create_hsm_store(kms, cluster)
    kms.connect_custom_key_store(CustomKeyStoreId=store_id)
    lab.clock.advance(minutes=5)
    assert _describe(kms, store_id)["ConnectionState"] == "CONNECTED"
    return store_id


def test_cluster_ids_follow_cloudhsm_pattern(lab, cluster_id, cluster):
    import re
    assert re.fullmatch(r"cluster-[2-7a-zA-Z]{11,16}", cluster_id)
    assert cluster.active_hsm_count() == 2 and cluster.active_availability_zones() == 2
    assert cluster.trust_anchor_certificate.startswith("-----BEGIN CERTIFICATE-----")


def test_create_and_describe_cloudhsm_store_matches_model(lab, kms, cluster):
    store_id = _create_hsm_store(kms, cluster)
    assert store_id.startswith("cks-") and len(store_id) == 21
    out = check_response("DescribeCustomKeyStores", kms.describe_custom_key_stores())
    entry = out["CustomKeyStores"][0]
    assert entry["ConnectionState"] == "DISCONNECTED" and "ConnectionErrorCode" not in entry
    assert entry["CustomKeyStoreType"] == "AWS_CLOUDHSM"
    assert entry["CloudHsmClusterId"] == cluster.cluster_id
    assert "KeyStorePassword" not in entry and "kmsPswd1" not in repr(entry)
    by_name = kms.describe_custom_key_stores(CustomKeyStoreName="hsm-store")["CustomKeyStores"]
    assert by_name == [entry]


def test_create_store_errors(lab, kms, cluster):
    _create_hsm_store(kms, cluster)
    with pytest.raises(errors.CustomKeyStoreNameInUseException):
        _create_hsm_store(kms, cluster)
    with pytest.raises(errors.CloudHsmClusterInUseException):
        _create_hsm_store(kms, cluster, name="other")
    with pytest.raises(errors.CloudHsmClusterNotFoundException):
        kms.create_custom_key_store(CustomKeyStoreName="x", CloudHsmClusterId="cluster-aaaaaaaaaaa",
                                    TrustAnchorCertificate="pem", KeyStorePassword="kmsPswd1")
    one_hsm = lab.cloudhsm.cluster(lab.create_cloudhsm_cluster(hsm_count=1))
    with pytest.raises(errors.CloudHsmClusterInvalidConfigurationException):
        _create_hsm_store(kms, one_hsm, name="one")
    fresh = lab.cloudhsm.cluster(lab.create_cloudhsm_cluster())
    with pytest.raises(errors.IncorrectTrustAnchorException):
        kms.create_custom_key_store(CustomKeyStoreName="anchor", CloudHsmClusterId=fresh.cluster_id,
                                    TrustAnchorCertificate=cluster.trust_anchor_certificate,
                                    KeyStorePassword="kmsPswd1")
    fresh.state = "INITIALIZED"
    with pytest.raises(errors.CloudHsmClusterNotActiveException):
        _create_hsm_store(kms, fresh, name="inactive")
    with pytest.raises(errors.ValidationException):
        kms.create_custom_key_store(CustomKeyStoreName="nopw", CloudHsmClusterId=fresh.cluster_id,
                                    TrustAnchorCertificate=fresh.trust_anchor_certificate)
    assert len(kms.describe_custom_key_stores()["CustomKeyStores"]) == 1


def test_store_quota_is_ten(lab, kms):
    for i in range(10):
        c = lab.cloudhsm.cluster(lab.create_cloudhsm_cluster())
        _create_hsm_store(kms, c, name=f"s{i}")
    c = lab.cloudhsm.cluster(lab.create_cloudhsm_cluster())
    with pytest.raises(errors.LimitExceededException):
        _create_hsm_store(kms, c, name="eleventh")
    page = kms.describe_custom_key_stores(Limit=4)
    assert len(page["CustomKeyStores"]) == 4 and page["Truncated"] is True
    rest = kms.describe_custom_key_stores(Marker=page["NextMarker"], Limit=100)
    assert len(rest["CustomKeyStores"]) == 6 and rest["Truncated"] is False


def test_connect_takes_time_and_rotates_kmsuser_password(lab, kms, cluster):
    store_id = _create_hsm_store(kms, cluster)
    assert check_response("ConnectCustomKeyStore",
                          kms.connect_custom_key_store(CustomKeyStoreId=store_id)) is not None
    assert _describe(kms, store_id)["ConnectionState"] == "CONNECTING"
    kms.connect_custom_key_store(CustomKeyStoreId=store_id)  # idempotent while connecting
    lab.clock.advance(minutes=5)
    assert _describe(kms, store_id)["ConnectionState"] == "CONNECTED"
    assert not cluster.login("kmsPswd1")  # KMS rotated the kmsuser password
    commands = [r["command"] for r in cluster.audit_log]
    assert "LoginUser" in commands and "ChangePassword" in commands


@pytest.mark.parametrize("breakage, code", [
    ("password", "INVALID_CREDENTIALS"),
    ("no_hsms", "INSUFFICIENT_CLOUDHSM_HSMS"),
    ("no_user", "USER_NOT_FOUND"),
    ("logged_in", "USER_LOGGED_IN"),
    ("deleted", "CLUSTER_NOT_FOUND"),
])
def test_connect_failures_report_connection_error_code(lab, kms, cluster, breakage, code):
    store_id = _create_hsm_store(kms, cluster, password="wrongPass" if breakage == "password"
                                 else "kmsPswd1")
    if breakage == "no_hsms":
        cluster.delete_hsm()
        cluster.delete_hsm()
    elif breakage == "no_user":
        cluster.kmsuser_password = None
    elif breakage == "logged_in":
        cluster.kmsuser_logged_in = True
    elif breakage == "deleted":
        lab.cloudhsm.delete_cluster(cluster.cluster_id)
    kms.connect_custom_key_store(CustomKeyStoreId=store_id)
    lab.clock.advance(minutes=5)
    entry = check_response("DescribeCustomKeyStores",
                           kms.describe_custom_key_stores(CustomKeyStoreId=store_id))["CustomKeyStores"][0]
    assert entry["ConnectionState"] == "FAILED" and entry["ConnectionErrorCode"] == code
    with pytest.raises(errors.CustomKeyStoreInvalidStateException):
        kms.connect_custom_key_store(CustomKeyStoreId=store_id)  # FAILED: disconnect first
    kms.disconnect_custom_key_store(CustomKeyStoreId=store_id)
    assert _describe(kms, store_id)["ConnectionState"] == "DISCONNECTED"
    assert "ConnectionErrorCode" not in _describe(kms, store_id)


def test_key_in_cloudhsm_store_uses_cluster_material(lab, kms, cluster, connected_store):
    md = check_response("CreateKey", kms.create_key(Origin="AWS_CLOUDHSM",
                                                    CustomKeyStoreId=connected_store))["KeyMetadata"]
    assert md["Origin"] == "AWS_CLOUDHSM" and md["CustomKeyStoreId"] == connected_store
    assert md["CloudHsmClusterId"] == cluster.cluster_id
    assert "CurrentKeyMaterialId" not in md
    assert len(cluster.key_handles()) == 1
    blob = kms.encrypt(KeyId=md["KeyId"], Plaintext=b"secret",
                       EncryptionContext={"a": "b"})["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "b"})["Plaintext"] == b"secret"
    dk = kms.generate_data_key(KeyId=md["KeyId"], KeySpec="AES_256")
    assert kms.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"] == dk["Plaintext"]
    used = [r["command"] for r in cluster.audit_log]
    assert used.count("Encrypt") == 2 and used.count("Decrypt") == 2
    # the cluster really holds the material: remove it and the key cannot decrypt
    cluster.delete_key(cluster.key_handles()[0])
    # AWS: cryptographic operations fail with KMSInvalidStateException for every key store problem
    with pytest.raises(errors.KMSInvalidStateException, match="is not in its AWS CloudHSM cluster"):
        kms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "b"})


def test_cryptographic_records_name_the_key_store(lab, kms, connected_store):
    key_id = kms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=connected_store)["KeyMetadata"]["KeyId"]
    assert lab.audit.records()[-1]["additionalEventData"] == {"customKeyStoreId": connected_store}
    kms.encrypt(KeyId=key_id, Plaintext=b"x")
    assert lab.audit.records()[-1]["additionalEventData"]["customKeyStoreId"] == connected_store
    kms.describe_key(KeyId=key_id)  # not a cryptographic operation: no additionalEventData
    assert "additionalEventData" not in lab.audit.records()[-1]


def test_key_unavailable_when_cluster_has_no_active_hsm(lab, kms, cluster, connected_store):
    key_id = kms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=connected_store)["KeyMetadata"]["KeyId"]
    kms.encrypt(KeyId=key_id, Plaintext=b"x")
    cluster.delete_hsm()
    cluster.delete_hsm()
    # the CloudHSM troubleshooting page's message, a 400
    with pytest.raises(errors.KMSInvalidStateException) as info:
        kms.encrypt(KeyId=key_id, Plaintext=b"x")
    assert info.value.message == "KMS cannot communicate with your CloudHSM cluster"
    assert "no active HSM" in info.value.explanation and info.value.status == 400
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    with pytest.raises(errors.CloudHsmClusterInvalidConfigurationException):
        kms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=connected_store)


def test_disconnect_makes_keys_unavailable_and_reconnect_restores(lab, kms, connected_store):
    enabled = kms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=connected_store)["KeyMetadata"]["KeyId"]
    disabled = kms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=connected_store)["KeyMetadata"]["KeyId"]
    doomed = kms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=connected_store)["KeyMetadata"]["KeyId"]
    kms.disable_key(KeyId=disabled)
    kms.schedule_key_deletion(KeyId=doomed, PendingWindowInDays=7)
    blob = kms.encrypt(KeyId=enabled, Plaintext=b"x")["CiphertextBlob"]
    kms.disconnect_custom_key_store(CustomKeyStoreId=connected_store)
    state = lambda k: kms.describe_key(KeyId=k)["KeyMetadata"]["KeyState"]  # noqa: E731
    assert [state(enabled), state(disabled), state(doomed)] == \
        ["Unavailable", "Unavailable", "PendingDeletion"]
    with pytest.raises(errors.KMSInvalidStateException, match="is unavailable"):
        kms.decrypt(CiphertextBlob=blob)
    with pytest.raises(errors.CustomKeyStoreInvalidStateException):
        kms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=connected_store)
    with pytest.raises(errors.CustomKeyStoreInvalidStateException):
        kms.disconnect_custom_key_store(CustomKeyStoreId=connected_store)
    with pytest.raises(errors.CustomKeyStoreInvalidStateException):
        kms.generate_random(NumberOfBytes=8, CustomKeyStoreId=connected_store)
    kms.enable_key(KeyId=disabled)  # footnote 12: takes effect on reconnect
    assert state(disabled) == "Unavailable"
    kms.connect_custom_key_store(CustomKeyStoreId=connected_store)
    lab.clock.advance(minutes=5)
    assert [state(enabled), state(disabled), state(doomed)] == \
        ["Enabled", "Enabled", "PendingDeletion"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"
    assert len(kms.generate_random(NumberOfBytes=8, CustomKeyStoreId=connected_store)["Plaintext"]) == 8


def test_what_aws_does_not_allow_in_a_custom_key_store(lab, kms, connected_store):
    for spec, usage in (("RSA_2048", "SIGN_VERIFY"), ("HMAC_256", "GENERATE_VERIFY_MAC")):
        with pytest.raises(errors.UnsupportedOperationException):
            kms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=connected_store,
                           KeySpec=spec, KeyUsage=usage)
    with pytest.raises(errors.UnsupportedOperationException):
        kms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=connected_store, MultiRegion=True)
    with pytest.raises(errors.CustomKeyStoreNotFoundException):
        kms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId="cks-00000000000000000")
    with pytest.raises(errors.ValidationException):
        kms.create_key(Origin="AWS_CLOUDHSM")
    assert len(kms.list_keys()["Keys"]) == 0


def test_delete_store_only_when_disconnected_and_empty(lab, kms, cluster, connected_store):
    key_id = kms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=connected_store)["KeyMetadata"]["KeyId"]
    with pytest.raises(errors.CustomKeyStoreHasCMKsException):
        kms.delete_custom_key_store(CustomKeyStoreId=connected_store)
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    lab.clock.advance(days=7)
    assert cluster.key_handles() == []  # KMS deleted the material from the cluster
    with pytest.raises(errors.CustomKeyStoreInvalidStateException):
        kms.delete_custom_key_store(CustomKeyStoreId=connected_store)
    kms.disconnect_custom_key_store(CustomKeyStoreId=connected_store)
    check_response("DeleteCustomKeyStore", kms.delete_custom_key_store(CustomKeyStoreId=connected_store))
    with pytest.raises(errors.CustomKeyStoreNotFoundException):
        kms.describe_custom_key_stores(CustomKeyStoreId=connected_store)
    assert lab.cloudhsm.get(cluster.cluster_id) is not None  # the cluster is untouched


def test_update_store_rules(lab, kms, cluster, connected_store):
    kms.update_custom_key_store(CustomKeyStoreId=connected_store, NewCustomKeyStoreName="renamed")
    assert _describe(kms, connected_store)["CustomKeyStoreName"] == "renamed"
    with pytest.raises(errors.CustomKeyStoreInvalidStateException):
        kms.update_custom_key_store(CustomKeyStoreId=connected_store, KeyStorePassword="newPass12")
    kms.disconnect_custom_key_store(CustomKeyStoreId=connected_store)
    unrelated = lab.create_cloudhsm_cluster()
    with pytest.raises(errors.CloudHsmClusterNotRelatedException):
        kms.update_custom_key_store(CustomKeyStoreId=connected_store, CloudHsmClusterId=unrelated)
    restored = lab.create_cloudhsm_cluster(source_cluster=cluster.cluster_id)
    kms.update_custom_key_store(CustomKeyStoreId=connected_store, CloudHsmClusterId=restored)
    assert _describe(kms, connected_store)["CloudHsmClusterId"] == restored
    other = _create_hsm_store(kms, lab.cloudhsm.cluster(unrelated), name="other")
    with pytest.raises(errors.CustomKeyStoreNameInUseException):
        kms.update_custom_key_store(CustomKeyStoreId=other, NewCustomKeyStoreName="renamed")


# ----------------------------------------------------------------- external key stores

@pytest.fixture
def proxy(lab):
    return lab.create_xks_proxy(external_keys=("ext-1", "ext-2"))


def _create_xks_store(kms, proxy, name="xks"):
    return kms.create_custom_key_store(
        CustomKeyStoreName=name, CustomKeyStoreType="EXTERNAL_KEY_STORE",
        XksProxyUriEndpoint=proxy.uri_endpoint, XksProxyUriPath=proxy.uri_path,
        XksProxyAuthenticationCredential=proxy.credential,
        XksProxyConnectivity="PUBLIC_ENDPOINT")["CustomKeyStoreId"]


def test_external_key_store_double_encryption(lab, kms, proxy):
    store_id = _create_xks_store(kms, proxy)
    entry = check_response("DescribeCustomKeyStores",
                           kms.describe_custom_key_stores())["CustomKeyStores"][0]
    assert entry["XksProxyConfiguration"]["UriEndpoint"] == proxy.uri_endpoint
    assert "RawSecretAccessKey" not in entry["XksProxyConfiguration"]
    kms.connect_custom_key_store(CustomKeyStoreId=store_id)
    lab.clock.advance(minutes=1)
    md = check_response("CreateKey", kms.create_key(Origin="EXTERNAL_KEY_STORE",
                                                    CustomKeyStoreId=store_id, XksKeyId="ext-1"))["KeyMetadata"]
    assert md["XksKeyConfiguration"] == {"Id": "ext-1"} and md["Origin"] == "EXTERNAL_KEY_STORE"
    blob = kms.encrypt(KeyId=md["KeyId"], Plaintext=b"hyok")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"hyok"
    assert [r["command"] for r in proxy.audit_log].count("Decrypt") == 1
    proxy.disable_external_key("ext-1")  # the owner pulls the key: KMS cannot decrypt
    with pytest.raises(errors.KMSInvalidStateException,
                       match="the external key is not enabled in the external key manager"):
        kms.decrypt(CiphertextBlob=blob)
    proxy.enable_external_key("ext-1")
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"hyok"
    with pytest.raises(errors.XksKeyAlreadyInUseException):
        kms.create_key(Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=store_id, XksKeyId="ext-1")
    with pytest.raises(errors.XksKeyNotFoundException):
        kms.create_key(Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=store_id, XksKeyId="nope")
    with pytest.raises(errors.ValidationException):
        kms.create_key(Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=store_id)
    with pytest.raises(errors.UnsupportedOperationException):
        kms.generate_random(NumberOfBytes=8, CustomKeyStoreId=store_id)


def test_external_key_store_errors(lab, kms, proxy):
    bad = dict(proxy.credential, RawSecretAccessKey="A" * 43)
    params = dict(CustomKeyStoreName="x", CustomKeyStoreType="EXTERNAL_KEY_STORE",
                  XksProxyUriEndpoint=proxy.uri_endpoint, XksProxyUriPath=proxy.uri_path,
                  XksProxyConnectivity="PUBLIC_ENDPOINT")
    with pytest.raises(errors.XksProxyIncorrectAuthenticationCredentialException):
        kms.create_custom_key_store(XksProxyAuthenticationCredential=bad, **params)
    with pytest.raises(errors.XksProxyUriUnreachableException):
        kms.create_custom_key_store(XksProxyAuthenticationCredential=proxy.credential,
                                    **dict(params, XksProxyUriEndpoint="https://nowhere.example"))
    store_id = _create_xks_store(kms, proxy)
    with pytest.raises(errors.XksProxyUriInUseException):
        _create_xks_store(kms, proxy, name="again")
    proxy.reachable = False
    kms.connect_custom_key_store(CustomKeyStoreId=store_id)
    lab.clock.advance(minutes=1)
    assert _describe(kms, store_id)["ConnectionErrorCode"] == "XKS_PROXY_NOT_REACHABLE"
    kms.disconnect_custom_key_store(CustomKeyStoreId=store_id)
    proxy.reachable = True
    proxy.rotate_credential()
    kms.connect_custom_key_store(CustomKeyStoreId=store_id)
    lab.clock.advance(minutes=1)
    assert _describe(kms, store_id)["ConnectionErrorCode"] == "INVALID_CREDENTIALS"
    kms.disconnect_custom_key_store(CustomKeyStoreId=store_id)
    kms.update_custom_key_store(CustomKeyStoreId=store_id,
                                XksProxyAuthenticationCredential=proxy.credential)
    kms.connect_custom_key_store(CustomKeyStoreId=store_id)
    lab.clock.advance(minutes=1)
    assert _describe(kms, store_id)["ConnectionState"] == "CONNECTED"


def test_store_operations_are_audited(lab, kms, cluster):
    _create_hsm_store(kms, cluster)
    with pytest.raises(errors.CustomKeyStoreNameInUseException):
        _create_hsm_store(kms, cluster)
    recs = [r for r in lab.audit.records() if r["eventName"] == "CreateCustomKeyStore"]
    assert len(recs) == 2 and recs[1]["errorCode"] == "CustomKeyStoreNameInUseException"
    assert "keyStorePassword" not in recs[0]["requestParameters"]


def test_keys_in_a_store_cannot_rotate_or_import(lab, kms, connected_store):
    key_id = kms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=connected_store)["KeyMetadata"]["KeyId"]
    with pytest.raises(errors.UnsupportedOperationException):
        kms.enable_key_rotation(KeyId=key_id)
    with pytest.raises(errors.UnsupportedOperationException):
        kms.rotate_key_on_demand(KeyId=key_id)
    with pytest.raises(errors.UnsupportedOperationException):
        kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                      WrappingKeySpec="RSA_2048")


# ------------------------------------------------ failures of cryptographic operations
# AWS (external key store troubleshooting page): "AWS KMS cryptographic operations return
# KMSInvalidStateException for all failures related to the external configuration or
# connection state of the external key store"; the CloudHSM page shows the same exception.

@pytest.fixture
def xks_key(lab, kms, proxy):
    store_id = _create_xks_store(kms, proxy)
    kms.connect_custom_key_store(CustomKeyStoreId=store_id)
    lab.clock.advance(minutes=1)
    return kms.create_key(Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=store_id,
                          XksKeyId="ext-1")["KeyMetadata"]["KeyId"]


def _fails_as_store_problem(call, message, lab):
    with pytest.raises(errors.KMSInvalidStateException) as info:
        call()
    assert info.value.message == message and info.value.status == 400
    record = lab.audit.records()[-1]
    assert record["errorCode"] == "KMSInvalidStateException" and record["errorMessage"] == message
    return info.value


def test_xks_failures_in_cryptographic_operations_are_invalid_state(lab, kms, proxy, xks_key):
    blob = kms.encrypt(KeyId=xks_key, Plaintext=b"hyok", EncryptionContext={"a": "b"})["CiphertextBlob"]
    proxy.reachable = False
    unreachable = ("AWS KMS cannot communicate with the external key store proxy. Verify that "
                   "your external key store proxy is active and is connected to the network, and "
                   "that its URI path and endpoint URI or VPC service name are correct in your "
                   "external key store.")
    _fails_as_store_problem(lambda: kms.encrypt(KeyId=xks_key, Plaintext=b"x"), unreachable, lab)
    _fails_as_store_problem(lambda: kms.generate_data_key(KeyId=xks_key, KeySpec="AES_256"),
                            unreachable, lab)
    _fails_as_store_problem(lambda: kms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "b"}),
                            unreachable, lab)
    proxy.reachable = True
    proxy.delete_external_key("ext-1")
    _fails_as_store_problem(
        lambda: kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext={"a": "b"},
                               DestinationKeyId=kms.create_key()["KeyMetadata"]["KeyId"]),
        "The external key store proxy rejected the request because it could not find the "
        "external key.", lab)
    # the key's own state is untouched: KMS cannot see the external key manager's
    assert kms.describe_key(KeyId=xks_key)["KeyMetadata"]["KeyState"] == "Enabled"


def test_xks_wrong_context_is_rejected_by_the_proxy(lab, kms, proxy, xks_key):
    """The external key encrypts last, with the encryption context as AAD, so a wrong context
    is the proxy's refusal: KMSInvalidStateException (the Decrypt failure CloudTrail example)."""
    blob = kms.encrypt(KeyId=xks_key, Plaintext=b"hyok", EncryptionContext={"a": "b"})["CiphertextBlob"]
    _fails_as_store_problem(
        lambda: kms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "c"}),
        "The external key store proxy rejected the request because the specified ciphertext or "
        "additional authenticated data is corrupted, missing, or otherwise invalid.", lab)
    assert [r.get("result") for r in proxy.audit_log if r["command"] == "Decrypt"] == \
        ["invalid ciphertext or AAD"]
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "b"})["Plaintext"] == b"hyok"


def test_xks_double_encryption_order(lab, kms, proxy, xks_key):
    """KMS's own key material encrypts first, the external key last (CreateKey XksKeyId text):
    the outer layer of the ciphertext is the external key manager's, so removing the external
    key leaves nothing KMS could decrypt alone; and a ciphertext that is not the external key
    manager's never reaches KMS's own key material."""
    blob = kms.encrypt(KeyId=xks_key, Plaintext=b"layers")["CiphertextBlob"]
    parts = parse_blob(blob)
    store = lab.kms_service("111122223333", "us-east-1").keys[xks_key]
    material = store.current.material
    # the proxy opens the outer layer; the inner one is KMS's, bound to the same header
    inner = proxy.decrypt("ext-1", parts.key_arn, parts.nonce + parts.ciphertext, parts.header)
    assert material._kms_half.open(parse_blob(parts.header + inner)) == b"layers"
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    _fails_as_store_problem(lambda: kms.decrypt(CiphertextBlob=bytes(tampered)),
                            "The external key store proxy rejected the request because the "
                            "specified ciphertext or additional authenticated data is corrupted, "
                            "missing, or otherwise invalid.", lab)


def test_cloudhsm_cluster_deleted_is_invalid_state(lab, kms, cluster, connected_store):
    key_id = kms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=connected_store)["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    lab.cloudhsm.delete_cluster(cluster.cluster_id)
    err = _fails_as_store_problem(lambda: kms.decrypt(CiphertextBlob=blob),
                                  "KMS cannot communicate with your CloudHSM cluster", lab)
    assert "was deleted" in err.explanation
