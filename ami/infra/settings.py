"""Settings from the environment (prefix `AMI_`), with defaults that run everything locally."""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ami.data import bundled


class SmtpTls(StrEnum):
    NONE = "none"
    STARTTLS = "starttls"  # STARTTLS required: a server without it is refused
    IMPLICIT = "implicit"  # TLS from the first byte (port 465)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AMI_", extra="ignore")

    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    task_queue: str = "ami"

    data_dir: Path = Path("var")  # relative to where the command runs
    database_url: str = ""  # empty: an SQLite file under data_dir

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_tls: SmtpTls = SmtpTls.NONE
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_timeout: float = Field(default=30.0, gt=0)
    smtp_validate_certs: bool = True
    smtp_ca_file: Path | None = None  # PEM bundle trusted instead of the system CAs (a private relay CA)
    mail_from: str = "Apes Hauts-de-France <ami@example.org>"
    message_id_domain: str = "ami.apes-hdf.example.org"

    templates_dir: Path | None = None  # coordinators' overrides, looked up before the bundled templates
    # Where the emails, the documents and the purge find a campaign's retention periods and privacy notice.
    campaigns_dir: Path = bundled("campaigns")
    demo: bool = False  # `ami demo`'s worker: emails and documents are marked as a demonstration

    # The portal (ami/app/portal, docs/portal.md). Its links are signed with these keys ("id:secret,..."):
    # every listed key verifies, the active one signs; removing a key revokes every link it signed.
    portal_keys: SecretStr = SecretStr("")
    portal_active_key: str = ""
    portal_base_url: str = ""  # empty: emails carry no portal link
    portal_host: str = "127.0.0.1"
    portal_port: int = Field(default=8090, ge=0, le=65535)
    portal_campaign: str = "ami-2024"  # the campaign file the public pages show
    portal_campaign_id: str = ""  # the running campaign's workflow id suffix, when it differs from the file's id
    portal_link_days: int = Field(default=400, ge=1)  # a dossier's link lasts the whole cycle
    portal_max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)

    # Production: see ami/infra/telemetry.py, ami/worker/health.py, ami/worker/monitor.py and docs/deployment.md.
    metrics_address: str = ""  # host:port of the Prometheus /metrics of `ami worker` (SDK + business metrics); empty: off
    health_address: str = ""  # host:port of /healthz and /readyz of `ami worker`; empty: off
    metrics_scan_seconds: float = Field(default=60.0, ge=0)  # how often the business gauges are recomputed (0: never)
    deployment_name: str = ""  # Worker Versioning: the deployment (e.g. "ami"); empty: an unversioned worker
    build_id: str = ""  # Worker Versioning: this image's build id (e.g. the release tag); required with deployment_name
    otel_endpoint: str = ""  # OTLP/HTTP traces endpoint (ami/infra/tracing.py, extra "otel"); empty: no tracing

    # Workflows a worker keeps in memory (about 200-330 KiB each). Past it, the least recently active are
    # evicted, and replayed from their history at their next task: a candidature parked for weeks on
    # a timer costs no memory, and the worker's memory follows the active work, not the number of
    # dossiers (docs/performance.md). The SDK's default is 1,000. When more workflows are active at
    # once than it holds (a response date wakes every candidature of a campaign), each of their
    # tasks replays its history: size it to the largest campaign plus a margin (docs/deployment.md §8;
    # the alert AmiCacheDesWorkflowsTropPetit says when it is too small).
    max_cached_workflows: int = Field(default=100, ge=0)
    # Seconds between two memory releases of `ami worker` (garbage collection, then malloc_trim):
    # evicted workflows leave freed memory that the process would otherwise keep. 0: never.
    memory_release_seconds: float = Field(default=60.0, ge=0)
    # Processes that render the PDFs of `make_document` for the worker (ami/infra/documents/pool.py):
    # a document holds the GIL for tens of ms, which the workflow tasks of the worker's own process
    # must not wait behind. One is enough for the engine's volume (a summary costs about 60 ms of
    # CPU, a campaign's decision letters come by the hundred) and leaves the other core of a
    # two-core host to the worker; more only help a host with cores to spare. About 80 MiB of memory each.
    # 0: render in a thread of the worker's process (the tests, the chaos workers).
    document_processes: int = Field(default=1, ge=0)
    # Activities one worker runs at once (Temporal's `max_concurrent_activities`, 100 by default). The
    # others wait on the server's task queue, where no timeout runs: a worker takes only the work its
    # cores can do, instead of a hundred tasks that each wait for CPU, for the document process and
    # for the store until their heartbeat timeout cancels them (docs/performance.md, "The region with
    # real activities", "Third round", where 20 and 100 are compared). 20 covers a slow SMTP relay
    # (each email waits on it, not on the CPU).
    max_concurrent_activities: int = Field(default=20, ge=1)
    # Workflow tasks one worker runs at once (Temporal's `max_concurrent_workflow_tasks`, 100 by default).
    # Their Python runs under one GIL: a hundred at once each took 5-10 s when the deliberation woke a
    # thousand candidatures, near their 10 s timeout; ten at once take at most about a second, and
    # the region's decisions were all sent in 40 % less time (docs/performance.md, "Third round").
    max_concurrent_workflow_tasks: int = Field(default=10, ge=2)

    @field_validator("smtp_username", "smtp_password", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        # An empty variable (as compose files leave them) means "no login", not an empty login.
        return None if value == "" else value

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'ami.db'}"


@cache
def get_settings() -> Settings:
    return Settings()
