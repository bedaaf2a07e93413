"""A command pays only for what it uses: `ami check` loads neither temporalio, the workflows, the
store nor the documents, and the register is read without parsing every entry. No time is asserted
(speed figures live in bench/ and docs/performance.md): what is checked is which modules load."""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
from pathlib import Path

from ami.app.cli.main import COMMANDS, MODULE_NAMES, build_parser, modules_for
from ami.domain.register import Register, load_register
from ami.domain.register_format import encode

ROOT = Path(__file__).resolve().parent.parent
FORM = ROOT / "ami" / "data" / "examples" / "01-henin-carvin.yaml"
HEAVY = (
    "temporalio",
    "ami.workflows",
    "ami.activities",
    "ami.infra.store",
    "sqlalchemy",
    "ami.infra.documents",
    "fpdf",
    "docx",
    "jinja2",
    "rich",
    "asyncio",
)

_PROBE = """
import contextlib, io, json, sys
from ami.app.cli.main import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    code = main(sys.argv[1:])
loaded = [name for name in {heavy!r} if name in sys.modules]
print(json.dumps({{"code": code, "loaded": loaded, "verdict": json.loads(out.getvalue())}}))
"""


def test_check_loads_no_engine_module() -> None:
    probe = _PROBE.format(heavy=HEAVY)
    done = subprocess.run(
        [sys.executable, "-c", probe, "check", str(FORM), "--at", "2024-08-01T12:00:00+02:00"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout)
    assert result["loaded"] == []
    assert result["code"] == 0 and result["verdict"]["eligible"] is True


def _registered(modules: tuple[str, ...]) -> set[str]:
    parser = build_parser(modules)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(sub.choices)


def test_commands_map_names_what_each_module_registers() -> None:
    everything = _registered(MODULE_NAMES)
    assert set(COMMANDS) == everything
    for command, modules in COMMANDS.items():
        assert command in _registered(modules)
        assert set(modules) <= set(MODULE_NAMES)


def test_modules_for_a_command_line() -> None:
    assert modules_for(["check", "f.yaml", "--at", "x"]) == ("cmd_check",)
    assert modules_for(["campaign", "check", "c.toml"]) == ("cmd_check",)
    assert modules_for(["campaign", "start", "ami-2024"]) == ("cmd_check", "cmd_coordination", "cmd_portal")
    assert modules_for(["-h"]) == MODULE_NAMES
    assert modules_for(["chek"]) == MODULE_NAMES
    assert modules_for([]) == MODULE_NAMES


def test_register_point_lookups_match_the_full_index() -> None:
    """The same entries whether found line by line (rfind) or through the whole index."""
    full = load_register()
    point = Register(gzip.decompress((ROOT / "ami" / "data" / "register.txt.gz").read_bytes()))
    point._INDEX_AFTER = 10**6
    full.in_region("32")  # builds the whole index
    for siren, insee in (
        ("246200299", None),
        ("215903501", None),
        (None, "59355"),
        (None, "01015"),
        ("200053742", None),
        ("000000000", "99999"),
    ):
        assert point.lookup(siren, insee) == full.lookup(siren, insee)
    assert point._index is None  # no lookup above parsed the whole register
    assert point.epci_population_by_region("246200299") == full.epci_population_by_region("246200299")


def test_register_format_round_trip() -> None:
    doc = {
        "source": {"package": "p", "version": "1"},
        "regions": {"32": "Hauts-de-France"},
        "departements": {"59": ["Nord", "32"]},
        "communes": {
            "insee": ["59350", "59999"],
            "siren": ["215903501", None],
            "name": ["Lille", "Sans Siren"],
            "dep": ["59", "59"],
            "pop": [1, None],
        },
        "secondary": {"insee": ["59355"], "name": ["Lomme"], "kind": ["A"], "chef_lieu": ["59350"]},
        "epci": {
            "siren": ["200093201"],
            "name": ["MEL"],
            "kind": ["METRO"],
            "dep": ["59"],
            "region": ["32"],
            "pop": [1],
            "pop_by_region": [{"32": 1}],
            "members": [["59350"]],
        },
    }
    register = Register(encode(doc))
    lille = register.by_siren("215903501")
    assert lille is not None and (lille.name, lille.insee, lille.population, lille.region) == ("Lille", "59350", 1, "32")
    lomme = register.by_insee("59355")
    assert lomme is not None and (lomme.kind, lomme.chef_lieu, lomme.departement) == ("commune_associee", "59350", "59")
    no_siren = register.by_insee("59999")
    assert no_siren is not None and no_siren.siren is None and no_siren.population is None
    assert register.epci_of("59355") == register.by_siren("200093201")
    assert register.epci_population_by_region("200093201") == {"32": 1}
    assert [e.name for e in register.in_region("32")] == ["Lille", "Sans Siren", "MEL"]
    assert json.loads(json.dumps(register.departement_name("59"))) == "Nord"
