"""The engine's benchmark (issue 10): one run, every figure as a ratio against a bare baseline.

    python bench/run.py [--n 500] [--scale-n N] [--quick] [--json] [--only PHASE,...]

Starts its own embedded Temporal dev server (with our search attributes) on free ports, an SMTP
sink and an SQLite store in a temporary folder, and a worker in this process; then measures:

  lifecycle   cost of one full lifecycle (events, state transitions, billable actions, bytes)
  replay      milliseconds to replay that history
  memory      worker RSS per parked candidature (a workflow-only worker in a subprocess)
  throughput  N candidatures to their decision email, against a bare workflow with as many
              activities and timers (empty bodies)
  scale       every commune and EPCI of Hauts-de-France in one campaign (--scale-n limits)
  io          documents/s and emails/s into the sink, against bare fpdf2 and a raw aiosmtplib loop

See docs/performance.md for what the figures mean.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parent.parent
try:
    import temporalio  # noqa: F401
except ImportError:  # a bare `python bench/run.py` outside the virtualenv: run again with the project's
    _VENV_PYTHON = _ROOT / ".venv" / "bin" / "python"
    if _VENV_PYTHON.exists() and not os.environ.get("AMI_BENCH_REEXEC"):
        os.environ["AMI_BENCH_REEXEC"] = "1"
        os.execv(str(_VENV_PYTHON), [str(_VENV_PYTHON), *sys.argv])
    raise
sys.path.insert(0, str(_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    ROOT,
    StoreProbe,
    bounded,
    bytes_by_event_type,
    describe_size,
    free_port,
    history_figures,
    machine,
    poll_until,
    region_forms,
    rss_kib,
    terminate_all,
)
from temporalio.client import Client  # noqa: E402
from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402
from temporalio.worker import Replayer, Worker  # noqa: E402

from ami.devserver import start_dev_server  # noqa: E402
from ami.examples import example  # noqa: E402
from ami.mail.sink import start_sink  # noqa: E402
from ami.ops import Coordination, start_campaign  # noqa: E402
from ami.settings import Settings  # noqa: E402
from models.campaign import CampaignPlan, load_campaign  # noqa: E402
from models.candidature import CandidatureFile  # noqa: E402
from models.messages import Decision  # noqa: E402
from workflows.campaign import CampaignWorkflow, campaign_workflow_id  # noqa: E402
from workflows.candidature import CandidatureWorkflow, candidature_workflow_id  # noqa: E402

PHASES = ("lifecycle", "replay", "memory", "throughput", "scale", "io")
MARKS = {"motivation": 4, "binome": 5, "posture": 3, "adaptabilite": 4, "numerique": 3, "apport": 4}
CONCURRENCY = 4  # client updates in flight per campaign (submissions, scores); the server allows 10 per workflow


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def stamp() -> str:
    return datetime.now(UTC).strftime("%H%M%S%f")[:9]


async def sleep_until(instant: datetime) -> None:
    delay = (instant - datetime.now(UTC)).total_seconds()
    if delay > 0:
        await asyncio.sleep(delay)


def marks_for(i: int) -> dict[str, int]:
    return {k: max(0, min(5, v - (i % 3) + 1)) for k, v in MARKS.items()}


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.results: dict[str, Any] = {}
        self.file_plan = load_campaign("ami-2024").plan()

    # --- setup -------------------------------------------------------------------------------

    async def start(self) -> None:
        self.controller, self.sink = start_sink(self.work / "mail", port=free_port())
        self.db_file = self.work / "ami.db"
        self.settings = Settings(
            data_dir=self.work / "var",
            database_url=f"sqlite:///{self.db_file}",
            smtp_port=self.controller.port,
            task_queue="ami-bench",
        )
        self.probe = StoreProbe(self.db_file)
        port, ui_port = free_port(), free_port()
        t = time.monotonic()
        self.env = await start_dev_server(port=port, ui_port=ui_port)
        self.address = f"127.0.0.1:{port}"
        log(f"dev server on {self.address} (UI {ui_port}) in {time.monotonic() - t:.1f} s")
        self.client: Client = self.env.client
        from baseline import BaselineWorkflow, empty_activity

        from worker import build_worker

        self.worker = build_worker(self.client, self.settings, task_queue="ami-bench")
        self.base_worker = Worker(self.client, task_queue="bench-baseline", workflows=[BaselineWorkflow], activities=[empty_activity])
        await self.worker.__aenter__()
        await self.base_worker.__aenter__()

    async def stop(self) -> None:
        for w in (self.base_worker, self.worker):
            try:
                await asyncio.wait_for(w.__aexit__(None, None, None), 30)
            except Exception as error:  # noqa: BLE001
                log(f"worker shutdown: {error!r}")
        await self.env.shutdown()
        self.controller.stop()

    def plan(self, name: str, day_seconds: float, anchor: datetime | None = None, **changes: Any) -> CampaignPlan:
        anchor = anchor or datetime.now(UTC) + timedelta(seconds=1.5)
        plan = self.file_plan.compressed(anchor, day_seconds / 86400)
        return plan.model_copy(update={"id": f"bench-{name}-{stamp()}", **changes})

    # --- 1. cost of one full lifecycle (and 4. replay) -------------------------------------------

    async def lifecycle(self) -> None:
        day = 0.05 if self.args.quick else 0.08
        plan = self.plan("life", day, quorum=1, confirmation_window=timedelta(seconds=5))
        log(f"lifecycle: one candidature through the whole cycle, one published day = {day} s ({plan.id})")
        t0 = time.monotonic()
        campaign = await start_campaign(self.client, plan, "ami-bench")
        coord = Coordination(self.client, plan.id)
        await sleep_until(plan.opens_at + timedelta(seconds=day))
        form = example("01-henin-carvin")
        key = form.collectivite.identifier
        receipt = (await coord.submit(form)).receipt_number
        await self._wait_state(coord, key, {"eligibility_checked"}, 30)
        await sleep_until(plan.deadline_at + timedelta(seconds=0.05))
        await coord.score("apes", receipt, MARKS)
        await coord.deliberate()
        await self._wait_state(coord, key, {"notified"}, 30)
        assert form.political_referent and form.technical_referent
        await coord.confirm_binome(key, form.political_referent, form.technical_referent)
        for s in plan.sessions:
            await coord.set_session(s.number, s.window_start + (s.window_end - s.window_start) / 2, "Lille, Maison de l'ESS")
        for s in (await coord.status()).sessions:
            await sleep_until(s.ends_at + timedelta(seconds=0.02))
            await coord.record_attendance(key, s.number, True, s.number != 3)
            await coord.record_feedback(key, s.number, 4, "Très utile, « concret ».")
            if s.number == len(plan.sessions):
                await coord.record_experiment(key, "Une plateforme d'échanges de biens entre habitants.")
        final = await asyncio.wait_for(campaign.result(), 120)
        wall = time.monotonic() - t0
        cand = coord.candidature(key)
        state = (await cand.query(CandidatureWorkflow.status)).state
        c = await history_figures(cand)
        k = await history_figures(campaign)
        self.lifecycle_histories = {"candidature": c.pop("history"), "campaign": k.pop("history")}
        self.results["lifecycle"] = {
            "final_state": state,
            "campaign_phase": final.phase,
            "wall_s": round(wall, 1),
            "candidature": c,
            "campaign": k,
        }
        log(f"lifecycle: {state}, candidature {c['events']} events, {c['actions']} actions, {c['history_bytes']} B; {wall:.1f} s")

    async def _wait_state(self, coord: Coordination, key: str, states: set[str], limit: float) -> str:
        deadline = time.monotonic() + limit
        while True:
            state = (await coord.candidature_status(key)).state
            if state in states or time.monotonic() > deadline:
                return state
            await asyncio.sleep(0.02)

    async def replay(self) -> None:
        if not hasattr(self, "lifecycle_histories"):
            await self.lifecycle()
        replayer = Replayer(workflows=[CampaignWorkflow, CandidatureWorkflow], data_converter=pydantic_data_converter)
        out: dict[str, Any] = {}
        for name, history in self.lifecycle_histories.items():
            times = []
            for _ in range(2 if self.args.quick else 7):
                t = time.perf_counter()
                result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
                times.append((time.perf_counter() - t) * 1000)
                assert result.replay_failure is None
            out[name] = {
                "events": len(history.events),
                "ms_median": round(statistics.median(times), 1),
                "ms_min": round(min(times), 1),
                "runs": len(times),
            }
        self.results["replay"] = out
        log(f"replay: {out}")

    # --- 3. memory -----------------------------------------------------------------------------

    async def memory(self) -> None:
        n = self.args.mem_n or self.args.n
        queue = f"bench-mem-{stamp()}"
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("wfworker.py")), self.address, queue], stdout=subprocess.PIPE, text=True, cwd=ROOT
        )
        try:
            assert proc.stdout is not None
            line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 60)
            assert line.strip() == "ready", line
            from stubs import stub_activities

            # Activities answer from this process (stand-ins with the real shapes: see baseline.py).
            async with Worker(self.client, task_queue=queue, activities=stub_activities(), max_concurrent_activities=100):
                # The campaign opens now and closes in an hour: candidatures park waiting for the jury.
                plan = self.plan("mem", 60.0, anchor=datetime.now(UTC) - timedelta(seconds=1))
                campaign = await start_campaign(self.client, plan, queue)
                coord = Coordination(self.client, plan.id)
                forms = self.forms[: n + 5]
                await self._submit(coord, forms[:5])
                await self._wait_parked(coord, 5, 60)
                await asyncio.sleep(2)
                idle = rss_kib(proc.pid)
                log(f"memory: workflow worker idle (campaign + 5 parked) {idle / 1024:.0f} MiB; parking {n} more")
                t = time.monotonic()
                await self._submit(coord, forms[5:])
                got = await self._wait_parked(coord, n + 5, 600)
                park_s = time.monotonic() - t
                await asyncio.sleep(3)
                parked = rss_kib(proc.pid)
                ids = [campaign.id] + [candidature_workflow_id(plan.id, f.collectivite.identifier) for f in forms]
                await terminate_all(self.client, ids)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        per = (parked - idle) / max(1, got - 5)
        self.results["memory"] = {
            "parked": got - 5,
            "all_parked": got == n + 5,
            "idle_rss_mib": round(idle / 1024, 1),
            "parked_rss_mib": round(parked / 1024, 1),
            "kib_per_candidature": round(per, 1),
            "park_s": round(park_s, 1),
            "note": "workflow-only worker in a subprocess (default cache: 1000 workflows); stand-in activities in the bench process",
        }
        log(f"memory: {per:.0f} KiB per parked candidature ({got - 5} parked)")

    async def _wait_parked(self, coord: Coordination, count: int, limit: float) -> int:
        """Candidatures past their eligibility check (eligible ones then wait for the jury)."""
        deadline = time.monotonic() + limit
        while True:
            status = await coord.status()
            done = sum(1 for e in status.candidatures if e.state in ("eligibility_checked", "ineligible"))
            if done >= count or time.monotonic() > deadline:
                return done
            await asyncio.sleep(0.5)

    async def _submit(self, coord: Coordination, forms: list[CandidatureFile], timeout: float = 120) -> list[Any]:
        async def one(form: CandidatureFile) -> Any:
            return await asyncio.wait_for(coord.submit(form), timeout)

        return await bounded(self.args.concurrency, [lambda f=f: one(f) for f in forms])

    # --- 2. throughput -------------------------------------------------------------------------

    async def throughput(self) -> None:
        n, per = self.args.n, self.args.per_campaign
        forms = self.forms[:n]
        shards = [forms[i : i + per] for i in range(0, n, per)]
        # Open long enough that every submission lands before the deadline (they run at about 8/s on two
        # loaded cores, the verdicts at about 4/s): the wait after the last verdict is not counted as work.
        window = self.args.window or max(10.0 if self.args.quick else 20.0, n * 0.3)
        day = window / 60  # the call is open 60 published days
        anchor = datetime.now(UTC) + timedelta(seconds=2)
        plans = [self.plan(f"tp{k}", day, anchor=anchor) for k in range(len(shards))]
        quorum_members = [m.id for m in plans[0].jury[: plans[0].quorum]]
        log(
            f"throughput: {n} candidatures in {len(shards)} campaign(s) of <= {per}; call open {window:.0f} s; jury of {len(quorum_members)} "
            f"(quorum) scores each"
        )
        for plan in plans:
            await start_campaign(self.client, plan, "ami-bench")
        coords = [Coordination(self.client, p.id) for p in plans]
        prefixes = [candidature_workflow_id(p.id, "") for p in plans]
        total_verdicts = lambda: sum(self.probe.verdicts(p) for p in prefixes)  # noqa: E731
        total_decisions = lambda: sum(self.probe.emails_sent(p, "decision_%") for p in prefixes)  # noqa: E731
        await sleep_until(anchor + timedelta(seconds=0.1))
        t0 = time.monotonic()
        submitted = await asyncio.gather(*(self._submit(c, s) for c, s in zip(coords, shards, strict=True)))
        t_sub = time.monotonic()
        late = datetime.now(UTC) > plans[0].deadline_at  # a submission after the deadline would be ineligible
        failures = [r for rs in submitted for r in rs if isinstance(r, BaseException)]
        ok, t_elig, verdicts = await poll_until(total_verdicts, n, 900)
        log(
            f"throughput: {n - len(failures)} submitted in {t_sub - t0:.1f} s, {verdicts} verdicts at {t_elig - t0:.1f} s"
            + (" (submissions ended AFTER the deadline!)" if late else "")
        )
        await sleep_until(plans[0].deadline_at + timedelta(seconds=0.1))
        t_jury = time.monotonic()
        per_coord: list[list[Any]] = []
        for coord, results in zip(coords, submitted, strict=True):
            mine = []
            for i, r in enumerate(results):
                if isinstance(r, BaseException):
                    continue
                for member in quorum_members:
                    mine.append(lambda c=coord, m=member, r=r, i=i: asyncio.wait_for(c.score(m, r.receipt_number, marks_for(i)), 120))
            per_coord.append(mine)
        jobs = [j for mine in per_coord for j in mine]
        scored = [x for xs in await asyncio.gather(*(bounded(self.args.concurrency, mine) for mine in per_coord)) for x in xs]
        t_scored = time.monotonic()
        score_failures = [s for s in scored if isinstance(s, BaseException)]
        delib = await bounded(4, [lambda c=c: asyncio.wait_for(c.deliberate(), 120) for c in coords])
        delib_failures = [d for d in delib if isinstance(d, BaseException)]
        expected = sum(len(d.ranking) for d in delib if not isinstance(d, BaseException))
        ok2, t_dec, decisions = await poll_until(total_decisions, max(1, expected), 600)
        work = (t_elig - t0) + (t_dec - t_jury)
        log(
            f"throughput: {len(jobs)} scores in {t_scored - t_jury:.1f} s ({len(score_failures)} failed), {decisions}/{expected} decisions "
            f"sent at +{t_dec - t_jury:.1f} s after the deadline"
        )
        for f in (failures + score_failures + delib_failures)[:3]:
            log(f"  failure: {f!r}")
        # Size the baseline on a real candidature that ended at its decision (not selected).
        sample = None
        for coord, d in zip(coords, delib, strict=True):
            if isinstance(d, BaseException):
                continue
            status = await coord.status()
            by_receipt = {e.receipt_number: e.key for e in status.candidatures}
            loser = next((r for r in d.ranking if r.decision is Decision.NOT_SELECTED), None) or d.ranking[-1]
            sample = coord.candidature(by_receipt[loser.receipt_number])
            break
        figures = await history_figures(sample) if sample else None
        campaign_sizes = [await describe_size(self.client, campaign_workflow_id(p.id)) for p in plans]
        ids = [campaign_workflow_id(p.id) for p in plans] + [
            candidature_workflow_id(p.id, f.collectivite.identifier) for p, s in zip(plans, shards, strict=True) for f in s
        ]
        await terminate_all(self.client, ids)
        biggest = max(range(len(plans)), key=lambda i: campaign_sizes[i]["events"])
        campaign_bytes = await bytes_by_event_type(self.client.get_workflow_handle(campaign_workflow_id(plans[biggest].id)))
        acts = figures["actions_by_kind"]["activities scheduled"] if figures else 10
        timers = figures["actions_by_kind"]["timers started"] if figures else 0
        base = await self._baseline(n, acts, timers)
        self.results["throughput"] = {
            "n": n,
            "campaigns": len(shards),
            "per_campaign": per,
            "jury_members_scoring": len(quorum_members),
            "submitted": n - len(failures),
            "verdicts": verdicts,
            "decisions_sent": decisions,
            "complete": ok and ok2 and not failures and not score_failures and not delib_failures,
            "submissions_after_deadline": late,
            "submit_s": round(t_sub - t0, 2),
            "to_last_verdict_s": round(t_elig - t0, 2),
            "idle_until_deadline_s": round(t_jury - t_elig, 2),
            "scores": len(jobs),
            "scoring_s": round(t_scored - t_jury, 2),
            "scores_per_s": round(len(jobs) / max(1e-9, t_scored - t_jury), 1),
            "deadline_to_last_decision_s": round(t_dec - t_jury, 2),
            "work_s": round(work, 2),
            "gross_s": round(t_dec - t0, 2),
            "candidatures_per_s": round(n / work, 2),
            "per_candidature_to_decision": {k: v for k, v in (figures or {}).items() if k not in ("event_types",)},
            "campaign_histories": campaign_sizes,
            "largest_campaign_bytes_by_event_type": campaign_bytes,
            "baseline": base,
            "ratio": round(work / base["wall_s"], 2),
        }
        log(
            f"throughput: work {work:.1f} s = {n / work:.1f} candidatures/s; baseline {base['wall_s']:.1f} s; ratio {work / base['wall_s']:.2f}"
        )

    async def _baseline(self, n: int, activities: int, timers: int) -> dict[str, Any]:
        from baseline import BaselineWorkflow

        tag = stamp()
        t0 = time.monotonic()

        async def one(i: int) -> int:
            handle = await self.client.start_workflow(
                BaselineWorkflow.run, args=[activities, timers], id=f"bench-baseline-{tag}-{i}", task_queue="bench-baseline"
            )
            return await asyncio.wait_for(handle.result(), 300)

        results = await bounded(CONCURRENCY * 8, [lambda i=i: one(i) for i in range(n)])
        wall = time.monotonic() - t0
        failed = sum(1 for r in results if isinstance(r, BaseException))
        return {"workflows": n, "activities_each": activities, "timers_each": timers, "wall_s": round(wall, 2), "failed": failed}

    # --- 5. scale ------------------------------------------------------------------------------

    async def scale(self) -> None:
        forms = region_forms("32")
        total = len(forms)
        n = min(self.args.scale_n or total, total)  # 0 means all
        forms = forms[:n]
        window = self.args.scale_window or (10 if self.args.quick else 20) + n * 0.35  # submissions: 5-10/s on one campaign
        day = window / 60
        member = self.file_plan.jury[0]
        anchor = datetime.now(UTC) + timedelta(seconds=2)
        plan = self.plan("scale", day, anchor=anchor, quorum=1, jury=[member])
        log(
            f"scale: {n} of the region's {total} collectivités in one campaign, quorum 1 (one member); call open {window:.0f} s ({plan.id})"
        )
        handle = await start_campaign(self.client, plan, "ami-bench")
        coord = Coordination(self.client, plan.id)
        prefix = candidature_workflow_id(plan.id, "")
        limit = self.args.scale_timeout
        started = time.monotonic()
        await sleep_until(anchor + timedelta(seconds=0.1))
        t0 = time.monotonic()
        submitted = await self._submit(coord, forms, timeout=60)
        t_sub = time.monotonic()
        late = datetime.now(UTC) > plan.deadline_at
        failures = [r for r in submitted if isinstance(r, BaseException)]
        ok, t_elig, verdicts = await poll_until(
            lambda: self.probe.verdicts(prefix), n - len(failures), max(10, limit - (time.monotonic() - started))
        )
        after_submit = await describe_size(self.client, handle.id)
        log(
            f"scale: {n - len(failures)} submitted in {t_sub - t0:.1f} s, {verdicts} verdicts at +{t_elig - t0:.1f} s; campaign {after_submit}"
        )
        out: dict[str, Any] = {
            "region_total": total,
            "n": n,
            "quorum": 1,
            "jury_members": 1,
            "submitted": n - len(failures),
            "submit_failures": len(failures),
            "first_failure": repr(failures[0])[:300] if failures else None,
            "submit_s": round(t_sub - t0, 1),
            "verdicts": verdicts,
            "to_last_verdict_s": round(t_elig - t0, 1),
            "submissions_after_deadline": late,
            "campaign_after_submissions": after_submit,
        }
        self.results["scale"] = out
        if failures or not ok:
            log(f"scale: stopping ({len(failures)} submissions failed, first: {out['first_failure']})")
            await terminate_all(self.client, [handle.id] + [candidature_workflow_id(plan.id, f.collectivite.identifier) for f in forms])
            return
        await sleep_until(plan.deadline_at + timedelta(seconds=0.1))
        t_jury = time.monotonic()
        remaining = limit - (t_jury - started)
        jobs = [
            lambda r=r, i=i: asyncio.wait_for(coord.score(member.id, r.receipt_number, marks_for(i)), 120) for i, r in enumerate(submitted)
        ]
        scored: list[Any] = []
        t_scored = t_jury
        with contextlib.suppress(TimeoutError):
            scored = await asyncio.wait_for(bounded(self.args.concurrency, jobs), max(10, remaining))
        t_scored = time.monotonic()
        score_failures = [s for s in scored if isinstance(s, BaseException)]
        out.update(
            scores=len(jobs),
            scores_done=len(scored) - len(score_failures),
            score_failures=len(score_failures),
            first_score_failure=repr(score_failures[0])[:300] if score_failures else None,
            scoring_s=round(t_scored - t_jury, 1),
            scores_per_s=round((len(scored) - len(score_failures)) / max(1e-9, t_scored - t_jury), 1),
        )
        out["campaign_after_jury"] = await describe_size(self.client, handle.id)
        log(
            f"scale: {out['scores_done']} scores in {out['scoring_s']} s ({len(score_failures)} failed); campaign {out['campaign_after_jury']}"
        )
        if len(scored) == len(jobs) and not score_failures:
            try:
                result = await asyncio.wait_for(coord.deliberate(), 300)
                ok2, t_dec, decisions = await poll_until(
                    lambda: self.probe.emails_sent(prefix, "decision_%"), len(result.ranking), max(10, limit - (time.monotonic() - started))
                )
                out.update(
                    decisions_sent=decisions,
                    all_decisions_sent=ok2,
                    deadline_to_last_decision_s=round(t_dec - t_jury, 1),
                    first_submission_to_last_decision_s=round(t_dec - t0, 1),
                    work_s=round((t_elig - t0) + (t_dec - t_jury), 1),
                )
                await asyncio.sleep(1)
            except Exception as error:  # noqa: BLE001
                out["deliberation_error"] = repr(error)[:300]
        try:
            out["campaign_final"] = await describe_size(self.client, handle.id)
            desc = await handle.describe()
            out["campaign_status"] = desc.status.name if desc.status else None
            out["campaign_bytes_by_event_type"] = await bytes_by_event_type(handle)
        except Exception as error:  # noqa: BLE001
            out["campaign_final"] = repr(error)[:200]
        log(f"scale: {out}")
        await terminate_all(self.client, [handle.id] + [candidature_workflow_id(plan.id, f.collectivite.identifier) for f in forms])

    # --- 6. documents and emails -----------------------------------------------------------------

    async def io(self) -> None:
        from baseline import bare_pdf, bare_send
        from temporalio.testing import ActivityEnvironment

        from activities.documents import DocumentActivities
        from activities.email import EmailActivities
        from ami.store import store_for
        from models.messages import MakeDocumentInput, SendEmailInput

        store = store_for(self.settings.resolved_database_url())
        docs = DocumentActivities(self.settings, store)
        mails = EmailActivities(self.settings, store)
        env = ActivityEnvironment()
        d, m = self.args.docs, self.args.emails
        form = example("01-henin-carvin")
        tag = stamp()
        zone = "Europe/Paris"
        now = datetime.now(UTC)

        def summary(i: int) -> dict[str, Any]:
            return {
                "receipt_number": f"AMI-2024-{i:04d}",
                "campaign_name": self.file_plan.name,
                "received_at": now.isoformat(),
                "form": form.model_dump(mode="json"),
                "official_name": "CA d'Hénin-Carvin",
                "kind_label": "communauté d'agglomération",
                "departement": "62",
            }

        # Documents: the engine's activity (render, hash, write, record) vs a bare one-page fpdf2 PDF.
        await env.run(
            docs.make_document, MakeDocumentInput(workflow_id=f"bench-doc-{tag}", receipt_number="W", kind="summary", data=summary(0))
        )
        t = time.perf_counter()
        refs = []
        for i in range(d):
            refs.append(
                await env.run(
                    docs.make_document,
                    MakeDocumentInput(workflow_id=f"bench-doc-{tag}", receipt_number=f"R{i}", kind="summary", data=summary(i + 1)),
                )
            )
        engine_docs = d / (time.perf_counter() - t)
        from ami.documents import pdf
        from models.documents import SummaryDocInput

        t = time.perf_counter()
        for i in range(d):
            pdf.summary_pdf(SummaryDocInput.model_validate(summary(i + 1)))
        render_docs = d / (time.perf_counter() - t)
        bare_pdf(0)
        t = time.perf_counter()
        for i in range(d):
            bare_pdf(i)
        bare_docs = d / (time.perf_counter() - t)

        # Emails: the engine's activity (render, outbox, SMTP with the summary attached, mark) vs raw sends.
        context = {
            "campaign": {"id": "ami-2024", "name": self.file_plan.name, "timezone": zone},
            "receipt_number": "AMI-2024-0001",
            "collectivite": {"name": form.collectivite.name, "official_name": "CA d'Hénin-Carvin"},
            "received_at": now.isoformat(),
            "deadline_at": self.file_plan.deadline_at.isoformat(),
            "response_at": self.file_plan.response_at.isoformat(),
            "reasons": [],
            "decision": None,
            "confirmation_deadline": None,
            "attendance": [],
        }

        def mail(i: int) -> SendEmailInput:
            return SendEmailInput(
                workflow_id=f"bench-mail-{tag}-{i}",
                purpose="receipt",
                occurrence="1",
                to=form.recipients(),
                context=context,
                attachments=[refs[0]],
            )

        await env.run(mails.send_email, mail(-1))
        t = time.perf_counter()
        for i in range(m):
            outcome = await env.run(mails.send_email, mail(i))
            assert outcome.status == "sent", outcome
        engine_mail = m / (time.perf_counter() - t)
        await bare_send(self.controller.port, -1)
        t = time.perf_counter()
        for i in range(m):
            await bare_send(self.controller.port, i)
        bare_mail = m / (time.perf_counter() - t)
        self.results["io"] = {
            "documents": d,
            "docs_per_s": round(engine_docs, 1),
            "render_only_docs_per_s": round(render_docs, 1),
            "bare_docs_per_s": round(bare_docs, 1),
            "docs_ratio": round(bare_docs / engine_docs, 2),
            "emails": m,
            "emails_per_s": round(engine_mail, 1),
            "bare_emails_per_s": round(bare_mail, 1),
            "emails_ratio": round(bare_mail / engine_mail, 2),
        }
        log(f"io: {self.results['io']}")


# --- the table ----------------------------------------------------------------------------------


def table(results: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str]] = []

    def add(what: str, value: Any, note: str = "") -> None:
        rows.append((what, str(value), note))

    lc = results.get("lifecycle")
    if lc:
        for name in ("candidature", "campaign"):
            h = lc[name]
            ak = h["actions_by_kind"]
            detail = ", ".join(f"{v} {k}" for k, v in ak.items() if v)
            add(f"lifecycle {name}: history events", h["events"], f"final state {lc['final_state']}, campaign {lc['campaign_phase']}")
            add(f"lifecycle {name}: state transitions", h["state_transitions"])
            add(f"lifecycle {name}: billable actions", h["actions"], detail)
            add(f"lifecycle {name}: history size (bytes)", h["history_bytes"], f"server says {h['server_history_bytes']}")
    rp = results.get("replay")
    if rp:
        for name, r in rp.items():
            add(f"replay {name} history (ms)", r["ms_median"], f"median of {r['runs']}, {r['events']} events, min {r['ms_min']}")
    mem = results.get("memory")
    if mem:
        add(
            "memory: RSS per parked candidature (KiB)",
            mem["kib_per_candidature"],
            f"{mem['parked']} parked; idle {mem['idle_rss_mib']} MiB -> {mem['parked_rss_mib']} MiB",
        )
    tp = results.get("throughput")
    if tp:
        add(
            "throughput: candidatures to decision sent",
            tp["decisions_sent"],
            f"of {tp['n']}, {tp['campaigns']} campaign(s) of <= {tp['per_campaign']}, complete={tp['complete']}",
        )
        add(
            "throughput: candidatures/s",
            tp["candidatures_per_s"],
            f"work {tp['work_s']} s (gross {tp['gross_s']} s incl. {tp['idle_until_deadline_s']} s waiting for the deadline)",
        )
        b = tp["baseline"]
        add(
            "throughput: ratio engine / bare workflow",
            tp["ratio"],
            f"bare: {b['workflows']} wf x ({b['activities_each']} empty activities + {b['timers_each']} timers) in {b['wall_s']} s",
        )
        add(
            "throughput: submissions (s)",
            tp["submit_s"],
            f"last verdict at {tp['to_last_verdict_s']} s"
            + (" — SUBMISSIONS ENDED AFTER THE DEADLINE" if tp["submissions_after_deadline"] else ""),
        )
        add(
            "throughput: jury scores/s",
            tp["scores_per_s"],
            f"{tp['scores']} scores in {tp['scoring_s']} s ({tp['jury_members_scoring']} members each)",
        )
        add("throughput: deadline -> last decision sent (s)", tp["deadline_to_last_decision_s"])
        pc = tp.get("per_candidature_to_decision") or {}
        if pc:
            add(
                "throughput: one candidature to its decision",
                f"{pc['events']} ev",
                f"{pc['actions']} actions, {pc['history_bytes']} B, {pc['state_transitions']} state transitions",
            )
        worst = max(tp["campaign_histories"], key=lambda s: s["events"])
        add("throughput: largest campaign history", f"{worst['events']} ev", f"{worst['history_bytes']} B")
        top = tp.get("largest_campaign_bytes_by_event_type") or []
        if top:
            add(
                "  its bytes by event type",
                "",
                "; ".join(f"{t['type'].lower()} {t['events']} ev {t['bytes'] // 1024} KiB" for t in top[:3]),
            )
    sc = results.get("scale")
    if sc:
        add(
            "scale: collectivités submitted",
            sc["submitted"],
            f"of {sc['n']} asked ({sc['region_total']} in the region); quorum 1, one member",
        )
        add("scale: first submission -> last verdict (s)", sc["to_last_verdict_s"], f"submissions took {sc['submit_s']} s")
        if "scores_per_s" in sc:
            add(
                "scale: jury scores/s",
                sc["scores_per_s"],
                f"{sc['scores_done']}/{sc['scores']} in {sc['scoring_s']} s, {sc['score_failures']} failed",
            )
        if "first_submission_to_last_decision_s" in sc:
            add(
                "scale: first submission -> last decision sent (s)",
                sc["first_submission_to_last_decision_s"],
                f"deadline -> last decision {sc['deadline_to_last_decision_s']} s",
            )
        for key in ("campaign_after_submissions", "campaign_after_jury", "campaign_final"):
            v = sc.get(key)
            if isinstance(v, dict):
                add(f"scale: campaign history ({key.removeprefix('campaign_')})", f"{v['events']} ev", f"{v['history_bytes']} B")
        top = sc.get("campaign_bytes_by_event_type") or []
        if top:
            add(
                "  its bytes by event type",
                "",
                "; ".join(f"{t['type'].lower()} {t['events']} ev {t['bytes'] // 1024} KiB" for t in top[:3]),
            )
        if sc.get("campaign_status"):
            add("scale: campaign status at the end", sc["campaign_status"])
        for key in ("first_failure", "first_score_failure", "deliberation_error"):
            if sc.get(key):
                add(f"scale: {key}", "!", sc[key][:160])
    io = results.get("io")
    if io:
        add(
            "documents/s (engine activity)",
            io["docs_per_s"],
            f"render only {io['render_only_docs_per_s']}/s; bare fpdf2 {io['bare_docs_per_s']}/s",
        )
        add("documents: ratio bare / engine", io["docs_ratio"])
        add("emails/s into the sink (engine activity)", io["emails_per_s"], f"raw aiosmtplib {io['bare_emails_per_s']}/s")
        add("emails: ratio bare / engine", io["emails_ratio"])
    add("run wall time (s)", results.get("wall_s"), f"load before {results['machine']['loadavg']}, after {results.get('loadavg_after')}")
    w = [max(len(r[i]) for r in rows) for i in range(2)]
    lines = [f"{'figure':<{w[0]}}  {'value':>{w[1]}}  note", "-" * (w[0] + w[1] + 40)]
    lines += [f"{a:<{w[0]}}  {b:>{w[1]}}  {c}" for a, b, c in rows]
    return "\n".join(lines)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=500, help="candidatures for throughput (and parked for memory)")
    p.add_argument(
        "--scale-n", type=int, default=250, help="collectivités in the scale run (0: all 3,872 of the region; see docs/performance.md)"
    )
    p.add_argument("--per-campaign", type=int, default=100, help="candidatures per campaign in the throughput run")
    p.add_argument("--mem-n", type=int, default=None, help="parked candidatures for memory (default --n)")
    p.add_argument("--window", type=float, default=None, help="seconds the throughput call stays open (default from --n)")
    p.add_argument("--scale-window", type=float, default=None, help="seconds the scale call stays open (default from the throughput rate)")
    p.add_argument("--scale-timeout", type=float, default=420, help="seconds the whole scale run may take")
    p.add_argument("--concurrency", type=int, default=CONCURRENCY, help="client updates in flight per campaign (the server allows 10)")
    p.add_argument("--docs", type=int, default=50)
    p.add_argument("--emails", type=int, default=200)
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke run in under 2 minutes")
    p.add_argument("--only", default=",".join(PHASES), help=f"comma-separated phases among {', '.join(PHASES)}")
    p.add_argument("--json", action="store_true", help="print the results as JSON too")
    args = p.parse_args(argv)
    if args.quick:
        args.n = min(args.n, 30)
        args.per_campaign = min(args.per_campaign, 15)
        args.scale_n = min(args.scale_n or 40, 40)
        args.docs, args.emails = 10, 20
        args.mem_n = args.mem_n or 30
        args.scale_timeout = min(args.scale_timeout, 90)
    return args


ENGINE_FILES = ("workflows", "activities", "models", "ami", "worker.py")


def engine_mtimes() -> dict[str, float]:
    """The engine's sources: the workflow sandbox re-reads them for every new workflow run, so a file
    edited during a run would mix two versions of the engine in one measurement."""
    found: dict[str, float] = {}
    for name in ENGINE_FILES:
        path = ROOT / name
        for f in [path] if path.is_file() else path.rglob("*.py"):
            found[str(f.relative_to(ROOT))] = f.stat().st_mtime
    return found


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    before = engine_mtimes()
    phases = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(phases) - set(PHASES)
    if unknown:
        raise SystemExit(f"unknown phase(s): {', '.join(sorted(unknown))}")
    with tempfile.TemporaryDirectory(prefix="ami-bench-") as tmp:
        bench = Bench(args, Path(tmp))
        bench.results["machine"] = machine()
        bench.forms = region_forms("32", limit=max(args.n, args.mem_n or 0) + 10)
        await bench.start()
        try:
            for phase in PHASES:
                if phase in phases:
                    t = time.monotonic()
                    try:
                        await getattr(bench, phase)()
                    except Exception as error:  # noqa: BLE001
                        log(f"{phase}: FAILED {error!r}")
                        bench.results.setdefault("errors", {})[phase] = repr(error)[:500]
                    bench.results.setdefault("phase_s", {})[phase] = round(time.monotonic() - t, 1)
        finally:
            await bench.stop()
    after = engine_mtimes()
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    bench.results["engine_files_changed_during_run"] = changed
    if changed:
        log(f"WARNING: engine files changed during the run (figures mix two versions): {', '.join(changed)}")
    bench.results["wall_s"] = round(time.monotonic() - started, 1)
    bench.results["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    return bench.results


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    results = asyncio.run(amain(args))
    print(table(results))
    if results.get("engine_files_changed_during_run"):
        print("WARNING: engine files changed during the run: " + ", ".join(results["engine_files_changed_during_run"]))
    if results.get("errors"):
        print("errors: " + json.dumps(results["errors"], ensure_ascii=False))
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2, default=str))
    return 1 if results.get("errors") else 0


if __name__ == "__main__":
    sys.exit(main())
