"""The candidature file: what a collectivité sends, as JSON, YAML or a filled-in form.

Malformed input (bad SIREN, bad email, line break in a one-line field, unknown key, wrong type) is
refused by pydantic with the faulty field named. Missing referents or letter answers are *not*
malformed: they make the candidature ineligible (ami/domain/eligibility.py), so those fields are optional here.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
_INSEE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$", re.ASCII)
_PHONE = re.compile(r"^\+?[0-9 ().-]{6,25}$")

MAX_LINE = 300
MAX_TEXT = 20_000
# Every character str.splitlines() breaks on: a pasted name may carry any of them.
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
# What a multi-line answer may hold among the C0 controls: line breaks and tabs, nothing else.
_TEXT_CONTROLS = frozenset("\n\r\t")
# The start of an RFC 2047 encoded word: a header decoder would turn it back into any bytes,
# CR LF included (CVE-2024-6923), so a one-line field (which may reach a header) never holds one.
_ENCODED_WORD = "=?"


def _control(char: str) -> bool:
    """C0 (with DEL) and C1 control characters."""
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F


def _refuse_unprintable(value: str, allowed: frozenset[str] = frozenset()) -> None:
    """Surrogates and control characters (other than `allowed`) are refused, named by their code."""
    for char in value:
        if 0xD800 <= ord(char) <= 0xDFFF:
            raise ValueError(f"caractère invalide U+{ord(char):04X} (demi-caractère UTF-16 isolé)")
        if _control(char) and char not in allowed:
            raise ValueError(f"caractère de contrôle interdit U+{ord(char):04X}")


def _blank_to_none(value: Any) -> Any:
    """An optional answer left empty ("" or spaces) is an absent answer, not a malformed one."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


def luhn_valid(digits: str) -> bool:
    """The SIREN checksum (Luhn). La Poste's historical SIREN (356000000) is the documented exception."""
    if digits == "356000000":
        return True
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _single_line(value: str) -> str:
    if len(value) > MAX_LINE:
        raise ValueError(f"trop long ({len(value)} caractères, {MAX_LINE} au plus)")
    if any(char in _LINE_BREAKS for char in value):
        raise ValueError("saut de ligne interdit dans un champ d'une seule ligne")
    _refuse_unprintable(value)
    if _ENCODED_WORD in value:
        raise ValueError("la séquence « =? » est interdite dans un champ d'une seule ligne")
    return value.strip()


def _email(value: str) -> str:
    value = _single_line(value)
    if not _EMAIL.match(value):
        raise ValueError(f"adresse électronique invalide : {value!r}")
    return value


def _siren(value: str) -> str:
    compact = value.replace(" ", "")
    if not (len(compact) == 9 and compact.isascii() and compact.isdigit()):
        raise ValueError("un SIREN compte exactement 9 chiffres")
    if not luhn_valid(compact):
        raise ValueError(f"SIREN {compact} invalide (clé de contrôle de Luhn)")
    return compact


def _insee(value: str) -> str:
    compact = value.strip().upper()
    if not _INSEE.fullmatch(compact):
        raise ValueError("un code INSEE compte 5 caractères (chiffres, ou 2A/2B pour la Corse)")
    return compact


def _phone(value: str) -> str:
    value = _single_line(value)
    if not _PHONE.match(value):
        raise ValueError(f"numéro de téléphone invalide : {value!r}")
    return value


def _text(value: str) -> str:
    if len(value) > MAX_TEXT:
        raise ValueError(f"trop long ({len(value)} caractères, {MAX_TEXT} au plus)")
    _refuse_unprintable(value, _TEXT_CONTROLS)
    return value.strip()


Line = Annotated[str, AfterValidator(_single_line)]
Email = Annotated[str, AfterValidator(_email)]
Siren = Annotated[str, AfterValidator(_siren)]
Insee = Annotated[str, AfterValidator(_insee)]
Phone = Annotated[str, AfterValidator(_phone)]
Text = Annotated[str, AfterValidator(_text)]

_STRICT = ConfigDict(extra="forbid", strict=True, frozen=True)


class Collectivite(BaseModel):
    model_config = _STRICT

    name: Line
    siren: Siren | None = None
    insee: Insee | None = None
    address: Line | None = None
    email: Email
    phone: Phone | None = None

    _blank_optional = field_validator("siren", "insee", "address", "phone", mode="before")(_blank_to_none)

    @model_validator(mode="after")
    def _one_identifier(self) -> Collectivite:
        if not self.siren and not self.insee:
            raise ValueError("indiquez le SIREN de la collectivité, ou son code INSEE pour une commune sans SIREN propre")
        return self

    @property
    def identifier(self) -> str:
        """The register key: the SIREN when there is one, else the INSEE code."""
        return self.siren or self.insee or ""


# How a letter addresses a referent (« Madame la Présidente »). Optional: the 2024 form did not ask it.
Civility = Literal["Madame", "Monsieur"]
_CIVILITIES = {"madame": "Madame", "mme": "Madame", "mme.": "Madame", "monsieur": "Monsieur", "m.": "Monsieur", "m": "Monsieur"}


def _civility(value: Any) -> Any:
    """« madame », « Mme », « M. » as the two forms a letter uses; anything else is left to refuse."""
    value = _blank_to_none(value)
    return _CIVILITIES.get(value.strip().lower(), value) if isinstance(value, str) else value


class Person(BaseModel):
    """A referent. Name, role and email may be missing: that is an ineligibility, not a malformation."""

    model_config = _STRICT

    civility: Civility | None = None
    name: Line | None = None
    role: Line | None = None
    email: Email | None = None
    phone: Phone | None = None

    _blank_optional = field_validator("name", "role", "email", "phone", mode="before")(_blank_to_none)
    _known_civility = field_validator("civility", mode="before")(_civility)

    @property
    def complete(self) -> bool:
        return bool(self.name and self.role and self.email)


class Letter(BaseModel):
    model_config = _STRICT

    platforms_place: Text | None = None
    objective: Text | None = None
    contribution: Text | None = None

    _blank_optional = field_validator("platforms_place", "objective", "contribution", mode="before")(_blank_to_none)


class Partner(BaseModel):
    model_config = _STRICT

    name: Line
    siren: Siren | None = None
    insee: Insee | None = None


class Attachment(BaseModel):
    model_config = _STRICT

    path: Line


class CandidatureFile(BaseModel):
    """Exactly the keys a candidature file may hold; anything else is a typo and is refused."""

    model_config = _STRICT

    collectivite: Collectivite
    political_referent: Person | None = None
    technical_referent: Person | None = None
    contact_point: Person | None = None
    motivations: Text | None = None
    actions: Text | None = None
    work_tracks: Text | None = None
    needs: Text | None = None
    letter: Letter | None = None
    partners: list[Partner] = Field(default_factory=list)
    attachments: list[Attachment] = Field(default_factory=list)

    _blank_optional = field_validator("motivations", "actions", "work_tracks", "needs", mode="before")(_blank_to_none)

    def recipients(self) -> list[str]:
        """Who receives the collectivité's emails: its address and its referents', without repeats."""
        found: list[str] = []
        people = [self.political_referent, self.technical_referent, self.contact_point]
        for address in [self.collectivite.email, *(p.email for p in people if p)]:
            if address and address.lower() not in (a.lower() for a in found):
                found.append(address)
        return found
