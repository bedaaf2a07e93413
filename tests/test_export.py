"""`ami export`: the jury grid read from the store, on both databases."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from temporalio.testing import ActivityEnvironment

from ami.activities.records import RecordActivities
from ami.app.cli.main import main
from ami.app.examples import example
from ami.infra.store import Store, upgrade
from ami.models.activity_payloads import RecordTransitionInput
from ami.models.campaign import load_campaign
from tests.test_store import database_url  # noqa: F401  (the fixture, parametrized over both databases)

CAMPAIGN = "ami-2024-demo-172509"  # a demo run: no file of its own, the criteria come from ami-2024
PARIS = ZoneInfo("Europe/Paris")
RECEIVED = datetime(2024, 9, 2, 9, 30, tzinfo=PARIS)


async def _dossier(activities: RecordActivities, stem: str, receipt: str, official: str, kind: str, path: list[str]) -> None:
    """Record a candidature's transitions as the workflow would: the form with `submitted`."""
    form = example(stem)
    identifier = form.collectivite.identifier
    source: str | None = None
    for sequence, dest in enumerate(path, start=1):
        values = {
            "workflow_id": f"candidature-{CAMPAIGN}-{identifier}",
            "campaign_id": CAMPAIGN,
            "receipt_number": receipt,
            "sequence": sequence,
            "source": source,
            "dest": dest,
            "trigger": "t",
            "actor": "coordination",
            "at": RECEIVED + timedelta(minutes=sequence - 1),
            "official_name": official,
            "kind": kind,
            "departement": "62" if identifier == "200033579" else "59",
            "form": form.model_dump(mode="json") if dest == "submitted" else None,
        }
        await ActivityEnvironment().run(activities.record_transition, RecordTransitionInput.model_validate(values))
        source = dest


@pytest.fixture
async def filled(database_url: str) -> str:  # noqa: F811
    upgrade(database_url)
    store = Store(database_url)
    activities = RecordActivities(store)
    try:
        await _dossier(activities, "05-arras", "AMI-0002", "CU d'Arras", "CU", ["submitted", "eligibility_checked", "jury_reviewed"])
        await _dossier(activities, "04-lomme", "AMI-0001", "Lomme", "commune_associee", ["submitted", "eligibility_checked"])
        await _dossier(activities, "01-henin-carvin", "AMI-0003", "CA d'Hénin-Carvin", "CA", ["submitted", "eligibility_checked", "closed"])
        await _dossier(activities, "13-reims", "AMI-0004", "Reims", "commune", ["submitted", "ineligible"])
    finally:
        store.engine.dispose()
    return database_url


def test_xlsx_lists_the_eligible_candidatures(filled: str, tmp_path: Path) -> None:
    target = tmp_path / "grille.xlsx"
    assert main(["export", "--campaign", CAMPAIGN, "--format", "xlsx", "--out", str(target), "--url", filled]) == 0
    sheet = load_workbook(io.BytesIO(target.read_bytes()))["Grille du jury"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    criteria = load_campaign("ami-2024").criteria
    assert rows[0][:6] == ["N° de dépôt", "Collectivité", "SIREN ou code INSEE", "Département", "Nature", "Reçue le"]
    assert rows[0][13 : 13 + len(criteria)] == [c.label for c in criteria]
    # Eligible and on the spine, by receipt number; the closed and the ineligible ones are left out.
    assert [r[0] for r in rows[1:]] == ["AMI-0001", "AMI-0002"]
    lomme, arras = rows[1], rows[2]
    assert lomme[1] == "Lomme (« Lomme (commune associée à Lille) »)"  # the register's name, the applicant's beside it
    assert (lomme[2], lomme[3], lomme[4], lomme[5]) == ("59355", "59", "Commune associée", "02/09/2024 09:30")
    assert arras[1] == "CU d'Arras (« Communauté urbaine d'Arras »)"
    form = example("05-arras")
    assert form.letter is not None
    assert (arras[6], arras[12]) == (form.motivations, form.letter.contribution)


def test_csv_for_french_excel(filled: str, tmp_path: Path) -> None:
    target = tmp_path / "grille.csv"
    assert main(["export", "--campaign", CAMPAIGN, "--format", "csv", "--out", str(target), "--url", filled]) == 0
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM, or Excel reads the accents as Latin-1
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("N° de dépôt;Collectivité;")
    assert [line.split(";")[0] for line in lines[1:] if line[:4] == "AMI-"] == ["AMI-0001", "AMI-0002"]


def test_campaign_without_file_is_refused(filled: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["export", "--campaign", "inconnue-2030", "--out", str(tmp_path / "g.xlsx"), "--url", filled])
    assert exit_.value.code == 2
    assert "--campaign-file" in capsys.readouterr().err


def test_out_of_date_database_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["export", "--campaign", "ami-2024", "--out", str(tmp_path / "g.xlsx"), "--url", f"sqlite:///{tmp_path / 'vide.db'}"])
    assert exit_.value.code == 4
    assert "ami db upgrade" in capsys.readouterr().err
