"""Hostile forms and campaign files, rich markup, file modes.

Each test reproduces a finding of the security review; each failed on the code before the fix.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import stat
import tracemalloc
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from ami.app.cli import cmd_coordination
from ami.app.cli.main import main
from ami.app.examples import example
from ami.infra.documents.form_docx import fill_form_docx
from ami.infra.documents.jury_grid import jury_grid_csv, jury_grid_xlsx
from ami.infra.forms import MalformedForm, load_form
from ami.models.campaign import CAMPAIGNS_DIR
from ami.models.documents import JuryGridRow

AT = "2024-08-01T12:00:00+02:00"
ENCODED_WORD = "Mairie =?utf-8?q?=0D=0ACc:_attacker@evil.example?="


def base() -> dict[str, Any]:
    return example("01-henin-carvin").model_dump(mode="json")


def check(capsys: pytest.CaptureFixture[str], path: Path) -> tuple[int, str, str]:
    code = main(["check", str(path), "--at", AT])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write_json(tmp_path: Path, raw: Any, name: str = "c.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


def assert_refused(code: int, out: str, err: str, *words: str) -> None:
    assert (code, out) == (2, ""), err
    assert "Traceback" not in err
    for word in words:
        assert word in err, (word, err)


# --- 1. header injection: one-line fields refuse encoded words --------------------------------------


@pytest.mark.parametrize("where", ["collectivite.name", "political_referent.role", "collectivite.email"])
def test_encoded_word_refused_in_one_line_fields(tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str) -> None:
    raw = base()
    section, key = where.split(".")
    raw[section][key] = ENCODED_WORD if key != "email" else "=?utf-8?q?x?=@example.org"
    assert_refused(*check(capsys, write_json(tmp_path, raw)), where, "=?")


def test_encoded_word_kept_in_a_multi_line_answer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = base()
    raw["motivations"] = "Voir =?utf-8?q?x?= : une réponse peut tout citer, elle ne va jamais dans un en-tête."
    code, _, err = check(capsys, write_json(tmp_path, raw))
    assert code in (0, 1), err


# --- 2. .docx zip bomb, /dev/zero -------------------------------------------------------------------


def _docx_with(tmp_path: Path, extra: dict[str, bytes]) -> Path:
    data = fill_form_docx(example("01-henin-carvin"), "AMI 2024")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    entries.update(extra)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    path = tmp_path / "bombe.docx"
    path.write_bytes(out.getvalue())
    return path


def test_docx_bomb_refused_before_inflating(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    original = fill_form_docx(example("01-henin-carvin"), "AMI 2024")
    with zipfile.ZipFile(io.BytesIO(original)) as archive:
        document = archive.read("word/document.xml")
    # 24 MiB of whitespace after the root element: well-formed XML, 30 kB compressed.
    path = _docx_with(tmp_path, {"word/document.xml": document + b" " * (24 * 1024 * 1024)})
    assert path.stat().st_size < 200_000
    tracemalloc.start()
    try:
        code, out, err = check(capsys, path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert_refused(code, out, err, "décompressé")
    assert peak < 8 * 1024 * 1024, f"{peak} octets alloués pour un fichier refusé"


def test_docx_with_too_many_entries_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _docx_with(tmp_path, {f"word/vide{i}.xml": b"" for i in range(1200)})
    assert_refused(*check(capsys, path), "trop d'éléments")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_dev_zero_is_not_read(capsys: pytest.CaptureFixture[str]) -> None:
    assert_refused(*check(capsys, Path("/dev/zero")), "fichier ordinaire")


# --- 5. control characters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "value"),
    [("collectivite.name", "Mairie\x1b[31m"), ("political_referent.name", "Bip\x07"), ("motivations", "a\x01b"), ("needs", "C1 \x9b ici")],
)
def test_controls_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str, value: str) -> None:
    raw = base()
    if "." in where:
        section, key = where.split(".")
        raw[section][key] = value
    else:
        raw[where] = value
    assert_refused(*check(capsys, write_json(tmp_path, raw)), where, "contrôle")


def test_tabs_and_line_breaks_kept_in_multi_line_answers(tmp_path: Path) -> None:
    raw = base()
    raw["motivations"] = "Première ligne\n\tretrait\r\ndeuxième"
    assert load_form(write_json(tmp_path, raw)).motivations == "Première ligne\n\tretrait\r\ndeuxième"


def test_export_cleans_cells_of_an_old_store() -> None:
    """A row stored before the model refused controls: the whole export used to fail."""
    row = JuryGridRow(
        receipt_number="AMI-2024-0001",
        collectivite_name="Lens\x01",
        siren_or_insee="246200299",
        departement="62",
        kind_label="Commune",
        received_at=datetime(2024, 9, 1, tzinfo=UTC),
        motivations="a\x01b\x1b\ud800c\nd",
    )
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(jury_grid_xlsx([row], [("m", "Motivation")])))
    sheet = book.active
    assert sheet is not None
    values = [cell.value for cell in sheet[2]]
    assert "a\ufffdb\ufffd\ufffdc\nd" in values and "Lens\ufffd" in values
    assert "a\ufffdb" in jury_grid_csv([row], [("m", "Motivation")])


# --- 6. malformed input: exit 2, never a traceback ---------------------------------------------------


def test_impossible_date_in_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("collectivite:\n  name: Lens\n  siren: 2024-02-30\n  email: a@b.fr\n", encoding="utf-8")
    assert_refused(*check(capsys, path), "collectivite.siren")


def test_five_thousand_digit_integer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.json"
    raw = json.dumps(base()).replace('"246200299"', "9" * 5000, 1)
    path.write_text(raw, encoding="utf-8")
    assert_refused(*check(capsys, path), "collectivite.siren", "texte attendu")


@pytest.mark.parametrize("tag", ["!!int 'x'", "!!float 'x'", "!!bool 'x'", "!!timestamp 'x'"])
def test_yaml_tags_read_as_text(tmp_path: Path, capsys: pytest.CaptureFixture[str], tag: str) -> None:
    text = yaml.safe_dump(base(), allow_unicode=True).replace("name: Communauté", f"address: {tag}\n  name: Communauté", 1)
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    code, _, err = check(capsys, path)
    assert code == 0, err
    assert load_form(path).collectivite.address == "x"


def test_yaml_scalars_are_text(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("collectivite:\n  name: 2024\n  siren: 246200299\n  insee: null\n  email: a@b.fr\n", encoding="utf-8")
    form = load_form(path)
    assert (form.collectivite.name, form.collectivite.siren, form.collectivite.insee) == ("2024", "246200299", None)


def test_yaml_aliases_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("a: &a [x, x]\nb: [*a, *a]\n", encoding="utf-8")
    with pytest.raises(MalformedForm, match=r"alias \(\*\) interdit"):
        load_form(path)


def test_lone_surrogate_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps(base(), ensure_ascii=False).replace("Hénin", "\\ud800", 1), encoding="utf-8")
    assert_refused(*check(capsys, path), "collectivite.name", "U+D800")


def test_year_out_of_range_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (CAMPAIGNS_DIR / "ami-2024.toml").read_text(encoding="utf-8").replace("opening = 2024-07-10", "opening = 1024-07-10")
    path = tmp_path / "campagne.toml"
    path.write_text(text, encoding="utf-8")
    code = main(["campaign", "check", str(path)])
    captured = capsys.readouterr()
    assert_refused(code, captured.out, captured.err, "calendar.opening", "1024")


@pytest.mark.parametrize(
    ("line", "replacement", "entry"),
    [
        ("reminder_days = ", "reminder_days = [99999999999]", "calendar.reminder_days[1]"),
        ("session_duration_hours = ", "session_duration_hours = 1e308", "calendar.session_duration_hours"),
        ("confirmation_days = ", "confirmation_days = 99999999999", "calendar.confirmation_days"),
    ],
)
def test_campaign_overflows(tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, replacement: str, entry: str) -> None:
    lines = (CAMPAIGNS_DIR / "ami-2024.toml").read_text(encoding="utf-8").splitlines()
    text = "\n".join(replacement if item.startswith(line) else item for item in lines)
    path = tmp_path / "campagne.toml"
    path.write_text(text, encoding="utf-8")
    code = main(["campaign", "check", str(path)])
    captured = capsys.readouterr()
    assert_refused(code, captured.out, captured.err, entry)


# --- 6 and 7. `ami submit`: malformed input and rich markup ------------------------------------------


class _Coordination:
    def __init__(self) -> None:
        self.forms: list[Any] = []

    async def submit(self, form: Any, received: Any) -> Any:
        self.forms.append(form)
        return SimpleNamespace(workflow_id="candidature-ami-2024-x", receipt_number="AMI-2024-0001", correction=False)


def _submit(path: Path) -> tuple[int, _Coordination]:
    coordination = _Coordination()
    args = argparse.Namespace(file=str(path), campaign="ami-2024", received_at=None)
    return asyncio.run(cmd_coordination._submit(coordination, args)), coordination  # type: ignore[arg-type]


def test_submit_prints_markup_from_data_as_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = base()
    raw["collectivite"]["email"] = "[/x]@example.org"
    code, coordination = _submit(write_json(tmp_path, raw))
    err = capsys.readouterr().err
    assert code == 2 and not coordination.forms
    assert "[/x]@example.org" in err and "collectivite.email" in err


def test_submit_refuses_what_check_refuses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps(base()).replace('"246200299"', "9" * 5000, 1), encoding="utf-8")
    code, coordination = _submit(path)
    assert code == 2 and not coordination.forms
    assert "collectivite.siren" in capsys.readouterr().err


def test_status_from_store_prints_markup_as_text(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    row = SimpleNamespace(
        receipt_number="AMI-2024-0001",
        collectivite="Mairie [/x] de [bold]Lens",
        departement="62",
        state="submitted",
        decision=None,
        reviews=0,
        sessions_attended=0,
    )
    monkeypatch.setattr("ami.infra.store.campaign_summary", lambda campaign: [row])
    assert main(["status", "--campaign", "ami-2024", "--from-store"]) == 0
    assert "Mairie [/x] de [bold]Lens" in capsys.readouterr().out


# --- 9. personal data files: 0600 in 0700 folders ----------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_documents_and_store_are_private(tmp_path: Path) -> None:
    from ami.activities.documents import store_content
    from ami.infra.store import make_engine

    old = os.umask(0o022)
    try:
        path, _ = store_content(tmp_path / "data", b"%PDF-1.7 personne", ".pdf")
        engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'ami.db'}")
        with engine.connect() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x)")
        engine.dispose()
    finally:
        os.umask(old)
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700 and _mode(tmp_path / "data" / "documents") == 0o700
    assert _mode(tmp_path / "var" / "ami.db") == 0o600 and _mode(tmp_path / "var") == 0o700


def test_emails_written_by_the_sink_are_private(tmp_path: Path) -> None:
    from ami.infra.mail.sink import EmlWriter

    old = os.umask(0o022)
    try:
        writer = EmlWriter(tmp_path / "mail")
        envelope = SimpleNamespace(original_content=b"Message-ID: <a@b>\r\n\r\nBonjour", rcpt_tos=["a@b.fr"])
        asyncio.run(writer.handle_DATA(None, None, envelope))  # type: ignore[arg-type]
    finally:
        os.umask(old)
    assert _mode(tmp_path / "mail") == 0o700
    assert [_mode(p) for p in (tmp_path / "mail").iterdir()] == [0o600]
