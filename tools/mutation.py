# Mutation testing of the rules that decide access, state and parsing: python tools/mutation.py AREA
"""Mutation testing, one area at a time (a developer tool: too slow for CI).

A mutant is the code with one small change (``<`` for ``<=``, a table entry
dropped, a footnote swapped); a test suite *detects* it when some test fails.
Each area is one module and the test files that speak for it:

    python tools/mutation.py --list                    # the areas, their modules and tests
    python tools/mutation.py conditions                # functions (mutmut) and tables
    python tools/mutation.py conditions --tables       # only the module-level tables
    python tools/mutation.py conditions --functions    # only the functions (mutmut)
    python tools/mutation.py conditions --survivors    # re-test only the last run's survivors
    python tools/mutation.py conditions --show         # ... and print each survivor's change
    python tools/mutation.py states --budget 20        # stop starting table mutants after 20 min
    python tools/mutation.py states --tables --every 5 # every 5th table mutant: a quick sample
    python tools/mutation.py grant-sets --tables       # the grant facts of the operation table

Install the tool first: ``pip install -e ".[test,mutation]"``.

Two mutators, one report:

* **functions**: mutmut (``[tool.mutmut]`` in pyproject.toml) mutates inside
  functions and runs, for each mutant, only the selected tests that reach that
  function. It works in ``build/mutation/AREA/`` (its ``mutants/`` tree and
  ``mutmut.log``); ``cd`` there for ``mutmut show NAME`` or ``mutmut browse``.
* **tables**: mutmut does not touch module-level code, where kmslab keeps its
  rules as data (the key-state table, the condition operators, the grant
  operation sets, format constants). ``tools/table_mutation.py`` changes one
  entry at a time: drops a dict entry or set element, swaps a cell for another
  value its column holds (an error cell for OK, one footnote for another),
  flips a comparison inside an entry (``<`` to ``<=``), moves a number by one.
  Each mutant runs in a forked process that imports the changed module
  instead of the file; the area's tests run with ``-x`` in two stages (the
  most focused file alone, then, if it passed, the others) and the first
  failing test is recorded. For a table of rows whose cells are mostly about
  other rules (the operation table), an area names the facts to change row by
  row instead (``Facts``: ``grant-sets``). Results:
  ``build/mutation/AREA/tables.json``. When a module's tables change shape,
  update the area's ``tables`` and ``alphabets`` below.

More: docs/mutation-testing.md.

The report counts killed and timed-out mutants as detected; survivors and
mutants no selected test reaches ("no tests") are not. Both mutators use one
worker by default (``--max-children``): the machine is shared.
"""

from __future__ import annotations

import argparse
import ast
import copy
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from table_mutation import (
    Facts,
    discover_tables,
    fact_mutants,
    missing_tables,
    preload,
    run_in_child,
    table_mutants,
)

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "mutation"


@dataclass(frozen=True)
class Area:
    """One module under mutation, the tests that speak for it and its module-level tables."""

    module: str                      # path under src/, e.g. "kmslab/policy/conditions.py"
    tests: tuple[str, ...]           # test files, most focused first (tables stop at the first failure)
    #: module-level names whose values are mutated entry by entry; None: every table the
    #: module binds (for modules whose tables are still changing shape)
    tables: tuple[str, ...] | None = None
    #: per table, the values a cell may hold (source text; the first is the "no rule" value):
    #: each cell is swapped for the first and for the next one, instead of for its column's values
    alphabets: dict = field(default_factory=dict)
    #: chosen facts of each row of a table of rows, mutated row by row (see Facts)
    facts: Facts | None = None
    #: table -> the test file that speaks for it, run alone first for that table's mutants
    #: (default: the first of ``tests``)
    focus: dict = field(default_factory=dict)
    doc: str = ""


_POLICY_TESTS = ("tests/test_policy_conditions.py", "tests/test_policy_operators.py",
                 "tests/test_policy_variables.py", "tests/test_policy_decision.py",
                 "tests/test_condition_parameters.py", "tests/test_request_context.py",
                 "tests/test_policy_document.py", "tests/test_authorization_policies.py",
                 "tests/test_authorization.py", "tests/test_grants.py",
                 "tests/test_widgets_policy.py", "tests/test_policy_properties.py")

