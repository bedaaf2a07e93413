"""One engine worker for the chaos suite: the workflows and activities of `ami worker`, plus a log of
every activity attempt (start and end instants, one JSON line each, written before and after the
activity runs) from which the suite measures the delay between a kill and the retry.

`python -m chaos.worker LOG_DIR NAME` (attempts in LOG_DIR/attempts-NAME-<incarnation>.jsonl), configured by the same `AMI_*` variables as `ami worker`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from typing import Any

from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor, Worker

from ami.infra.client import connect
from ami.infra.settings import get_settings
from ami.infra.store import SchemaError, check_schema
from ami.worker.runner import WORKFLOWS, activities_for, pacing_options


class AttemptLog(Interceptor):
    def __init__(self, path: str) -> None:
        # O_APPEND and one write per line: a line is on disk once written, SIGKILL or not.
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def write(self, **record: Any) -> None:
        os.write(self.fd, (json.dumps(record) + "\n").encode())

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Inbound(next, self)


class _Inbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, log: AttemptLog) -> None:
        super().__init__(next)
        self.log = log

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        key = {
            "wf": f"{info.workflow_id}/{info.workflow_run_id}",
            "act": info.activity_id,
            "type": info.activity_type,
            "attempt": info.attempt,
            "local": info.is_local,
        }
        self.log.write(ev="start", t=time.time(), **key)
        try:
            result = await super().execute_activity(input)
        except BaseException as error:
            self.log.write(ev="fail", t=time.time(), error=type(error).__name__, **key)
            raise
        self.log.write(ev="end", t=time.time(), **key)
        return result


async def main(log_dir: str, name: str) -> None:
    attempts = os.path.join(log_dir, f"attempts-{name}-{os.environ.get('CHAOS_INCARNATION', '1')}.jsonl")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    while True:  # restarted while the server or the store is down: wait for them, as a supervisor would
        try:
            check_schema(settings.resolved_database_url())
            client = await connect(settings)
            break
        except (SchemaError, RuntimeError, OSError) as error:
            print(f"waiting for the server or the store: {type(error).__name__}", file=sys.stderr, flush=True)
            await asyncio.sleep(1)
    worker = Worker(
        client,
        task_queue=settings.task_queue,
        workflows=list(WORKFLOWS),
        activities=activities_for(settings),
        interceptors=[AttemptLog(attempts)],
        **pacing_options(settings),
    )
    print(f"worker ready pid={os.getpid()}", flush=True)
    await worker.run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
