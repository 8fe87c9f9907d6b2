"""Every tutorial runs against a real KMS endpoint, not only the lab.

Each notebook is executed with ``KMSLAB_ENDPOINT_URL`` pointing at ``kmslab serve``
(a served lab on a free port, SigV4 with a lab access key; see endpoint_notebooks.py),
the stand-in for a real account that catches any cell quietly depending on the lab:

* no cell raises;
* no cell uses the notebook's ``lab`` where the endpoint run executes it (read from the
  sources: outside guarded blocks and ``@kmslab.lab_only`` functions), but for the few uses
  listed in LOCAL_LAB_USES, each with its reason;
* every cell that guards itself (``if kmslab.requires_lab(...)``, or a call of a
  ``@kmslab.lab_only`` function) prints its one skip line, and every skip line says why;
* every cell that calls a KMS operation on a client from ``kmslab.connect`` outside a
  guarded block really reached the endpoint: the served lab recorded its requests,
  every one of them signed by the admin's access key and sent by botocore over HTTP;
* the notebook cleaned up: every key it created is tagged ``kmslab-tutorial=<notebook>``
  and pending deletion (or deleted), and no alias it created remains;
* the README's table of what a run costs (keys created, requests) is this run's.

A sloppy notebook shows that each check finds what it looks for.

Strict nbval checks the same notebooks in lab mode, where their outputs are committed.
"""

from __future__ import annotations

import re

import botocore.session
import pytest
from botocore import xform_name

from kmslab.interop.cleanup import TAG_KEY
from kmslab.interop.connect import SKIP_PREFIX

import endpoint_notebooks as endpoint

NOTEBOOKS = sorted(endpoint.NOTEBOOKS.glob("*.ipynb"))
OPERATIONS = {xform_name(op) for op in botocore.session.get_session().get_service_model("kms").operation_names}
LEAVING = ("PendingDeletion", "PendingReplicaDeletion")

#: uses of the notebook's lab that run against an endpoint too, on purpose: (notebook, line start) -> why
LOCAL_LAB_USES = {
    ("08", "table = latency.compare(lab,"): "the latency model runs in a simulated world of its own",
    ("08", "by_rtt = latency.compare(lab,"): "the latency model runs in a simulated world of its own",
    ("08", "busy = pd.concat({region: latency.compare(lab,"): "the latency model, as above",
    ("08", "measured = latency.compare(lab,"): "the latency model, as above",
    ("10", "cache = envelope.DataKeyCache(max_age=300, clock=lab.clock.timestamp)"):
        "the cache's clock; only the guarded block moves it",
    ("12", "LatencyLab(lab)"): "the latency model's widget, in its own simulated world",
    ("14", "small = lab.create_cloudhsm_cluster("): "the learner's cell of a lab-only exercise",
}


@pytest.fixture(scope="module", params=NOTEBOOKS, ids=lambda p: p.stem[:2])
def endpoint_run(request) -> endpoint.EndpointRun:
    try:
        return endpoint.run(request.param)
    except Exception as err:  # a failing cell: show which, and what it said (without colours)
        said = re.sub(r"\x1b\[[0-9;]*m", "", str(err))
        pytest.fail(f"{request.param.name} failed against the endpoint:\n{said}", pytrace=False)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem[:2])
def test_no_cell_quietly_uses_the_lab(path):
    nb = endpoint.nbformat.read(path, as_version=4)
    sources = [cell.source for cell in nb.cells if cell.cell_type == "code"]
    uses = endpoint.unguarded_lab_uses(sources, endpoint.lab_only_functions(sources))
    unexplained = [(cell, line) for cell, line in uses
                   if not any(path.stem.startswith(nb_) and line.startswith(start)
                              for nb_, start in LOCAL_LAB_USES)]
    assert unexplained == [], f"the lab used without kmslab.requires_lab: {unexplained}"


