"""The store on SQLite and PostgreSQL: the same tests on both (fixture `database_url`).

PostgreSQL comes from AMI_TEST_POSTGRES_URL (CI sets it), else the local default when it answers;
each test gets its own schema, dropped afterwards. Unreachable, the postgres variant is skipped on a
developer's machine but fails under CI=true or when the URL was given explicitly.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from urllib.parse import quote
from uuid import uuid4
from zoneinfo import ZoneInfo

import psycopg
import pytest
from pydantic import TypeAdapter, ValidationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from ami.activities.records import RecordActivities
from ami.app.examples import example
from ami.app.ops import Coordination, start_campaign
from ami.infra.settings import Settings
from ami.infra.store import SchemaError, Store, campaign_summary, check_schema, count_rows, store_for
from ami.models.activity_payloads import RecordTransitionInput
from ami.models.facts import RecordFactInput
from ami.models.tables import (
    AttendanceRow,
    CampaignRow,
    CandidatureRow,
    EmailRow,
    ExperimentRow,
    FeedbackRow,
    OutboxStatus,
    ReviewRow,
    TransitionRow,
)
from ami.models.values import Decision
from ami.worker.runner import build_worker
from ami.workflows.candidature import candidature_workflow_id
from tests.scenario import binome, plan_starting, skip_to

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
PARIS = ZoneInfo("Europe/Paris")


@cache
def _postgres_problem(url: str) -> str | None:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return None
    except psycopg.Error as error:
        return str(error).strip()


def postgres_url() -> str:
    """The server's URL (libpq form), or skip / fail the test that needs it."""
    given = os.environ.get("AMI_TEST_POSTGRES_URL")
    url = (given or DEFAULT_POSTGRES_URL).replace("postgresql+psycopg://", "postgresql://")
    problem = _postgres_problem(url)
    if problem:
        message = f"PostgreSQL injoignable ({url}) : {problem}"
        if given or os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database: an SQLite file, or a PostgreSQL schema of its own (via search_path)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('store') / 'ami.db'}"
        return
    base = postgres_url()
    schema = f"ami_test_{uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(base, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = Store(database_url)
    store.upgrade()
    try:
        yield store
    finally:
        store.engine.dispose()


def transition(sequence: int, dest: str, at: datetime, **changes: object) -> RecordTransitionInput:
    values: dict[str, object] = {
        "workflow_id": "candidature-essai-246200299",
        "campaign_id": "essai",
        "receipt_number": "ESSAI-0001",
        "sequence": sequence,
        "source": None if sequence == 1 else "submitted",
        "dest": dest,
        "trigger": "submit" if sequence == 1 else "declare_eligible",
        "actor": "coordination",
        "at": at,
    }
    return RecordTransitionInput.model_validate(values | changes)


def fact(kind: str, fact_id: str, data: dict[str, object], minute: int = 0) -> RecordFactInput:
    """A fact as the activity receives it: validated from the JSON a workflow wrote."""
    payload = {
        "workflow_id": "candidature-essai-246200299",
        "campaign_id": "essai",
        "receipt_number": "ESSAI-0001",
        "kind": kind,
        "fact_id": fact_id,
        "at": datetime(2024, 10, 14, 16, minute, tzinfo=PARIS),
        "data": data,
    }
    validated: RecordFactInput = TypeAdapter(RecordFactInput).validate_python(payload)
    return validated


# --- idempotency --------------------------------------------------------------------------------


async def test_record_transition_twice_adds_one_row(store: Store) -> None:
    activities, env = RecordActivities(store), ActivityEnvironment()
    form = example("01-henin-carvin").model_dump(mode="json")
    first = transition(1, "submitted", datetime(2024, 9, 1, 10, 0, tzinfo=PARIS), form=form, official_name="CA d'Hénin-Carvin")
    assert await env.run(activities.record_transition, first) is True
    assert await env.run(activities.record_transition, first) is False  # the retry finds its row
    second = transition(2, "eligibility_checked", datetime(2024, 9, 1, 10, 1, tzinfo=PARIS))
    assert await env.run(activities.record_transition, second) is True
    assert await env.run(activities.record_transition, second) is False

    assert count_rows(store, TransitionRow) == 2
    assert count_rows(store, CampaignRow) == 1
    [row] = store.candidatures("essai")
    assert (row.state, row.official_name, row.form) == ("eligibility_checked", "CA d'Hénin-Carvin", form)
    assert row.submitted_at == first.at  # kept when a later transition carries no form
    campaign = store.campaign("essai")
    assert campaign is not None and campaign.name is None  # only the id is known from the audit log
    assert campaign.first_seen_at == first.at


