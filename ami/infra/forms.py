"""Reading a candidature file (JSON, YAML or a filled-in .docx form) into the model, with every
faulty field named in French and never a traceback."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ami.models.candidature import CandidatureFile

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
# No answer of the form is a number: a longer one is refused before Python converts it (a
# 5,000-digit integer would raise outside the JSON decoder's errors).
_MAX_NUMBER_DIGITS = 30


class _Number:
    """A JSON number too long to convert: the model refuses it as « texte attendu »."""

    def __init__(self, text: str) -> None:
        self.text = text


def _json_int(text: str) -> int | _Number:
    return int(text) if len(text) <= _MAX_NUMBER_DIGITS else _Number(text)


def _json_float(text: str) -> float | _Number:
    return float(text) if len(text) <= _MAX_NUMBER_DIGITS else _Number(text)


# LibYAML's parser when PyYAML was built with it (ten times faster), else the pure-Python one.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _FormLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """YAML whose scalars are strings (or null): the form's types come from the model, not from YAML.

    `2024-02-30`, `!!int 'x'` or `!!timestamp 'x'` are then text the model judges, never a conversion
    that raises. Aliases are refused by `_load_yaml` (a form needs none, and they make exponential
    documents).
    """

    def construct_as_text(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise yaml.constructor.ConstructorError(None, None, f"étiquette {node.tag} inattendue", node.start_mark)
        return self.construct_scalar(node)


# Only null keeps its implicit resolution (`insee: null`, `~`, an empty value); every explicit
# scalar tag (int, float, bool, timestamp, binary…) reads the text as it is written.
_FormLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag == "tag:yaml.org,2002:null"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _tag in ("bool", "int", "float", "timestamp", "binary", "value", "merge"):
    _FormLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _FormLoader.construct_as_text)
for _tag in ("set", "omap", "pairs"):
    _FormLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _FormLoader.construct_undefined)


def _load_yaml(text: str) -> Any:
    for event in yaml.parse(text, Loader=_FormLoader):
        if isinstance(event, yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "alias (*) interdit dans un formulaire", event.start_mark)  # type: ignore[arg-type]
    return yaml.load(text, Loader=_FormLoader)  # noqa: S506 (a SafeLoader: scalars as text)


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


def _printable(text: str) -> str:
    """A parser's words, without the controls or surrogates they may quote."""
    return "".join(c if c.isprintable() and not 0xD800 <= ord(c) <= 0xDFFF else f"\\u{ord(c):04x}" for c in text)


def _yaml_problem(error: yaml.YAMLError) -> str:
    """Where, in French, and PyYAML's reason (a tag it may not build is said in French)."""
    mark = getattr(error, "problem_mark", None)
    where = f"ligne {mark.line + 1}, colonne {mark.column + 1} : " if mark is not None else ""
    problem = str(getattr(error, "problem", None) or error).splitlines()[0]
    if "constructor for the tag" in problem:
        problem = "étiquette YAML non autorisée " + problem.rpartition("tag ")[2]
    return where + _printable(problem)


def load_form(path: Path | str) -> CandidatureFile:
    """The candidature in `path` (.json, .yaml/.yml or a filled-in .docx form).

    Raises MalformedForm, and nothing else, for anything that is not a valid candidature.
    """
    path = Path(path)
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError
        # /dev/zero, a FIFO, a socket: no size to trust, and possibly no end.
        if not stat.S_ISREG(info.st_mode):
            raise MalformedForm(path, ["ce n'est pas un fichier ordinaire"])
        if info.st_size > MAX_FILE_BYTES:
            raise MalformedForm(path, [f"fichier trop volumineux ({info.st_size} octets, {MAX_FILE_BYTES} au plus)"])
        with path.open("rb") as handle:
            # Never more than the limit plus one byte, whatever the size said (a file may grow).
            data = handle.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise MalformedForm(path, [f"fichier trop volumineux (plus de {MAX_FILE_BYTES} octets)"])
    except FileNotFoundError:
        raise MalformedForm(path, ["fichier introuvable"]) from None
    except IsADirectoryError:
        raise MalformedForm(path, ["c'est un dossier, pas un fichier"]) from None
    except OSError as error:
        raise MalformedForm(path, [f"fichier illisible ({error.strerror or error})"]) from None
    suffix = path.suffix.lower()
    if suffix in _FORM_SUFFIXES or data.startswith(_BINARY_MAGIC):
        from ami.infra.documents.form_docx import FormReadError, read_form_docx

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
        raw = json.loads(text, parse_int=_json_int, parse_float=_json_float) if kind == "JSON" else _load_yaml(text)
    except json.JSONDecodeError as error:
        raise MalformedForm(path, [f"JSON illisible (ligne {error.lineno}, colonne {error.colno} : {error.msg})"]) from None
    except yaml.YAMLError as error:
        raise MalformedForm(path, [f"YAML illisible ({_yaml_problem(error)})"]) from None
    except RecursionError:
        raise MalformedForm(path, [f"{kind} illisible (imbrication trop profonde)"]) from None
    return parse_raw(raw, path)
