"""Record one workflow history per path of the lifecycle into tests/histories/ (see docs/replay.md).

    .venv/bin/python scripts/record_histories.py            # every scenario
    .venv/bin/python scripts/record_histories.py --only waitlist

Each scenario runs a small campaign (one to four candidatures, one or two sessions) on the
time-skipping test server with the real worker, set up by the local harness (ami.app.harness: activities
included, an SMTP sink and SQLite in a temporary directory), checks that each candidature took the path it is meant to record, then writes
`(await handle.fetch_history()).to_json()`. Idempotent: the same files are rewritten on every run,
nothing else in tests/histories/ is touched (a history exported from a real server stays).

Re-record only to ADD a path. Never to make a failing replay pass: a failing replay means the change
would break running workflows (guard it with workflow.patched instead).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from ami.app.examples import example
from ami.app.harness import local_engine, mail_sink, start_time_skipping
from ami.app.ops import Coordination, Refused, start_campaign
from ami.app.scenario import binome, marks, plan_starting, skip_to, sleep_until, wait_state
from ami.infra.settings import Settings
from ami.models.campaign import load_campaign
from ami.models.campaign_plan import CampaignPlan
from ami.workflows.candidature import CandidatureWorkflow

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "histories"


@dataclass
class Recorder:
    """What a scenario shares: the environment, its settings, and the histories it keeps."""

    env: WorkflowEnvironment
    settings: Settings
    saved: dict[str, str] = field(default_factory=dict)  # file stem -> JSON

    @property
    def client(self) -> Client:
        return self.env.client

    async def open(self, campaign_id: str, sessions: int, **changes: object) -> tuple[CampaignPlan, WorkflowHandle[Any, Any], Coordination]:
        """A small campaign on the real calendar, started; the clock moved to the day after its opening."""
        base = plan_starting(await self.env.get_current_time(), id=campaign_id, quorum=1, **changes)
        # Fewer sessions keep the histories small; the workflows read the count from the plan.
        plan = base.model_copy(update={"sessions": base.sessions[:sessions]})
        campaign = await start_campaign(self.client, plan, self.settings.task_queue, search_attributes=False)
        await skip_to(self.env, plan.opens_at + timedelta(days=1))
        return plan, campaign, Coordination(self.client, plan.id)

    async def keep(
        self, name: str, handle: WorkflowHandle[Any, Any], *, state: str | None = None, triggers: list[str] | None = None
    ) -> None:
        """Check the path (the final state, the triggers in order) before saving it: a scenario that
        drifted would otherwise save, under a path's name, a history of another path."""
        if state is not None or triggers is not None:
            status = await handle.query(CandidatureWorkflow.status)
            got_state, got_triggers = status.state, [t.trigger for t in status.transitions]
            if state is not None and got_state != state:
                raise AssertionError(f"{name}: état {got_state!r}, attendu {state!r} (transitions : {got_triggers})")
            if triggers is not None and got_triggers != triggers:
                raise AssertionError(f"{name}: transitions {got_triggers}, attendues {triggers}")
        self.saved[name] = (await handle.fetch_history()).to_json()


SPINE_TO_ENROLLED = ["submit", "declare_eligible", "deliberate", "notify", "confirm_binome"]


