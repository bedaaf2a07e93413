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
    "none_required": "aucune valeur attendue",
}
# What a Word 97-2003 file, a PDF or a .docx (a zip) starts with, whatever its name says.
_BINARY_MAGIC = (b"\xd0\xcf\x11\xe0", b"%PDF", b"PK\x03\x04")
_FORM_SUFFIXES = frozenset({".docx", ".doc", ".pdf"})


def where(loc: tuple[int | str, ...]) -> str:
    """A pydantic location as a person reads it: `partners[1].siren` (positions counted from 1)."""
    text = ""
    for part in loc:
        text += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def describe(error: ValidationError) -> list[str]:
    """One French line per faulty field, « field : what is wrong »."""
    lines = []
    for item in error.errors():
        where_ = where(item["loc"]) or "(racine)"
        message = _MESSAGES.get(item["type"]) or str(item["msg"]).removeprefix("Value error, ")
        lines.append(f"{where_} : {message}")
    return lines


def parse_raw(raw: Any, source: Path | str) -> CandidatureFile:
    if not isinstance(raw, dict):
        raise MalformedForm(source, ["(racine) : un objet avec les clés du formulaire est attendu"])
    try:
        return CandidatureFile.model_validate(raw)
    except ValidationError as error:
        raise MalformedForm(source, describe(error)) from None


def load_form(path: Path | str) -> CandidatureFile:
    """The candidature in `path` (.json, .yaml/.yml or a filled-in .docx form).

    Raises MalformedForm, and nothing else, for anything that is not a valid candidature.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise MalformedForm(path, [f"fichier trop volumineux ({size} octets, {MAX_FILE_BYTES} au plus)"])
        data = path.read_bytes()
    except FileNotFoundError:
        raise MalformedForm(path, ["fichier introuvable"]) from None
    except IsADirectoryError:
        raise MalformedForm(path, ["c'est un dossier, pas un fichier"]) from None
    except OSError as error:
        raise MalformedForm(path, [f"fichier illisible ({error.strerror or error})"]) from None
    suffix = path.suffix.lower()
    if suffix in _FORM_SUFFIXES or data.startswith(_BINARY_MAGIC):
        from ami.documents.form_docx import FormReadError, read_form_docx

        try:
            return parse_raw(read_form_docx(data), path)
        except FormReadError as error:
            raise MalformedForm(path, [str(error)]) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise MalformedForm(path, [f"le fichier n'est pas en UTF-8 (octet invalide à la position {error.start})"]) from None
    kind = "JSON" if suffix == ".json" else "YAML"
    try:
        raw = json.loads(text) if kind == "JSON" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise MalformedForm(path, [f"{kind} illisible ({str(error).splitlines()[0]})"]) from None
    except RecursionError:
        raise MalformedForm(path, [f"{kind} illisible (imbrication trop profonde)"]) from None
    return parse_raw(raw, path)
