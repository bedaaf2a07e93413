"""CSRF tokens: double submit, keyed, single use.

A random value lives in an HttpOnly, SameSite=Lax cookie; each form carries
``<nonce>.<expiry>.<mac>`` where the MAC (under the portal's keys) binds the cookie's value, the
form's name and the nonce. A forged cross-site post has no cookie value to bind; a replayed post
reuses a nonce the store has already consumed (`Store.consume_nonce`).
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta

from ami.infra.links import Signer
from ami.models.problems import Problem, ProblemError

COOKIE = "ami_csrf"
FIELD = "csrf"
LIFETIME = timedelta(hours=12)
_COOKIE_VALUE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
_TOKEN = re.compile(r"^([A-Za-z0-9_-]{16,64})\.(\d{1,12})\.([0-9a-f]{64})$")


class CsrfProblem(Problem):
    MISSING = "missing", "Le formulaire n'a pas pu être vérifié (cookies désactivés ?). Rechargez la page et recommencez."
    INVALID = "invalid", "Le formulaire n'a pas pu être vérifié. Rechargez la page et recommencez."
    EXPIRED = "expired", "Le formulaire a expiré. Rechargez la page et recommencez."
    REPLAYED = "replayed", "Ce formulaire a déjà été envoyé : rechargez la page pour en envoyer un nouveau."


class CsrfError(ProblemError):
    problem: CsrfProblem


def new_cookie_value() -> str:
    return secrets.token_urlsafe(32)


def valid_cookie(value: str | None) -> bool:
    return bool(value and _COOKIE_VALUE.match(value))


def _message(cookie: str, form: str, nonce: str, expires: int) -> str:
    return f"csrf|{form}|{cookie}|{nonce}|{expires}"


def issue(signer: Signer, cookie: str, form: str, now: datetime | None = None) -> str:
    nonce = secrets.token_urlsafe(18)
    expires = int(((now or datetime.now(UTC)) + LIFETIME).timestamp())
    return f"{nonce}.{expires}.{signer.hmac_hex(_message(cookie, form, nonce, expires))}"


def check(signer: Signer, cookie: str | None, form: str, token: str | None, now: datetime | None = None) -> str:
    """The token's nonce (to be consumed once), or CsrfError."""
    if not valid_cookie(cookie) or not token:
        raise CsrfError(CsrfProblem.MISSING)
    assert cookie is not None
    match = _TOKEN.match(token)
    if not match:
        raise CsrfError(CsrfProblem.INVALID)
    nonce, expires, mac = match[1], int(match[2]), match[3]
    if not signer.hmac_any(_message(cookie, form, nonce, expires), mac):
        raise CsrfError(CsrfProblem.INVALID)
    if expires <= (now or datetime.now(UTC)).timestamp():
        raise CsrfError(CsrfProblem.EXPIRED)
    return nonce
