"""The hostile inputs of the fuzz (tests/fuzz_forms.py): strings, field mutations, malformed
documents and mutated .docx archives, drawn from a seeded random generator."""

from __future__ import annotations

import copy
import io
import json
import random
import zipfile
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import yaml

from ami.app.examples import example
from ami.infra.documents.form_docx import fill_form_docx
from ami.models.candidature import CandidatureFile

CONTROLS = [chr(c) for c in [*range(0x00, 0x20), 0x7F, 0x85, 0x9B]]
ATOMS = [
    "\ud800",
    "\udfff",
    "\u202e",
    "\u2066",
    "\u200f",
    "\u2028",
    "\ufeff",
    "=?utf-8?q?=0D=0ACc:_attacker@evil.example?=",
    "=?utf-8?b?DQpCY2M6IGV2aWxAZXZpbC5leGFtcGxl?=",
    "\r\nBcc: evil@evil.example",
    "\n",
    "\r\n",
    "\t",
    "[/x]",
    "[bold red]",
    "[link=file:///etc/passwd]x[/link]",
    "<script>alert(1)</script>",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{% raw %}",
    '=HYPERLINK("http://evil")',
    "+1+1",
    "-2",
    "@SUM(A1)",
    "é è à ç œ « » \u00a0\u202f",
    "😀",
    " ",
    "",
    "x" * 301,
    "y" * 20_001,
    "9" * 5000,
    "246200299",
    "2024-02-30",
    "a@b.fr",
    "[/x]@example.org",
    "null",
    "~",
    "!!int 'x'",
]
# (path, how `ami check` names it): every text field of the form.
FIELDS: list[tuple[tuple[str | int, ...], str]] = [
    *(((("collectivite", k)), f"collectivite.{k}") for k in ("name", "siren", "insee", "address", "email", "phone")),
    *(
        ((p, k), f"{p}.{k}")
        for p in ("political_referent", "technical_referent", "contact_point")
        for k in ("name", "role", "email", "phone")
    ),
    *(((k,), k) for k in ("motivations", "actions", "work_tracks", "needs")),
    *((("letter", k), f"letter.{k}") for k in ("platforms_place", "objective", "contribution")),
    (("partners", 0, "name"), "partners[1].name"),
    (("partners", 0, "siren"), "partners[1].siren"),
    (("attachments", 0, "path"), "attachments[1].path"),
]


@dataclass
class Case:
    kind: str
    suffix: str
    data: bytes
    fields: list[str] = field(default_factory=list)  # how the mutated fields are named in a message


# What a form may hold and the engine must carry safely to the PDF, the emails and the grid.
ACCEPTABLE = [
    "\u202e",
    "\u2066",
    "\u200f",
    "[/x]",
    "[bold red]",
    "<script>alert(1)</script>",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    '=HYPERLINK("http://evil")',
    "+1+1",
    "@SUM(A1)",
    "é è à ç œ « » \u00a0\u202f",
    "😀",
    "null",
]


