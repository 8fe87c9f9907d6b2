"""The key-state machine: one table of transitions, one writer, the revision it moves.

``kmslab.service.states.TRANSITIONS[(state, event)] -> state`` is the only description of how a
key's state changes, and ``transition(key, event)`` the only code that changes it.
"""

import ast
import pathlib
from datetime import timedelta

import pytest

import kmslab
from kmslab import errors
from kmslab.service import states

ROOT = pathlib.Path(kmslab.__file__).parent
KEY_STATES = set(states.LIFECYCLE_STATES)


def test_the_table_speaks_only_of_key_states():
    for (old, event), new in states.TRANSITIONS.items():
        assert old in KEY_STATES | {states.NEW}, old
        assert new in KEY_STATES, new
        assert event and isinstance(event, str)
    assert states.DELETED in states.LIFECYCLE_STATES and states.DELETED not in states.STATES
    assert [k for k, v in states.TRANSITIONS.items() if v == states.DELETED] == \
        [("PendingDeletion", "waiting period ends")]
    assert not any(old == states.DELETED for old, _ in states.TRANSITIONS)  # the last state


def test_keys_are_born_in_the_states_aws_documents():
    assert states.initial("CreateKey") == "Enabled"
    assert states.initial("CreateKey with Origin EXTERNAL") == "PendingImport"
    assert states.initial("ReplicateKey") == "Creating"


@pytest.mark.parametrize("operation", ["EnableKey", "DisableKey", "ScheduleKeyDeletion",
                                       "CancelKeyDeletion", "UpdatePrimaryRegion"])
def test_every_state_the_key_state_table_allows_has_a_transition(operation):
    """The handler of these operations always calls transition(key, operation). (Only keys in
    custom key stores are Unavailable: operations not valid for them never see that state.)"""
    from kmslab import operations
    custom_ok = operations.spec(operation).custom_key_store
    for state, cell in states.TABLE[operation].items():
        if cell is states.OK and (custom_ok or state != "Unavailable"):
            assert (state, operation) in states.TRANSITIONS, (state, operation)


def test_the_diagram_is_drawn_from_the_table():
    import matplotlib
    matplotlib.use("Agg")
    from kmslab import plots
    edges = states.transition_table()
    assert edges == [(a, e, b) for (a, e), b in states.TRANSITIONS.items() if a != b]
    assert ("PendingDeletion", "waiting period ends", "Deleted") in edges
    ax = plots.key_state_transitions()
    labels = {line for t in ax.texts for line in t.get_text().split("\n")}
    assert {event for _, event, _ in edges} <= labels
    assert set(states.LIFECYCLE_STATES) <= labels


