"""Official register of French local authorities (communes, associées/déléguées, EPCI).

Data: ami/data/register.txt.gz (format: ami/domain/register_format.py), built by scripts/build_register.py
from the npm package @etalab/decoupage-administratif (see ami/data/REGISTER-ATTRIBUTION.md). The
register is loaded once per process by load_register(); its entries are built as they are asked for.
"""

from __future__ import annotations

import dataclasses
import gzip
from dataclasses import dataclass
from functools import cache
from importlib import resources

from ami.domain import register_format as f
from ami.domain.register_format import FORMAT

DATA_FILE = "data/register.txt.gz"  # written by scripts/build_register.py

_EPCI_KINDS = frozenset({"CC", "CA", "CU", "METRO"})
_COMMUNE_KINDS = frozenset({"commune", "commune_associee", "commune_deleguee"})
_LABELS = {
    "commune": "commune",
    "commune_associee": "commune associée",
    "commune_deleguee": "commune déléguée",
    "CC": "communauté de communes",
    "CA": "communauté d'agglomération",
    "CU": "communauté urbaine",
    "METRO": "métropole",
    "departement": "département",
    "region": "région",
}
_SECONDARY = {"A": "commune_associee", "D": "commune_deleguee"}

# The package has no SIREN for départements and regions, so an applicant that is one would read as
# « unknown » instead of « not a commune or an EPCI ». These are the SIRENs of the Hauts-de-France
# département councils and of the region (the only ones an applicant to this call is likely to be),
# hand-checked: each passes the Luhn key, follows INSEE's numbering of départements (22 + code +
# sequence) or of the 2016 regions (2000537..), and matches two independent public tables of the
# SIRENE register (SIREN → collectivité, and SIRET of each siège). Any other département or region
# is still reported as unknown (see docs/eligibility.md).
_UPPER_TIER_SIRENS: dict[str, tuple[str, str]] = {
    "220200026": ("departement", "02"),  # Département de l'Aisne
    "225900018": ("departement", "59"),  # Département du Nord
    "226000016": ("departement", "60"),  # Département de l'Oise
    "226200012": ("departement", "62"),  # Département du Pas-de-Calais
    "228000014": ("departement", "80"),  # Département de la Somme
    "200053742": ("region", "32"),  # Région Hauts-de-France
}


@dataclass(frozen=True, slots=True)
class RegisterEntry:
    siren: str | None
    insee: str | None
    name: str
    kind: str  # one of the keys of _LABELS
    # Codes, e.g. "59" and "32"; for an EPCI, where most of its population lives.
    departement: str | None
    region: str | None
    population: int | None
    chef_lieu: str | None = None  # INSEE of the parent commune for associées/déléguées
    members: tuple[str, ...] = ()  # INSEE codes of member communes for EPCI

    @property
    def is_commune_or_epci(self) -> bool:
        return self.kind in _COMMUNE_KINDS or self.kind in _EPCI_KINDS

    @property
    def is_epci(self) -> bool:
        return self.kind in _EPCI_KINDS

    @property
    def kind_label(self) -> str:
        return _LABELS[self.kind]


