"""Render a notification from its template: subject, plain text and HTML (autoescaped).

Each purpose is one file `ami/data/templates/email/<purpose>.j2` extending `_base.j2` with three blocks
(`subject`, `text`, `body`); the layout renders one part at a time (`part` in the context), the HTML
part in an autoescaping environment so nothing a collectivité wrote can inject markup. Coordinators
override any of them by putting a file of the same name in the folder set by `AMI_TEMPLATES_DIR`;
the bundled ones are the fallback.

French typography (non-breaking spaces before « : ; ! ? » and inside « ») is applied after
rendering, so it covers free text from the context (reason messages, themes, places) and templates
a coordinator typed with ordinary spaces. In the HTML part it runs on text between tags only: markup
(`style="color: red"`) is left alone, and free text is already escaped by then, so a `<` a
collectivité wrote is an entity, never a tag boundary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, TemplateError, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ami.data import bundled
from ami.infra.documents.typography import french
from ami.infra.mail.filters import FILTERS

BUNDLED = bundled("templates", "email")

# Runs of whitespace a subject may not keep (a template's line breaks), but not the non-breaking
# spaces French typography put there on purpose.
_FOLD = re.compile(r"[^\S\u00a0\u202f]+")
# Markup, and elements whose text is code or styling rather than French prose.
_MARKUP = re.compile(r"<(code|pre|style|script)\b.*?</\1\s*>|<[^>]*>", re.IGNORECASE | re.DOTALL)
# Supplementary Private Use Area-B: `french` uses area A for its own placeholders.
_HIDDEN = 0x100000


DEMO_NOTE = "Démonstration (ami demo) : les dates sont celles du calendrier publié, les personnes sont fictives."


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@cache
def _environments(override: str | None) -> tuple[Environment, Environment]:
    # The override folder comes first: a file there shadows the bundled one of the same name,
    # including `_base.j2`, so a coordinator can restyle every email at once.
    loaders = [FileSystemLoader(override)] if override else []
    loader = ChoiceLoader([*loaders, FileSystemLoader(str(BUNDLED))])
    # The immutable sandbox: a coordinator's template reaches neither Python's internals
    # (`cycler.__init__.__globals__.os`) nor a way to change the context.
    html: Environment = ImmutableSandboxedEnvironment(
        loader=loader, autoescape=select_autoescape(default=True, default_for_string=True), undefined=StrictUndefined
    )
    text: Environment = ImmutableSandboxedEnvironment(
        loader=loader, autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True
    )
    for env in (html, text):
        env.filters.update(FILTERS)
    return html, text


def french_html(html: str) -> str:
    """French typography on the text of `html`, never inside a tag nor in code."""
    # Each tag (each code element, whole) becomes a line break and a private-use character while
    # `french` runs: the character is a non-space, so « <strong>Lille</strong> : » still has a word
    # before its colon; the line break is a space, so « complétée :</p> » has one after it.
    hidden: list[str] = []

    def hide(match: re.Match[str]) -> str:
        hidden.append(match.group(0))
        return "\n" + chr(_HIDDEN + len(hidden) - 1)

    fixed = french(_MARKUP.sub(hide, html))
    return re.sub(f"\n([{chr(_HIDDEN)}-{chr(_HIDDEN + max(len(hidden), 1) - 1)}])", lambda m: hidden[ord(m.group(1)) - _HIDDEN], fixed)


def render(purpose: str, context: dict[str, Any], override_dir: Path | None = None, *, demo: bool = False) -> Rendered:
    """`demo` marks the message, discreetly, as one of `ami demo` (the layout shows `demo_note`)."""
    html_env, text_env = _environments(str(override_dir) if override_dir else None)
    name = f"{purpose}.j2"
    context = {**context, "demo_note": DEMO_NOTE if demo else ""}
    text_template = text_env.get_template(name)
    subject = text_template.render({**context, "part": "subject"})
    # Blocks and loops leave blank lines behind; one blank line between paragraphs is enough.
    text = re.sub(r"\n{3,}", "\n\n", text_template.render({**context, "part": "text"}).strip()) + "\n"
    html = html_env.get_template(name).render({**context, "part": "html"})
    return Rendered(subject=french(_FOLD.sub(" ", subject).strip()), text=french(text), html=french_html(html))


def purposes() -> list[str]:
    return sorted(p.stem for p in BUNDLED.glob("*.j2") if not p.stem.startswith("_"))


# The type of the non-retryable error a template failing at run time raises in the email activity.
TEMPLATE_ERROR = "TemplateError"


def template_failure(purpose: str, error: TemplateError) -> str:
    """What went wrong, in French, for a coordinator: the template, the line, Jinja's reason."""
    lineno = getattr(error, "lineno", None)
    where = f", ligne {lineno}" if lineno else ""
    reason = (error.message or type(error).__name__)[:300]
    return f"modèle de courriel « {purpose} » inutilisable{where} : {reason}"


class TemplateCheckError(ValueError):
    """A template fails with the sample context; the message names each one (French)."""


def check_templates(override_dir: Path | None = None) -> int:
    """Render every purpose, with the overrides, on a sample context; the number checked.

    The worker calls it before it starts: a broken override is found by the coordinator who wrote
    it, when the worker starts, not by a collectivité weeks later.
    """
    from ami.infra.mail.sample import sample_context

    failures = []
    names = purposes()
    for purpose in names:
        try:
            render(purpose, sample_context())
            if override_dir is not None:
                render(purpose, sample_context(), override_dir)
        except TemplateError as error:
            failures.append(template_failure(purpose, error))
        except (TypeError, ValueError, LookupError, AttributeError) as error:  # a filter given what it cannot read
            failures.append(f"modèle de courriel « {purpose} » inutilisable : {type(error).__name__}")
    if failures:
        raise TemplateCheckError("modèles de courriel refusés (AMI_TEMPLATES_DIR) :\n" + "\n".join(f"  - {f}" for f in failures))
    return len(names)
