"""`ami check` — one JSON object on stdout, exit 0/1/2, faulty fields named, never a traceback;
the workflow's activity gives the same verdict; the .docx form through the CLI."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from temporalio.testing import ActivityEnvironment

from ami.activities.eligibility import check_eligibility
from ami.app.cli.main import main
from ami.infra.documents.form_docx import fill_form_docx
from ami.infra.forms import MAX_FILE_BYTES, load_form
from ami.models.activity_payloads import CheckEligibilityInput, EligibilityRules
from ami.models.campaign import CAMPAIGNS_DIR, load_campaign
from ami.models.candidature import CandidatureFile

EXAMPLES = Path(__file__).resolve().parent.parent / "ami" / "data" / "examples"
PARIS = ZoneInfo("Europe/Paris")
IN_WINDOW = "2024-08-01T12:00:00+02:00"


def base() -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load((EXAMPLES / "01-henin-carvin.yaml").read_text(encoding="utf-8"))
    return raw


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["check", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def verdict(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = check(capsys, *args)
    assert err == ""
    payload: dict[str, Any] = json.loads(out)  # exactly one JSON object: json.loads refuses trailing data
    return code, payload


def write(tmp_path: Path, raw: Any, name: str = "candidature.yaml") -> Path:
    path = tmp_path / name
    text = json.dumps(raw, ensure_ascii=False) if name.endswith(".json") else yaml.safe_dump(raw, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


# -- the JSON contract ------------------------------------------------------------------------------
def test_eligible_prints_one_json_object(capsys: pytest.CaptureFixture[str]) -> None:
    code, payload = verdict(capsys, str(EXAMPLES / "01-henin-carvin.yaml"), "--at", IN_WINDOW)
    assert code == 0
    assert payload["eligible"] is True and payload["reasons"] == []
    c = payload["collectivite"]
    assert {k: c[k] for k in ("name", "kind", "departement", "region")} == {
        "name": "CA d'Hénin-Carvin",
        "kind": "CA",
        "departement": "62",
        "region": "32",
    }
    assert c["name_as_written"] == "Communauté d'agglomération d'Hénin-Carvin"
    assert (c["departement_name"], c["region_name"]) == ("Pas-de-Calais", "Hauts-de-France")


def test_ineligible_exit_1_with_reasons(capsys: pytest.CaptureFixture[str]) -> None:
    code, payload = verdict(capsys, str(EXAMPLES / "13-reims.yaml"), "--at", IN_WINDOW)
    assert code == 1 and payload["eligible"] is False
    assert [r["code"] for r in payload["reasons"]] == ["outside_region"]
    assert set(payload["reasons"][0]) == {"code", "message"}


def test_unknown_collectivite_is_null(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = base()
    raw["collectivite"]["siren"] = "123456782"
    code, payload = verdict(capsys, str(write(tmp_path, raw)), "--at", IN_WINDOW)
    assert code == 1 and payload["collectivite"] is None
    assert payload["reasons"][0]["code"] == "unknown_collectivite"


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2024-09-08T23:30:00+02:00", 0),
        ("2024-09-08T21:30:00Z", 0),
        ("2024-09-08T16:30:00-05:00", 0),
        ("2024-09-08T23:30", 0),  # no offset: Paris time
        ("2024-09-08 23:30:00", 0),
        ("2024-09-09T00:30:00+02:00", 1),
        ("2024-09-08T22:30:00Z", 1),
        ("2024-09-08T17:30:00-05:00", 1),
        ("2024-09-09T00:30", 1),
        ("2024-07-09T23:30", 1),
        ("2024-07-09T22:30:00Z", 0),
        ("2024-07-10", 0),  # a date alone: midnight, Paris time
    ],
)
def test_at_with_or_without_offset(capsys: pytest.CaptureFixture[str], at: str, expected: int) -> None:
    code, payload = verdict(capsys, str(EXAMPLES / "01-henin-carvin.yaml"), "--at", at)
    assert code == expected, payload


@pytest.mark.parametrize("campaign", ["ami-2024", str(CAMPAIGNS_DIR / "ami-2024.toml")])
def test_campaign_by_id_or_path(capsys: pytest.CaptureFixture[str], campaign: str) -> None:
    code, _ = verdict(capsys, str(EXAMPLES / "01-henin-carvin.yaml"), "--campaign", campaign, "--at", IN_WINDOW)
    assert code == 0


def test_unknown_campaign_is_malformed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = check(capsys, str(EXAMPLES / "01-henin-carvin.yaml"), "--campaign", "ami-1999", "--at", IN_WINDOW)
    assert (code, out) == (2, "")
    assert "--campaign" in err and "introuvable" in err


def test_invalid_at_is_malformed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = check(capsys, str(EXAMPLES / "01-henin-carvin.yaml"), "--at", "8 septembre")
    assert (code, out) == (2, "")
    assert "--at" in err and "ISO 8601" in err


# -- malformed input: exit 2, every faulty field named, no traceback --------------------------------
def _set(raw: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    *parents, last = dotted.split(".")
    target = raw
    for key in parents:
        target = target[key]
    target[last] = value
    return raw


MALFORMED: list[tuple[str, dict[str, Any], list[str]]] = [
    ("siren_luhn", {"collectivite.siren": "246200298"}, ["collectivite.siren", "Luhn"]),
    ("siren_length", {"collectivite.siren": "24620029"}, ["collectivite.siren", "9 chiffres"]),
    ("email", {"political_referent.email": "elu.henin-carvin@"}, ["political_referent.email", "adresse électronique invalide"]),
    ("line_break_name", {"technical_referent.name": "Martin\nDubois"}, ["technical_referent.name", "saut de ligne"]),
    ("line_break_email", {"collectivite.email": "a@b.fr\r\n"}, ["collectivite.email", "saut de ligne"]),
    ("unicode_line_separator", {"collectivite.name": "Hénin\u2028Carvin"}, ["collectivite.name", "saut de ligne"]),
    ("unknown_key", {"letter.objectif": "typo"}, ["letter.objectif", "champ inconnu"]),
    ("unknown_top_key", {"motivation": "typo"}, ["motivation", "champ inconnu"]),
    ("wrong_type_int", {"collectivite.siren": 246200299}, ["collectivite.siren", "texte attendu"]),
    ("wrong_type_list", {"partners": {"name": "x"}}, ["partners", "liste attendue"]),
    ("wrong_type_object", {"political_referent": "Sophie Lambert"}, ["political_referent", "objet attendu"]),
    ("no_identifier", {"collectivite.siren": None}, ["collectivite", "SIREN"]),
    ("partner_siren", {"partners": [{"name": "Libercourt", "siren": "216203"}]}, ["partners[1].siren"]),
]


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
@pytest.mark.parametrize(("changes", "words"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_field_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str, changes: dict[str, Any], words: list[str]
) -> None:
    if suffix == ".yaml" and any(type(v) is int for v in changes.values()):
        pytest.skip("a YAML scalar is read as its text: see test_yaml_scalars_are_text")
    raw = base()
    for dotted, value in changes.items():
        _set(raw, dotted, value)
    code, out, err = check(capsys, str(write(tmp_path, raw, "candidature" + suffix)), "--at", IN_WINDOW)
    assert (code, out) == (2, "")
    assert "Traceback" not in err
    for word in words:
        assert word in err, (word, err)


def test_every_faulty_field_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = base()
    _set(raw, "collectivite.siren", "246200298")
    _set(raw, "political_referent.email", "pas-une-adresse")
    _set(raw, "technical_referent.name", "Martin\nDubois")
    raw["commentaire"] = "?"
    _set(raw, "needs", ["42"])
    _, _, err = check(capsys, str(write(tmp_path, raw)), "--at", IN_WINDOW)
    for field in ("collectivite.siren", "political_referent.email", "technical_referent.name", "commentaire", "needs"):
        assert f"  - {field} :" in err, (field, err)


def malformed_file(tmp_path: Path, case: str) -> Path:
    path = tmp_path / {"json": "c.json", "docx": "c.docx", "pdf": "c.pdf"}.get(case, "c.yaml")
    if case == "missing":
        return tmp_path / "absente.yaml"
    if case == "not_utf8":
        path.write_bytes("collectivite:\n  name: Hénin\n".encode("latin-1"))
    elif case == "json":
        path.write_text('{"collectivite": {', encoding="utf-8")
    elif case == "yaml":
        path.write_text("collectivite: [unclosed\n", encoding="utf-8")
    elif case == "yaml_scalar":
        path.write_text("just a sentence\n", encoding="utf-8")
    elif case == "empty":
        path.write_text("", encoding="utf-8")
    elif case == "too_big":
        path.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    elif case == "docx":
        import docx

        document = docx.Document()
        document.add_paragraph("Compte rendu de réunion")
        document.save(str(path))
    elif case == "docx_garbage":
        path.write_bytes(b"PK\x03\x04 not really a zip")
    elif case == "pdf":
        path.write_bytes(b"%PDF-1.7\n...")
    elif case == "directory":
        path.mkdir()
    return path


MALFORMED_FILES = [
    ("missing", "fichier introuvable"),
    ("not_utf8", "UTF-8"),
    ("json", "JSON illisible"),
    ("yaml", "YAML illisible"),
    ("yaml_scalar", "(racine)"),
    ("empty", "(racine)"),
    ("too_big", "trop volumineux"),
    ("docx", "n'est pas le formulaire de candidature attendu"),
    ("docx_garbage", "document Word"),
    ("pdf", "PDF"),
    ("directory", "dossier"),
]


@pytest.mark.parametrize(("case", "words"), MALFORMED_FILES, ids=[m[0] for m in MALFORMED_FILES])
def test_malformed_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, words: str) -> None:
    path = malformed_file(tmp_path, case)
    code, out, err = check(capsys, str(path), "--at", IN_WINDOW)
    assert (code, out) == (2, "")
    assert "Traceback" not in err
    assert str(path) in err and words in err, err


# -- the workflow's activity gives the same verdict -----------------------------------------------
INSTANTS = ["2024-07-09T23:59:00+02:00", "2024-08-01T12:00:00+02:00", "2024-09-08T23:30:00+02:00", "2024-09-08T22:30:00Z"]
FILES = ["01-henin-carvin", "04-lomme", "07-laon-incomplet", "12-hellemmes", "13-reims"]


@pytest.mark.parametrize("stem", FILES)
async def test_activity_matches_cli(capsys: pytest.CaptureFixture[str], stem: str) -> None:
    path = EXAMPLES / f"{stem}.yaml"
    plan = load_campaign("ami-2024").plan()
    rules = EligibilityRules(region=plan.region, timezone=plan.timezone, opens_at=plan.opens_at, deadline_at=plan.deadline_at)
    env = ActivityEnvironment()
    for at in INSTANTS:
        code, payload = verdict(capsys, str(path), "--at", at)
        result = await env.run(
            check_eligibility, CheckEligibilityInput(form=load_form(path), received_at=datetime.fromisoformat(at), rules=rules)
        )
        assert result.eligible is payload["eligible"] and code == (0 if result.eligible else 1)
        assert [r.model_dump() for r in result.reasons] == payload["reasons"]
        view = result.collectivite
        expected = None if view is None else {k: getattr(view, k) for k in ("name", "kind", "departement", "region")}
        got = payload["collectivite"] and {k: payload["collectivite"][k] for k in ("name", "kind", "departement", "region")}
        assert got == expected


# -- the .docx form ------------------------------------------------------------------------------
def test_form_template_then_check_filled_docx(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blank = tmp_path / "formulaire.docx"
    assert main(["form", "template", "--out", str(blank)]) == 0
    assert str(blank) in capsys.readouterr().out
    assert blank.read_bytes().startswith(b"PK")
    # The blank form reads as a candidature with nothing in it: malformed (no name, no identifier).
    code, out, err = check(capsys, str(blank), "--at", IN_WINDOW)
    assert (code, out) == (2, "") and "collectivite.name" in err

    campaign = load_campaign("ami-2024")
    for stem, expected in (("01-henin-carvin", 0), ("04-lomme", 0), ("07-laon-incomplet", 1)):
        form = load_form(EXAMPLES / f"{stem}.yaml")
        filled = tmp_path / f"{stem}.docx"
        filled.write_bytes(fill_form_docx(form, campaign.name))
        code, payload = verdict(capsys, str(filled), "--at", IN_WINDOW)
        _, from_yaml = verdict(capsys, str(EXAMPLES / f"{stem}.yaml"), "--at", IN_WINDOW)
        assert code == expected
        assert payload == from_yaml
        assert load_form(filled) == form


def test_form_template_refuses_overwrite_and_wrong_suffix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    existing = tmp_path / "f.docx"
    existing.write_bytes(b"x")
    assert main(["form", "template", "--out", str(existing)]) == 2
    assert "existe déjà" in capsys.readouterr().err
    assert main(["form", "template", "--out", str(existing), "--force"]) == 0
    assert main(["form", "template", "--out", str(tmp_path / "f.txt")]) == 2
    assert main(["form", "template", "--out", str(tmp_path / "absent" / "f.docx")]) == 2
    assert "impossible d'écrire" in capsys.readouterr().err


def test_docx_with_a_faulty_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    form = load_form(EXAMPLES / "01-henin-carvin.yaml")
    bad = CandidatureFile.model_construct(**{**dict(form), "collectivite": form.collectivite.model_copy(update={"siren": "246200298"})})
    path = tmp_path / "faux.docx"
    path.write_bytes(fill_form_docx(bad, "AMI"))
    code, out, err = check(capsys, str(path), "--at", IN_WINDOW)
    assert (code, out) == (2, "") and "collectivite.siren" in err and "Luhn" in err