async def scenario_full(r: Recorder) -> None:
    """The campaign from opening to its report: two selected (one absent once), one outside the
    region, one not selected."""
    plan, campaign, coord = await r.open("hist-full", sessions=2, capacity=2, waitlist_size=0)
    forms = {stem: example(stem) for stem in ("01-henin-carvin", "04-lomme", "13-reims", "02-mel")}
    receipts = {stem: (await coord.submit(form)).receipt_number for stem, form in forms.items()}
    ids = {stem: form.collectivite.identifier for stem, form in forms.items()}
    await skip_to(r.env, plan.deadline_at + timedelta(hours=1))
    for stem, base in (("01-henin-carvin", 5), ("04-lomme", 4), ("02-mel", 2)):
        await coord.score("apes", receipts[stem], marks(base))
    await coord.deliberate()
    await skip_to(r.env, plan.response_at + timedelta(hours=1))
    for stem in ("01-henin-carvin", "04-lomme"):
        await coord.confirm_binome(ids[stem], *binome(forms[stem]))
    for s in plan.sessions:
        await coord.set_session(s.number, s.window_start + timedelta(days=14, hours=14), "Lille, Maison de l'ESS")
    for s in plan.sessions:
        await skip_to(r.env, s.window_start + timedelta(days=14, hours=19))
        await coord.record_attendance(ids["01-henin-carvin"], s.number, True, True)
        await coord.record_feedback(ids["01-henin-carvin"], s.number, 5, "Très utile")
        absent = s.number == 1  # nobody from Lomme at the first session: the follow-up email path
        await coord.record_attendance(ids["04-lomme"], s.number, not absent, not absent)
    await campaign.result()
    attended = ["record_attendance"] * len(plan.sessions)
    await r.keep("campaign-full-run", campaign)
    await r.keep(
        "selected-enrolled-capitalised",
        coord.candidature(ids["01-henin-carvin"]),
        state="capitalised",
        triggers=[*SPINE_TO_ENROLLED, *attended, "capitalise"],
    )
    await r.keep(
        "absence-at-session",
        coord.candidature(ids["04-lomme"]),
        state="capitalised",
        triggers=[*SPINE_TO_ENROLLED, *attended, "capitalise"],
    )
    await r.keep("outside-region", coord.candidature(ids["13-reims"]), state="closed", triggers=["submit", "declare_ineligible", "expire"])
    await r.keep(
        "not-selected",
        coord.candidature(ids["02-mel"]),
        state="closed",
        triggers=["submit", "declare_eligible", "deliberate", "notify", "close"],
    )


async def scenario_moved(r: Recorder) -> None:
    """A session moved twice (after reminders went out), and a withdrawal in the middle of the cycle."""
    plan, campaign, coord = await r.open("hist-moved", sessions=2, capacity=2, waitlist_size=0)
    forms = [example("01-henin-carvin"), example("03-libercourt")]
    stays, leaves = (f.collectivite.identifier for f in forms)
    receipts = [(await coord.submit(form)).receipt_number for form in forms]
    await skip_to(r.env, plan.deadline_at + timedelta(hours=1))
    for receipt in receipts:
        await coord.score("apes", receipt, marks(4))
    await coord.deliberate()
    await skip_to(r.env, plan.response_at + timedelta(hours=1))
    for form in forms:
        await coord.confirm_binome(form.collectivite.identifier, *binome(form))
    first, second = plan.sessions
    place = "Arras, Citadelle"
    await coord.set_session(1, first.window_start + timedelta(days=7, hours=14), place)
    await coord.set_session(2, second.window_start + timedelta(days=14, hours=14), place)
    await skip_to(r.env, first.window_start + timedelta(days=1))  # the 7-day reminder of the first date has gone
    await coord.set_session(1, first.window_start + timedelta(days=14, hours=14), place)
    await skip_to(r.env, first.window_start + timedelta(days=8))  # and the one of the second date
    moved = await coord.set_session(1, first.window_start + timedelta(days=21, hours=9), place)
    assert moved.sequence == 2, moved
    await skip_to(r.env, moved.ends_at + timedelta(hours=1))
    for identifier in (stays, leaves):
        await coord.record_attendance(identifier, 1, True, True)
    await coord.withdraw(leaves, "Changement d'équipe municipale : la collectivité se retire du cycle.")
    await skip_to(r.env, second.window_start + timedelta(days=14, hours=19))
    await coord.record_attendance(stays, 2, True, False)
    await campaign.result()
    await r.keep("session-moved-twice", coord.candidature(stays), state="capitalised")
    await r.keep(
        "withdrawn-mid-cycle", coord.candidature(leaves), state="closed", triggers=[*SPINE_TO_ENROLLED, "record_attendance", "withdraw"]
    )


