"""How a letter to a collectivité is addressed, in the form French administrations expect.

Pure rules, tested without a server (tests/test_addressee.py):
- the full official name: the register abbreviates EPCI (« CA du Beauvaisis »), a letter does not;
- the addressee block (suscription): « Madame la Présidente de la Communauté d'agglomération du
  Beauvaisis » when the political referent heads the collectivité, else the referent's name, title
  and collectivité; then the postal address;
- the salutation (appellation): « Madame la Vice-présidente, », « Monsieur le Maire, ».

The civility comes from the form's optional `civility` field; without it, from the title when the
applicant wrote it in a gendered form (« Vice-présidente »); never from a first name. When neither
says, the letter falls back to « Madame, Monsieur, ».
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ami.models.candidature import Civility

# The register's abbreviations of the EPCI kinds, written out.
_EXPANSIONS = {
    "CA": "Communauté d'agglomération",
    "CU": "Communauté urbaine",
    "CC": "Communauté de communes",
}
_COMMUNE_KINDS = frozenset({"commune", "commune_associee", "commune_deleguee"})
_VOWELS = "AEIOUYÀÂÄÉÈÊËÎÏÔÖÙÛÜaeiouyàâäéèêëîïôöùûü"


@dataclass(frozen=True)
class _Title:
    masculine: str
    feminine: str
    executive: bool  # heads the collectivité: the block names the office, not the person


# Longest first: « vice-président » before « président », « maire délégué » before « maire ».
_TITLES = (
    _Title("vice-président", "vice-présidente", False),
    _Title("président", "présidente", True),
    _Title("maire délégué", "maire déléguée", True),
    _Title("maire", "maire", True),
    _Title("adjoint au Maire", "adjointe au Maire", False),
    _Title("adjoint", "adjointe", False),
    _Title("conseiller délégué", "conseillère déléguée", False),
    _Title("conseiller municipal délégué", "conseillère municipale déléguée", False),
    _Title("conseiller communautaire délégué", "conseillère communautaire déléguée", False),
    _Title("conseiller métropolitain délégué", "conseillère métropolitaine déléguée", False),
    _Title("conseiller municipal", "conseillère municipale", False),
    _Title("conseiller communautaire", "conseillère communautaire", False),
    _Title("conseiller métropolitain", "conseillère métropolitaine", False),
    _Title("conseiller", "conseillère", False),
)


def full_name(name: str, kind: str | None) -> str:
    """« CA du Beauvaisis » → « Communauté d'agglomération du Beauvaisis »; other names as they are."""
    head, _, rest = name.partition(" ")
    if kind in _EXPANSIONS and head == kind and rest:
        return f"{_EXPANSIONS[kind]} {rest}"
    return name


def of_collectivite(name: str, kind: str | None) -> str:
    """« de la Communauté urbaine d'Arras », « d'Abbeville », « du Touquet-Paris-Plage »."""
    if kind is not None and kind not in _COMMUNE_KINDS:
        return f"de la {name}" if name[:1].isupper() else f"de {name}"
    for article, contracted in (("Le ", "du "), ("Les ", "des ")):
        if name.startswith(article):
            return contracted + name.removeprefix(article)
    return f"d'{name}" if name[:1] in _VOWELS else f"de {name}"


def designation(name: str, kind: str | None) -> str:
    """How a sentence names the collectivité: « la Communauté urbaine d'Arras », « la commune de Laon »."""
    official = full_name(name, kind)
    if kind == "commune":
        return f"la commune {of_collectivite(official, kind)}"
    if kind in ("commune_associee", "commune_deleguee"):
        label = "associée" if kind == "commune_associee" else "déléguée"
        return f"la commune {label} {of_collectivite(official, kind)}"
    if kind is not None and official[:1].isupper():
        return f"la {official}"
    return official


def organisation_line(name: str, kind: str | None) -> str:
    """The collectivité's line in a block: « Mairie de Libercourt », or the EPCI's full name."""
    if kind == "commune":
        return f"Mairie {of_collectivite(name, kind)}"
    if kind in ("commune_associee", "commune_deleguee"):
        return f"Mairie déléguée {of_collectivite(name, kind)}"
    return name


def address_lines(address: str | None) -> list[str]:
    """A one-line postal address as the lines of a block: split at its commas, a street number
    staying with its street (« 48, rue Desgroux » is one line)."""
    if not address:
        return []
    lines: list[str] = []
    for part in (p.strip() for p in address.split(",")):
        if not part:
            continue
        if lines and re.fullmatch(r"\d+(?: ?(?:bis|ter|quater|[a-d]))?", lines[-1], re.IGNORECASE):
            lines[-1] = f"{lines[-1]}, {part}"
        else:
            lines.append(part)
    return lines


def _title_of(role: str | None) -> tuple[_Title, str] | None:
    """The title a role starts with (the longest that matches), and the form it was written in:
    "f", "m", or "" when both forms are the same word (« maire »)."""
    if not role:
        return None
    lowered = role.strip().lower()
    matches = [
        (form, title)
        for title in _TITLES
        for form in (title.masculine, title.feminine)
        if re.match(re.escape(form.lower()) + r"(?!\w)", lowered)
    ]
    if not matches:
        return None
    form, title = max(matches, key=lambda match: len(match[0]))
    gender = "" if title.masculine == title.feminine else ("f" if form == title.feminine else "m")
    return title, gender


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _with_article(title: str, feminine: bool) -> str:
    if title[:1] in _VOWELS:
        return f"l'{_capitalised(title)}"
    return f"{'la' if feminine else 'le'} {_capitalised(title)}"


@dataclass(frozen=True)
class Addressing:
    block: list[str]  # the addressee block, one line each
    salutation: str  # « Madame la Présidente, »
    closing_title: str  # how the closing formula names the addressee: « Madame la Présidente »


def addressing(
    *,
    collectivite: str,
    kind: str | None,
    address: str | None,
    name: str | None,
    role: str | None,
    civility: Civility | None,
) -> Addressing:
    """The block, the salutation and the closing title of a letter to the collectivité's political referent."""
    official = full_name(collectivite, kind)
    found = _title_of(role)
    if civility is None and found and found[1]:
        civility = "Madame" if found[1] == "f" else "Monsieur"
    feminine = civility == "Madame"
    address_block = address_lines(address)
    if found and civility:
        title = found[0]
        form = title.feminine if feminine else title.masculine
        honorific = f"{civility} {_with_article(form, feminine)}"
        if title.executive:
            return Addressing([f"{honorific} {of_collectivite(official, kind)}", *address_block], f"{honorific},", honorific)
        person = f"{civility} {name}" if name else honorific
        lines = [person, _capitalised(role.strip()) if role else "", organisation_line(official, kind), *address_block]
        return Addressing([line for line in lines if line], f"{honorific},", honorific)
    if civility:
        person = f"{civility} {name}" if name else civility
        lines = [person, _capitalised(role.strip()) if role else "", organisation_line(official, kind), *address_block]
        return Addressing([line for line in lines if line], f"{civility},", civility)
    lines = [name or "", _capitalised(role.strip()) if role else "", organisation_line(official, kind), *address_block]
    return Addressing([line for line in lines if line], "Madame, Monsieur,", "Madame, Monsieur")