async def test_record_fact_twice_adds_one_row_per_fact(store: Store) -> None:
    activities, env = RecordActivities(store), ActivityEnvironment()
    facts = [
        fact(
            "review",
            "campaign-essai-review-1",
            {
                "kind": "score",
                "member_id": "apes",
                "receipt_number": "ESSAI-0001",
                "scores": {"motivation": 5},
                "comment": "Solide",
                "replaces": False,
                "at": "2024-09-10T10:00:00+02:00",
            },
        ),
        fact(
            "conflict",
            "campaign-essai-conflict-2",
            {"kind": "conflict", "member_id": "cress", "receipt_number": "ESSAI-0001", "reason": "élu local"},
            1,
        ),
        fact(
            "attendance",
            "attendance-1-7",
            {
                "session_number": 1,
                "elected_present": True,
                "technician_present": False,
                "others": 2,
                "recorded_at": "2024-10-14T16:00:00+02:00",
            },
        ),
        fact("feedback", "feedback-1-x", {"session_number": 1, "satisfaction": 4, "comment": "Très utile"}),
        fact("experiment", "experiment-x", {"experiment": "Une plateforme de covoiturage solidaire"}),
    ]
    for item in facts:
        assert await env.run(activities.record_fact, item) is True
        assert await env.run(activities.record_fact, item) is False

    assert [count_rows(store, m) for m in (ReviewRow, AttendanceRow, FeedbackRow, ExperimentRow)] == [2, 1, 1, 1]
    score, conflict = store.facts(ReviewRow, "essai")
    assert (score.kind, score.member_id, score.scores, score.comment) == ("score", "apes", {"motivation": 5}, "Solide")
    assert (conflict.kind, conflict.member_id, conflict.reason, conflict.scores) == ("conflict", "cress", "élu local", None)
    [attendance] = store.facts(AttendanceRow, "essai")
    assert (attendance.session_number, attendance.elected_present, attendance.technician_present, attendance.others) == (1, True, False, 2)
    [feedback] = store.facts(FeedbackRow, "essai", "candidature-essai-246200299")
    assert (feedback.satisfaction, feedback.comment) == (4, "Très utile")


