"""Static checks of the deployment files (no Docker engine runs here): docker-compose.yml, the
Dockerfile, .env.example and .dockerignore."""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from ami.infra.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERIGNORE = ROOT / ".dockerignore"

# An image reference: [registry[:port]/]name[:tag][@digest]; the tag is what follows the last ':' after the last '/'.
_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")
SECRETS = (
    "POSTGRES_PASSWORD",
    "AMI_CODEC_KEYS",
    "AMI_CODEC_SERVER_TOKEN",
    "OIDC_CLIENT_SECRET",
    "OAUTH2_PROXY_COOKIE_SECRET",
    "GRAFANA_ADMIN_PASSWORD",
    "AMI_PORTAL_KEYS",
)


def settings_classes() -> list[type[BaseSettings]]:
    classes: list[type[BaseSettings]] = [Settings]
    try:
        from ami.infra.codec_settings import CodecSettings
    except ImportError:  # not built yet: only ami.infra.settings counts
        pass
    else:
        classes.append(CodecSettings)
    return classes


def settings_variables() -> set[str]:
    """Every environment variable the engine reads: env_prefix + field name, as pydantic-settings does."""
    names: set[str] = set()
    for cls in settings_classes():
        prefix = str(cls.model_config.get("env_prefix", ""))
        names |= {(prefix + field).upper() for field in cls.model_fields}
    return names


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and isinstance(data.get("services"), dict), "docker-compose.yml : pas de section services"
    return data


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]  # type: ignore[no-any-return]


def ours(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Our own services: the ones built from the project's Dockerfile."""
    return {name: svc for name, svc in services(compose).items() if "build" in svc}


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): str(v) for k, v in env.items()}


def command(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command") or []
    return shlex.split(cmd) if isinstance(cmd, str) else [str(c) for c in cmd]


def image_tag(image: str) -> str | None:
    reference = image.split("@", 1)[0]
    last = reference.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name} : ligne sans « = » : {line!r}"
        values[key.strip()] = value.strip().strip('"')
    return values


def interpolations(text: str) -> list[tuple[str, str, str]]:
    return [(m.group(1), m.group(2) or "", m.group(3) or "") for m in _INTERPOLATION.finditer(text)]


def ami_subcommands() -> set[str]:
    """Registered `ami` commands, as 'worker', 'db upgrade', … (first positional choices included)."""
    import argparse

    from ami.app.cli.main import build_parser

    found: set[str] = set()

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found.add(f"{prefix}{name}")
                    walk(sub, f"{prefix}{name} ")
            elif not action.option_strings and action.choices and prefix:
                found.update(f"{prefix}{choice}" for choice in action.choices)

    walk(build_parser(), "")
    return found


# --- the compose file --------------------------------------------------------------------------


def test_compose_parses_with_the_expected_services(compose: dict[str, Any]) -> None:
    names = set(services(compose))
    for expected in ("postgresql", "temporal", "temporal-ui", "mailpit", "worker", "codec-server", "search-attributes", "portal"):
        assert expected in names, f"service {expected} absent de docker-compose.yml"
    for name, svc in services(compose).items():
        assert "image" in svc or "build" in svc, f"{name} : ni image ni build"


def test_every_image_is_pinned(compose: dict[str, Any]) -> None:
    for name, svc in services(compose).items():
        image = svc.get("image")
        if image is None:
            continue
        assert "${" not in image, f"{name} : l'image {image} dépend d'une variable, elle n'est pas figée"
        tag = image_tag(image)
        assert tag, f"{name} : l'image {image} n'a pas d'étiquette"
        assert tag != "latest" and "latest" not in tag, f"{name} : l'image {image} n'est pas figée"
        assert re.search(r"\d", tag), f"{name} : l'étiquette {tag} ne porte pas de numéro de version"


def test_worker_is_built_from_our_dockerfile_and_scalable(compose: dict[str, Any]) -> None:
    worker = services(compose)["worker"]
    build = worker["build"]
    context = build if isinstance(build, str) else build.get("context", ".")
    dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    assert (ROOT / context).resolve() == ROOT and (ROOT / context / dockerfile).resolve() == DOCKERFILE
    # `docker compose up --scale worker=N`: no fixed name, no host port, no fixed hostname.
    for key in ("container_name", "ports", "hostname"):
        assert key not in worker, f"worker : « {key} » empêche --scale worker=N"
    assert command(worker) in ([], ["worker"]), "le worker doit lancer `ami worker`"
    assert any(str(v).endswith(":/var/lib/ami") for v in worker.get("volumes", [])), "les documents doivent être partagés entre répliques"