class Register:
    """Lookups over the register's text (see ami/domain/register_format.py).

    A lookup finds its record's line in the decompressed text and builds that one entry (then
    kept), so `ami check` pays for one entry, not 38,000. A long-lived process (a worker, the
    bench) indexes every line once it has made `_INDEX_AFTER` lookups, or at its first whole-table
    question (`in_region`, `epci_of`); from then on every lookup is a dict access.
    """

    _INDEX_AFTER = 64

    def __init__(self, text: bytes) -> None:
        if not text.startswith(f"format\t{FORMAT}\n".encode()):
            found = text[: text.find(b"\n")].decode("utf-8", "replace")
            raise ValueError(f"register format {found!r}, expected {FORMAT}")
        self._text = b"\n" + text  # every record now starts after a newline
        head = self._text[: self._text.find(f"\n{f.COMMUNE}\t".encode())].decode("utf-8").split("\n")
        rows = [line.split("\t") for line in head if line]
        self.source_version: str = next(row[2] for row in rows if row[0] == "source")
        self._region_names: dict[str, str] = {row[1]: row[2] for row in rows if row[0] == f.REGION}
        self._dep_names: dict[str, str] = {row[1]: row[2] for row in rows if row[0] == f.DEPARTEMENT}
        self._dep_region: dict[str, str] = {row[1]: row[3] for row in rows if row[0] == f.DEPARTEMENT}
        self._entries: dict[tuple[str, str], RegisterEntry | None] = {}
        self._lookups = 0
        self._index: dict[tuple[str, str], list[str]] | None = None
        self._order: list[tuple[str, str]] = []  # (letter, key) of communes and EPCI, in file order
        self._cross: tuple[dict[str, RegisterEntry], dict[str, list[RegisterEntry]]] | None = None

    def _indexed(self) -> dict[tuple[str, str], list[str]]:
        if self._index is None:
            index: dict[tuple[str, str], list[str]] = {}
            for line in self._text.decode("utf-8").split("\n"):
                fields = line.split("\t")
                if len(fields) > 2 and fields[0] in (f.COMMUNE, f.SECONDARY, f.EPCI, f.SIREN_OF_COMMUNE):
                    index[(fields[0], fields[1])] = fields  # a later line wins, as rfind does
                    if fields[0] in (f.COMMUNE, f.EPCI):
                        self._order.append((fields[0], fields[1]))
            self._index = index
        return self._index

    def _record(self, letter: str, key: str) -> list[str] | None:
        if self._index is not None:
            return self._index.get((letter, key))
        if not key or "\t" in key or "\n" in key:
            return None
        start = self._text.rfind(f"\n{letter}\t{key}\t".encode())
        if start < 0:
            return None
        end = self._text.find(b"\n", start + 1)
        return self._text[start + 1 : end].decode("utf-8").split("\t")

    def _entry(self, letter: str, key: str) -> RegisterEntry | None:
        if (letter, key) in self._entries:
            return self._entries[(letter, key)]
        self._lookups += 1
        if self._index is None and self._lookups > self._INDEX_AFTER:
            self._indexed()
        row = self._record(letter, key)
        entry = None if row is None else self._build(row)
        self._entries[(letter, key)] = entry
        return entry

    def _build(self, row: list[str]) -> RegisterEntry | None:
        letter = row[0]
        if letter == f.COMMUNE:
            _, insee, siren, name, dep, pop = row
            return RegisterEntry(siren or None, insee, name, "commune", dep, self._dep_region[dep], int(pop) if pop else None)
        if letter == f.SECONDARY:
            _, insee, name, kind, chef = row
            parent = self._entry(f.COMMUNE, chef)
            if parent is None:
                return None
            return RegisterEntry(None, insee, name, _SECONDARY[kind], parent.departement, parent.region, None, chef_lieu=chef)
        if letter == f.EPCI:
            siren, name, kind, dep, region, pop, members = row[1], row[2], row[3], row[4], row[5], row[6], row[8]
            return RegisterEntry(
                siren, None, name, kind, dep, region, int(pop) if pop else None, members=tuple(members.split(",")) if members else ()
            )
        return self._entry(f.COMMUNE, row[2]) if letter == f.SIREN_OF_COMMUNE else None

    def _cross_indexes(self) -> tuple[dict[str, RegisterEntry], dict[str, list[RegisterEntry]]]:
        """(EPCI of each member commune, actual communes then EPCI of each region)."""
        if self._cross is None:
            self._indexed()
            epci_of: dict[str, RegisterEntry] = {}
            in_region: dict[str, list[RegisterEntry]] = {}
            communes = [self._entry(letter, key) for letter, key in self._order if letter == f.COMMUNE]
            epcis = [self._entry(letter, key) for letter, key in self._order if letter == f.EPCI]
            for entry in communes:
                if entry is not None:
                    in_region.setdefault(entry.region or "", []).append(entry)
            for entry in epcis:
                if entry is None:
                    continue
                if entry.is_epci:
                    in_region.setdefault(entry.region or "", []).append(entry)
                for member in entry.members:
                    epci_of[member] = entry
            self._cross = (epci_of, in_region)
        return self._cross

    def by_siren(self, siren: str) -> RegisterEntry | None:
        """A commune or an EPCI by SIREN; also the few départements and regions of _UPPER_TIER_SIRENS."""
        entry = self._entry(f.EPCI, siren) or self._entry(f.SIREN_OF_COMMUNE, siren)
        if entry is None and siren in _UPPER_TIER_SIRENS:
            kind, code = _UPPER_TIER_SIRENS[siren]
            entry = self.departement(code) if kind == "departement" else self.region(code)
            if entry is not None:
                entry = dataclasses.replace(entry, siren=siren)
        return entry

    def by_insee(self, insee: str) -> RegisterEntry | None:
        return self._entry(f.SECONDARY, insee) or self._entry(f.COMMUNE, insee)

    def lookup(self, siren: str | None, insee: str | None) -> RegisterEntry | None:
        """SIREN first, then the INSEE code (for communes without their own SIREN).

        The INSEE code is also tried when a SIREN is given but unknown, so a candidature
        with a wrong SIREN but a right INSEE code still resolves.
        """
        entry = self.by_siren(siren) if siren else None
        if entry is None and insee:
            entry = self.by_insee(insee)
        return entry

    def departement_name(self, code: str) -> str | None:
        return self._dep_names.get(code)

    def region_name(self, code: str) -> str | None:
        return self._region_names.get(code)

    def departement(self, code: str) -> RegisterEntry | None:
        """A département by its code ("59", "2A", "971"): the package has no SIREN for them."""
        name = self._dep_names.get(code)
        if name is None:
            return None
        return RegisterEntry(None, None, name, "departement", code, self._dep_region[code], None)

    def region(self, code: str) -> RegisterEntry | None:
        """A region by its code ("32"): the package has no SIREN for them."""
        name = self._region_names.get(code)
        return RegisterEntry(None, None, name, "region", None, code, None) if name else None

    def in_region(self, region_code: str) -> list[RegisterEntry]:
        """Actual communes (by INSEE) then EPCI (by SIREN; majority population) of a region."""
        return list(self._cross_indexes()[1].get(region_code, ()))

    def epci_of(self, insee: str) -> RegisterEntry | None:
        """The EPCI à fiscalité propre of a commune (an associée/déléguée: of its chef-lieu)."""
        entry = self.by_insee(insee)
        if entry is not None and entry.chef_lieu:
            insee = entry.chef_lieu
        return self._cross_indexes()[0].get(insee)

    def epci_population_by_region(self, siren: str) -> dict[str, int]:
        """Population of an EPCI's member communes per region code (empty if not an EPCI)."""
        row = self._record(f.EPCI, siren)
        if row is None or not row[7]:
            return {}
        return {code: int(count) for code, count in (pair.split(":") for pair in row[7].split(","))}


@cache
def load_register() -> Register:
    return Register(gzip.decompress(resources.files("ami").joinpath(DATA_FILE).read_bytes()))
