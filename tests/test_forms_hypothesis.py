"""Generated candidature files: they validate or fail with MalformedForm naming fields — never
another exception — and assess() never raises on a valid one."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ami.domain.eligibility import REASON_CODES, assess
from ami.infra.forms import MalformedForm, load_form, parse_raw
from ami.models.activity_payloads import EligibilityRules
from ami.models.campaign import load_campaign
from ami.models.candidature import CandidatureFile

EXAMPLES = Path(__file__).resolve().parent.parent / "ami" / "data" / "examples"
KNOWN_IDS = ["246200299", "200093201", "225900018", "200053742", "247600588", "215104217", "123456782"]
INSEE = ["59355", "59298", "62510", "2A004", "99999", "5935"]

_PLAN = load_campaign("ami-2024").plan()
RULES = EligibilityRules(region=_PLAN.region, timezone=_PLAN.timezone, opens_at=_PLAN.opens_at, deadline_at=_PLAN.deadline_at)

text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "   ", "Ville de Lens", "a\nb", "a\r\nb", "x\u2028y", "Hénin\tCarvin", "é" * 301]),
)
emails = st.one_of(st.sampled_from(["elu@example.org", "a.b+c@sous.domaine.fr", "", "pas-une-adresse", "a@b", "x@y.fr\n"]), text)
sirens = st.one_of(st.sampled_from(KNOWN_IDS), st.from_regex(r"\A[0-9 ]{8,10}\Z"), text)
wrong = st.one_of(
    st.integers(),
    st.floats(allow_nan=True),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A value, None, a wrong type — or the key left out (the marker is removed below)."""
    return st.one_of(strategy, strategy, st.none(), wrong, st.just(_ABSENT))


_ABSENT = object()


def fixed(d: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(d).map(lambda x: {k: v for k, v in x.items() if v is not _ABSENT})


person = fixed(
    {"name": maybe(text), "role": maybe(text), "email": maybe(emails), "phone": maybe(st.sampled_from(["+33 3 21 00 00 00", "abc", ""]))}
)
collectivite = fixed(
    {
        "name": maybe(text),
        "siren": maybe(sirens),
        "insee": maybe(st.sampled_from(INSEE)),
        "address": maybe(text),
        "email": maybe(emails),
        "phone": maybe(st.just("03 21 00 00 00")),
    }
)
letter = fixed({"platforms_place": maybe(text), "objective": maybe(text), "contribution": maybe(text)})
partner = fixed({"name": maybe(text), "siren": maybe(sirens), "insee": maybe(st.sampled_from(INSEE))})

forms = fixed(
    {
        "collectivite": maybe(collectivite),
        "political_referent": maybe(person),
        "technical_referent": maybe(person),
        "contact_point": maybe(person),
        "motivations": maybe(text),
        "actions": maybe(text),
        "work_tracks": maybe(text),
        "needs": maybe(text),
        "letter": maybe(letter),
        "partners": maybe(st.lists(partner, max_size=2)),
        "attachments": maybe(st.lists(fixed({"path": maybe(text)}), max_size=2)),
    }
)
# Unknown keys, at the top and inside objects.
forms_with_typos = st.tuples(
    forms, st.dictionaries(st.sampled_from(["motivation", "Collectivite", "lettre", "siret", "x"]), text, max_size=2)
).map(lambda pair: {**pair[0], **pair[1]})
anything = st.one_of(forms, forms_with_typos, wrong, text)


def _check_malformed(error: MalformedForm, *, fields: bool = True) -> None:
    assert error.errors, "a MalformedForm names at least one problem"
    assert all(isinstance(line, str) and line for line in error.errors)
    for line in error.errors if fields else []:
        where, sep, message = line.partition(" : ")
        assert sep and where and message, line


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=anything, received=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2025, 12, 31), timezones=st.just(UTC)))
def test_generated_forms_validate_or_name_fields(raw: Any, received: datetime) -> None:
    try:
        form = parse_raw(raw, "généré.yaml")
    except MalformedForm as error:
        _check_malformed(error)
        return
    assert isinstance(form, CandidatureFile)
    verdict = assess(form, received, RULES)
    assert verdict.eligible is (not verdict.reasons)
    assert all(r.code in REASON_CODES and r.message for r in verdict.reasons)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(raw=anything, as_json=st.booleans())
def test_generated_files_through_load_form(tmp_path_factory: Any, raw: Any, as_json: bool) -> None:
    directory = tmp_path_factory.mktemp("forms")
    path = directory / ("c.json" if as_json else "c.yaml")
    try:
        content = json.dumps(raw, ensure_ascii=False) if as_json else yaml.safe_dump(raw, allow_unicode=True)
    except ValueError:
        return
    path.write_text(content, encoding="utf-8")
    try:
        load_form(path)
    except MalformedForm as error:
        _check_malformed(error)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=200), suffix=st.sampled_from([".yaml", ".json", ".docx", ".pdf", ".txt"]))
def test_arbitrary_bytes_never_raise_anything_else(tmp_path_factory: Any, data: bytes, suffix: str) -> None:
    path = tmp_path_factory.mktemp("bytes") / f"c{suffix}"
    path.write_bytes(data)
    try:
        load_form(path)
    except MalformedForm as error:
        _check_malformed(error, fields=False)  # a whole-file problem names the file, not a field


@settings(max_examples=200, deadline=None)
@given(
    stem=st.sampled_from(sorted(p.stem for p in EXAMPLES.glob("*.yaml"))),
    offset=st.integers(min_value=-400 * 24 * 3600, max_value=400 * 24 * 3600),
)
def test_assess_never_raises_on_valid_examples(stem: str, offset: int) -> None:
    form = load_form(EXAMPLES / f"{stem}.yaml")
    received = _PLAN.deadline_at + timedelta(seconds=offset)
    verdict = assess(form, received, RULES)
    assert ("after_deadline" in [r.code for r in verdict.reasons]) is (offset >= 0)