def test_no_container_names(compose: dict[str, Any]) -> None:
    for name, svc in services(compose).items():
        assert "container_name" not in svc, f"{name} : container_name empêche deux piles côte à côte"


def test_our_services_only_set_settings_variables(compose: dict[str, Any]) -> None:
    known = settings_variables()
    assert "AMI_TEMPORAL_ADDRESS" in known and "AMI_SMTP_HOST" in known
    assert ours(compose), "aucun service construit depuis le Dockerfile"
    from ami.infra.connection import ENVCONFIG_VARIABLES

    for name, svc in ours(compose).items():
        for variable in environment(svc):
            if variable in ENVCONFIG_VARIABLES:  # Temporal's own connection variables (ami/infra/connection.py)
                continue
            assert variable.startswith("AMI_"), f"{name} : {variable} n'est pas une variable du moteur (préfixe AMI_)"
            assert variable in known, f"{name} : {variable} n'est lu par aucun réglage (ami/infra/settings.py, ami/infra/codec_settings.py)"
        assert "env_file" not in svc, f"{name} : env_file ferait passer des variables non vérifiées"


def test_ami_interpolations_are_settings(compose: dict[str, Any]) -> None:
    """The AMI_ prefix is the engine's: a compose-only knob must not look like a setting."""
    known = settings_variables()
    for variable, _, _ in interpolations(COMPOSE_FILE.read_text(encoding="utf-8")):
        if variable.startswith("AMI_"):
            assert variable in known, f"${{{variable}}} ressemble à un réglage du moteur mais n'en est pas un"


def test_worker_reaches_the_stack(compose: dict[str, Any]) -> None:
    env = environment(services(compose)["worker"])
    assert env["AMI_TEMPORAL_ADDRESS"] == "temporal:7233"
    assert env["AMI_DATABASE_URL"].startswith("postgresql://") and "@postgresql:5432/" in env["AMI_DATABASE_URL"]
    # The relay is the production one, required; Mailpit only answers with the dev profile.
    assert env["AMI_SMTP_HOST"].startswith("${AMI_SMTP_HOST:?")
    # Values must validate as settings (ports are ints, TLS one of the modes, …) once defaults apply.
    resolved = {k.removeprefix("AMI_").lower(): _default(v) for k, v in env.items()}
    for cls in settings_classes():
        cls.model_validate({k: v for k, v in resolved.items() if k in cls.model_fields})


def _default(value: str) -> str:
    """`${X:-default}` → default; a required `${X:?…}` → a placeholder."""

    def replace(m: re.Match[str]) -> str:
        op, arg = m.group(2) or "", m.group(3) or ""
        return arg if op in (":-", "-") else "placeholder"

    return _INTERPOLATION.sub(replace, value)


def test_temporal_runs_on_postgresql_with_our_search_attributes(compose: dict[str, Any]) -> None:
    svcs = services(compose)
    temporal = svcs["temporal"]
    env = environment(temporal)
    assert env["DB"] in ("postgres12", "postgres12_pgx") and env["POSTGRES_SEEDS"] == "postgresql"
    assert image_tag(temporal["image"]) and temporal["image"].startswith("temporalio/server:"), "le serveur, pas auto-setup"
    assert temporal["depends_on"]["temporal-schema"]["condition"] == "service_completed_successfully"
    schema = " ".join(command(svcs["temporal-schema"]))
    for database, directory in (("temporal", "v12/temporal/versioned"), ("temporal_visibility", "v12/visibility/versioned")):
        assert f"--db {database} update-schema -d /etc/temporal/schema/postgresql/{directory}" in schema
    assert image_tag(svcs["temporal-schema"]["image"]).startswith(image_tag(temporal["image"]) + "-"), (
        "outil de schéma et serveur de la même version"
    )
    registrar = svcs["search-attributes"]
    assert "ami search-attributes register" in " ".join(command(registrar)), "les attributs sont déclarés par notre commande"
    assert environment(registrar)["AMI_TEMPORAL_ADDRESS"] == "temporal:7233"
    depends = svcs["worker"]["depends_on"]
    assert depends["search-attributes"]["condition"] == "service_completed_successfully"


