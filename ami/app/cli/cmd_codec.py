"""Encryption tooling: `ami codec-server` (decryption for the Web UI) and `ami codec-key` (a new key)."""

from __future__ import annotations

import argparse
import asyncio
import secrets
from typing import Any

from ami.app.cli.common import EXIT_MALFORMED, EXIT_OK, EXIT_UNAVAILABLE, err, fail, out, run


def register(commands: Any) -> None:
    server = commands.add_parser(
        "codec-server",
        help="serveur de décodage des données chiffrées, pour l'interface Temporal et la commande temporal (POST /decode)",
    )
    server.add_argument("--host", default=None, help="adresse d'écoute (défaut : AMI_CODEC_SERVER_HOST, 127.0.0.1)")
    server.add_argument("--port", type=int, default=None, help="port (défaut : AMI_CODEC_SERVER_PORT, 8081)")
    server.set_defaults(handler=server_command)

    key = commands.add_parser("codec-key", help="générer une clé de chiffrement AES-256 au format de AMI_CODEC_KEYS")
    key.add_argument("key_id", help="identifiant de la clé, par exemple 2025-01 (lettres, chiffres, . _ -)")
    key.set_defaults(handler=key_command)


def server_command(args: argparse.Namespace) -> int:
    from ami.app.codec_server import CodecServer
    from ami.infra.codec import codec_from_settings
    from ami.infra.codec_auth import CodecAuthError, verifier_from_settings
    from ami.infra.codec_settings import CodecSettingsError, get_codec_settings

    settings = get_codec_settings()
    try:
        codec = codec_from_settings(settings, allow_plaintext=True)  # it shows, it never acts
        verifier = verifier_from_settings(settings)
    except (CodecSettingsError, CodecAuthError) as error:
        fail(str(error), EXIT_MALFORMED)
    if codec is None:
        fail("aucune clé de chiffrement (AMI_CODEC_KEYS vide) : il n'y a rien à décoder.", EXIT_MALFORMED)
    token = settings.codec_server_token.get_secret_value()
    if verifier is not None:
        token = ""  # per-user tokens only: the shared one is not accepted at all
    elif not token:
        # Never serve without a token; a per-run one is as safe and saves a setup step in development.
        token = secrets.token_urlsafe(32)
        err.print("AMI_CODEC_SERVER_TOKEN est vide : jeton aléatoire valable pour cette exécution seulement.")
    host = args.host or settings.codec_server_host
    port = settings.codec_server_port if args.port is None else args.port
    try:
        server = CodecServer(codec, token, settings.cors_origins(), host=host, port=port, verifier=verifier)
    except OSError as error:
        err.print(f"Impossible d'écouter sur {host}:{port} : {error.strerror or error}")
        return EXIT_UNAVAILABLE
    except ValueError as error:
        fail(str(error), EXIT_MALFORMED)

    async def serve() -> int:
        with server:
            out.print(f"Serveur de codec sur {server.url} (clés : {', '.join(sorted(codec.key_ids))}) — Ctrl-C pour arrêter.")
            out.print(f"Origines autorisées : {', '.join(sorted(settings.cors_origins())) or '(aucune)'}")
            if verifier is not None:
                out.print(f"Jetons d'utilisateur OIDC exigés (émetteur {verifier.issuer}, audience {verifier.audience}).", soft_wrap=True)
            else:
                out.print(f"Interface Temporal : temporal server start-dev --ui-codec-endpoint {server.ui_endpoint}", soft_wrap=True)
                out.print(f'Commande temporal : --codec-endpoint {server.url} --codec-auth "Bearer {token}"', soft_wrap=True)
                out.print("Ces deux lignes contiennent le jeton : ne les partagez pas.", style="yellow")
            await asyncio.Event().wait()
        return EXIT_OK

    return run(serve())


def key_command(args: argparse.Namespace) -> int:
    from ami.infra.codec import new_key_entry
    from ami.infra.codec_settings import CodecSettings, CodecSettingsError

    entry = new_key_entry(args.key_id)
    try:
        CodecSettings(codec_keys=entry).keyring()  # validates the id the user chose
    except CodecSettingsError as error:
        fail(str(error), EXIT_MALFORMED)
    # Only the entry on stdout, so that it can be piped into a secret store.
    print(entry)
    err.print(
        "Ajoutez cette entrée à AMI_CODEC_KEYS (séparée par une virgule) ; pour chiffrer avec elle, "
        f"AMI_CODEC_ACTIVE_KEY={args.key_id}. Gardez les anciennes clés tant que des historiques les utilisent."
    )
    return EXIT_OK
