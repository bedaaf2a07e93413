"""Facts checked against @etalab/decoupage-administratif 6.0.0 (millésime 2026)."""

from __future__ import annotations

import time

from ami.domain.register import Register, load_register


def _register() -> Register:
    return load_register()


def test_load_time() -> None:
    load_register.cache_clear()
    start = time.perf_counter()
    register = load_register()
    elapsed = time.perf_counter() - start
    print(f"register {register.source_version} loaded in {elapsed * 1000:.0f} ms")
    assert elapsed < 2.0  # loose bound for slow CI; ~0.2 s on a dev machine
    assert load_register() is register  # cached


def test_lomme_and_hellemmes_are_communes_associees_of_lille() -> None:
    r = _register()
    for insee, name in (("59355", "Lomme"), ("59298", "Hellemmes-Lille")):
        e = r.by_insee(insee)
        assert e is not None
        assert e.name == name
        assert e.kind == "commune_associee"  # associées in the data, not déléguées
        assert e.kind_label == "commune associée"
        assert e.siren is None
        assert e.chef_lieu == "59350"
        assert (e.departement, e.region) == ("59", "32")
        assert e.is_commune_or_epci
        assert r.lookup(None, insee) == e
    lille = r.by_insee("59350")
    assert lille is not None and lille.name == "Lille" and lille.siren == "215903501"


def test_deleguee_sharing_code_of_commune_nouvelle_resolves_to_commune() -> None:
    # 01015 is both Arboys en Bugey (commune nouvelle) and Arbignieu (déléguée).
    e = _register().by_insee("01015")
    assert e is not None and e.kind == "commune" and e.name == "Arboys en Bugey"


def test_epci() -> None:
    r = _register()
    henin = r.by_siren("246200299")
    assert henin is not None
    assert henin.name == "CA d'Hénin-Carvin"
    assert henin.kind == "CA" and henin.kind_label == "communauté d'agglomération"
    assert (henin.departement, henin.region) == ("62", "32")
    assert "62907" in henin.members and henin.insee is None
    mel = r.by_siren("200093201")
    assert mel is not None
    assert mel.name == "Métropole Européenne de Lille"
    assert mel.kind == "METRO" and mel.kind_label == "métropole"
    assert r.epci_of("59355") == mel  # via Lille, its chef-lieu
    assert r.epci_of("62907") == henin
    lyon = r.by_siren("200046977")  # package type MET69
    assert lyon is not None and lyon.kind == "METRO"


def test_interregional_epci_belongs_to_majority_region() -> None:
    r = _register()
    e = r.by_siren("247600588")  # CC des Villes Soeurs: Seine-Maritime and Somme
    assert e is not None
    pops = r.epci_population_by_region("247600588")
    assert set(pops) == {"28", "32"} and pops["28"] > pops["32"]
    assert e.region == "28" and e.departement == "76"
    assert e.population == sum(pops.values())


def test_communes() -> None:
    r = _register()
    lib = r.by_insee("62907")
    assert lib is not None
    assert lib.name == "Libercourt" and lib.kind == "commune"
    assert lib.siren == "216209072" and r.by_siren("216209072") == lib
    assert (lib.departement, lib.region) == ("62", "32")
    reims = r.by_insee("51454")
    assert reims is not None and reims.region == "44" and reims.siren == "215104217"
    amiens = r.by_insee("80021")
    assert amiens is not None and amiens.region == "32" and amiens.departement == "80"


def test_lookup_order_and_unknowns() -> None:
    r = _register()
    assert r.by_siren("123456782") is None  # Luhn-valid, not in the register
    assert r.by_insee("99999") is None
    assert r.lookup(None, None) is None
    assert r.lookup("216209072", "80021") == r.by_insee("62907")  # SIREN wins
    assert r.lookup("123456782", "80021") == r.by_insee("80021")  # unknown SIREN: INSEE


def test_departements_and_regions_have_no_siren() -> None:
    r = _register()
    assert r.departement_name("59") == "Nord"
    assert r.region_name("32") == "Hauts-de-France"
    assert r.departement_name("00") is None and r.region_name("00") is None
    nord = r.departement("59")
    assert nord is not None and nord.kind == "departement" and nord.region == "32"
    assert nord.siren is None and not nord.is_commune_or_epci
    assert nord.kind_label == "département"
    hdf = r.region("32")
    assert hdf is not None and hdf.kind_label == "région"


def test_hauts_de_france_benchmark() -> None:
    entries = _register().in_region("32")
    communes = [e for e in entries if e.kind == "commune"]
    epci = [e for e in entries if e.kind in {"CC", "CA", "CU", "METRO"}]
    assert len(communes) + len(epci) == len(entries)
    assert 3700 <= len(communes) <= 3900  # 3,782 in 2026
    assert 85 <= len(epci) <= 95  # 90 in 2026 (2 interregional CC count for Normandie)
    assert {e.departement for e in communes} == {"02", "59", "60", "62", "80"}
