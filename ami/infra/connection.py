"""Where and how to reach Temporal, by Temporal's own convention.

The SDK's environment configuration (`temporalio.envconfig`) reads a TOML file of profiles
(`~/.config/temporalio/temporal.toml`, or `TEMPORAL_CONFIG_FILE`) and the `TEMPORAL_*` variables
(`TEMPORAL_PROFILE`, `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`,
`TEMPORAL_TLS_CLIENT_CERT_PATH`, `TEMPORAL_TLS_CLIENT_KEY_PATH`, `TEMPORAL_TLS_SERVER_CA_CERT_PATH`,
`TEMPORAL_TLS_SERVER_NAME`, `TEMPORAL_TLS`, …), the variables overriding the file. The `temporal`
CLI reads the same, so an operator configures one profile for both.

On top of that, ami's own `AMI_TEMPORAL_ADDRESS` and `AMI_TEMPORAL_NAMESPACE` still win when they
are set (the compose file, the tests and `ami dev` use them); unset, the profile decides, then the
defaults (`localhost:7233`, `default`).

Everything that connects (the worker, every `ami` command, the portal) goes through
`ami.infra.client.connect`, which calls `resolve` here: one place, one precedence.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.envconfig import ClientConfigProfile
from temporalio.service import TLSConfig

from ami.infra.settings import Settings

# The Temporal variables a deployment may set on our services (read by envconfig, not by Settings);
# tests/test_compose.py accepts them beside the AMI_ settings.
ENVCONFIG_VARIABLES = frozenset(
    {
        "TEMPORAL_CONFIG_FILE",
        "TEMPORAL_PROFILE",
        "TEMPORAL_ADDRESS",
        "TEMPORAL_NAMESPACE",
        "TEMPORAL_API_KEY",
        "TEMPORAL_TLS",
        "TEMPORAL_TLS_CLIENT_CERT_PATH",
        "TEMPORAL_TLS_CLIENT_KEY_PATH",
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
        "TEMPORAL_TLS_SERVER_NAME",
        "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION",
    }
)


class ConnectionConfigError(ValueError):
    """A profile or a TLS file that cannot be used; `str()` is a French message without secrets."""


@dataclass(frozen=True)
class Target:
    """The resolved arguments of `Client.connect` (and where they came from, for messages)."""

    address: str
    namespace: str
    tls: bool | TLSConfig = False
    api_key: str | None = None
    rpc_metadata: Mapping[str, str] = field(default_factory=dict)
    profile: str = "default"

    @property
    def security(self) -> str:
        """In French, for logs and errors: how the connection is secured (never the secret itself)."""
        if isinstance(self.tls, TLSConfig) and self.tls.client_cert:
            mode = "mTLS"
        elif self.tls:
            mode = "TLS"
        else:
            mode = "sans TLS"
        return f"{mode}, clé d'API" if self.api_key else mode

    def describe(self) -> str:
        return f"{self.address} (espace « {self.namespace} », {self.security}, profil « {self.profile} »)"


def resolve(settings: Settings, env: Mapping[str, str] | None = None) -> Target:
    """The connection for `settings`: AMI_TEMPORAL_* when set, else the envconfig profile (the
    `TEMPORAL_*` variables over the TOML file), else the defaults. `env` replaces `os.environ` for the
    profile (tests); the AMI_ overrides come from `settings`, which read the environment themselves."""
    environ = dict(os.environ if env is None else env)
    profile_name = environ.get("TEMPORAL_PROFILE") or "default"
    config_file = environ.get("TEMPORAL_CONFIG_FILE")
    if config_file and not Path(config_file).is_file():
        raise ConnectionConfigError(f"TEMPORAL_CONFIG_FILE désigne un fichier introuvable : {config_file}")
    try:
        profile = ClientConfigProfile.load(override_env_vars=environ)
    except Exception as error:  # the bridge's ConfigError: missing profile, TOML syntax, bad value
        raise ConnectionConfigError(f"configuration de connexion Temporal illisible (profil « {profile_name} ») : {error}") from None
    _check_tls_files(profile)
    connect = profile.to_client_connect_config()
    explicit = settings.model_fields_set
    address = settings.temporal_address if "temporal_address" in explicit else (profile.address or settings.temporal_address)
    namespace = settings.temporal_namespace if "temporal_namespace" in explicit else (profile.namespace or settings.temporal_namespace)
    return Target(
        address=address,
        namespace=namespace,
        tls=connect.get("tls", False),
        api_key=profile.api_key,
        rpc_metadata=dict(profile.grpc_meta),
        profile=profile_name,
    )


def _check_tls_files(profile: ClientConfigProfile) -> None:
    """Reading the certificate files happens in `to_client_connect_config`: say which one is missing."""
    tls = profile.tls
    if tls is None:
        return
    for label, source in (
        ("certificat client", tls.client_cert),
        ("clé privée client", tls.client_private_key),
        ("autorité du serveur", tls.server_root_ca_cert),
    ):
        if isinstance(source, Path) and not source.is_file():
            raise ConnectionConfigError(f"TLS : fichier {label} introuvable : {source}")