@pytest.mark.parametrize(
    ("kind", "data"),
    [("rumour", {"x": 1}), ("attendance", {"session_number": 1}), ("review", {"member_id": "apes", "scores": {"a": "cinq"}})],
)
def test_unknown_or_malformed_fact_is_refused(kind: str, data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        fact(kind, "f-1", data)


# --- datetimes ----------------------------------------------------------------------------------


async def test_aware_datetimes_round_trip_equal(store: Store) -> None:
    env, activities = ActivityEnvironment(), RecordActivities(store)
    instants = [
        datetime(2024, 9, 8, 23, 59, 59, 999999, tzinfo=PARIS),  # summer time
        datetime(2024, 12, 10, 14, 0, tzinfo=PARIS),  # winter time
        datetime(2025, 3, 30, 1, 30, tzinfo=UTC),  # the night the clocks change
        datetime(2024, 9, 8, 22, 0, tzinfo=ZoneInfo("America/Cayenne")),
    ]
    for number, instant in enumerate(instants, start=1):
        await env.run(activities.record_transition, transition(number, "submitted", instant))
    back = [t.at for t in store.transitions("candidature-essai-246200299")]
    assert back == instants
    assert all(at.tzinfo is not None and at.utcoffset() == timedelta(0) for at in back)
    [row] = store.candidatures("essai")
    assert row.updated_at == max(instants) and row.updated_at.tzinfo is not None  # a late arrival never rolls it back


def test_naive_datetime_refused(store: Store) -> None:
    row = TransitionRow(workflow_id="w", sequence=1, source=None, dest="submitted", trigger="submit", actor="a", at=datetime(2024, 9, 1))
    with pytest.raises(Exception, match="naive"):
        store.record_transition(
            row, CandidatureRow(workflow_id="w", campaign_id="c", receipt_number="R", state="submitted", updated_at=datetime.now(UTC))
        )


# --- the outbox -----------------------------------------------------------------------------------


def test_outbox_mark_counts_attempts_and_dates_only_the_end(store: Store) -> None:
    row = EmailRow(
        message_id="<m@x>",
        workflow_id="w",
        purpose="receipt",
        occurrence="1",
        subject="s",
        raw=b"x" * 50_000,
        status=OutboxStatus.PENDING,
        attempts=0,
        created_at=datetime(2024, 9, 1, 8, tzinfo=UTC),
    )
    assert store.outbox_put(row) is row
    store.outbox_mark("<m@x>", OutboxStatus.PENDING, "SMTPServerDisconnected")
    pending = store.outbox_get("<m@x>")
    assert pending is not None and (pending.status, pending.detail, pending.attempts, pending.sent_at) == (
        "pending",
        "SMTPServerDisconnected",
        1,
        None,
    )
    before = datetime.now(UTC)
    store.outbox_mark("<m@x>", OutboxStatus.SENT)
    sent = store.outbox_get("<m@x>")
    assert sent is not None and (sent.status, sent.detail, sent.attempts) == ("sent", None, 2)
    assert sent.sent_at is not None and sent.sent_at >= before - timedelta(seconds=1) and sent.raw == b"x" * 50_000
    store.outbox_mark("<absent@x>", OutboxStatus.SENT)  # nothing to mark: nothing written
    assert [e.message_id for e in store.emails()] == ["<m@x>"]


# --- the schema check -----------------------------------------------------------------------------


def test_check_schema_names_the_fix(database_url: str) -> None:
    with pytest.raises(SchemaError, match="ami db upgrade"):
        check_schema(database_url)
    store_for(database_url)  # what demo and tests rely on: migrated on first use
    check_schema(database_url)


def test_check_schema_on_missing_sqlite_file_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "absente" / "ami.db"
    with pytest.raises(SchemaError, match="n'existe pas encore"):
        check_schema(f"sqlite:///{path}")
    assert not path.exists()


# --- a whole lifecycle ----------------------------------------------------------------------------


async def test_audit_log_equals_the_workflow_transitions(time_env: WorkflowEnvironment, settings: Settings, database_url: str) -> None:
    env, settings = time_env, settings.model_copy(update={"database_url": database_url})
    plan = plan_starting(await env.get_current_time(), id=f"audit-{uuid4().hex[:6]}", capacity=1, quorum=1)
    form = example("01-henin-carvin")
    async with build_worker(env.client, settings):
        handle = await start_campaign(env.client, plan, settings.task_queue, search_attributes=False)
        coord = Coordination(env.client, plan.id)
        await skip_to(env, plan.opens_at + timedelta(days=1))
        receipt = (await coord.submit(form)).receipt_number
        await skip_to(env, plan.deadline_at + timedelta(hours=1))
        await coord.declare_conflict("cress", receipt, "élue de la même intercommunalité")
        await coord.score("apes", receipt, {"motivation": 5, "binome": 5, "posture": 4, "adaptabilite": 4, "numerique": 4, "apport": 4})
        await coord.deliberate()
        await skip_to(env, plan.response_at + timedelta(hours=1))
        await coord.confirm_binome("246200299", *binome(form))
        for s in plan.sessions:
            await coord.set_session(s.number, s.window_start + timedelta(days=14, hours=14), "Lille, Maison de l'ESS")
        for s in plan.sessions:
            await skip_to(env, s.window_start + timedelta(days=14, hours=15))
            await coord.record_attendance("246200299", s.number, True, s.number != 3)
            await coord.record_feedback("246200299", s.number, 4, "Très utile")
            if s.number == 1:
                await coord.record_experiment("246200299", "Une plateforme locale de réemploi")
        await handle.result()
        status = await coord.candidature_status("246200299")

    store = store_for(database_url)
    workflow_id = candidature_workflow_id(plan.id, "246200299")
    logged = [(t.sequence, t.source or "", t.dest, t.trigger, t.actor, t.at, t.justification) for t in store.transitions(workflow_id)]
    expected = [(t.sequence, t.source or "", t.dest, t.trigger, t.actor, t.at, t.justification) for t in status.transitions]
    assert logged == expected
    assert logged[0][2] == "submitted" and logged[-1][2] == "capitalised"

    [row] = store.candidatures(plan.id)
    assert (row.state, row.decision, row.departement) == ("capitalised", Decision.SELECTED.value, "62")
    assert row.form is not None and row.form["collectivite"]["siren"] == "246200299"
    assert [r.kind for r in store.facts(ReviewRow, plan.id)] == ["conflict", "score"]
    assert len(store.facts(AttendanceRow, plan.id)) == len(plan.sessions)
    assert len(store.facts(FeedbackRow, plan.id)) == len(plan.sessions)
    assert [e.experiment for e in store.facts(ExperimentRow, plan.id)] == ["Une plateforme locale de réemploi"]

    [line] = campaign_summary(plan.id, database_url)
    assert (line.receipt_number, line.state, line.reviews, line.conflicts, line.sessions_attended) == (receipt, "capitalised", 1, 1, 6)