AREAS = {
    "states": Area(
        "kmslab/service/states.py",
        ("tests/test_key_state_table.py", "tests/test_key_states.py", "tests/test_state_machine.py",
         "tests/test_keys.py", "tests/test_imports.py",
         "tests/test_multiregion.py", "tests/test_keystores.py", "tests/test_rotation.py",
         "tests/test_grants.py", "tests/test_aliases.py", "tests/test_encryption.py"),
        alphabets={name: ("_", "1", "2", "3", "4", "5", "6", "11", "14", "15")
                   for name in ("_CRYPTO", "_ROWS")},
        focus={"TRANSITIONS": "tests/test_state_machine.py", "NEW": "tests/test_state_machine.py",
               "DELETED": "tests/test_state_machine.py",
               "LIFECYCLE_STATES": "tests/test_state_machine.py"},
        doc="the key-state table: which operation each key state allows, and the error otherwise"),
    "conditions": Area(
        "kmslab/policy/conditions.py",
        _POLICY_TESTS,
        tables=("_LITERAL", "_AS_LITERAL", "_GLOB", "_FAMILIES", "_NEGATED", "OPERATORS"),
        doc="IAM condition operators, set operators, IfExists, policy variables"),
    "decision": Area(
        "kmslab/policy/decision.py",
        ("tests/test_policy_decision.py", "tests/test_policy_explanations.py")
        + tuple(t for t in _POLICY_TESTS if t != "tests/test_policy_decision.py"),
        tables=("LOCKOUT_MESSAGE", "_LEVEL_TEXT"),  # EC_GRANT_OPERATIONS: kmslab.operations
        doc="decide(): explicit deny, key policy, IAM policies, grants; the explanation"),
    "grants": Area(
        "kmslab/service/grants.py",
        ("tests/test_grant_rules.py", "tests/test_grants.py", "tests/test_policy_decision.py",
         "tests/test_authorization.py",
         "tests/test_key_states.py", "tests/test_validation.py", "tests/test_quotas.py"),
        doc="CreateGrant, ListGrants, RetireGrant, RevokeGrant; which grant operations suit a key "
            "(the operations a grant can allow: grant-sets)"),
    "grant-sets": Area(
        "kmslab/operations/table.py",
        ("tests/test_grant_rules.py", "tests/test_grants.py", "tests/test_operations.py",
         "tests/test_policy_decision.py", "tests/test_authorization.py", "tests/test_key_states.py",
         "tests/test_validation.py", "tests/test_encryption.py"),  # usage: GenerateDataKey* keys
        tables=(),
        facts=Facts("OPERATIONS", {
            "grant": (None, True),
            "usage": (None, "ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT",
                      "ENCAPSULATE_DECAPSULATE"),
            "key_spec": (None, "SYMMETRIC_DEFAULT", "asymmetric"),
            "context": (None, "EncryptionContext"),
        }, rows_with="grant", nested=("source",)),
        doc="which operations a grant can allow (GRANT_OPERATIONS: each row's grant flag), on which "
            "keys (usage, key spec) and with which constraints (context)"),
    "envelope": Area(
        "kmslab/envelope/format.py",
        ("tests/test_envelope_parser.py", "tests/test_envelope.py", "tests/test_envelope_cache.py",
         "tests/test_widgets_envelope.py"),
        doc="the client-side envelope message format: header, frames, the parser"),
    "blob": Area(
        "kmslab/crypto/symmetric.py",
        ("tests/test_ciphertext_blob.py", "tests/test_encryption.py", "tests/test_rotation.py",
         "tests/test_imports.py",
         "tests/test_multiregion.py", "tests/test_keys.py", "tests/test_validation.py"),
        doc="the symmetric ciphertext blob: format, parse, encrypt, decrypt"),
}

#: pytest arguments for every mutant run: stop at the first failure, reproducible Hypothesis
PYTEST_ARGS = ("-x", "-q", "-p", "no:randomly", "--hypothesis-seed=0")


def existing(tests) -> list[str]:
    """The area's test files that exist (an area may name a file another branch adds)."""
    return [t for t in tests if (ROOT / t).exists()]


