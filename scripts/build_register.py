"""Build ami/data/register.txt.gz from the npm package @etalab/decoupage-administratif.

Usage:
    .venv/bin/python scripts/build_register.py                    # npm pack the pinned version
    .venv/bin/python scripts/build_register.py --version latest   # or any published version
    .venv/bin/python scripts/build_register.py --package-dir node_modules/@etalab/decoupage-administratif

The npm download happens in a temporary directory and never lands in the repository.
Output is deterministic: every list is sorted and the gzip header carries no timestamp,
so the same package version always gives byte-identical files.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

# The layout of register.txt.gz: written by encode, checked on load by ami/domain/register.py.
from ami.domain.register_format import FORMAT, encode

PACKAGE = "@etalab/decoupage-administratif"
DEFAULT_VERSION = "6.0.0"  # millésime 2026; bump deliberately, then rerun the tests

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "ami" / "data"

# The package's EPCI type codes -> our kinds. MET69 is the Métropole de Lyon (a collectivité
# à statut particulier, listed by the DGCL among the EPCI à fiscalité propre).
EPCI_KINDS = {"CC": "CC", "CA": "CA", "CU": "CU", "METRO": "METRO", "MET69": "METRO"}
SECONDARY_KINDS = {"commune-associee": "A", "commune-deleguee": "D"}


def npm_pack(version: str, workdir: Path) -> Path:
    """Download and extract the package tarball into workdir; return the package directory."""
    spec = f"{PACKAGE}@{version}"
    out = subprocess.run(
        ["npm", "pack", spec, "--silent"],
        cwd=workdir,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    tgz = workdir / out[-1]
    with tarfile.open(tgz) as tar:
        tar.extractall(workdir, filter="data")
    return workdir / "package"


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def load(pkg: Path, name: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((pkg / "data" / f"{name}.json").read_text("utf-8"))
    return data


def build(pkg: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (register document, statistics for the attribution file)."""
    version = json.loads((pkg / "package.json").read_text("utf-8"))["version"]
    regions = {r["code"]: r["nom"] for r in load(pkg, "regions")}
    deps = {d["code"]: (d["nom"], d["region"]) for d in load(pkg, "departements")}
    rows = load(pkg, "communes")

    actual = sorted((c for c in rows if c["type"] == "commune-actuelle"), key=lambda c: c["code"])
    by_code = {c["code"]: c for c in actual}
    assert len(by_code) == len(actual), "duplicate INSEE code among communes actuelles"
    for c in actual:
        # Region is not stored per commune: it is derived from the département at load time.
        assert deps[c["departement"]][1] == c["region"], c

    # A commune nouvelle's chef-lieu is also listed as a commune déléguée under the SAME INSEE
    # code as the commune nouvelle; that code must resolve to the commune (which has the SIREN),
    # so those déléguées are dropped. Only déléguées/associées with their own code are kept.
    secondary = []
    shadowed = 0
    for c in sorted(rows, key=lambda c: c["code"]):
        if c["type"] not in SECONDARY_KINDS:
            continue  # arrondissements municipaux (Paris, Lyon, Marseille) are not collectivités
        if c["code"] in by_code:
            shadowed += 1
            continue
        parent = by_code[c["chefLieu"]]
        # The loader takes the département from the parent; make sure that is right.
        assert parent["departement"] == c["departement"], c
        secondary.append(c)
    sec_codes = Counter(c["code"] for c in secondary)
    assert max(sec_codes.values()) == 1, "duplicate INSEE code among associées/déléguées"

    epci_rows = sorted(load(pkg, "epci"), key=lambda e: e["code"])
    epci_out: dict[str, list[Any]] = defaultdict(list)
    for e in epci_rows:
        members = sorted(m["code"] for m in e["membres"])
        # Population per region and per département, from the communes' own (légale) figures,
        # so an EPCI's population is consistent with the communes in the register. (The
        # populationMunicipale in epci.json comes from another vintage and differs slightly.)
        by_region: Counter[str] = Counter()
        by_dep: Counter[str] = Counter()
        for code in members:
            pop = by_code[code].get("population") or 0
            by_region[by_code[code]["region"]] += pop
            by_dep[by_code[code]["departement"]] += pop
        # Main region = most population; ties broken by smallest code (deterministic).
        region = min(by_region, key=lambda r: (-by_region[r], r))
        dep = min((d for d in by_dep if deps[d][1] == region), key=lambda d: (-by_dep[d], d))
        epci_out["siren"].append(e["code"])
        epci_out["name"].append(e["nom"])
        epci_out["kind"].append(EPCI_KINDS[e["type"]])
        epci_out["dep"].append(dep)
        epci_out["region"].append(region)
        epci_out["pop"].append(sum(by_region.values()))
        epci_out["pop_by_region"].append(dict(sorted(by_region.items())))
        epci_out["members"].append(members)

    doc: dict[str, Any] = {
        "format": FORMAT,
        "source": {"package": PACKAGE, "version": version},
        "regions": dict(sorted(regions.items())),
        "departements": {k: list(v) for k, v in sorted(deps.items())},
        # Column arrays: one list per field, same index = same commune.
        "communes": {
            "insee": [c["code"] for c in actual],
            "siren": [c.get("siren") for c in actual],
            "name": [c["nom"] for c in actual],
            "dep": [c["departement"] for c in actual],
            "pop": [c.get("population") for c in actual],
        },
        "secondary": {
            "insee": [c["code"] for c in secondary],
            "name": [c["nom"] for c in secondary],
            "kind": [SECONDARY_KINDS[c["type"]] for c in secondary],
            "chef_lieu": [c["chefLieu"] for c in secondary],
        },
        "epci": dict(epci_out),
    }
    sirens = [s for s in doc["communes"]["siren"] if s] + doc["epci"]["siren"]
    assert len(set(sirens)) == len(sirens), "SIREN shared by two entries"
    stats = {
        "version": version,
        "communes": len(actual),
        "communes_without_siren": sum(1 for c in actual if not c.get("siren")),
        "associees": sum(1 for c in secondary if c["type"] == "commune-associee"),
        "deleguees": sum(1 for c in secondary if c["type"] == "commune-deleguee"),
        "shadowed": shadowed,
        "epci": len(epci_rows),
        "epci_kinds": dict(sorted(Counter(epci_out["kind"]).items())),
        "multi_region_epci": sum(1 for p in epci_out["pop_by_region"] if len(p) > 1),
        "departements": len(deps),
        "regions": len(regions),
        "bad_luhn": sum(1 for s in sirens if not luhn_ok(s)),
    }
    return doc, stats