def test_the_lab_use_check_sees_a_quiet_use_and_accepts_the_guarded_ones():
    sources = ["lab = kmslab.Lab(seed=1)\nkms = kmslab.connect(lab=lab)",
               "if kmslab.requires_lab(kms, 'x'):\n    lab.clock.advance(days=1)\nelse:\n    lab.audit",
               "def trail():\n    return lab.audit.records()",
               "@kmslab.lab_only(kms, 'y')\ndef check():\n    return lab.explain()",
               "check(lab)\nprint(trail())\nkms.encrypt(KeyId='k', Plaintext=b'x')",
               "lab.clock.advance(days=7)",
               "in_lab = kmslab.requires_lab(kms, 'z')\nif in_lab:\n    lab.audit\nif kms:\n    lab.audit"]
    uses = endpoint.unguarded_lab_uses(sources, endpoint.lab_only_functions(sources))
    assert uses == [(1, "lab.audit"), (4, "print(trail())"), (5, "lab.clock.advance(days=7)"),
                    (6, "lab.audit")]
    assert endpoint.unguarded_lab_uses(sources[:1] + sources[2:3], set()) == []  # a definition


# ---------------------------------------------------------------- what a run shows
def silent_skips(run: endpoint.EndpointRun) -> list[int]:
    """Cells that guard themselves but printed no skip line."""
    lab_only = endpoint.lab_only_functions([cell.source for cell in run.cells])
    return [cell.index for cell in run.cells
            if endpoint.expects_skip_line(cell.source, lab_only) and SKIP_PREFIX not in cell.text]


def unheard_cells(run: endpoint.EndpointRun) -> list[tuple[int, list[str]]]:
    """Cells calling KMS on a connected client, unguarded, of which the endpoint heard nothing."""
    sources = [cell.source for cell in run.cells]
    clients, flags = endpoint.connected_clients(sources), endpoint.guard_flags(sources)
    return [(cell.index, calls) for cell in run.cells
            if (calls := endpoint.unguarded_api_calls(cell.source, clients, OPERATIONS, flags))
            and cell.requests == 0]


def left_behind(run: endpoint.EndpointRun, tutorial: str) -> list[tuple]:
    """Keys the run created that are not tagged and on their way out; aliases it created that remain."""
    lab = run.lab
    left = []
    for record in lab.audit.records():
        if record["eventName"] not in ("CreateKey", "ReplicateKey") or record.get("errorCode"):
            continue
        created = record["responseElements"]
        metadata = created.get("keyMetadata") or created["replicaKeyMetadata"]
        region = metadata["arn"].split(":")[3]
        key = lab.kms_service(endpoint.ACCOUNT, region).keys.get(metadata["keyId"])
        if key is not None and (key.state not in LEAVING or key.tags.get(TAG_KEY) != tutorial):
            left.append((metadata["arn"], key.state, dict(key.tags)))
    aliases = {(r["awsRegion"], r["requestParameters"]["aliasName"]) for r in lab.audit.records()
               if r["eventName"] == "CreateAlias" and not r.get("errorCode")}
    left += [(region, name) for region, name in sorted(aliases)
             if name in lab.kms_service(endpoint.ACCOUNT, region).aliases]
    return left


# ---------------------------------------------------------------- every tutorial
def test_every_lab_only_cell_says_what_it_skips(endpoint_run):
    assert silent_skips(endpoint_run) == [], "cells that skip without saying so"
    lines = [line for cell in endpoint_run.cells for line in cell.text.splitlines()
             if line.startswith("skipped")]
    assert all(line.startswith(SKIP_PREFIX + " (") and line.rstrip().endswith((")", "."))
               for line in lines), lines


