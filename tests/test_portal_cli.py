"""`ami jury invite` emails a jury member a signed link to their page; `ami portal` refuses to start
without keys; `ami portal-key` makes a usable key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ami.app.cli.main import main
from ami.infra.links import Audience, Signer
from ami.infra.mail.sink import EmlWriter
from ami.infra.settings import Settings, get_settings
from tests.portal_helpers import emails, link_in, portal_settings


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Iterator[Settings]:
    configured = portal_settings(settings)
    monkeypatch.setenv("AMI_DATABASE_URL", configured.resolved_database_url())
    monkeypatch.setenv("AMI_DATA_DIR", str(configured.data_dir))
    monkeypatch.setenv("AMI_SMTP_PORT", str(configured.smtp_port))
    monkeypatch.setenv("AMI_PORTAL_KEYS", configured.portal_keys.get_secret_value())
    monkeypatch.setenv("AMI_PORTAL_BASE_URL", configured.portal_base_url)
    get_settings.cache_clear()
    yield configured
    get_settings.cache_clear()


def test_jury_invite_emails_the_member_a_link_to_their_page(env: Settings, sink: EmlWriter, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["jury", "invite", "--campaign", "ami-2024", "--member", "cress"]) == 0
    output = capsys.readouterr()
    assert "jury.cress@example.org" in output.out and "/jury/" not in output.out + output.err  # the link is never printed
    (message,) = emails(sink)
    assert message["To"] == "jury.cress@example.org" and "jury" in str(message["Subject"])
    token = link_in(message, "jury").removeprefix("/jury/")
    grant = Signer.from_settings(env.portal_keys.get_secret_value(), "").verify(token, Audience.JUROR)
    assert (grant.campaign, grant.subject) == ("ami-2024", "cress")


def test_jury_invite_names_an_unknown_member(env: Settings, sink: EmlWriter, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["jury", "invite", "--campaign", "ami-2024", "--member", "inconnu"]) == 2
    error = " ".join(capsys.readouterr().err.split())
    assert "Membre du jury inconnu : « inconnu »" in error and "apes, cress, chercheur, reseau" in error
    assert emails(sink) == []


def test_portal_refuses_to_start_without_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AMI_PORTAL_KEYS", "")
    monkeypatch.setenv("AMI_DATABASE_URL", f"sqlite:///{tmp_path / 'ami.db'}")
    get_settings.cache_clear()
    try:
        from ami.infra.store import upgrade

        upgrade(f"sqlite:///{tmp_path / 'ami.db'}")
        assert main(["portal", "--port", "0"]) == 2
    finally:
        get_settings.cache_clear()
    assert "AMI_PORTAL_KEYS est vide" in capsys.readouterr().err


def test_portal_key_prints_a_usable_entry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["portal-key", "2025-01"]) == 0
    entry = capsys.readouterr().out.strip()
    assert Signer.from_settings(entry, "").active == "2025-01"
    assert main(["portal-key", "pas bon"]) == 2
