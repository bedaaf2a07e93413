"""How often the engine's worker rebuilt a workflow from its history.

A workflow the worker holds in its cache (`AMI_MAX_CACHED_WORKFLOWS`) takes its next task where it
left off; one that was evicted (or whose sticky task went to the shared queue) is instantiated again
and replayed from its first event. This interceptor counts, per workflow type, the instances that
began with a fresh start and those that began by replaying: the second count is the replays a
workflow task paid for, the cost a small cache moves from memory to CPU.

The bench puts it on its client; the worker takes a client's worker interceptors as its own.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from temporalio import client, workflow
from temporalio.worker import ExecuteWorkflowInput, Interceptor, WorkflowInboundInterceptor, WorkflowInterceptorClassInput


class RebuildCounter(client.Interceptor, Interceptor):  # a client's interceptor, so the worker takes it
    def __init__(self) -> None:
        self.starts: Counter[str] = Counter()
        self.rebuilds: Counter[str] = Counter()
        self._lock = threading.Lock()  # workflow activations run on the worker's threads

    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        counter = self

        class Inbound(WorkflowInboundInterceptor):
            async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
                kind = workflow.info().workflow_type
                with counter._lock:
                    (counter.rebuilds if workflow.unsafe.is_replaying() else counter.starts)[kind] += 1
                return await super().execute_workflow(input)

        return Inbound

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {kind: {"starts": self.starts[kind], "rebuilds": self.rebuilds[kind]} for kind in sorted(self.starts | self.rebuilds)}

    def since(self, before: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        """The counts since `before` (a snapshot)."""
        now = self.snapshot()
        zero = {"starts": 0, "rebuilds": 0}
        return {kind: {k: v - before.get(kind, zero)[k] for k, v in counts.items()} for kind, counts in now.items()}