def test_the_kms_calls_travelled_over_http(endpoint_run):
    assert endpoint.connected_clients([cell.source for cell in endpoint_run.cells]), \
        "the notebook gets no client from kmslab.connect"
    assert unheard_cells(endpoint_run) == [], "cells whose KMS calls the endpoint never saw"
    records = callers_requests(endpoint_run)
    assert records, "nothing reached the endpoint"
    assert {r["userIdentity"]["arn"] for r in records} == {f"arn:aws:iam::{endpoint.ACCOUNT}:user/admin"}
    assert all(r["userAgent"].startswith("Boto3/") and r["sourceIPAddress"] == "127.0.0.1"
               for r in records), {r["userAgent"] for r in records}


def test_the_notebook_cleans_up_after_itself(endpoint_run):
    assert left_behind(endpoint_run, endpoint_run.path.stem) == []


def readme_costs() -> dict[str, tuple[int, int]]:
    """The README's table of a run's cost: notebook number -> (keys, requests)."""
    text = (endpoint.ROOT / "README.md").read_text(encoding="utf-8")
    return {number: (int(keys), int(requests))
            for number, keys, requests in re.findall(r"\| (\d\d) \| (\d+) \| (\d+) \|", text)}


def callers_requests(run) -> list[dict]:
    """One record per request the notebook made: not KMS's own calls (SynchronizeMultiRegionKey),
    nor the second record of a request logged in two Regions (UpdatePrimaryRegion)."""
    records = {}
    for r in run.lab.audit.records():
        if r["eventType"] == "AwsApiCall" and r["userIdentity"].get("invokedBy") != "AWS Internal":
            records.setdefault(r["requestID"], r)
    return list(records.values())


def test_the_readme_says_what_a_run_costs(endpoint_run):
    records = callers_requests(endpoint_run)
    keys = sum(1 for r in records if r["eventName"] in ("CreateKey", "ReplicateKey") and not r.get("errorCode"))
    number = endpoint_run.path.stem[:2]
    assert readme_costs().get(number) == (keys, len(records)), \
        f"README, 'Cleaning up, and what a run costs': notebook {number} makes {keys} keys and {len(records)} requests"


def test_the_readme_table_has_every_notebook():
    assert sorted(readme_costs()) == [path.stem[:2] for path in NOTEBOOKS]


# ---------------------------------------------------------------- the checks can fail
SLOPPY = [
    "import kmslab\nlab = kmslab.Lab(seed=3)\nkms = kmslab.connect(lab=lab, backend='kmslab')",
    "key_id = kms.create_key()['KeyMetadata']['KeyId']",                  # never reaches the endpoint
    "real = kmslab.connect(tutorial='zz_sloppy')\n"
    "kept = real.create_key()['KeyMetadata']['KeyId']\n"
    "real.create_alias(AliasName='alias/kept', TargetKeyId=kept)",         # and no clean-up
    "untagged = real.create_key(Tags=[{'TagKey': 'kmslab-tutorial', 'TagValue': 'other'}])\n"
    "real.schedule_key_deletion(KeyId=untagged['KeyMetadata']['KeyId'], PendingWindowInDays=7)",
    "if kmslab.requires_lab(real, 'x'):\n    pass",
]


def test_the_checks_find_what_a_sloppy_notebook_does(tmp_path):
    path = tmp_path / "zz_sloppy.ipynb"
    endpoint.nbformat.write(endpoint.nbformat.v4.new_notebook(
        cells=[endpoint.nbformat.v4.new_code_cell(source) for source in SLOPPY]), path)
    run = endpoint.run(path)
    assert unheard_cells(run) == [(1, ["kms.create_key"])]
    left = left_behind(run, "zz_sloppy")
    assert [entry[1:] for entry in left] == [
        ("Enabled", {TAG_KEY: "zz_sloppy"}), ("PendingDeletion", {TAG_KEY: "other"}),
        ("alias/kept",)]
    assert SKIP_PREFIX + " (x)" in run.cells[-1].text and silent_skips(run) == []
    run.cells[-1].text = ""  # had the guard shown nothing, the check would say so
    assert silent_skips(run) == [4]
