"""What the site reads from the repository and from kmslab itself.

Every generated part of the site starts here, so a page cannot drift from the
code: the notebooks and the FAQ map (``notebooks/README.md``), the list of
public modules (``docs/site/public-api.txt``), and kmslab's own tables (the
key-state rules, the key specs it refuses). Each reader is a small function;
when a table moves in kmslab, the function that reads it is the one place to
change.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]
SITE = ROOT / "docs" / "site"
NOTEBOOKS = ROOT / "notebooks"
NOTEBOOKS_README = NOTEBOOKS / "README.md"
PUBLIC_API = SITE / "public-api.txt"

#: where the site's "launch" and "source" links point
REPOSITORY = "https://github.com/kmslab/kmslab"
BRANCH = "HEAD"
BINDER = "https://mybinder.org"
#: AWS KMS API Reference page of an operation
AWS_API_REFERENCE = "https://docs.aws.amazon.com/kms/latest/APIReference/API_{operation}.html"


# -- notebooks and the FAQ map ------------------------------------------------------------------

@dataclass(frozen=True)
class Notebook:
    """A tutorial notebook: ``stem`` is its file name without ``.ipynb``."""

    stem: str
    path: Path
    title: str
    summary: str

    @property
    def binder_url(self) -> str:
        """Opens this notebook in JupyterLab on Binder, kmslab installed."""
        org_repo = REPOSITORY.removeprefix("https://github.com/")
        return f"{BINDER}/v2/gh/{org_repo}/{BRANCH}?urlpath=lab/tree/notebooks/{self.path.name}"

    def image_outputs(self) -> int:
        """How many image outputs (PNG, JPEG, SVG) the committed notebook holds."""
        cells = json.loads(self.path.read_text(encoding="utf-8"))["cells"]
        return sum(1 for cell in cells for output in cell.get("outputs", ())
                   if any(m in output.get("data", {}) for m in IMAGE_TYPES))


IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml")

_SUMMARY_ROW = re.compile(r"^\|\s*\[([^\]]+)\]\(([^)]+\.ipynb)\)\s*\|\s*(.+?)\s*\|\s*$")
_FAQ_ROW = re.compile(r"^\|\s*(\d+)\s*\|\s*(.+?)\s*\|\s*\[([^\]]+)\]\(([^)]+)\)\s*\|\s*(.+?)\s*\|\s*$")


def notebooks() -> list[Notebook]:
    """Every tutorial, in learning order (their file names are numbered)."""
    summaries = {}
    for line in NOTEBOOKS_README.read_text(encoding="utf-8").splitlines():
        match = _SUMMARY_ROW.match(line)
        if match:
            summaries[Path(match.group(2)).stem] = match.group(3)
    found = []
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        title = next((line[2:].strip() for cell in cells if cell["cell_type"] == "markdown"
                      for line in "".join(cell["source"]).splitlines() if line.startswith("# ")),
                     path.stem)
        found.append(Notebook(path.stem, path, title, summaries.get(path.stem, "")))
    return found


@dataclass(frozen=True)
class FaqEntry:
    """One FAQ question and the tutorial section (a ``## `` heading) whose cells answer it."""

    number: int
    question: str
    notebook: str  # file name, e.g. 01_getting_started.ipynb
    section: str


def faq() -> list[FaqEntry]:
    """The FAQ map of ``notebooks/README.md``, in question order.

    The questions come from the repository's own copy of the FAQ's list (the
    table in notebooks/README.md, which ``tests/test_faq_map.py`` checks
    against the FAQ itself where a checkout has it).
    """
    rows = []
    for line in NOTEBOOKS_README.read_text(encoding="utf-8").splitlines():
        match = _FAQ_ROW.match(line)
        if match:
            number, question, _, target, section = match.groups()
            rows.append(FaqEntry(int(number), question, Path(target).name, section))
    return sorted(rows, key=lambda row: row.number)


def heading_anchor(title: str) -> str:
    """The anchor MyST gives a heading (GitHub's rule): what a link to a section ends with."""
    from myst_parser.mdit_to_docutils.base import default_slugify

    text = re.sub(r"`([^`]*)`", r"\1", title)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[*_]{1,2}([^*_]+)[*_]{1,2}", r"\1", text)
    return default_slugify(text)


# -- the public API ---------------------------------------------------------------------------

@dataclass(frozen=True)
class PublicModule:
    """A module of the public API and its one-line summary."""

    name: str
    summary: str


def public_modules() -> list[PublicModule]:
    """The public modules, in reference order: the one list, ``docs/site/public-api.txt``."""
    modules = []
    for line in PUBLIC_API.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, summary = line.partition(" ")
            modules.append(PublicModule(name, summary.strip()))
    return modules


def public_names(module_name: str) -> list[str]:
    """A public module's public names: its ``__all__`` (every name without ``_`` otherwise)."""
    import importlib

    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    return list(names)


# -- kmslab's tables ----------------------------------------------------------------------------

EXAMPLE_ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@dataclass(frozen=True)
class Refusal:
    """What an operation gets on a key in a state that does not allow it."""

    code: str
    message: str  # with ``<key ARN>`` for the key's ARN


@dataclass(frozen=True)
class KeyStateRules:
    """The key-state rules as the site shows them.

    ``allowed[operation][state]`` is None where the state allows the
    operation, else the :class:`Refusal`; ``transitions`` are
    ``(from, operation or event, to)``, ``(new)`` and ``(deleted)`` standing
    for a key that does not exist yet or any more.
    """

    states: tuple[str, ...]
    allowed: dict[str, dict[str, Refusal | None]]
    transitions: tuple[tuple[str, str, str], ...]


def key_state_rules() -> KeyStateRules:
    """kmslab's key-state rules, read from the service's own tables.

    This is the only function of the site that knows where those tables live
    (``kmslab.service.states``: the table of what each state allows, its
    ``check`` and the list of transitions). Each cell is what ``check`` itself
    raises, so the page shows exactly what the service answers.
    """
    from kmslab import errors
    from kmslab.service import states

    allowed: dict[str, dict[str, Refusal | None]] = {}
    for operation in sorted(states.TABLE):
        row: dict[str, Refusal | None] = {}
        for state in states.STATES:
            try:
                states.check(operation, state, EXAMPLE_ARN)
            except errors.KMSError as refused:
                row[state] = Refusal(refused.code, refused.message.replace(EXAMPLE_ARN, "<key ARN>"))
            else:
                row[state] = None
        allowed[operation] = row
    return KeyStateRules(tuple(states.STATES), allowed, tuple(states.transition_table()))


@dataclass(frozen=True)
class RefusedFeature:
    """Something AWS KMS offers that kmslab refuses, and what kmslab answers."""

    what: str
    request: str
    code: str
    message: str


def refused_features() -> list[RefusedFeature]:
    """What kmslab deliberately refuses, each found by asking a fresh lab for it.

    The key specs come from ``kmslab.specs.KEY_SPECS`` (those with an
    ``unsupported`` reason); the other refusals are the algorithms and
    wrapping options that share the reason. Each row is the error a request
    really gets, so the page cannot say more than the code does.
    """
    import kmslab
    from kmslab import errors
    from kmslab.specs import DATA_KEY_PAIR_SPECS, KEY_SPECS

    lab = kmslab.Lab(seed=1)
    kms = lab.client()
    attempts = []
    for spec in KEY_SPECS.values():
        if spec.unsupported:
            usage = next(iter(spec.usages))
            attempts.append((f"KeySpec {spec.name}", f"CreateKey(KeySpec={spec.name!r}, KeyUsage={usage!r})",
                             lambda s=spec.name, u=usage: kms.create_key(KeySpec=s, KeyUsage=u)))
    symmetric = kms.create_key()["KeyMetadata"]["KeyId"]
    for spec in KEY_SPECS:
        if spec not in DATA_KEY_PAIR_SPECS and spec.startswith(("SM2", "ML_KEM")):
            attempts.append((f"KeyPairSpec {spec}", f"GenerateDataKeyPair(KeyPairSpec={spec!r})",
                             lambda s=spec: kms.generate_data_key_pair(KeyId=symmetric, KeyPairSpec=s)))
    edwards = kms.create_key(KeySpec="ECC_NIST_EDWARDS25519", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    attempts.append(("SigningAlgorithm ED25519_PH_SHA_512",
                     "Sign(SigningAlgorithm='ED25519_PH_SHA_512', MessageType='DIGEST')",
                     lambda: kms.sign(KeyId=edwards, Message=bytes(64), MessageType="DIGEST",
                                      SigningAlgorithm="ED25519_PH_SHA_512")))
    external = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    attempts.append(("SM2 wrapping keys",
                     "GetParametersForImport(WrappingAlgorithm='SM2PKE', WrappingKeySpec='SM2')",
                     lambda: kms.get_parameters_for_import(KeyId=external, WrappingAlgorithm="SM2PKE",
                                                           WrappingKeySpec="SM2")))
    refused = []
    for what, request, attempt in attempts:
        try:
            attempt()
        except errors.KMSError as err:
            refused.append(RefusedFeature(what, request, err.code, err.message))
        else:
            raise RuntimeError(f"kmslab accepted {request}: the page of differences is out of date")
    return refused


def blob_difference() -> str:
    """How kmslab's symmetric encryption differs from AWS's, in its module's own words."""
    from kmslab.crypto import symmetric

    return docstring_paragraph(symmetric, "Unlike AWS")


def docstring_paragraph(obj, starts_with: str) -> str:
    """The paragraph of ``obj``'s docstring that begins with ``starts_with``."""
    import inspect

    for paragraph in inspect.getdoc(obj).split("\n\n"):
        if paragraph.startswith(starts_with):
            return " ".join(paragraph.split())
    raise LookupError(f"no paragraph starting {starts_with!r} in {obj!r}'s docstring")