ATTRIBUTION = """\
# Register of French local authorities — attribution

`ami/data/register.txt.gz` (format: `ami/domain/register_format.py`) is derived from the npm package
[`@etalab/decoupage-administratif`](https://www.npmjs.com/package/@etalab/decoupage-administratif)
version **{version}** (repository: https://github.com/etalab/decoupage-administratif).

- Package code: **MIT licence** (Copyright (c) 2018-2019 Etalab).
- Data: produced by the French administration — INSEE (Code officiel géographique, populations
  légales) and DGCL (liste et composition des EPCI à fiscalité propre) — compiled by Etalab and
  published under the Licence Ouverte / Open Licence.

## Content

- {communes} communes actuelles (INSEE code, SIREN, name, département, population;
  {communes_without_siren} overseas entries — Saint-Pierre-et-Miquelon, Saint-Barthélemy,
  Saint-Martin, TAAF, Wallis-et-Futuna, Polynésie, Nouvelle-Calédonie… — have no SIREN
  in the package).
- {associees} communes associées and {deleguees} communes déléguées with their own INSEE code
  (no SIREN; `chef_lieu` = INSEE code of the commune they belong to). {shadowed} communes
  déléguées that share the INSEE code of their commune nouvelle are omitted: that code resolves
  to the commune nouvelle.
- {epci} EPCI à fiscalité propre {epci_kinds} (package type `MET69`, the Métropole de Lyon, is
  mapped to `METRO`), with their member communes. Their population, per region and in total, is
  the sum of the members' populations from `communes.json`; the EPCI's region is the one where
  most of that population lives ({multi_region_epci} EPCI span several regions) and its
  département the most populated one within that region.
- {departements} départements and {regions} regions (code, name). **The package carries no SIREN
  for départements or regions**, so they can only be looked up by code
  (`Register.departement(code)`, `Register.region(code)`), not by SIREN.
- Arrondissements municipaux (Paris, Lyon, Marseille) and EPT are not included.
- Every SIREN passes the Luhn check ({bad_luhn} failures).

## Regenerating

```sh
.venv/bin/python scripts/build_register.py                    # pinned version {version}
.venv/bin/python scripts/build_register.py --version latest   # newest millésime
.venv/bin/python scripts/build_register.py --package-dir path/to/extracted/package
```

The script runs `npm pack` in a temporary directory; the output is deterministic (sorted,
gzip without timestamp). Rerun `tests/test_register.py` after changing the version: communes
merge every year and the asserted facts may move.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package-dir", type=Path, help="extracted package (contains data/)")
    parser.add_argument("--version", default=DEFAULT_VERSION, help="npm version to pack")
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="register-") as tmp:
        pkg = args.package_dir or npm_pack(args.version, Path(tmp))
        doc, stats = build(pkg)

    payload = encode(doc)
    buf = io.BytesIO()
    # mtime=0 and no filename in the header: byte-identical output for identical input.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(payload)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "register.txt.gz").write_bytes(buf.getvalue())
    (args.out_dir / "REGISTER-ATTRIBUTION.md").write_text(ATTRIBUTION.format(**stats), "utf-8")
    print(f"register.txt.gz: {len(buf.getvalue())} bytes ({len(payload)} uncompressed)")
    print(json.dumps(stats, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