async def scenario_waitlist(r: Recorder) -> None:
    """A selected one withdraws before the cycle: the first waitlisted is promoted and enrolled; the
    second stays on the waitlist until it closes at the first session."""
    plan, campaign, coord = await r.open("hist-waitlist", sessions=1, capacity=1, waitlist_size=2)
    forms = [example("01-henin-carvin"), example("02-mel"), example("03-libercourt")]
    selected, promoted, waiting = (f.collectivite.identifier for f in forms)
    receipts = [(await coord.submit(form)).receipt_number for form in forms]
    await skip_to(r.env, plan.deadline_at + timedelta(hours=1))
    for n, receipt in enumerate(receipts):
        await coord.score("apes", receipt, marks(5 - n))
    await coord.deliberate()
    await skip_to(r.env, plan.response_at + timedelta(hours=1))
    await coord.withdraw(selected, "La collectivité renonce avant le cycle.")
    await skip_to(r.env, plan.response_at + timedelta(days=1))
    await coord.confirm_binome(promoted, *binome(forms[1]))
    (session,) = plan.sessions
    await coord.set_session(1, session.window_start + timedelta(days=14, hours=14), "Amiens, Maison de la culture")
    await skip_to(r.env, session.window_start + timedelta(days=14, hours=19))
    await coord.record_attendance(promoted, 1, True, True)
    await campaign.result()
    notified = ["submit", "declare_eligible", "deliberate", "notify"]
    await r.keep(
        "waitlisted-promoted-enrolled",
        coord.candidature(promoted),
        state="capitalised",
        triggers=[*notified, "promote", "confirm_binome", "record_attendance", "capitalise"],
    )
    await r.keep("waitlisted-waitlist-closed", coord.candidature(waiting), state="closed", triggers=[*notified, "close"])
    await r.keep("withdrawn-before-cycle", coord.candidature(selected), state="closed", triggers=[*notified, "withdraw"])


async def scenario_intake(r: Recorder) -> None:
    """Intake paths: corrected after an ineligible form, ineligible until the deadline, received late;
    and a selected one that never confirms its binôme."""
    plan, campaign, coord = await r.open("hist-intake", sessions=1, capacity=1, waitlist_size=0)
    incomplete = example("07-laon-incomplet")
    never_fixed = example("05-arras").model_copy(update={"letter": None})
    unconfirmed = example("01-henin-carvin")
    for form in (incomplete, never_fixed, unconfirmed):
        await coord.submit(form)
    await skip_to(r.env, plan.opens_at + timedelta(days=3))
    corrected = await coord.submit(example("07-laon"))
    assert corrected.correction, corrected
    await skip_to(r.env, plan.deadline_at + timedelta(hours=1))
    late = example("08-beauvaisis")
    await coord.submit(late)
    status = await coord.status()
    receipts = {e.key: e.receipt_number for e in status.candidatures}
    await coord.score("apes", receipts[unconfirmed.collectivite.identifier], marks(5))
    await coord.score("apes", receipts[incomplete.collectivite.identifier], marks(2))
    await _deliberate_when_checked(coord)
    # Only handles from start_workflow skip time by themselves; the children's deadline is skipped to.
    await skip_to(r.env, plan.response_at + plan.confirmation_window + timedelta(hours=1))
    unconfirmed_handle = coord.candidature(unconfirmed.collectivite.identifier)
    await r.keep(
        "ineligible-corrected-eligible",
        coord.candidature(incomplete.collectivite.identifier),
        state="closed",
        triggers=["submit", "declare_ineligible", "correct", "declare_eligible", "deliberate", "notify", "close"],
    )
    await r.keep(
        "ineligible-closed-at-deadline",
        coord.candidature(never_fixed.collectivite.identifier),
        state="closed",
        triggers=["submit", "declare_ineligible", "expire"],
    )
    await r.keep(
        "late-after-deadline",
        coord.candidature(late.collectivite.identifier),
        state="closed",
        triggers=["submit", "declare_ineligible", "expire"],
    )
    await r.keep(
        "binome-unconfirmed",
        unconfirmed_handle,
        state="closed",
        triggers=["submit", "declare_eligible", "deliberate", "notify", "withdraw"],
    )
    await campaign.terminate("historiques enregistrés")  # nobody enrolled: the rest of its calendar records nothing new


async def _deliberate_when_checked(coord: Coordination) -> None:
    """The late form is still being checked right after its submission; the jury waits for it."""
    for _ in range(50):
        try:
            await coord.deliberate()
            return
        except Refused as refusal:
            if "Vérification d'éligibilité en cours" not in str(refusal):
                raise
            await asyncio.sleep(0.1)
    raise AssertionError("la vérification d'éligibilité ne se termine pas")