def hostile_text(rng: random.Random, gentle: bool = False) -> str:
    if gentle:
        return rng.choice(["Mairie de Lens ", "Sophie ", ""]) + "".join(rng.choice(ACCEPTABLE) for _ in range(rng.randint(1, 3)))
    parts = [rng.choice(CONTROLS if rng.random() < 0.2 else ATOMS) for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.5:
        parts.insert(rng.randint(0, len(parts)), rng.choice(["Mairie de Lens", "Sophie Lambert", "Nous souhaitons"]))
    return "".join(parts)


def hostile_value(rng: random.Random, gentle: bool = False) -> Any:
    roll = rng.random()
    if gentle or roll < 0.8:
        return hostile_text(rng, gentle)
    return rng.choice([42, 10**40, -1, 1.5, float("inf"), True, None, [], ["x"], {}, {"a": "b"}])


_BASE: list[dict[str, Any]] = []


def _base() -> dict[str, Any]:
    if not _BASE:
        raw = example("01-henin-carvin").model_dump(mode="json")
        raw["partners"] = [{"name": "Libercourt", "siren": None, "insee": "62907"}]
        raw["attachments"] = [{"path": "annexe.pdf"}]
        _BASE.append(raw)
    return copy.deepcopy(_BASE[0])


def mutate(raw: dict[str, Any], rng: random.Random, gentle: bool = False) -> list[str]:
    named = []
    for _ in range(rng.randint(1, 3)):
        path, where = rng.choice(FIELDS)
        target: Any = raw
        for key in path[:-1]:
            if isinstance(key, str) and target.get(key) is None:
                target[key] = {}  # an absent referent or letter gets the field alone
            target = target[key]
        if gentle and where.endswith(("siren", "insee", "email", "phone")):
            continue  # those have a format: only free text takes gentle hostility
        target[path[-1]] = hostile_value(rng, gentle)
        named.append(where)
    if not gentle and rng.random() < 0.05:
        raw["commentaire"] = "clé inconnue"
        named.append("commentaire")
    return named


def serialise(raw: dict[str, Any], suffix: str, rng: random.Random) -> bytes:
    if suffix == ".json":
        if rng.random() < 0.5:
            return json.dumps(raw).encode()  # surrogates escaped as \ud800
        return json.dumps(raw, ensure_ascii=False).encode("utf-8", "surrogatepass")  # raw bytes, invalid UTF-8
    try:
        text = yaml.dump(raw, Dumper=yaml.CSafeDumper, allow_unicode=rng.random() < 0.5)
    except (yaml.YAMLError, UnicodeEncodeError):
        text = json.dumps(raw)  # JSON is YAML (a lone surrogate stays escaped)
    if rng.random() < 0.3:
        tag = rng.choice(["!!int", "!!float", "!!bool", "!!timestamp", "!!binary", "!!str", "!!set", "!!python/name:os.system"])
        text = text.replace("name: ", f"name: {tag} ", 1)
    return text.encode("utf-8", "surrogatepass")


def malformed_document(rng: random.Random) -> Case:
    choices = [
        (".json", b"{" * 10_000),
        (".json", b"[" * 100_000),
        (".json", b'{"collectivite": ' + b"9" * 5000 + b"}"),
        (".json", json.dumps(_base())[: rng.randint(0, 400)].encode()),
        (".json", b"\xef\xbb\xbf" + json.dumps(_base()).encode()),
        (".yaml", b"a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"),
        (".yaml", b"collectivite: !!python/object/apply:os.system ['id']\n"),
        (".yaml", b"- just\n- a list\n"),
        (".yaml", b"\x00\x01\x02"),
        (".yaml", b"collectivite:\n  name: \x1b[31m\n"),
        (".yaml", bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))),
        (".json", bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))),
        (".yaml", b"collectivite:\n  name: x\n  siren: 2024-02-30\n  email: a@b.fr\n"),
    ]
    suffix, data = rng.choice(choices)
    return Case("malformed", suffix, data)


_DOCX: dict[str, bytes] = {}


def _docx_template() -> bytes:
    if "base" not in _DOCX:
        _DOCX["base"] = fill_form_docx(CandidatureFile.model_validate(_base()), "AMI 2024")
    return _DOCX["base"]


def _rezip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return out.getvalue()


def _bomb(mebibytes: int) -> bytes:
    key = f"bomb{mebibytes}"
    if key not in _DOCX:
        with zipfile.ZipFile(io.BytesIO(_docx_template())) as archive:
            entries = {name: archive.read(name) for name in archive.namelist()}
        entries["word/media/bomb.bin"] = b"\0" * (mebibytes * 1024 * 1024)
        _DOCX[key] = _rezip(entries)
    return _DOCX[key]


def docx_case(rng: random.Random) -> Case:
    base = _docx_template()
    with zipfile.ZipFile(io.BytesIO(base)) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    roll = rng.random()
    if roll < 0.5:  # hostile text in the cells (escaped: the XML stays well-formed unless a control is in it)
        xml = entries["word/document.xml"].decode()
        for answer in ("Hénin-Carvin", "Sophie", "plateformes", "246200299"):
            if answer in xml and rng.random() < 0.5:
                text = hostile_text(rng)
                xml = xml.replace(answer, xml_escape(text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")), 1)
        entries["word/document.xml"] = xml.encode()
        return Case("docx-text", ".docx", _rezip(entries))
    if roll < 0.65:  # a zip bomb: one entry of 11 to 40 MiB of zeros, compressed to a few kB
        return Case("docx-bomb", ".docx", _bomb(rng.choice((11, 40))))
    if roll < 0.7:
        entries.update({f"word/x{i}.xml": b"" for i in range(1200)})
        return Case("docx-entries", ".docx", _rezip(entries))
    data = bytearray(base)
    for _ in range(rng.randint(1, 20)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    if rng.random() < 0.3:
        data = data[: rng.randrange(len(data))]
    return Case("docx-bytes", ".docx", bytes(data))


def make_case(rng: random.Random) -> Case:
    roll = rng.random()
    if roll < 0.12:
        return malformed_document(rng)
    if roll < 0.25:
        return docx_case(rng)
    raw = _base()
    named = mutate(raw, rng, gentle=rng.random() < 0.3)
    suffix = rng.choice([".json", ".yaml"])
    return Case("fields", suffix, serialise(raw, suffix, rng), named)
