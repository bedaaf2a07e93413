"""Reading a candidature file (JSON, YAML or a filled-in .docx form) into the model, with every
faulty field named in French and never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from models.candidature import CandidatureFile

MAX_FILE_BYTES = 2 * 1024 * 1024  # a form is a few kB; anything this large is not one


class MalformedForm(ValueError):
    """The file cannot be read as a candidature; `errors` names each faulty field."""

    def __init__(self, path: Path | str, errors: list[str]) -> None:
        self.path, self.errors = str(path), errors
        super().__init__(f"{path} : candidature mal formée\n" + "\n".join(f"  - {e}" for e in errors))


_MESSAGES = {
    "extra_forbidden": "champ inconnu (faute de frappe ?)",
    "missing": "champ obligatoire manquant",
    "string_type": "texte attendu",
    "list_type": "liste attendue",
    "model_type": "objet attendu (clés et valeurs)",
    "dict_type": "objet attendu (clés et valeurs)",
    "bool_type": "booléen attendu",
    "int_type": "nombre entier attendu",
}


def describe(error: ValidationError) -> list[str]:
    lines = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(racine)"
        message = _MESSAGES.get(item["type"]) or str(item["msg"]).removeprefix("Value error, ")
        lines.append(f"{where} : {message}")
    return lines


def parse_raw(raw: Any, source: Path | str) -> CandidatureFile:
    if not isinstance(raw, dict):
        raise MalformedForm(source, ["(racine) : un objet avec les clés du formulaire est attendu"])
    try:
        return CandidatureFile.model_validate(raw)
    except ValidationError as error:
        raise MalformedForm(source, describe(error)) from None


def load_form(path: Path | str) -> CandidatureFile:
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise MalformedForm(path, ["fichier introuvable"]) from None
    if size > MAX_FILE_BYTES:
        raise MalformedForm(path, [f"fichier trop volumineux ({size} octets, {MAX_FILE_BYTES} au plus)"])
    data = path.read_bytes()
    if path.suffix.lower() == ".docx":
        from ami.documents.form_docx import FormReadError, read_form_docx

        try:
            return parse_raw(read_form_docx(data), path)
        except FormReadError as error:
            raise MalformedForm(path, [str(error)]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedForm(path, ["le fichier n'est pas en UTF-8"]) from None
    try:
        raw = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        kind = "JSON" if path.suffix.lower() == ".json" else "YAML"
        raise MalformedForm(path, [f"{kind} illisible ({str(error).splitlines()[0]})"]) from None
    return parse_raw(raw, path)
