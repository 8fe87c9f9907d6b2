"""Crafted snapshots: documents a classmate who knows the passphrase could seal.

Every piece of free text a lab holds (descriptions, tags, labels, names, audit
values, event details...) is replaced by text that would run a command, in
every quoting a code generator or a template could fall for. Shared by the
in-process and the ``kmslab serve`` attack tests.
"""

from __future__ import annotations

import copy
import itertools
import json


def payloads(marker) -> list[str]:
    """Texts that create ``marker`` if anything ever evaluates, compiles or shells them."""
    touch = f"__import__('os').system('touch {marker}')"
    return [touch, f"'); {touch}; ('", f'"); {touch}; ("', f"{{{touch}}}", f"${{{touch}}}",
            f"$(touch {marker})", f"`touch {marker}`", f"0 if {touch} else 0",
            f"\n{touch}\n", f"#{touch}\n{touch}"]


def crafted(document: dict, marker) -> dict:
    """A copy of ``document`` whose free text is code (it still loads: only text changes)."""
    doc = copy.deepcopy(document)
    texts = itertools.cycle(payloads(marker))

    def text():
        return next(texts)

    for account in doc["accounts"]:
        account["name"] = text()
    for event in doc["clock"]["events"]:
        event["label"] = text()
    for service in doc["services"]:
        for key in service["keys"]:
            key["description"] = text()
            key["tags"] = {text()[:100]: text() for _ in range(2)}
            for grant in key.get("grants", []):
                grant["name"] = text()
    for event in doc.get("events", []):
        event["detail-type"] = text()
        event["detail"] = {text(): text()}
    for store in doc.get("custom_key_stores", []):
        store["name"] = text()
    for cluster in doc.get("cloudhsm_clusters", []):
        for entry in cluster["audit_log"]:
            entry["command"] = text()
    for alarm in doc.get("metrics", {}).get("alarms", []):
        alarm["name"] = text()
    audit = doc["audit"]
    for event in audit["events"]:
        event[0] = text()
    for origin in audit["origins"]:
        origin["name"], origin["source_ip"], origin["user_agent"] = text(), text(), text()
        origin["identity"] = {**origin["identity"], "userName": text()}
    audit["params"] = [None if p is None else {**p, "description": text(),
                                               "encryptionContext": {text(): text()}}
                       for p in audit["params"]]
    audit["errors"] = [[text(), text()] for _ in audit["errors"]]
    audit["responses"] = [[row, {"keyId": text()}] for row, _ in audit["responses"]]
    audit["other_request_ids"] = [[row, text()] for row, _ in audit["other_request_ids"]]
    return doc


def strings_in(document) -> list[str]:
    """Every string in a document (to check that payloads reached it)."""
    return [s for s in json.dumps(document).split('"')]
