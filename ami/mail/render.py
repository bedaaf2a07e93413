"""Render a notification from its template: subject, plain text and HTML (autoescaped).

Each purpose is one file `templates/email/<purpose>.j2` extending `_base.j2` with three blocks
(`subject`, `text`, `body`); the layout renders one part at a time (`part` in the context), the HTML
part in an autoescaping environment so nothing a collectivité wrote can inject markup. Coordinators override any of them by putting a file of the same name in the folder set
by `AMI_TEMPLATES_DIR`; the bundled ones are the fallback.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

BUNDLED = Path(__file__).resolve().parent.parent.parent / "templates" / "email"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _parse(value: str | datetime | date) -> datetime | date:
    if isinstance(value, str):
        return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    return value


def date_fr(value: str | datetime | date, tz: str = "Europe/Paris") -> str:
    """« 8 septembre 2024 »."""
    parsed = _parse(value)
    if isinstance(parsed, datetime):
        parsed = parsed.astimezone(ZoneInfo(tz)).date()
    return format_date(parsed, format="long", locale="fr_FR")


def datetime_fr(value: str | datetime, tz: str = "Europe/Paris") -> str:
    """« 8 septembre 2024 à 14 h 00 » in the campaign's zone."""
    parsed = _parse(value)
    assert isinstance(parsed, datetime)
    local = parsed.astimezone(ZoneInfo(tz))
    return format_date(local.date(), format="long", locale="fr_FR") + format_datetime(local, " 'à' H 'h' mm", locale="fr_FR")


def _deadline_day(value: str, tz: str = "Europe/Paris") -> str:
    """A deadline instant is the first instant after the last day: show that last day."""
    from datetime import timedelta

    parsed = _parse(value)
    assert isinstance(parsed, datetime)
    return date_fr(parsed - timedelta(microseconds=1), tz)


@cache
def _environments(override: str | None) -> tuple[Environment, Environment]:
    loaders = [FileSystemLoader(override)] if override else []
    loader = ChoiceLoader([*loaders, FileSystemLoader(str(BUNDLED))])
    html = Environment(loader=loader, autoescape=select_autoescape(default=True, default_for_string=True), undefined=StrictUndefined)
    text = Environment(loader=loader, autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True)
    for env in (html, text):
        env.filters.update(date_fr=date_fr, datetime_fr=datetime_fr, deadline_day=_deadline_day)
    return html, text


def render(purpose: str, context: dict[str, Any], override_dir: Path | None = None) -> Rendered:
    html_env, text_env = _environments(str(override_dir) if override_dir else None)
    name = f"{purpose}.j2"
    text_template = text_env.get_template(name)
    subject = text_template.render({**context, "part": "subject"}).strip()
    text = text_template.render({**context, "part": "text"}).strip() + "\n"
    html = html_env.get_template(name).render({**context, "part": "html"})
    return Rendered(subject=" ".join(subject.split()), text=text, html=html)


def purposes() -> list[str]:
    return sorted(p.stem for p in BUNDLED.glob("*.j2") if not p.stem.startswith("_"))
