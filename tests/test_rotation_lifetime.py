"""Three years, day by day, with a mix of keys: exact rotation counts, and every ciphertext
decrypts on every later day while its key is usable, and never after the key is deleted."""

from datetime import timedelta

import kmslab
from kmslab import errors
from kmslab.crypto.symmetric import parse_blob

DAYS = 3 * 365


def test_three_years_of_rotations_and_decryption():
    lab = kmslab.Lab(seed=11)
    kms = lab.client()
    start = lab.clock.now()

    def key(period=None):
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        if period:
            kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=period)
        return key_id

    keys = {
        "quarterly": key(90),
        "yearly+on-demand": key(),                  # default 365 days, plus two on-demand
        "disabled a while": key(180),               # disabled on day 200, enabled on day 450
        "deleted": key(120),                        # scheduled on day 300 with 7 days' notice
        "on-demand only": key(),
    }
    kms.disable_key_rotation(KeyId=keys["on-demand only"])
    kms.enable_key_rotation(KeyId=keys["yearly+on-demand"])
    actions = {
        100: lambda: kms.rotate_key_on_demand(KeyId=keys["yearly+on-demand"]),
        500: lambda: kms.rotate_key_on_demand(KeyId=keys["yearly+on-demand"]),
        200: lambda: kms.disable_key(KeyId=keys["disabled a while"]),
        450: lambda: kms.enable_key(KeyId=keys["disabled a while"]),
        300: lambda: kms.schedule_key_deletion(KeyId=keys["deleted"], PendingWindowInDays=7),
        50: lambda: kms.rotate_key_on_demand(KeyId=keys["on-demand only"]),
        51: lambda: kms.rotate_key_on_demand(KeyId=keys["on-demand only"]),
        900: lambda: kms.rotate_key_on_demand(KeyId=keys["on-demand only"]),
    }

    made = []  # (name, day, ciphertext, plaintext, material id)

    def state(name):
        try:
            return kms.describe_key(KeyId=keys[name])["KeyMetadata"]["KeyState"]
        except errors.NotFoundException:
            return "Deleted"

    def check(entry, states):
        name, _, blob, plaintext, material_id = entry
        expected = states[name]
        if expected == "Enabled":
            out = kms.decrypt(CiphertextBlob=blob)
            assert out["Plaintext"] == plaintext and out["KeyMaterialId"] == material_id
            return
        error = {"Disabled": errors.DisabledException,
                 "PendingDeletion": errors.KMSInvalidStateException,
                 "Deleted": errors.AccessDeniedException}[expected]
        try:
            kms.decrypt(CiphertextBlob=blob)
        except error:
            return
        raise AssertionError(f"{name} ciphertext decrypted while the key is {expected}")

    first_and_last = {}  # (key, material id) -> [oldest, newest ciphertext]
    for day in range(1, DAYS + 1):
        lab.clock.advance(days=1)
        if day in actions:
            actions[day]()
        states = {name: state(name) for name in keys}
        for name in keys:
            if states[name] == "Enabled":
                plaintext = f"{name} day {day}".encode()
                out = kms.encrypt(KeyId=keys[name], Plaintext=plaintext)
                material_id = parse_blob(out["CiphertextBlob"]).key_material_id
                entry = (name, day, out["CiphertextBlob"], plaintext, material_id)
                made.append(entry)
                first_and_last.setdefault((name, entry[4]), [entry, entry])[1] = entry
        # every day: the oldest and newest ciphertext of every material version
        for oldest, newest in first_and_last.values():
            check(oldest, states)
            if newest is not oldest and day % 7 == 0:
                check(newest, states)
        if day % 365 == 0 or day in (201, 306, 308, 451):  # and now and then, all of them
            for entry in made[::3] if day % 365 else made:
                check(entry, states)

    def automatic(name):
        return [e["RotationDate"] for e in kms.list_key_rotations(KeyId=keys[name], Limit=1000)["Rotations"]
                if e["RotationType"] == "AUTOMATIC"]

    def on_demand(name):
        return [e for e in kms.list_key_rotations(KeyId=keys[name], Limit=1000)["Rotations"]
                if e["RotationType"] == "ON_DEMAND"]

    day = lambda n: start + timedelta(days=n)  # noqa: E731
    assert automatic("quarterly") == [day(90 * i) for i in range(1, 13)]
    assert automatic("yearly+on-demand") == [day(365), day(730), day(1095)]
    assert len(on_demand("yearly+on-demand")) == 2
    # 180 rotates; 360 falls while disabled; enable on 450 rotates at once; then every 180 days
    assert automatic("disabled a while") == [day(180), day(450), day(630), day(810), day(990)]
    assert automatic("on-demand only") == [] and len(on_demand("on-demand only")) == 3
    assert state("deleted") == "Deleted"
    rotation_events = [e for e in lab.events if e["detail-type"] == "KMS CMK Rotation"]
    deleted_key_rotations = [e for e in rotation_events if e["detail"]["key-id"] == keys["deleted"]]
    assert [e["time"] for e in deleted_key_rotations] == [day(120), day(240)]
    assert len(rotation_events) == 12 + 5 + 5 + 2 + 3
    trail = [r["eventName"] for r in lab.audit.filter(event_type="AwsServiceEvent").records()]
    assert trail.count("RotateKey") == len(rotation_events)
    assert trail.count("DeleteKey") == 1
    # the deleted key's ciphertexts never decrypt again
    for entry in made:
        if entry[0] == "deleted":
            try:
                kms.decrypt(CiphertextBlob=entry[2])
            except errors.AccessDeniedException:  # the blob names a key that no longer exists
                continue
            raise AssertionError("a deleted key's ciphertext decrypted")