# ------------------------------------------------------------------ the one writer
def _key(lab, kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    return lab.kms_service("111122223333", "us-east-1").keys[key_id]


def test_transition_moves_the_state_and_the_revision(lab, kms):
    key = _key(lab, kms)
    before = key.revision
    assert states.transition(key, "DisableKey") == "Disabled"
    assert key.state == "Disabled" and key.revision == before + 1
    assert states.transition(key, "DisableKey") == "Disabled"  # no change, no new revision
    assert key.revision == before + 1


def test_an_event_the_table_does_not_allow_changes_nothing(lab, kms):
    key = _key(lab, kms)
    before = key.revision
    with pytest.raises(errors.KMSInternalException, match="no transition from Enabled"):
        states.transition(key, "CancelKeyDeletion")
    assert key.state == "Enabled" and key.revision == before


def test_assigning_a_keys_state_is_refused(lab, kms):
    key = _key(lab, kms)
    with pytest.raises(AttributeError, match="states.transition"):
        key.state = "Disabled"
    assert key.state == "Enabled"
    with pytest.raises(AttributeError):
        key.state = "PendingDeletion"
    assert kms.describe_key(KeyId=key.key_id)["KeyMetadata"]["KeyState"] == "Enabled"


def _state_writes(path: pathlib.Path) -> list[str]:
    """Places in a module that write a key state: `<x>.state = "<key state>"`, or any
    setattr/object.__setattr__ of "state"."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            value = node.value
            for target in targets:
                for t in (target.elts if isinstance(target, ast.Tuple) else [target]):
                    if isinstance(t, ast.Attribute) and t.attr == "state":
                        literal = value.value if isinstance(value, ast.Constant) else None
                        if literal in KEY_STATES or literal is None and not _version_like(t):
                            found.append(f"{path.name}:{node.lineno}")
        elif isinstance(node, ast.Call):
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
            if name in ("setattr", "__setattr__") and any(
                    isinstance(a, ast.Constant) and a.value == "state" for a in node.args):
                found.append(f"{path.name}:{node.lineno}")
    return found


def _version_like(target: ast.Attribute) -> bool:
    """Writes of other things' ``state`` (key material versions, HSMs, alarms)."""
    obj = target.value
    return isinstance(obj, ast.Name) and obj.id in ("version", "v", "previous", "mine", "hsm",
                                                    "cluster", "alarm", "new")


def test_no_module_but_the_states_module_writes_a_key_state():
    writes = {path.relative_to(ROOT).as_posix(): _state_writes(path)
              for path in sorted(ROOT.rglob("*.py"))}
    assert writes.pop("service/states.py"), "the one writer must show up (else the check is blind)"
    assert {p: w for p, w in writes.items() if w} == {}


def test_the_check_would_see_a_write(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('key.state = "Disabled"\nobject.__setattr__(key, "state", x)\n'
                      'version.state = "CURRENT"\n')
    assert _state_writes(sample) == ["sample.py:1", "sample.py:2"]


def test_no_module_moves_a_revision_by_hand():
    allowed = {"service/key.py", "service/states.py", "iam/model.py"}
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel not in allowed and "revision += 1" in path.read_text(encoding="utf-8"):
            offenders.append(rel)
    assert offenders == []


# ------------------------------------------------------------------ through the API
@pytest.fixture
def recorded(monkeypatch):
    """Every transition the lab makes: (old, event, new, revision moved)."""
    seen = []
    real = states.transition

    def spy(key, event):
        old, revision = key.state, key.revision
        new = real(key, event)
        seen.append((old, event, new, key.revision > revision))
        return new
    monkeypatch.setattr(states, "transition", spy)
    return seen


def test_a_keys_life_follows_the_table(lab, kms, recorded):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.disable_key(KeyId=key_id)
    kms.enable_key(KeyId=key_id)
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    kms.cancel_key_deletion(KeyId=key_id)
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    lab.clock.advance(days=7)
    assert [(old, event, new) for old, event, new, _ in recorded] == [
        ("Enabled", "DisableKey", "Disabled"), ("Disabled", "EnableKey", "Enabled"),
        ("Enabled", "ScheduleKeyDeletion", "PendingDeletion"),
        ("PendingDeletion", "CancelKeyDeletion", "Disabled"),
        ("Disabled", "ScheduleKeyDeletion", "PendingDeletion"),
        ("PendingDeletion", "waiting period ends", "Deleted")]
    assert all(moved for *_, moved in recorded)
    with pytest.raises(errors.NotFoundException):
        kms.describe_key(KeyId=key_id)


def test_refused_requests_change_no_state(lab, kms, recorded):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(errors.KMSInvalidStateException, match="not pending deletion"):
        kms.cancel_key_deletion(KeyId=key_id)
    kms.schedule_key_deletion(KeyId=key_id)
    with pytest.raises(errors.KMSInvalidStateException, match="pending deletion"):
        kms.enable_key(KeyId=key_id)
    assert [event for _, event, _, _ in recorded] == ["ScheduleKeyDeletion"]


def test_imported_material_moves_the_state_through_the_table(lab, kms, recorded):
    import os

    from kmslab.byok import wrap_key_material
    key_id = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport"
    p = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                      WrappingKeySpec="RSA_2048")
    kms.import_key_material(KeyId=key_id, ImportToken=p["ImportToken"],
                            EncryptedKeyMaterial=wrap_key_material(p["PublicKey"], "RSAES_OAEP_SHA_256",
                                                                   os.urandom(32)),
                            ValidTo=lab.clock.now() + timedelta(days=1))
    lab.clock.advance(days=2)
    assert [(old, event, new) for old, event, new, _ in recorded] == [
        ("PendingImport", "ImportKeyMaterial", "Enabled"),
        ("Enabled", "key material deleted or expired", "PendingImport")]


def test_custom_key_store_disconnection_goes_through_the_table(lab, kms, recorded, cloudhsm_store):
    store = cloudhsm_store
    key_id = kms.create_key(CustomKeyStoreId=store)["KeyMetadata"]["KeyId"]
    kms.disconnect_custom_key_store(CustomKeyStoreId=store)
    kms.disable_key(KeyId=key_id)  # takes effect on reconnection
    kms.connect_custom_key_store(CustomKeyStoreId=store)
    lab.clock.advance(minutes=5)
    assert [(old, event, new) for old, event, new, _ in recorded] == [
        ("Enabled", "DisconnectCustomKeyStore", "Unavailable"),
        ("Unavailable", "DisableKey", "Unavailable"),
        ("Unavailable", "ConnectCustomKeyStore, key disabled meanwhile", "Disabled")]
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"


def test_multi_region_keys_go_through_the_table(lab, kms, recorded):
    key_id = kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    kms.replicate_key(KeyId=key_id, ReplicaRegion="us-west-2")
    lab.clock.advance(seconds=10)
    kms.update_primary_region(KeyId=key_id, PrimaryRegion="us-west-2")
    lab.clock.advance(seconds=10)
    west = lab.client(region_name="us-west-2")
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)   # now a replica
    west.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)  # the primary waits
    lab.clock.advance(days=7)
    events = [(old, event, new) for old, event, new, _ in recorded]
    assert events[:3] == [("Creating", "replica created", "Enabled"),
                          ("Enabled", "UpdatePrimaryRegion", "Updating"),
                          ("Enabled", "UpdatePrimaryRegion", "Updating")]
    assert ("Enabled", "ScheduleKeyDeletion of a primary key with replicas",
            "PendingReplicaDeletion") in events
    assert ("PendingReplicaDeletion", "last replica deleted", "PendingDeletion") in events