# =================================================================== table mutants
def run_tables(area_name: str, area: Area, *, budget: float | None, only: str | None,
               survivors_only: bool, every: int = 1) -> dict:
    """Run the area's table mutants; write tables.json; return the counts."""
    work = WORK / area_name
    work.mkdir(parents=True, exist_ok=True)
    source_path = ROOT / "src" / area.module
    source = source_path.read_text()
    module = area.module[:-3].replace("/", ".")
    tests = existing(area.tests)
    tables = discover_tables(source) if area.tables is None else list(area.tables)
    missing = missing_tables(source, tables)
    if missing:
        print(f"tables: src/{area.module} no longer binds {', '.join(missing)} (renamed or moved?): "
              "skipped; update the area in tools/mutation.py", flush=True)
        tables = [t for t in tables if t not in missing]
    mutants = table_mutants(source, tables, area.alphabets, name=Path(area.module).stem)
    if area.facts is not None:
        mutants += fact_mutants(source, area.facts, name=Path(area.module).stem, start=len(mutants))
        tables = [*tables, f"the {', '.join(area.facts.values)} facts of {area.facts.table}"]
    tree = ast.parse(source)
    results_path = work / "tables.json"
    # results by description (an edit elsewhere in the module renumbers the mutants), the n-th
    # of several alike marked " #n"
    keys = _keys(mutants)
    previous = {}
    if results_path.exists():
        previous = {r.get("key", r["description"]): r for r in json.loads(results_path.read_text())["mutants"]}
    selected = mutants
    if survivors_only:
        selected = [m for m in mutants
                    if previous.get(keys[m.ident], {}).get("status") in ("survived", "no tests")]
    if only:
        selected = [m for m in selected if fnmatch.fnmatch(m.description, f"*{only}*")]
    if every > 1:  # a sample spread over every table, for a quick estimate
        selected = selected[::every]
    print(f"tables: {len(mutants)} mutants of {', '.join(tables)} in src/{area.module}; "
          f"running {len(selected)} against {len(tests)} test files (pytest {' '.join(PYTEST_ARGS)})",
          flush=True)
    preload(ROOT / "src", module.split(".")[0])
    first = work / "table-first-failure.txt"
    plans = _plans(module, source_path, tree, tests, [_focus(area, m, tests) for m in selected], work)
    results = dict(previous) if (survivors_only or only) else {}
    started = time.monotonic()
    ran = 0
    for n, m in enumerate(selected, 1):
        if budget is not None and time.monotonic() - started > budget * 60:
            print(f"  budget of {budget:g} min reached after {ran} of {len(selected)} mutants", flush=True)
            break
        code = compile(m.apply(tree), str(source_path), "exec")
        stages, timeouts = plans[_focus(area, m, tests)]
        status, seconds, killer, stage = _run_stages(module, str(source_path), code, stages, timeouts,
                                                     log=work / "mutant.log", first=first)
        ran += 1
        results[keys[m.ident]] = {"ident": m.ident, "key": keys[m.ident], "description": m.description,
                                  "status": status,
                            "killed_by": killer, "stage": stage, "seconds": round(seconds, 2)}
        mark = {"killed": ".", "survived": "S", "timeout": "T", "no tests": "N"}.get(status, "E")
        print(mark, end="" if n % 60 else f" {n}/{len(selected)} {_clock(started)}\n", flush=True)
    print(flush=True)
    current = {key: ident for ident, key in keys.items()}
    rows = [dict(r, ident=current[k]) for k, r in results.items() if k in current]
    results_path.write_text(json.dumps({"module": area.module, "tests": tests,
                                        "total": len(mutants), "mutants": rows}, indent=1))
    counts = _count(r["status"] for r in rows)
    counts["total"] = len(mutants)
    if len(tests) > 1:
        by_stage = _count(r.get("stage") for r in rows if r["status"] in ("killed", "timeout"))
        print(f"  detected by stage 1 (the focused file alone): {by_stage.get(1, 0)}, "
              f"stage 2 (the others): {by_stage.get(2, 0)}", flush=True)
    survivors = [r for r in rows if r["status"] not in ("killed", "timeout")]
    if survivors:
        print(f"  not detected ({len(survivors)}):")
        for r in survivors:
            print(f"    {r['ident']:<16} {r['status']:<9} {r['description']}")
    return counts


