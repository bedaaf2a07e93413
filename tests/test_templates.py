"""Every notification renders in French: subject, text and HTML, dates the French way, non-breaking
spaces where French wants them, free text escaped in HTML, and coordinators' overrides win."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ami.infra.documents.typography import french
from ami.infra.mail.filters import PURPOSE_LABELS
from ami.infra.mail.render import french_html, purposes, render
from tests.email_fixtures import TRICKY, french_context

NBSP, NNBSP = "\u00a0", "\u202f"

# What each purpose must say, beyond the common checks (dates in the campaign's zone, French style).
EXPECTED: dict[str, list[str]] = {
    "receipt": ["8 septembre 2024 à 14 h 05", "AMI-2024-007", "récapitulatif", "15 octobre 2024", "30 septembre 2024"],
    "ineligible": ["30 septembre 2024 inclus", "Comment corriger", "référent technique"],
    "closed_ineligible": ["clos", "référent technique"],
    "decision_selected": ["retenu", "29 octobre 2024 à 10 h 00", "lettre de décision"],
    "decision_waitlisted": ["liste d'attente", "position 2"],
    "decision_not_selected": ["pas retenue"],
    "promoted": ["29 octobre 2024 à 10 h 00"],
    "binome_reminder": ["29 octobre 2024 à 10 h 00", "liste d'attente"],
    "binome_confirmed": ["inscription"],
    "session_invitation": ["12 septembre 2024, de 14 h 00 à 17 h 30", "seance.ics", "Cœur de ville"],
    "session_updated": ["12 septembre 2024, de 14 h 00 à 17 h 30", "remplace la précédente"],
    "session_reminder": ["12 septembre 2024, de 14 h 00 à 17 h 30"],
    "absence_followup": ["séance 2"],
    "feedback_request": ["séance 2", "de 1"],
    "certificate": ["attestation"],
    "coord_new_candidature": ["8 septembre 2024 à 14 h 05"],
    "coord_deadline_summary": ["14", "éligible, en attente du jury"],
    "coord_jury_late": ["n'a pas encore délibéré"],
    "coord_bounce": ["décision : candidature retenue", "550 5.1.1"],
    "coord_session_undated": ["novembre 2024", "séance 3"],
    "coord_campaign_report": ["retenue : 10", "sur liste d'attente : 2"],
    "coord_candidature_ended": ["AMI-2024-007", "décision envoyée", "liste d'attente est promue"],
    "coord_no_referent": ["AMI-2024-007", "droit à l'effacement"],
    "jury_invite": ["https://portail.example.org/jury/jeton", "6 critères", "conflit d'intérêts"],
}


def test_every_purpose_is_covered() -> None:
    assert set(purposes()) == set(EXPECTED) | {"waitlist_closed", "withdrawn", "withdrawn_unconfirmed"}
    assert set(purposes()) <= set(PURPOSE_LABELS), "chaque courriel doit avoir un libellé pour l'alerte de refus"


@pytest.mark.parametrize("purpose", purposes())
def test_renders_in_french(purpose: str) -> None:
    r = render(purpose, french_context())
    assert r.subject and "\n" not in r.subject and "\r" not in r.subject
    assert r.html.startswith("<!DOCTYPE html>") and '<html lang="fr">' in r.html
    for part in (r.text, re.sub(r"<[^>]*>", "", r.html)):  # the HTML's text, not its markup
        assert "None" not in part and "Apes Hauts-de-France" in part
        # Typography: no ordinary space before « : ; ! ? » nor inside guillemets, anywhere.
        assert not re.search(r" [:;!?»]|« ", part), purpose
    # Free text keeps é, œ, « » and its no-break spaces, gains French spacing in the text part...
    if "collectivite.name" in Path(f"ami/data/templates/email/{purpose}.j2").read_text(encoding="utf-8") or purpose.startswith(
        "coord_bounce"
    ):
        assert f"Œuvre «{NBSP}solidaire{NBSP}»{NBSP}& co{NNBSP}<b>gras</b>" in r.text
        # ...and is escaped in the HTML one: what a collectivité wrote is never markup.
        assert "<b>gras</b>" not in r.html and "&lt;b&gt;gras&lt;/b&gt;" in r.html and "&amp; co" in r.html
    for needle in map(french, EXPECTED.get(purpose, [])):
        assert needle in r.text and needle.replace("'", "&#39;") in r.html.replace("'", "&#39;"), (purpose, needle)


def test_reason_messages_get_french_spacing_and_escaping() -> None:
    r = render("ineligible", french_context())
    assert f"électronique{NBSP}: ajoutez-la <script>x</script>{NNBSP}!" in r.text
    assert "<script>" not in r.html and f"&lt;script&gt;x&lt;/script&gt;{NNBSP}!" in r.html


def test_markup_is_left_alone() -> None:
    html = '<p style="color: red">Attention : <code>a : b</code> &amp; « x »</p>'
    assert french_html(html) == f'<p style="color: red">Attention{NBSP}: <code>a : b</code> &amp; «{NBSP}x{NBSP}»</p>'


@pytest.mark.parametrize(
    ("starts_at", "expected"),
    [("2024-07-01T12:00:00+00:00", "1er juillet 2024, de 14 h 00"), ("2024-12-05T13:00:00+00:00", "5 décembre 2024, de 14 h 00")],
)
def test_dates_in_paris_time_summer_and_winter(starts_at: str, expected: str) -> None:
    context = french_context()
    context["session"] = {**context["session"], "starts_at": starts_at, "ends_at": starts_at}
    assert expected in render("session_reminder", context).text


def test_subject_keeps_no_break_spaces() -> None:
    subject = render("binome_reminder", french_context()).subject
    assert subject.startswith(f"Rappel{NBSP}: confirmez")


def test_override_folder_wins(tmp_path: Path) -> None:
    (tmp_path / "receipt.j2").write_text(
        '{% extends "_base.j2" %}{% block subject %}Bien reçu : {{ receipt_number }}{% endblock %}'
        "{% block text %}Texte des coordinateurs.{% endblock %}{% block body %}<p>HTML des coordinateurs.</p>{% endblock %}",
        encoding="utf-8",
    )
    r = render("receipt", french_context(), tmp_path)
    assert r.subject == f"Bien reçu{NBSP}: AMI-2024-007"
    assert r.text.startswith("Texte des coordinateurs.") and "<p>HTML des coordinateurs.</p>" in r.html
    # Not overridden: the bundled template.
    assert "Comment corriger" in render("ineligible", french_context(), tmp_path).text
    assert TRICKY not in r.text  # the override really replaced the bundled body