def _state(client, key_id):
    return client.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]


def _import(client, key_id, material, **params):
    from kmslab.byok import wrap_key_material
    p = client.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                         WrappingKeySpec="RSA_2048")
    params.setdefault("ExpirationModel", "KEY_MATERIAL_DOES_NOT_EXPIRE")
    return client.import_key_material(
        KeyId=key_id, ImportToken=p["ImportToken"],
        EncryptedKeyMaterial=wrap_key_material(p["PublicKey"], "RSAES_OAEP_SHA_256", material),
        **params)


def test_a_replica_of_an_imported_key_waits_for_its_own_material(lab, kms):
    """"AWS KMS does not copy or synchronize the key material from a primary key with imported
    key material to its replica keys" (Importing key material into multi-Region keys): the
    replica leaves Creating for PendingImport, and the same material enables it."""
    key_id = kms.create_key(MultiRegion=True, Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    material = b"\x05" * 32
    _import(kms, key_id, material)
    west = lab.client(region_name="us-west-2")
    kms.replicate_key(KeyId=key_id, ReplicaRegion="us-west-2")
    assert _state(west, key_id) == "Creating"
    lab.clock.advance(seconds=10)
    assert _state(west, key_id) == "PendingImport"
    _import(west, key_id, material)
    assert _state(west, key_id) == "Enabled"
    assert _state(kms, key_id) == "Enabled"


def test_a_disabled_primary_with_replicas_waits_for_them_and_cancels_back_to_disabled(lab, kms):
    key_id = kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    kms.replicate_key(KeyId=key_id, ReplicaRegion="us-west-2")
    lab.clock.advance(seconds=10)
    kms.disable_key(KeyId=key_id)
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert _state(kms, key_id) == "PendingReplicaDeletion"
    kms.cancel_key_deletion(KeyId=key_id)
    assert _state(kms, key_id) == "Disabled"


def test_a_key_pending_import_is_enabled_only_when_all_its_material_is_back(lab, kms):
    """"When any key material for an imported key is deleted or it expires, then the state
    changes from Enabled to PendingImport" (Key states of AWS KMS keys); importing one of two
    deleted materials leaves it there."""
    key_id = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    first, second = b"\x01" * 32, b"\x02" * 32
    old = _import(kms, key_id, first)["KeyMaterialId"]
    new = _import(kms, key_id, second, ImportType="NEW_KEY_MATERIAL")["KeyMaterialId"]
    kms.rotate_key_on_demand(KeyId=key_id)
    kms.delete_imported_key_material(KeyId=key_id, KeyMaterialId=old)
    kms.delete_imported_key_material(KeyId=key_id, KeyMaterialId=new)
    assert _state(kms, key_id) == "PendingImport"
    _import(kms, key_id, first, ImportType="EXISTING_KEY_MATERIAL", KeyMaterialId=old)
    assert _state(kms, key_id) == "PendingImport"
    _import(kms, key_id, second, ImportType="EXISTING_KEY_MATERIAL", KeyMaterialId=new)
    assert _state(kms, key_id) == "Enabled"


def test_a_disabled_key_whose_material_is_deleted_is_pending_import(lab, kms):
    key_id = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    _import(kms, key_id, b"\x03" * 32)
    kms.disable_key(KeyId=key_id)
    kms.delete_imported_key_material(KeyId=key_id)
    assert _state(kms, key_id) == "PendingImport"


def test_material_expiring_while_the_primary_region_is_updated_leaves_it_pending_import(lab, kms):
    key_id = kms.create_key(MultiRegion=True, Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    material = b"\x04" * 32
    _import(kms, key_id, material, ExpirationModel="KEY_MATERIAL_EXPIRES",
            ValidTo=lab.clock.now() + timedelta(days=1))
    west = lab.client(region_name="us-west-2")
    kms.replicate_key(KeyId=key_id, ReplicaRegion="us-west-2")
    lab.clock.advance(seconds=10)
    _import(west, key_id, material)
    lab.clock.advance(days=1, seconds=-15)  # the material expires in 5 seconds
    kms.update_primary_region(KeyId=key_id, PrimaryRegion="us-west-2")   # takes 10 seconds
    assert _state(kms, key_id) == "Updating"
    lab.clock.advance(seconds=6)    # still updating when the material expires
    assert _state(kms, key_id) == "PendingImport"
    lab.clock.advance(seconds=10)   # the update ends: the key stays pending import
    assert _state(kms, key_id) == "PendingImport"
    assert _state(west, key_id) == "Enabled"


def test_a_key_pending_deletion_stays_so_when_its_key_store_disconnects(lab, kms, cloudhsm_store):
    key_id = kms.create_key(CustomKeyStoreId=cloudhsm_store)["KeyMetadata"]["KeyId"]
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    kms.disconnect_custom_key_store(CustomKeyStoreId=cloudhsm_store)
    assert _state(kms, key_id) == "PendingDeletion"

# ------------------------------------------------------------------ the authorization cache
def test_no_state_policy_tag_or_alias_change_leaves_a_stale_decision(lab, kms):
    """Decisions are cached by key revision; every change a decision reads moves it."""
    lab.add_user("bob")
    bob = lab.client(as_="bob")
    key_id = kms.create_key(Tags=[{"TagKey": "team", "TagValue": "blue"}])["KeyMetadata"]["KeyId"]
    arn = f"arn:aws:kms:us-east-1:111122223333:key/{key_id}"
    policy = kms.get_key_policy(KeyId=key_id)["Policy"]
    import json
    doc = json.loads(policy)
    doc["Statement"].append({"Effect": "Allow", "Principal": {"AWS": lab.iam.user("111122223333", "bob").arn},
                             "Action": "kms:Encrypt", "Resource": "*"})
    kms.put_key_policy(KeyId=key_id, Policy=json.dumps(doc))
    bob.encrypt(KeyId=key_id, Plaintext=b"x")
    bob.encrypt(KeyId=key_id, Plaintext=b"x")  # cached now
    kms.put_key_policy(KeyId=key_id, Policy=policy)  # bob's statement removed
    with pytest.raises(errors.AccessDeniedException):
        bob.encrypt(KeyId=key_id, Plaintext=b"x")
    key = lab.kms_service("111122223333", "us-east-1").keys[key_id]
    for change in (lambda: kms.tag_resource(KeyId=arn, Tags=[{"TagKey": "a", "TagValue": "b"}]),
                   lambda: kms.untag_resource(KeyId=arn, TagKeys=["a"]),
                   lambda: kms.create_alias(AliasName="alias/x", TargetKeyId=key_id),
                   lambda: kms.delete_alias(AliasName="alias/x"),
                   lambda: kms.create_grant(KeyId=key_id, GranteePrincipal=lab.admin().arn,
                                            Operations=["Encrypt"]),
                   lambda: kms.disable_key(KeyId=key_id)):
        before = key.revision
        change()
        assert key.revision > before
