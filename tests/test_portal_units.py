"""The portal's pure parts, without a server: signed links, CSRF tokens, file sniffing, the online
form's mapping to the candidature model, rate limits, the dossier link of the emails."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta

import pytest

from ami.app.examples import example
from ami.app.portal import csrf, formdata
from ami.app.portal.security import Bucket, RateLimiter
from ami.app.portal.sniff import Kind, check_upload, sniff
from ami.app.portal.storage import safe_filename
from ami.infra.links import Audience, KeyringError, LinkError, LinkProblem, Role, Signer, new_key_entry, parse_keys
from ami.infra.mail.portal_links import dossier_scope, email_links
from ami.infra.settings import Settings

NOW = datetime(2024, 8, 1, 12, tzinfo=UTC)
OLD, NEW = new_key_entry("old"), new_key_entry("new")


def signer(raw: str = OLD, active: str = "") -> Signer:
    return Signer.from_settings(raw, active)


# --- signed links ---------------------------------------------------------------------------------


def test_a_link_carries_its_scope() -> None:
    token = signer().sign(Audience.DOSSIER, "ami-2024", "246200299", Role.COLLECTIVITE, timedelta(days=1), NOW)
    grant = signer().verify(token, Audience.DOSSIER, NOW + timedelta(hours=23))
    assert (grant.campaign, grant.subject, grant.role) == ("ami-2024", "246200299", Role.COLLECTIVITE)


def test_expired_altered_foreign_and_revoked_links_are_refused() -> None:
    s = signer()
    token = s.sign(Audience.DOSSIER, "ami-2024", "246200299", Role.COLLECTIVITE, timedelta(days=1), NOW)
    with pytest.raises(LinkError) as expired:
        s.verify(token, Audience.DOSSIER, NOW + timedelta(days=1, seconds=1))
    assert expired.value.problem is LinkProblem.EXPIRED
    # Another dossier's subject pasted into the payload: the signature no longer matches.
    payload, key_id, mac = token.split(".")
    forged = s.sign(Audience.DOSSIER, "ami-2024", "216209072", Role.COLLECTIVITE, timedelta(days=1), NOW).split(".")[0]
    with pytest.raises(LinkError) as altered:
        s.verify(f"{forged}.{key_id}.{mac}", Audience.DOSSIER, NOW)
    assert altered.value.problem is LinkProblem.ALTERED
    with pytest.raises(LinkError) as foreign:
        s.verify(token, Audience.JUROR, NOW)
    assert foreign.value.problem is LinkProblem.FOREIGN
    for junk in ("", "abc", "a.b", "a..c", "x" * 700, f"{payload}.{key_id}.{mac}x"):
        with pytest.raises(LinkError):
            s.verify(junk, Audience.DOSSIER, NOW)


def test_key_rotation_keeps_old_links_until_their_key_is_removed() -> None:
    token = signer(OLD).sign(Audience.JUROR, "ami-2024", "apes", Role.JUROR, timedelta(days=10), NOW)
    rotated = signer(f"{NEW},{OLD}", "new")
    assert rotated.verify(token, Audience.JUROR, NOW).subject == "apes"
    assert rotated.sign(Audience.JUROR, "ami-2024", "apes", Role.JUROR, timedelta(days=1), NOW).split(".")[1] == "new"
    with pytest.raises(LinkError) as revoked:
        signer(NEW).verify(token, Audience.JUROR, NOW)
    assert revoked.value.problem is LinkProblem.REVOKED
    assert "révoqué" in str(revoked.value)


@pytest.mark.parametrize(
    ("raw", "active", "needle"),
    [("", "", "vide"), ("sans-separateur", "", "mal formé"), ("k:court", "", "trop courte"), (f"{OLD},{OLD}", "old", "deux fois")],
)
def test_bad_keys_are_named_in_french_without_the_secret(raw: str, active: str, needle: str) -> None:
    with pytest.raises(KeyringError) as error:
        Signer(parse_keys(raw), active)
    assert needle in str(error.value)
    assert OLD.split(":")[1] not in str(error.value)


def test_several_keys_need_an_active_one() -> None:
    with pytest.raises(KeyringError, match="AMI_PORTAL_ACTIVE_KEY"):
        signer(f"{NEW},{OLD}")


# --- the link in the emails -------------------------------------------------------------------------


def test_the_dossier_link_is_signed_from_the_workflow_id_for_the_collectivite_only() -> None:
    settings = Settings(portal_keys=OLD, portal_base_url="https://portail.example.org/")
    url = email_links(settings, "candidature-ami-2024-246200299", "receipt")["dossier_url"]
    assert url and url.startswith("https://portail.example.org/dossier/")
    grant = signer().verify(url.rsplit("/", 1)[1], Audience.DOSSIER)
    assert (grant.campaign, grant.subject) == ("ami-2024", "246200299")
    assert email_links(settings, "candidature-ami-2024-246200299", "coord_bounce") == {"dossier_url": None}
    assert email_links(settings, "campaign-ami-2024", "receipt") == {"dossier_url": None}
    assert email_links(Settings(), "candidature-ami-2024-246200299", "receipt") == {"dossier_url": None}
    assert dossier_scope("candidature-ami-2024-ui-2A004") == ("ami-2024-ui", "2A004")


# --- CSRF --------------------------------------------------------------------------------------------


def test_csrf_token_binds_cookie_form_and_time() -> None:
    s, cookie = signer(), csrf.new_cookie_value()
    token = csrf.issue(s, cookie, "candidature", NOW)
    assert csrf.check(s, cookie, "candidature", token, NOW)
    cases = [
        (None, "candidature", token, NOW, csrf.CsrfProblem.MISSING),
        (cookie, "candidature", None, NOW, csrf.CsrfProblem.MISSING),
        (csrf.new_cookie_value(), "candidature", token, NOW, csrf.CsrfProblem.INVALID),
        (cookie, "dossier-retrait", token, NOW, csrf.CsrfProblem.INVALID),
        (cookie, "candidature", token + "0", NOW, csrf.CsrfProblem.INVALID),
        (cookie, "candidature", token, NOW + csrf.LIFETIME, csrf.CsrfProblem.EXPIRED),
    ]
    for c, form, t, at, problem in cases:
        with pytest.raises(csrf.CsrfError) as error:
            csrf.check(s, c, form, t, at)
        assert error.value.problem is problem
    # A token issued before a key rotation still checks while its key is listed.
    assert csrf.check(signer(f"{NEW},{OLD}", "new"), cookie, "candidature", token, NOW)


# --- sniffing ---------------------------------------------------------------------------------------


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


ODT = _zip([("mimetype", Kind.ODT.value.encode()), ("content.xml", b"<office/>")])
DOCX = _zip([("[Content_Types].xml", b"<Types/>"), ("word/document.xml", b"<w:document/>")])
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 20
JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 20
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"


def test_every_accepted_kind_is_recognised_by_its_bytes() -> None:
    assert [sniff(d) for d in (PDF, PNG, JPEG, ODT, DOCX)] == [Kind.PDF, Kind.PNG, Kind.JPEG, Kind.ODT, Kind.DOCX]
    assert sniff(b"MZ\x90\x00") is None
    assert sniff(_zip([("mimetype", b"application/vnd.oasis.opendocument.spreadsheet")])) is None
    assert sniff(b"PK\x03\x04 truncated") is None


@pytest.mark.parametrize(
    ("name", "data", "needle"),
    [
        ("lettre.pdf", b"MZ\x90\x00 an executable", "n'est pas un vrai fichier PDF"),
        ("photo.pdf", PNG, "n'est pas un vrai fichier PDF"),
        ("lettre.docx", ODT, "n'est pas un vrai fichier DOCX"),
        ("page.html", b"<html>", "format non accepté"),
        ("ancien.doc", b"\xd0\xcf\x11\xe0", "format non accepté"),
        ("vide.pdf", b"", "est vide"),
        ("gros.pdf", PDF + b"0" * 2048, "taille maximale"),
    ],
)
def test_uploads_refused_in_french(name: str, data: bytes, needle: str) -> None:
    verdict = check_upload(name, data, 2048)
    assert not isinstance(verdict, Kind) and needle in verdict


def test_uploads_accepted_whatever_the_case_of_the_extension() -> None:
    assert check_upload("Lettre.PDF", PDF, 2048) is Kind.PDF
    assert check_upload("plan.jpeg", JPEG, 2048) is Kind.JPEG
    assert safe_filename("C:\\Users\\x\\lettre\x00.pdf") == "lettre.pdf"


# --- the online form --------------------------------------------------------------------------------


def test_the_online_form_holds_every_key_of_the_model() -> None:
    form = example("01-henin-carvin")
    flat = formdata.from_file(form.model_dump(mode="json"))
    rebuilt, errors = formdata.to_model(flat, [a.path for a in form.attachments])
    assert errors == {} and rebuilt == form


def test_each_error_is_tied_to_its_field() -> None:
    flat = formdata.from_file(example("01-henin-carvin").model_dump(mode="json"))
    flat.update(
        {
            "collectivite.siren": "246200298",
            "political_referent.email": "pas-une-adresse",
            "collectivite.name": "Hénin\nCarvin",
            "partners.1.name": "Partenaire",
            "partners.1.siren": "12",
        }
    )
    model, errors = formdata.to_model(flat, [])
    assert model is None
    assert "Luhn" in errors["collectivite.siren"]
    assert "Adresse électronique invalide" in errors["political_referent.email"]
    assert "Saut de ligne" in errors["collectivite.name"]
    assert "9 chiffres" in errors["partners.1.siren"]
    _, missing = formdata.to_model({}, [])
    assert missing["collectivite.name"] == "Indiquez le nom de la collectivité."
    _, no_id = formdata.to_model({"collectivite.name": "Lens", "collectivite.email": "mairie@lens.fr"}, [])
    assert "SIREN" in no_id["collectivite.siren"]


def test_unknown_posted_fields_are_dropped() -> None:
    assert "admin" not in formdata.from_post({"admin": "1", "collectivite.name": "Lens"})


# --- rate limits -------------------------------------------------------------------------------------


def test_rate_limit_is_a_sliding_window_per_client() -> None:
    now = [0.0]
    limiter = RateLimiter({Bucket.SUBMIT: (2, 60.0)}, clock=lambda: now[0])
    assert limiter.allow(Bucket.SUBMIT, "a") and limiter.allow(Bucket.SUBMIT, "a")
    assert not limiter.allow(Bucket.SUBMIT, "a")
    assert limiter.allow(Bucket.SUBMIT, "b")
    now[0] = 61.0
    assert limiter.allow(Bucket.SUBMIT, "a")


# --- the link in the templates ---------------------------------------------------------------------


@pytest.mark.parametrize("purpose", ["receipt", "ineligible", "decision_selected", "promoted", "feedback_request", "withdrawn"])
def test_collectivite_emails_carry_the_dossier_link_when_there_is_one(purpose: str) -> None:
    from ami.infra.mail.render import render
    from tests.email_fixtures import french_context

    url = "https://portail.example.org/dossier/abc.k1.def"
    with_link = render(purpose, french_context(dossier_url=url))
    assert url in with_link.text and f'href="{url}"' in with_link.html
    without = render(purpose, french_context(dossier_url=None))
    assert "espace dossier" not in without.text and "/dossier/" not in without.html


# --- the dossier page in every state ----------------------------------------------------------------


@pytest.mark.parametrize(
    "state",
    ["submitted", "ineligible", "eligibility_checked", "jury_reviewed", "notified", "enrolled", "session_tracked", "capitalised", "closed"],
)
def test_the_dossier_page_renders_in_every_state(state: str, tmp_path: object) -> None:
    """Every branch of the template, with and without sessions, attendance, feedback, documents."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    from ami.app.portal.core import HERE
    from ami.app.portal.views_dossier import _context
    from ami.infra.mail.filters import FILTERS
    from ami.models.campaign import load_campaign
    from ami.models.candidature_messages import CandidatureStatus, TransitionRecord
    from ami.models.lifecycle import STATE_LABELS, State
    from ami.models.values import Attendance, Decision, DocumentRef, Feedback, Reason, ScheduledSession, Verdict

    campaign = load_campaign("ami-2024")
    at = datetime(2024, 10, 15, 14, tzinfo=UTC)
    sessions = [ScheduledSession(number=n, theme="Thème", place="Lille", starts_at=at, ends_at=at) for n in (1, 2)]
    status = CandidatureStatus(
        receipt_number="AMI-2024-0001",
        campaign_id="ami-2024",
        state=state,
        state_label=STATE_LABELS[State(state)],
        decision=Decision.SELECTED if state in ("notified", "enrolled", "session_tracked", "capitalised") else None,
        waitlist_position=None,
        verdict=Verdict(eligible=False, collectivite=None, reasons=[Reason(code="incomplete_binome", message="Binôme incomplet")]),
        next_deadline=at,
        next_deadline_label="confirmation du binôme",
        sessions=sessions,
        attendance=[Attendance(session_number=1, elected_present=True, technician_present=False, others=0, recorded_at=at)],
        feedback=[Feedback(session_number=2, satisfaction=4, comment=None)],
        bounces=[],
        documents=[DocumentRef(kind="summary", filename="r.pdf", path="/nulle/part.pdf", sha256="0" * 64)],
        transitions=[TransitionRecord(sequence=1, source="", dest="submitted", trigger="submit", actor="collectivité", at=at)],
    )

    class FakePortal:
        def window(self) -> tuple[datetime, datetime]:
            return campaign.plan().opens_at, campaign.plan().deadline_at

        def now(self) -> datetime:
            return datetime(2024, 8, 1, tzinfo=UTC)

        campaign_file = campaign

    env = Environment(
        loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(default=True), undefined=StrictUndefined
    )
    env.filters.update(FILTERS)
    html = env.get_template("dossier.html").render(
        campaign=campaign,
        tz=campaign.timezone,
        csrf_token=lambda form: "t",
        errors={},
        notice=None,
        values={},
        base="/dossier/x",
        **_context(FakePortal(), status),  # type: ignore[arg-type]
    )
    assert "AMI-2024-0001" in html and "Historique" in html
