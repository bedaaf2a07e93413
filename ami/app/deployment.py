"""Worker Versioning operations: make a build the current version of the deployment, and
show what runs where. The worker side is in ami/worker/runner.py (`deployment_config`).

A versioned worker (AMI_DEPLOYMENT_NAME + AMI_BUILD_ID) polls, but gets no task until its build is
made *current*: deploy the new image beside the old one, check it (`ami replay --from-server`), then
`ami deployment set-current BUILD_ID`. Every workflow (AUTO_UPGRADE, see ami/worker/runner.py) moves to the new
build at its next workflow task; the old workers drain and can be stopped. Rolling back is
`set-current` with the previous build id, as long as its workers still run.
"""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.api.deployment.v1 import WorkerDeploymentInfo
from temporalio.api.enums.v1 import WorkerDeploymentVersionStatus
from temporalio.api.workflowservice.v1 import DescribeWorkerDeploymentRequest, SetWorkerDeploymentCurrentVersionRequest
from temporalio.client import Client

IDENTITY = "ami deployment"


@dataclass(frozen=True)
class VersionRow:
    build_id: str
    status: str  # current, ramping, draining, drained, inactive
    current: bool


async def set_current(client: Client, deployment_name: str, build_id: str) -> str:
    """Route every new workflow task of the deployment to `build_id`; returns the previous current
    build id ("" when none was). Raises RPCError (e.g. NOT_FOUND while no worker of that build has polled)."""
    response = await client.workflow_service.set_worker_deployment_current_version(
        SetWorkerDeploymentCurrentVersionRequest(
            namespace=client.namespace, deployment_name=deployment_name, build_id=build_id, identity=IDENTITY
        )
    )
    return str(response.previous_deployment_version.build_id)


async def describe(client: Client, deployment_name: str) -> WorkerDeploymentInfo:
    response = await client.workflow_service.describe_worker_deployment(
        DescribeWorkerDeploymentRequest(namespace=client.namespace, deployment_name=deployment_name)
    )
    return response.worker_deployment_info


def versions(info: WorkerDeploymentInfo) -> list[VersionRow]:
    current = info.routing_config.current_deployment_version.build_id
    rows = []
    for summary in info.version_summaries:
        status = WorkerDeploymentVersionStatus.Name(summary.status).removeprefix("WORKER_DEPLOYMENT_VERSION_STATUS_").lower()
        rows.append(
            VersionRow(build_id=summary.deployment_version.build_id, status=status, current=summary.deployment_version.build_id == current)
        )
    return rows
