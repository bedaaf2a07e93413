"""Connecting by Temporal's own convention: TOML profiles and TEMPORAL_* variables, with
AMI_TEMPORAL_ADDRESS / AMI_TEMPORAL_NAMESPACE still overriding; and a real mTLS connection through a
TLS front (tests/tls_proxy.py) to the test server."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.service import TLSConfig
from temporalio.testing import WorkflowEnvironment

from ami.infra.client import connect
from ami.infra.connection import ConnectionConfigError, resolve
from ami.infra.pki import make_pki
from ami.infra.settings import Settings
from tests.tls_proxy import tls_proxy

PROFILES = """
[profile.default]
address = "file-default:7233"
namespace = "file-ns"

[profile.prod]
address = "prod.example.org:7233"
namespace = "ami-prod"
api_key = "from-the-file"
"""


@pytest.fixture
def no_ami_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AMI_TEMPORAL_ADDRESS", "AMI_TEMPORAL_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "temporal.toml"
    path.write_text(PROFILES, encoding="utf-8")
    return path


def test_defaults_without_any_configuration(no_ami_env: None, tmp_path: Path) -> None:
    target = resolve(Settings(), env={"HOME": str(tmp_path)})
    assert (target.address, target.namespace, target.tls, target.api_key) == ("localhost:7233", "default", False, None)
    assert target.security == "sans TLS"


def test_file_profile_is_read(no_ami_env: None, config_file: Path) -> None:
    target = resolve(Settings(), env={"TEMPORAL_CONFIG_FILE": str(config_file)})
    assert (target.address, target.namespace, target.profile) == ("file-default:7233", "file-ns", "default")


def test_env_overrides_file_and_selects_the_profile(no_ami_env: None, config_file: Path) -> None:
    env = {
        "TEMPORAL_CONFIG_FILE": str(config_file),
        "TEMPORAL_PROFILE": "prod",
        "TEMPORAL_NAMESPACE": "ami-from-env",
        "TEMPORAL_API_KEY": "from-the-env",
    }
    target = resolve(Settings(), env=env)
    assert target.address == "prod.example.org:7233"  # from the file's prod profile
    assert target.namespace == "ami-from-env"  # the variable beats the file
    assert target.api_key == "from-the-env"
    assert target.tls is True  # an API key implies TLS
    assert target.security == "TLS, clé d'API" and "from-the" not in target.describe()


def test_ami_settings_override_the_profile(config_file: Path) -> None:
    env = {"TEMPORAL_CONFIG_FILE": str(config_file), "TEMPORAL_ADDRESS": "env:7233", "TEMPORAL_NAMESPACE": "env-ns"}
    target = resolve(Settings(temporal_address="ami-override:7233"), env=env)
    assert target.address == "ami-override:7233"
    assert target.namespace == "env-ns"  # AMI_TEMPORAL_NAMESPACE unset: the profile decides
    target = resolve(Settings(temporal_address="a:1", temporal_namespace="ami-ns"), env=env)
    assert target.namespace == "ami-ns"


def test_ami_variables_from_the_environment_override(monkeypatch: pytest.MonkeyPatch, config_file: Path) -> None:
    monkeypatch.setenv("AMI_TEMPORAL_ADDRESS", "compose-temporal:7233")
    monkeypatch.delenv("AMI_TEMPORAL_NAMESPACE", raising=False)
    target = resolve(Settings(), env={"TEMPORAL_CONFIG_FILE": str(config_file)})
    assert (target.address, target.namespace) == ("compose-temporal:7233", "file-ns")


def test_mtls_files_are_loaded(no_ami_env: None, tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    env = {
        "TEMPORAL_ADDRESS": "cluster:7233",
        "TEMPORAL_TLS_CLIENT_CERT_PATH": str(pki.client_cert),
        "TEMPORAL_TLS_CLIENT_KEY_PATH": str(pki.client_key),
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(pki.ca_cert),
        "TEMPORAL_TLS_SERVER_NAME": "localhost",
    }
    target = resolve(Settings(), env=env)
    assert isinstance(target.tls, TLSConfig)
    assert target.tls.client_cert == pki.client_cert.read_bytes()
    assert target.tls.domain == "localhost"
    assert target.security == "mTLS"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TEMPORAL_PROFILE": "absent"}, "profil « absent »"),
        (
            {"TEMPORAL_TLS_CLIENT_CERT_PATH": "/nulle/part.pem", "TEMPORAL_TLS_CLIENT_KEY_PATH": "/nulle/part.key"},
            "certificat client introuvable",
        ),
    ],
)
def test_bad_configuration_is_a_french_error(no_ami_env: None, config_file: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(ConnectionConfigError, match=message):
        resolve(Settings(), env={"TEMPORAL_CONFIG_FILE": str(config_file), **env})


def test_missing_config_file_is_named(no_ami_env: None, tmp_path: Path) -> None:
    with pytest.raises(ConnectionConfigError, match="introuvable"):
        resolve(Settings(), env={"TEMPORAL_CONFIG_FILE": str(tmp_path / "absent.toml")})


async def test_a_real_mtls_connection(
    time_env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_ami_env: None
) -> None:
    """`connect` reaches a server behind mutual TLS with the profile's certificates; without a client
    certificate the same front refuses it."""
    pki = make_pki(tmp_path)
    upstream = time_env.client.service_client.config.target_host
    async with tls_proxy(pki, upstream) as front:
        monkeypatch.setenv("TEMPORAL_ADDRESS", front)
        monkeypatch.setenv("TEMPORAL_TLS_SERVER_CA_CERT_PATH", str(pki.ca_cert))
        monkeypatch.setenv("TEMPORAL_TLS_SERVER_NAME", "localhost")
        monkeypatch.setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", str(pki.client_cert))
        monkeypatch.setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", str(pki.client_key))
        client = await connect(Settings())
        assert client.service_client.config.target_host == front
        assert await client.service_client.check_health()
        monkeypatch.delenv("TEMPORAL_TLS_CLIENT_CERT_PATH")
        monkeypatch.delenv("TEMPORAL_TLS_CLIENT_KEY_PATH")
        with pytest.raises(RuntimeError):
            await connect(Settings())
