"""Campaign files and `ami campaign check`: their calendar in the campaign's zone, shift and compression."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ami.app.cli.main import main
from ami.models.campaign import CAMPAIGNS_DIR, CampaignFileError, load_campaign
from ami.models.campaign_plan import CampaignPlan, TimeMap

SHIPPED = CAMPAIGNS_DIR / "ami-2024.toml"
PARIS = ZoneInfo("Europe/Paris")


def variant(tmp_path: Path, *replacements: tuple[str, str], name: str = "campagne.toml") -> Path:
    """A copy of the shipped file with each (regex, replacement) applied exactly once."""
    text = SHIPPED.read_text(encoding="utf-8")
    for pattern, replacement in replacements:
        text, count = re.subn(pattern, replacement, text, count=1, flags=re.MULTILINE)
        assert count == 1, pattern
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def campaign_check(path: Path | str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["campaign", "check", str(path)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_shipped_campaign_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = campaign_check(SHIPPED, capsys)
    assert (code, err) == (0, "")
    assert "valide" in out and "09/09/2024 00:00 CEST" in out and "UTC 2024-09-08 22:00" in out
    assert "conservation non retenus 6 mois, cycle 24 mois" in out


def test_campaign_by_id(capsys: pytest.CaptureFixture[str]) -> None:
    assert campaign_check("ami-2024", capsys)[0] == 0


def test_seed_december_2022_is_refused_naming_the_session(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The call itself lists the third session as « Décembre 2022 ».
    path = variant(tmp_path, (r'^month = "2024-12"$', 'month = "2022-12"'))
    code, out, err = campaign_check(path, capsys)
    assert code == 2 and out == ""
    assert "Traceback" not in err
    assert "  - sessions[3].month : le mois 2022-12 n'est pas postérieur à sessions[2].month (2024-11)" in err
    assert "(fichier)" not in err


REFUSED = [
    ("deadline_before_opening", [(r"^deadline = 2024-09-08", "deadline = 2024-07-01")], ["calendar.deadline", "précède l'ouverture"]),
    (
        "response_before_deadline",
        [(r"^response = 2024-09-15", "response = 2024-09-01")],
        ["calendar.response", "doit suivre la date limite"],
    ),
    ("response_on_deadline", [(r"^response = 2024-09-15", "response = 2024-09-08")], ["calendar.response"]),
    (
        "sessions_out_of_order",
        [(r'^month = "2024-10"$', 'month = "2025-04"')],
        ["sessions[2].month", "n'est pas postérieur à sessions[1].month"],
    ),
    ("same_month_twice", [(r'^month = "2024-11"$', 'month = "2024-10"')], ["sessions[2].month", "déjà celui de sessions[1].month"]),
    ("session_before_response", [(r'^month = "2024-10"$', 'month = "2024-09"')], ["sessions[1].month", "calendar.response"]),
    ("session_numbers", [(r"^number = 2$", "number = 7")], ["sessions[2].number"]),
    (
        "unknown_time_zone",
        [(r'^timezone = "Europe/Paris"', 'timezone = "Europe/Lile"')],
        ["timezone", "fuseau horaire inconnu", "Europe/Lile"],
    ),
    ("time_zone_path", [(r'^timezone = "Europe/Paris"', 'timezone = "Europe"')], ["timezone", "fuseau horaire inconnu"]),
    ("malformed_month", [(r'^month = "2024-11"$', 'month = "novembre"')], ["sessions[2].month", "AAAA-MM"]),
    ("malformed_toml", [(r"^capacity = 10", "capacity = = 10")], ["TOML invalide"]),
    ("unknown_key", [(r"^capacity = 10", "capacite = 10")], ["capacite", "entrée inconnue"]),
    ("wrong_type", [(r"^capacity = 10", 'capacity = "dix"')], ["capacity"]),
    # `ami jury invite` writes to each member: an address is required, and must be one.
    ("jury_email_missing", [(r'^email = "jury.cress@example.org"\n', "")], ["jury[2].email", "entrée obligatoire absente"]),
    (
        "jury_email_malformed",
        [(r'^email = "jury.cress@example.org"', 'email = "cress"')],
        ["jury[2].email", "adresse électronique invalide"],
    ),
]


@pytest.mark.parametrize(("replacements", "words"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], replacements: list[tuple[str, str]], words: list[str]) -> None:
    code, out, err = campaign_check(variant(tmp_path, *replacements), capsys)
    assert code == 2 and out == ""
    assert "Traceback" not in err
    for word in words:
        assert word in err, (word, err)


def test_several_problems_are_all_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = variant(
        tmp_path,
        (r"^deadline = 2024-09-08", "deadline = 2024-07-01"),
        (r'^month = "2024-12"$', 'month = "2022-12"'),
    )
    _, _, err = campaign_check(path, capsys)
    assert "calendar.deadline" in err and "sessions[3].month" in err


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = campaign_check(tmp_path / "absente.toml", capsys)
    assert code == 2 and out == "" and "introuvable" in err and "absente.toml" in err


def test_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(SHIPPED.read_text(encoding="utf-8").encode("latin-1", errors="replace"))
    code, _, err = campaign_check(path, capsys)
    assert code == 2 and "UTF-8" in err


def test_load_campaign_raises_campaign_file_error(tmp_path: Path) -> None:
    path = variant(tmp_path, (r'^month = "2024-12"$', 'month = "2022-12"'))
    with pytest.raises(CampaignFileError, match=re.escape("sessions[3].month")):
        load_campaign(path)


# -- instants in the campaign's zone -----------------------------------------------------------------
def plan() -> CampaignPlan:
    return load_campaign("ami-2024").plan()


def test_every_instant_in_paris_with_summer_and_winter_time() -> None:
    p = plan()
    assert p.opens_at == datetime(2024, 7, 10, tzinfo=PARIS)
    assert p.deadline_at == datetime(2024, 9, 9, tzinfo=PARIS)  # next day 00:00 local: end of the 8th
    assert p.response_at == datetime(2024, 9, 15, 9, 0, tzinfo=PARIS)
    assert p.response_at.astimezone(UTC) == datetime(2024, 9, 15, 7, 0, tzinfo=UTC)
    offsets = {s.number: s.window_start.utcoffset() for s in p.sessions}
    assert offsets[1] == timedelta(hours=2)  # 1 October 2024: summer time
    assert all(offsets[n] == timedelta(hours=1) for n in (2, 3, 4, 5, 6))  # November → March: winter time
    october = p.sessions[0]
    # Elapsed time (in UTC: Python subtracts wall-clock times within one zone): October 2024 has
    # 31 days plus the hour given back on the 27th; March 2025 loses one on the 30th.
    assert elapsed(october.window_start, october.window_end) == timedelta(days=31, hours=1)
    march = p.sessions[5]
    assert elapsed(march.window_start, march.window_end) == timedelta(days=31, hours=-1)


def elapsed(start: datetime, end: datetime) -> timedelta:
    return end.astimezone(UTC) - start.astimezone(UTC)


def test_every_plan_instant_is_aware() -> None:
    p = plan()
    instants = [p.opens_at, p.deadline_at, p.response_at] + [t for s in p.sessions for t in (s.window_start, s.window_end)]
    assert all(t.utcoffset() is not None for t in instants)


# -- shift and compression ------------------------------------------------------------------------
def instants(p: CampaignPlan) -> list[datetime]:
    return [p.opens_at, p.deadline_at, p.response_at] + [t for s in p.sessions for t in (s.window_start, s.window_end)]


@pytest.mark.parametrize("factor", [1.0, 0.5, 1 / 86_400, 1 / 3_600_000, 3.0])
def test_compression_keeps_order_and_relative_spacing(factor: float) -> None:
    published = plan()
    anchor = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    compressed = published.compressed(anchor, factor)
    before, after = instants(published), instants(compressed)
    assert after[0] == anchor
    assert sorted(after) == after and sorted(before) == before
    # Every interval scaled by the same factor: ratios of intervals are equal.
    total_before = elapsed(before[0], before[-1]).total_seconds()
    total_after = elapsed(after[0], after[-1]).total_seconds()
    for (a0, a1), (b0, b1) in zip(pairwise(after), pairwise(before), strict=True):
        ratio_after = elapsed(a0, a1).total_seconds() / total_after
        ratio_before = elapsed(b0, b1).total_seconds() / total_before
        assert ratio_after == pytest.approx(ratio_before, rel=1e-6, abs=1e-9)
        assert elapsed(a0, a1).total_seconds() == pytest.approx(elapsed(b0, b1).total_seconds() * factor, abs=2e-6)
    assert compressed.confirmation_window == published.confirmation_window * factor
    assert compressed.reminder_offsets == [o * factor for o in published.reminder_offsets]


def test_time_map_round_trip() -> None:
    published = plan()
    anchor = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    factor = 1 / 86_400  # a day of the calendar in a second
    compressed = published.compressed(anchor, factor)
    tm = compressed.time_map
    assert isinstance(tm, TimeMap)
    # Planned instants are rounded to the microsecond: going back, that rounding is divided by the factor.
    precision = timedelta(microseconds=1) / factor
    for real, planned in zip(instants(published), instants(compressed), strict=True):
        assert tm.to_plan(real) == planned
        back = tm.to_published(planned)
        assert abs(elapsed(real, back)) <= precision
        assert back.tzinfo == real.tzinfo
    moved = datetime(2024, 12, 12, 14, 0, tzinfo=PARIS)  # a session date set later by a coordinator
    assert abs(elapsed(moved, tm.to_published(tm.to_plan(moved)))) <= precision
    identity = published.compressed(published.opens_at, 1.0).time_map
    assert identity is not None
    assert all(identity.to_published(identity.to_plan(t)) == t for t in instants(published))


@pytest.mark.parametrize("factor", [0.0, -1.0])
def test_compression_factor_must_be_positive(factor: float) -> None:
    with pytest.raises(ValueError, match="facteur"):
        plan().compressed(datetime(2030, 1, 1, tzinfo=UTC), factor)


def test_compression_anchor_must_be_aware() -> None:
    with pytest.raises(ValueError, match="fuseau"):
        plan().compressed(datetime(2030, 1, 1), 0.5)


def test_a_campaign_without_retention_or_notice_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The retention periods and the privacy notice are required, each missing entry named.
    path = variant(tmp_path, (r"^\[retention\]\n(?:.*\n)*?\n", ""), (r"^contact = .*\n", ""))
    code, out, err = campaign_check(path, capsys)
    assert code == 2 and out == ""
    assert "retention : entrée obligatoire absente (durées de conservation" in err
    assert "privacy.contact : entrée obligatoire absente" in err
    path = variant(tmp_path, (r"^outbox_months = 6", "outbox_months = 0"), name="zero.toml")
    code, _, err = campaign_check(path, capsys)
    assert code == 2 and "retention.outbox_months" in err