def test_ui_gets_the_codec_endpoint(compose: dict[str, Any]) -> None:
    svcs = services(compose)
    ui_env = environment(svcs["temporal-ui"])
    assert ui_env["TEMPORAL_ADDRESS"] == "temporal:7233"
    endpoint = ui_env.get("TEMPORAL_CODEC_ENDPOINT", "")
    assert endpoint.startswith("https://${PUBLIC_HOST") and "/codec/" in endpoint, endpoint
    # The Web UI sends no custom header: the token is the path segment before /decode.
    last = list(_INTERPOLATION.finditer(endpoint))[-1]
    assert last.group(1) == "AMI_CODEC_SERVER_TOKEN" and last.end() == len(endpoint), endpoint
    assert endpoint[: last.start()].endswith("/"), endpoint
    codec = svcs["codec-server"]
    assert command(codec) == ["codec-server"]
    codec_env = environment(codec)
    assert codec_env["AMI_CODEC_SERVER_HOST"] == "0.0.0.0"
    assert "ports" not in codec, "le serveur de codec n'est joint qu'à travers le proxy"
    caddyfile = (ROOT / "deploy" / "caddy" / "Caddyfile").read_text(encoding="utf-8")
    assert re.search(r"handle_path /codec/\*\s*\{\s*reverse_proxy codec-server:" + codec_env["AMI_CODEC_SERVER_PORT"], caddyfile)
    # The browser's origin (the UI) is the one the codec server allows.
    assert codec_env["AMI_CODEC_CORS_ORIGINS"] == ui_env["TEMPORAL_CORS_ORIGINS"]


def test_commands_of_our_services_exist() -> None:
    """Each `ami …` our services run is a registered command (some are being built in parallel)."""
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    known = ami_subcommands()
    wanted = {"worker", "search-attributes register"}
    for svc in ours(data).values():
        args = command(svc)
        if args and not svc.get("entrypoint"):
            wanted.add(" ".join(a for a in args if not a.startswith("-")))
    missing = sorted(c for c in wanted if c not in known)
    if missing:
        message = "commandes `ami` utilisées par docker-compose.yml mais pas encore enregistrées : " + ", ".join(missing)
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


# --- .env.example ----------------------------------------------------------------------------------


def test_env_example_documents_every_variable_without_secrets() -> None:
    example = env_file(ENV_EXAMPLE)
    known = settings_variables()
    for key in example:
        if key.startswith("AMI_"):
            assert key in known, f".env.example : {key} n'est pas un réglage du moteur"
    for variable, _, _ in interpolations(COMPOSE_FILE.read_text(encoding="utf-8")):
        assert variable in example, f".env.example ne documente pas {variable}"
    for secret in SECRETS:
        assert example[secret] == "", f".env.example : {secret} doit rester vide (aucun secret versionné)"


def test_required_secrets_are_enforced_by_compose() -> None:
    """A secret left empty stops `docker compose up` with a message, instead of running without it."""
    seen = {v: op for v, op, _ in interpolations(COMPOSE_FILE.read_text(encoding="utf-8"))}
    for secret in SECRETS:
        assert seen.get(secret) == ":?", f"{secret} doit être obligatoire (${{{secret}:?…}})"


# --- the Dockerfile ----------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, rest = line.partition(" ")
            out.append((op.upper(), rest.strip()))
    return out


def test_dockerfile_base_image_is_pinned() -> None:
    bases = [rest.split()[0] for op, rest in dockerfile_instructions() if op == "FROM"]
    assert bases, "Dockerfile sans FROM"
    for base in bases:
        tag = image_tag(base)
        assert tag and tag != "latest" and "latest" not in tag, f"image de base non figée : {base}"
        assert "${" not in base and "$" not in base
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?", bases[-1]), f"base attendue python:3.11.x-slim, trouvée {bases[-1]}"


def test_dockerfile_runs_ami_worker_as_non_root() -> None:
    instructions = dockerfile_instructions()
    users = [rest for op, rest in instructions if op == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), "le conteneur doit tourner sans root"
    assert any(op == "RUN" and "pip install" in rest for op, rest in instructions)
    entry = next(rest for op, rest in reversed(instructions) if op == "ENTRYPOINT")
    cmd = next(rest for op, rest in reversed(instructions) if op == "CMD")
    assert yaml.safe_load(entry) + yaml.safe_load(cmd) == ["ami", "worker"]


def test_dockerignore_keeps_what_the_image_copies() -> None:
    patterns = [p.strip() for p in DOCKERIGNORE.read_text(encoding="utf-8").splitlines() if p.strip() and not p.startswith("#")]
    excluded = [p for p in patterns if not p.startswith("!")]
    sources = [rest.split()[:-1] for op, rest in dockerfile_instructions() if op == "COPY" and not rest.startswith("--from")]
    for group in sources:
        for source in group:
            if source.startswith("--"):
                continue
            assert (ROOT / source).exists(), f"COPY {source} : absent du dépôt"
            assert not any(fnmatch.fnmatch(source, p) for p in excluded), f"COPY {source} : exclu par .dockerignore"
    for secret_file in (".env", ".git", ".venv"):
        assert any(fnmatch.fnmatch(secret_file, p) for p in excluded), f".dockerignore doit exclure {secret_file}"
