"""Official register of French local authorities (communes, associées/déléguées, EPCI).

Data: ami/data/register.json.gz, built by scripts/build_register.py from the npm package
@etalab/decoupage-administratif (see ami/data/REGISTER-ATTRIBUTION.md). Every lookup is a dict
access; the register is loaded once per process by load_register().
"""

from __future__ import annotations

import dataclasses
import gzip
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

FORMAT = 1  # must match scripts/build_register.py

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
    """Immutable indexes over the register document (see scripts/build_register.py)."""

    def __init__(self, doc: dict[str, Any]) -> None:
        if doc.get("format") != FORMAT:
            raise ValueError(f"register format {doc.get('format')!r}, expected {FORMAT}")
        self.source_version: str = doc["source"]["version"]
        self._region_names: dict[str, str] = doc["regions"]
        self._dep_names: dict[str, str] = {k: v[0] for k, v in doc["departements"].items()}
        self._dep_region: dict[str, str] = {k: v[1] for k, v in doc["departements"].items()}
        dep_region = self._dep_region
        self._by_siren: dict[str, RegisterEntry] = {}
        self._by_insee: dict[str, RegisterEntry] = {}
        self._epci_of: dict[str, RegisterEntry] = {}
        self._pop_by_region: dict[str, dict[str, int]] = {}
        self._in_region: dict[str, list[RegisterEntry]] = {}

        c = doc["communes"]
        for insee, siren, name, dep, pop in zip(c["insee"], c["siren"], c["name"], c["dep"], c["pop"], strict=True):
            entry = RegisterEntry(siren, insee, name, "commune", dep, dep_region[dep], pop)
            self._add(entry)
        s = doc["secondary"]
        for insee, name, kind, chef in zip(s["insee"], s["name"], s["kind"], s["chef_lieu"], strict=True):
            parent = self._by_insee[chef]
            self._add(
                RegisterEntry(
                    None,
                    insee,
                    name,
                    _SECONDARY[kind],
                    parent.departement,
                    parent.region,
                    None,
                    chef_lieu=chef,
                )
            )
        e = doc["epci"]
        for siren, name, kind, dep, region, pop, by_region, members in zip(
            e["siren"],
            e["name"],
            e["kind"],
            e["dep"],
            e["region"],
            e["pop"],
            e["pop_by_region"],
            e["members"],
            strict=True,
        ):
            entry = RegisterEntry(siren, None, name, kind, dep, region, pop, members=tuple(members))
            self._add(entry)
            self._pop_by_region[siren] = by_region
            for m in members:
                self._epci_of[m] = entry

    def _add(self, entry: RegisterEntry) -> None:
        if entry.siren:
            self._by_siren[entry.siren] = entry
        if entry.insee:
            self._by_insee[entry.insee] = entry
        # Benchmarks compare like with like: actual communes and EPCI only.
        if entry.kind == "commune" or entry.is_epci:
            self._in_region.setdefault(entry.region or "", []).append(entry)

    def by_siren(self, siren: str) -> RegisterEntry | None:
        """A commune or an EPCI by SIREN; also the few départements and regions of _UPPER_TIER_SIRENS."""
        entry = self._by_siren.get(siren)
        if entry is None and siren in _UPPER_TIER_SIRENS:
            kind, code = _UPPER_TIER_SIRENS[siren]
            entry = self.departement(code) if kind == "departement" else self.region(code)
            if entry is not None:
                entry = dataclasses.replace(entry, siren=siren)
        return entry

    def by_insee(self, insee: str) -> RegisterEntry | None:
        return self._by_insee.get(insee)

    def lookup(self, siren: str | None, insee: str | None) -> RegisterEntry | None:
        """SIREN first, then the INSEE code (for communes without their own SIREN).

        The INSEE code is also tried when a SIREN is given but unknown, so a candidature
        with a wrong SIREN but a right INSEE code still resolves.
        """
        entry = self.by_siren(siren) if siren else None
        if entry is None and insee:
            entry = self._by_insee.get(insee)
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
        return list(self._in_region.get(region_code, ()))

    def epci_of(self, insee: str) -> RegisterEntry | None:
        """The EPCI à fiscalité propre of a commune (an associée/déléguée: of its chef-lieu)."""
        entry = self._by_insee.get(insee)
        if entry is not None and entry.chef_lieu:
            insee = entry.chef_lieu
        return self._epci_of.get(insee)

    def epci_population_by_region(self, siren: str) -> dict[str, int]:
        """Population of an EPCI's member communes per region code (empty if not an EPCI)."""
        return dict(self._pop_by_region.get(siren, {}))


@cache
def load_register() -> Register:
    data = resources.files("ami").joinpath("data/register.json.gz").read_bytes()
    return Register(json.loads(gzip.decompress(data)))
