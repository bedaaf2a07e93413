"""The register's file (ami/data/register.txt.gz): one record a line, tab-separated, gzip-compressed.

Made for point lookups: a process that checks one form finds its one line with `bytes.rfind` in the
decompressed text (about 2.5 MB) and never parses the 38,000 entries. The former columnar JSON cost
`ami check` about 100 ms and 27 MiB in `json.loads` and its indexes. Lines, in this order:

    format    2
    source    PACKAGE  VERSION
    r  CODE  NAME                                          a region
    d  CODE  NAME  REGION                                  a département
    c  INSEE  SIREN  NAME  DEP  POP                        a commune actuelle (SIREN, POP may be empty)
    s  INSEE  NAME  KIND  CHEF_LIEU                        a commune associée (A) or déléguée (D)
    e  SIREN  NAME  KIND  DEP  REGION  POP  BY_REGION  MEMBERS
                                                           an EPCI; BY_REGION `11:56,32:1234`, MEMBERS `59350,59355`
    n  SIREN  INSEE                                        the SIREN of a commune -> its INSEE code

A key is always the field after the record's letter, so `\\n<letter>\\t<key>\\t` finds a record.
`encode` writes it from the columnar document that scripts/build_register.py builds.
"""

from __future__ import annotations

from typing import Any

FORMAT = 2
COMMUNE, SECONDARY, EPCI, SIREN_OF_COMMUNE, REGION, DEPARTEMENT = "c", "s", "e", "n", "r", "d"


def _line(*fields: object) -> str:
    text = ["" if f is None else str(f) for f in fields]
    if any(("\t" in f or "\n" in f) for f in text):
        raise ValueError(f"tab or newline in a register field: {text!r}")
    return "\t".join(text)


def encode(doc: dict[str, Any]) -> bytes:
    """The file's text for the columnar document (keys: source, regions, departements, communes, secondary, epci)."""
    lines = [_line("format", FORMAT), _line("source", doc["source"]["package"], doc["source"]["version"])]
    lines += [_line(REGION, code, name) for code, name in doc["regions"].items()]
    lines += [_line(DEPARTEMENT, code, name, region) for code, (name, region) in doc["departements"].items()]
    c = doc["communes"]
    lines += [_line(COMMUNE, *row) for row in zip(c["insee"], c["siren"], c["name"], c["dep"], c["pop"], strict=True)]
    s = doc["secondary"]
    lines += [_line(SECONDARY, *row) for row in zip(s["insee"], s["name"], s["kind"], s["chef_lieu"], strict=True)]
    e = doc["epci"]
    for siren, name, kind, dep, region, pop, by_region, members in zip(
        e["siren"], e["name"], e["kind"], e["dep"], e["region"], e["pop"], e["pop_by_region"], e["members"], strict=True
    ):
        regions = ",".join(f"{code}:{count}" for code, count in by_region.items())
        lines.append(_line(EPCI, siren, name, kind, dep, region, pop, regions, ",".join(members)))
    lines += [_line(SIREN_OF_COMMUNE, siren, insee) for insee, siren in zip(c["insee"], c["siren"], strict=True) if siren]
    return ("\n".join(lines) + "\n").encode("utf-8")