async def scenario_continued(r: Recorder) -> None:
    """A campaign that continues as new on the way (on the dev server: the time-skipping test
    server stops skipping time after a continue-as-new with real activities). Saves the first run,
    which ends by continuing as new and carries each patch marker, and the last one, which starts
    from a carried state."""
    day = 0.12  # seconds of real time per day of the published calendar
    plan = load_campaign("ami-2024").plan().compressed(datetime.now(UTC) + timedelta(seconds=1), day / 86400)
    plan = plan.model_copy(update={"id": "hist-continued", "capacity": 1, "waitlist_size": 1, "quorum": 1, "sessions": plan.sessions[:1]})
    campaign = await start_campaign(r.client, plan, r.settings.task_queue, search_attributes=False, continue_as_new_at=60)
    coord = Coordination(r.client, plan.id)
    await sleep_until(plan.opens_at + timedelta(seconds=0.2))
    forms = [example(stem) for stem in ("01-henin-carvin", "02-mel", "03-libercourt")]
    receipts = [(await coord.submit(form)).receipt_number for form in forms]
    await sleep_until(plan.deadline_at + timedelta(seconds=0.5))
    for _ in range(600):
        if all(e.state == "eligibility_checked" for e in (await coord.status()).candidatures):
            break
        await asyncio.sleep(0.05)
    for n, receipt in enumerate(receipts):
        await coord.score("apes", receipt, marks(5 - n))
    await coord.deliberate()
    session = plan.sessions[0]
    await coord.set_session(1, session.window_start + (session.window_end - session.window_start) / 2, "Lille")
    key = forms[0].collectivite.identifier
    await wait_state(coord, key, {"notified"})
    await coord.confirm_binome(key, *binome(forms[0]))
    scheduled = (await coord.status()).sessions[0]
    await sleep_until(scheduled.ends_at)
    await coord.record_attendance(key, 1, True, True)
    await asyncio.wait_for(campaign.result(), timeout=180)
    first = r.client.get_workflow_handle(campaign.id, run_id=campaign.first_execution_run_id)
    if first.run_id == (await campaign.describe()).run_id:
        raise AssertionError("la campagne n'a pas continué comme nouvelle")
    await r.keep("campaign-first-run-continued-as-new", first)
    await r.keep("campaign-last-run-from-carried-state", campaign)


# Scenarios that run on the real dev server, in real (compressed) time.
DEV_SERVER = {"continued"}

SCENARIOS: dict[str, Callable[[Recorder], Awaitable[None]]] = {
    "full": scenario_full,
    "continued": scenario_continued,
    "moved": scenario_moved,
    "waitlist": scenario_waitlist,
    "intake": scenario_intake,
}


async def record(names: list[str]) -> dict[str, str]:
    saved: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="ami-histories-") as tmp, mail_sink(Path(tmp) / "mail") as sink:
        env = await start_time_skipping()
        try:
            for name in names:
                started = time.monotonic()
                # One task queue, database and worker per scenario: nothing leaks from one to the next.
                # A scenario of DEV_SERVER gets a dev server of its own (env=None).
                server = None if name in DEV_SERVER else env
                async with local_engine(Path(tmp) / name, f"ami-histories-{name}", env=server, sink=sink) as engine:
                    recorder = Recorder(engine.env, engine.settings)
                    await SCENARIOS[name](recorder)
                saved.update(recorder.saved)
                print(f"  {name} : {', '.join(recorder.saved)} ({time.monotonic() - started:.1f} s)")
            return saved
        finally:
            await env.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser(description="Enregistre les historiques de référence dans tests/histories/.")
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS), help="ne rejouer que ce scénario (répétable)")
    args = parser.parse_args()
    names = args.only or list(SCENARIOS)
    started = time.monotonic()
    print(f"Enregistrement des historiques ({len(names)} scénario(s)) sur le serveur de test à saut de temps…")
    saved = asyncio.run(record(names))
    # Written only once every scenario passed: a failed run leaves the previous files as they were.
    OUT.mkdir(parents=True, exist_ok=True)
    for stem, text in sorted(saved.items()):
        (OUT / f"{stem}.json").write_text(text + "\n", encoding="utf-8")
    print(f"{len(saved)} historique(s) écrit(s) dans {OUT.relative_to(ROOT)}/ en {time.monotonic() - started:.1f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