def _plans(module: str, source_path: Path, tree: ast.Module, tests: list[str], focuses, work: Path
           ) -> dict[str, tuple[list, list]]:
    """focus file -> (the stages of a mutant's run, their timeouts), each stage checked to pass
    unmutated first (its timeout: ten times that clean run, at least a minute)."""
    code = compile(tree, str(source_path), "exec")
    log, first = work / "table-run.log", work / "table-first-failure.txt"
    plans: dict[str, tuple[list, list]] = {}
    for focus in dict.fromkeys(focuses):
        stages = _stages(tests, focus)
        timeouts = []
        for n, stage in enumerate(stages, 1):
            status, clean_seconds = run_in_child(module, str(source_path), code, [*PYTEST_ARGS, *stage],
                                                 root=ROOT, log=log, first=first, timeout=1800)
            if status != "survived":
                raise SystemExit(f"the unmutated module does not pass its tests ({status} in stage {n}: "
                                 f"{' '.join(stage)}); see {log}")
            timeouts.append(max(60.0, 10 * clean_seconds))
            print(f"  clean run, stage {n} ({_files(stage)}): {clean_seconds:.1f}s; "
                  f"timeout per mutant {timeouts[-1]:.0f}s", flush=True)
        plans[focus] = (stages, timeouts)
    return plans


def _keys(mutants) -> dict[str, str]:
    """ident -> the mutant's key in tables.json: its description, " #2"... for the next alike."""
    seen: dict[str, int] = {}
    keys = {}
    for m in mutants:
        seen[m.description] = seen.get(m.description, 0) + 1
        n = seen[m.description]
        keys[m.ident] = m.description if n == 1 else f"{m.description} #{n}"
    return keys


def _focus(area: Area, mutant, tests: list[str]) -> str:
    """The test file run alone first for ``mutant``: its table's in ``area.focus``, else the
    area's first."""
    table = mutant.where.split("[")[0].split(" ")[0]
    focus = area.focus.get(table)
    return focus if focus in tests else tests[0]


def _stages(tests: list[str], focus: str) -> list[list[str]]:
    """The test files of a table mutant's run, in stages: the focused file alone, then the
    rest (a mutant the first file kills costs one file's collection, not the whole area's)."""
    rest = [t for t in tests if t != focus]
    return [[focus], rest] if rest else [[focus]]


def _files(tests) -> str:
    return " ".join(Path(t).name for t in tests) if len(tests) <= 2 else f"{len(tests)} files"


def _clock(started: float) -> str:
    minutes, seconds = divmod(int(time.monotonic() - started), 60)
    return f"{minutes}:{seconds:02d}"


def _run_stages(module: str, filename: str, code, stages, timeouts, *, log: Path, first: Path):
    """(status, seconds, first failing test, stage) of one mutant: each stage runs only if
    every earlier one passed (or reached no test); the first stage that fails or times out
    decides."""
    total = 0.0
    reached = False
    for n, (stage, timeout) in enumerate(zip(stages, timeouts, strict=True), 1):
        status, seconds = run_in_child(module, filename, code, [*PYTEST_ARGS, *stage], root=ROOT,
                                       log=log, first=first, timeout=timeout)
        total += seconds
        if status == "survived":
            reached = True
        elif status != "no tests":
            killer = first.read_text() if first.exists() and status == "killed" else None
            return status, total, killer, n
    return ("survived" if reached else "no tests"), total, None, None


# =================================================================== function mutants (mutmut)
def _mutmut() -> str:
    exe = shutil.which("mutmut", path=str(Path(sys.executable).parent)) or shutil.which("mutmut")
    if exe is None:
        raise SystemExit('mutmut is not installed: pip install -e ".[test,mutation]"')
    return exe


def _mutmut_config(area: Area) -> str:
    """The area's pyproject.toml: the project's [tool.mutmut] narrowed to one module."""
    base = tomllib.loads((ROOT / "pyproject.toml").read_text()).get("tool", {}).get("mutmut", {})
    config = dict(base)
    config["only_mutate"] = [f"src/{area.module}"]
    config["pytest_add_cli_args_test_selection"] = existing(area.tests)
    config.setdefault("source_paths", ["src/kmslab"])
    lines = ["[tool.mutmut]"]
    for key, value in config.items():
        lines.append(f"{key} = {json.dumps(value)}")
    lines += ["", "[tool.pytest.ini_options]", 'addopts = "-p no:cacheprovider"', ""]
    return "\n".join(lines)


