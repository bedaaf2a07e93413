"""The online form: the same questions as the .docx form (ami/infra/documents/form_labels.py), the same
model (ami/models/candidature.py). Each HTML field is named by its path in the model
(`political_referent.email`), so a validation error lands on the field it concerns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ami.infra.documents import form_labels as labels
from ami.models.candidature import MAX_LINE, MAX_TEXT, CandidatureFile

PARTNER_ROWS = 3
AUTOCOMPLETE = {"name": "organization", "address": "street-address", "email": "email", "phone": "tel"}
PERSON_AUTOCOMPLETE = {"name": "name", "role": "organization-title", "email": "email", "phone": "tel"}


@dataclass(frozen=True)
class Field:
    name: str  # the model path, also the HTML name and (dots to dashes) its id
    label: str
    multiline: bool = False
    kind: str = "text"  # text, email, tel
    autocomplete: str = "off"
    hint: str | None = None

    @property
    def id(self) -> str:
        return "f-" + self.name.replace(".", "-")

    @property
    def limit(self) -> int:
        return MAX_TEXT if self.multiline else MAX_LINE


@dataclass(frozen=True)
class Section:
    title: str
    fields: tuple[Field, ...]
    intro: str | None = None


def _kind(key: str) -> str:
    return {"email": "email", "phone": "tel"}.get(key, "text")


def sections() -> list[Section]:
    hints = {
        "siren": "9 chiffres, par exemple 246200299.",
        "insee": "Seulement pour une commune sans SIREN propre : 5 caractères.",
        "email": "Adresse à laquelle nous écrivons, par exemple contact@mairie.fr.",
    }
    found = [
        Section(
            labels.COLLECTIVITE_SECTION,
            tuple(
                Field(f"collectivite.{k}", label, kind=_kind(k), autocomplete=AUTOCOMPLETE.get(k, "off"), hint=hints.get(k))
                for k, label in labels.COLLECTIVITE_ROWS
            ),
        )
    ]
    for key, title in labels.PERSON_SECTIONS:
        found.append(
            Section(
                title,
                tuple(
                    Field(f"{key}.{k}", f"{label} ({title.split(' (')[0].lower()})", kind=_kind(k), autocomplete="off")
                    for k, label in labels.PERSON_ROWS
                ),
            )
        )
    found.append(Section("Votre projet", tuple(Field(k, label, multiline=True) for k, label in labels.QUESTIONS)))
    found.append(
        Section(
            "Lettre de motivation",
            tuple(Field(f"letter.{k}", label, multiline=True) for k, label in labels.LETTER_QUESTIONS),
            labels.LETTER_INTRO,
        )
    )
    found.append(
        Section(
            labels.PARTNERS_SECTION,
            tuple(
                Field(f"partners.{i}.{k}", f"{label} (partenaire {i + 1})")
                for i in range(PARTNER_ROWS)
                for k, label in labels.PARTNER_COLUMNS
            ),
        )
    )
    return found


def field_names() -> list[str]:
    return [f.name for s in sections() for f in s.fields]


def from_post(values: dict[str, str]) -> dict[str, str]:
    """Only the known fields, as typed (a draft keeps exactly this)."""
    return {name: str(values.get(name, ""))[: MAX_TEXT + 1] for name in field_names()}


def from_file(form: dict[str, Any]) -> dict[str, str]:
    """The flat fields of a candidature file (a correction starts from the form as received)."""
    flat: dict[str, str] = {}
    for name in field_names():
        value: Any = form
        for part in name.split("."):
            if isinstance(value, list):
                value = value[int(part)] if int(part) < len(value) else None
            elif isinstance(value, dict):
                value = value.get(part)
            else:
                value = None
        flat[name] = "" if value is None else str(value)
    return flat


def to_model(flat: dict[str, str], attachments: list[str]) -> tuple[CandidatureFile | None, dict[str, str]]:
    """The candidature file, or the French error of each field by its name."""
    data: dict[str, Any] = {}
    for name, value in flat.items():
        if not value.strip():
            continue
        parts = name.split(".")
        if parts[0] == "partners":
            partners = data.setdefault("partners_rows", {})
            partners.setdefault(int(parts[1]), {})[parts[2]] = value
            continue
        target = data
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    rows = data.pop("partners_rows", {})
    data["partners"] = [rows[i] for i in sorted(rows)]
    data.setdefault("collectivite", {})
    data["attachments"] = [{"path": p} for p in attachments]
    try:
        return CandidatureFile.model_validate(data), {}
    except ValidationError as error:
        return None, _errors(error, rows)


def _errors(error: ValidationError, rows: dict[int, dict[str, str]]) -> dict[str, str]:
    found: dict[str, str] = {}
    order = sorted(rows)
    for item in error.errors():
        loc = [str(p) for p in item["loc"]]
        if loc and loc[0] == "partners" and len(loc) > 1:
            loc[1] = str(order[int(loc[1])]) if int(loc[1]) < len(order) else loc[1]
        name = ".".join(loc)
        message = _french(item)
        if name == "collectivite":
            name = "collectivite.siren"
        elif name.startswith("partners.") and name.count(".") == 1:
            name += ".siren"
        elif item["type"] == "missing" and name == "collectivite.name":
            message = "Indiquez le nom de la collectivité."
        elif item["type"] == "missing" and name == "collectivite.email":
            message = "Indiquez l'adresse électronique de la collectivité."
        elif item["type"] == "missing":
            message = "Ce champ est obligatoire."
        found.setdefault(name, message)
    return found


def _french(item: Any) -> str:
    message = str(item["msg"]).removeprefix("Value error, ")
    if item["type"] in ("string_type", "model_type", "dict_type"):
        return "Valeur invalide."
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