def _prepare_workdir(area_name: str, area: Area, fresh: bool) -> Path:
    work = WORK / area_name
    if fresh and (work / "mutants").exists():
        shutil.rmtree(work / "mutants")
    work.mkdir(parents=True, exist_ok=True)
    for name in ("src", "tests"):
        link = work / name
        if not link.is_symlink():
            link.symlink_to(ROOT / name, target_is_directory=True)
    (work / "pyproject.toml").write_text(_mutmut_config(area))
    return work


def _mutmut_results(work: Path, mutmut: str) -> dict[str, str]:
    out = subprocess.run([mutmut, "results", "--all", "true"], cwd=work, capture_output=True,
                         text=True, check=True).stdout
    results = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep:
            results[name] = status
    return results


def run_functions(area_name: str, area: Area, *, max_children: int, survivors_only: bool,
                  show: bool) -> dict:
    """Run mutmut on the area's module; return the counts."""
    mutmut = _mutmut()
    work = _prepare_workdir(area_name, area, fresh=not survivors_only)
    names: list[str] = []
    if survivors_only:
        names = [n for n, s in _mutmut_results(work, mutmut).items() if s in ("survived", "no tests")]
        if not names:
            print("functions: no survivors to re-test")
    cmd = [mutmut, "run", "--max-children", str(max_children), *names]
    print(f"functions: (cd {work.relative_to(ROOT)} && {' '.join(['mutmut'] + cmd[1:4])}"
          f"{' <survivors>' if names else ''})  log: {work.relative_to(ROOT)}/mutmut.log", flush=True)
    env = dict(os.environ, MPLBACKEND="Agg")
    with open(work / "mutmut.log", "w") as log:
        proc = subprocess.run(cmd, cwd=work, stdout=log, stderr=subprocess.STDOUT, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"mutmut failed (exit {proc.returncode}); see {work / 'mutmut.log'}")
    results = _mutmut_results(work, mutmut)
    undetected = [n for n, s in results.items() if s in ("survived", "no tests")]
    if undetected:
        results.update(_rerun_in_source(area, work, undetected))
    counts = _count(results.values())
    counts["total"] = len(results)
    survivors = [(n, s) for n, s in results.items() if s not in ("killed", "timeout")]
    if survivors:
        print(f"  not detected ({len(survivors)}):")
        for name, status in survivors:
            print(f"    {name}: {status}")
            if show:
                diff = subprocess.run([mutmut, "show", name], cwd=work, capture_output=True,
                                      text=True).stdout
                print("      " + "\n      ".join(diff.strip().splitlines()[3:]))
    return counts


def _rerun_in_source(area: Area, work: Path, names: list[str]) -> dict[str, str]:
    """Run mutmut's undetected mutants again, each applied to the module's source and imported
    in a forked process as a table mutant is: mutmut forks its workers after importing the
    code, so a function the module calls while it is imported (``_row`` building the key-state
    table) never runs mutated under mutmut. Returns name -> status for those detected now."""
    source_path = ROOT / "src" / area.module
    module = area.module[:-3].replace("/", ".")
    tests = existing(area.tests)
    mutated = ast.parse((work / "mutants" / "src" / area.module).read_text())
    defs = {node.name: node for node in ast.walk(mutated)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    tree = ast.parse(source_path.read_text())
    print(f"  re-run in the module's source (a function called while the module is imported is "
          f"never mutated under mutmut): {len(names)} mutants", flush=True)
    preload(ROOT / "src", module.split(".")[0])
    stages, timeouts = _plans(module, source_path, tree, tests, [tests[0]], work)[tests[0]]
    first = work / "table-first-failure.txt"
    detected = {}
    for name in names:
        patched = _with_function(tree, defs, name.rpartition(".")[2])
        if patched is None:
            continue
        code = compile(patched, str(source_path), "exec")
        status, _, _, _ = _run_stages(module, str(source_path), code, stages, timeouts,
                                      log=work / "mutant.log", first=first)
        if status in ("killed", "timeout"):
            detected[name] = status
    print(f"  ... of which detected: {len(detected)}", flush=True)
    return detected


def _with_function(tree: ast.Module, defs: dict, mangled: str) -> ast.Module | None:
    """``tree`` with one function (or method) replaced by mutmut's mutant ``mangled``
    (``x_NAME__mutmut_N``, or ``xǁCLASSǁNAME__mutmut_N`` for a method); None if not found."""
    mutant = defs.get(mangled)
    qualified = mangled.rpartition("__mutmut_")[0]  # "x__row", "xǁGrantǁentry"
    if qualified.startswith("xǁ"):
        owner, _, name = qualified[2:].partition("ǁ")
    else:
        owner, name = None, qualified[2:]
    if mutant is None or not name:
        return None
    patched = copy.deepcopy(tree)
    body = patched.body
    if owner is not None:
        classes = [n for n in body if isinstance(n, ast.ClassDef) and n.name == owner]
        if not classes:
            return None
        body = classes[0].body
    for i, node in enumerate(body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            replacement = copy.deepcopy(mutant)
            replacement.name, replacement.decorator_list = name, node.decorator_list
            body[i] = replacement
            return patched
    return None


# =================================================================== report
def _count(statuses) -> dict:
    counts: dict[str, int] = {}
    for s in statuses:
        counts[s] = counts.get(s, 0) + 1
    return counts


def _rate(counts: dict) -> str:
    ran = sum(v for k, v in counts.items() if k not in ("total", "not checked", "skipped"))
    detected = counts.get("killed", 0) + counts.get("timeout", 0)
    pct = 100 * detected / ran if ran else 0.0
    rest = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())
                     if k not in ("total", "killed", "timeout") and v)
    return (f"{detected}/{ran} detected ({pct:.1f}%) of {counts.get('total', ran)} mutants"
            + (f"; {rest}" if rest else ""))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("area", nargs="?", choices=sorted(AREAS))
    parser.add_argument("--list", action="store_true", help="list the areas")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--functions", action="store_true", help="only mutmut's function mutants")
    what.add_argument("--tables", action="store_true", help="only the module-level table mutants")
    parser.add_argument("--survivors", action="store_true",
                        help="re-test only the previous run's survivors (after adding tests)")
    parser.add_argument("--only", metavar="TEXT", help="table mutants whose description contains TEXT")
    parser.add_argument("--show", action="store_true", help="print each surviving function mutant's diff")
    parser.add_argument("--max-children", type=int, default=1, help="mutmut workers (default 1)")
    parser.add_argument("--budget", type=float, metavar="MINUTES",
                        help="stop starting table mutants after this many minutes")
    parser.add_argument("--every", type=int, default=1, metavar="K",
                        help="run every K-th table mutant only (a sample over all the tables)")
    args = parser.parse_args(argv)
    if args.list or not args.area:
        for name, area in AREAS.items():
            print(f"{name:<11} src/{area.module}: {area.doc}")
            source = (ROOT / "src" / area.module).read_text()
            tables = discover_tables(source) if area.tables is None else area.tables
            print(f"{'':<11} tables{' (all it binds)' if area.tables is None else ''}: "
                  f"{', '.join(tables) or '-'}")
            if area.facts is not None:
                print(f"{'':<11} facts: {', '.join(area.facts.values)} of each row of {area.facts.table}"
                      + (f" (the others in rows with {area.facts.rows_with})" if area.facts.rows_with else ""))
            print(f"{'':<11} tests: {' '.join(Path(t).name for t in existing(area.tests))}")
        return 0
    area = AREAS[args.area]
    summary = {}
    if not args.tables:
        summary["functions"] = run_functions(args.area, area, max_children=args.max_children,
                                             survivors_only=args.survivors, show=args.show)
    if not args.functions:
        summary["tables"] = run_tables(args.area, area, budget=args.budget, only=args.only,
                                       survivors_only=args.survivors, every=args.every)
    print(f"\n{args.area} (src/{area.module})")
    for part, counts in summary.items():
        print(f"  {part:<9} {_rate(counts)}")
    if len(summary) == 2:
        total = _count([])
        for counts in summary.values():
            for k, v in counts.items():
                total[k] = total.get(k, 0) + v
        print(f"  {'together':<9} {_rate(total)}")
    (WORK / args.area / "summary.json").write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
