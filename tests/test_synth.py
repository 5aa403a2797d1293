"""Tests for piu/synth.py: determinism, counts, identifiers, and truth.csv against the manifest.

`detect()` below is an independent, deliberately plain re-implementation of every planted
scenario read straight from manifest.csv; for each scenario the calls it finds must be exactly
the calls truth.csv names (planted ones really show it, ordinary ones never do).
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pandas as pd
import pycountry
import pytest

from piu import synth
from piu.errors import InputError, UsageError
from piu.schema import CALL_FIELDS, CALL_REF, PERSON_FIELDS

REFERENCE = Path(__file__).resolve().parents[1] / ".." / "shared" / "reference"


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def imo_ok(imo: str) -> bool:
    d = [int(c) for c in imo]
    return len(d) == 7 and sum(x * w for x, w in zip(d, (7, 6, 5, 4, 3, 2))) % 10 == d[6]


def mid_table() -> dict[str, str]:
    """MID -> alpha-3 from the reference table (alpha-2 there)."""
    out = {}
    with open(REFERENCE / "mmsi_mid_countries.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            country = pycountry.countries.get(alpha_2=row["Country Code"])
            if country:
                out[row["MID"]] = country.alpha_3
    return out


def detect(manifest: pd.DataFrame) -> dict[str, set[str]]:
    """Call keys (imo|port|direction|call_time) showing each scenario, computed from the manifest."""
    m = manifest.copy()
    m["key"] = m["imo"] + "|" + m["port"] + "|" + m["direction"] + "|" + m["call_time"]
    m["t"] = pd.to_datetime(m["call_time"], format="%d/%m/%Y %H:%M")
    m["dob"] = pd.to_datetime(m["date_of_birth"], format="%d/%m/%Y")
    m["exp"] = pd.to_datetime(m["doc_expiry"], format="%d/%m/%Y", errors="coerce")
    m["who"] = m["family_name"] + "|" + m["given_names"] + "|" + m["date_of_birth"]
    crew = m[m["role"] == "crew"]
    pax = m[m["role"] == "passenger"]
    calls = m.drop_duplicates("key").set_index("key")
    n_crew = crew.groupby("key").size().reindex(calls.index, fill_value=0)
    n_pax = pax.groupby("key").size().reindex(calls.index, fill_value=0)
    found: dict[str, set[str]] = {}

    def keys(mask) -> set[str]:  # noqa: ANN001
        return set(mask[mask].index)

    found["passengers-on-non-passenger-vessel"] = keys((calls["vessel_type"] != "Passenger ferry") & (n_pax > 12))
    cap = pd.to_numeric(calls["capacity"], errors="coerce")
    found["overcapacity"] = keys(cap.notna() & ((n_crew + n_pax) > cap))
    age_days = (crew["t"].dt.normalize() - crew["dob"]).dt.days
    sixteen = crew["dob"] + pd.DateOffset(years=16)
    minor = crew[(crew["vessel_type"] == "Fishing vessel") & (crew["t"].dt.normalize() < sixteen)]
    assert (age_days >= 0).all()
    found["minor-in-crew"] = set(minor["key"])
    expired = m[m["exp"].notna() & (m["exp"] < m["t"].dt.normalize())].groupby("key").size()
    found["document-expired"] = set(expired[expired >= 3].index)
    found["document-missing"] = set(m.loc[m["doc_number"] == "", "key"])
    docs = m[m["doc_number"] != ""]
    dup = docs.groupby(["key", "doc_number"]).size()
    found["duplicate-document"] = {k for k, _ in dup[dup > 1].index}
    found["declared-count-mismatch"] = keys((calls["declared_crew"].astype(int) != n_crew)
                                            | (calls["declared_passengers"].astype(int) != n_pax))
    found["imo-invalid"] = {k for k, imo in calls["imo"].items() if not imo_ok(imo)}
    mids = mid_table()
    found["mmsi-flag-mismatch"] = {k for k, r in calls.iterrows() if mids.get(r["mmsi"][:3]) != r["flag"]}
    # Another call of the same IMO within a year (before or after) under another name/flag/MMSI.
    ident = calls.assign(idn=calls["vessel_name"] + "|" + calls["flag"] + "|" + calls["mmsi"])
    changed = set()
    for _, g in ident.groupby("imo"):
        for k, r in g.iterrows():
            if any(i != r["idn"] and abs((r["t"] - t).days) <= 365 for t, i in zip(g["t"], g["idn"])):
                changed.add(k)
    found["identity-change"] = changed
    found["flag-risk"] = keys(calls["flag"].isin(["TGO", "TZA", "CMR"]))
    found["vessel-age"] = keys((calls["t"].dt.year - calls["year_built"].astype(int)) > 25)
    # A document number held by another person on another call (before or after).
    holders = docs[["doc_number", "who", "key"]].drop_duplicates()
    pairs = holders.merge(holders, on="doc_number", suffixes=("", "_other"))
    pairs = pairs[(pairs["who"] != pairs["who_other"]) & (pairs["key"] != pairs["key_other"])]
    found["document-reused"] = set(pairs["key"])
    # Pair each departure with the latest earlier arrival of the same IMO at the same port.
    seq = calls.reset_index().sort_values(["imo", "port", "t"])
    prev = seq.groupby(["imo", "port"]).shift(1)
    pairs = seq.assign(a_key=prev["key"], a_dir=prev["direction"])
    pairs = pairs[(pairs["direction"] == "departure") & (pairs["a_dir"] == "arrival")][["key", "a_key"]]
    aboard = crew[["key", "who"]].assign(on_dep=True)
    arrived = crew[["key", "who"]].rename(columns={"key": "a_key"}).merge(pairs, on="a_key")
    gone = arrived.merge(aboard, on=["key", "who"], how="left")
    found["crew-missing-on-departure"] = set(gone.loc[gone["on_dep"].isna(), "key"])
    share = (crew["embark_port"] == crew["last_port"]).groupby(crew["key"]).mean()
    found["crew-joined-last-port"] = set(share[share > 0.3].index)
    return found


def truth_sets(truth: pd.DataFrame) -> dict[str, set[str]]:
    key = truth["imo"] + "|" + truth["port"] + "|" + truth["direction"] + "|" + truth["call_time"]
    out = {s: set() for s in synth.SCENARIOS}
    for k, planted in zip(key, truth["planted"]):
        for sid in filter(None, planted.split(";")):
            out[sid].add(k)
    return out


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A small sample with a high plant rate, so that every scenario appears several times."""
    out = tmp_path_factory.mktemp("rich")
    return synth.generate(1200, out, seed=7, plant_rate=0.3, ports=("KHKOS", "THSGZ"))


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("plain")
    return synth.generate(3001, out, seed=3)


def test_summary_and_exact_counts(plain: dict) -> None:
    manifest, truth = read(Path(plain["manifest"])), read(Path(plain["truth"]))
    assert plain["calls"] == 3001 == len(truth)
    assert plain["persons"] == len(manifest)
    assert list(manifest.columns) == list(CALL_FIELDS) + list(PERSON_FIELDS)
    assert list(truth.columns) == list(synth.TRUTH_FIELDS)
    assert plain["planted"] == (truth["planted"] != "").sum()
    assert abs(plain["planted"] - 0.03 * 3001) <= 12
    assert truth["call_ref"].tolist() == [f"C{i:07d}" for i in range(1, 3002)]
    keys = manifest["imo"] + manifest["direction"] + manifest["call_time"] + manifest["port"]
    assert keys.nunique() == 3001
    # One call is an arrival still in port (odd number of calls).
    assert (truth["direction"] == "arrival").sum() == 1501
    assert 13 <= len(manifest) / 3001 <= 19


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    a = synth.generate(300, tmp_path / "a", seed=11)
    b = synth.generate(300, tmp_path / "b", seed=11)
    c = synth.generate(300, tmp_path / "c", seed=12)
    for name in ("manifest", "truth"):
        assert Path(a[name]).read_bytes() == Path(b[name]).read_bytes()
        assert Path(a[name]).read_bytes() != Path(c[name]).read_bytes()


def test_every_scenario_planted_and_detectable(rich: dict) -> None:
    found = detect(read(Path(rich["manifest"])))
    expected = truth_sets(read(Path(rich["truth"])))
    for sid in synth.SCENARIOS:
        assert len(expected[sid]) >= 3, sid
        assert found[sid] == expected[sid], sid


def test_default_rate_sample_ordinary_calls_trigger_nothing(plain: dict) -> None:
    found = detect(read(Path(plain["manifest"])))
    expected = truth_sets(read(Path(plain["truth"])))
    for sid in synth.SCENARIOS:
        assert found[sid] == expected[sid], sid


def test_identifiers_valid_for_ordinary_calls(rich: dict) -> None:
    truth, manifest = read(Path(rich["truth"])), read(Path(rich["manifest"]))
    calls = manifest.drop_duplicates(["imo", "direction", "call_time", "port"])
    calls = calls.merge(truth[["imo", "direction", "call_time", "port", "planted"]])
    ordinary = calls[calls["planted"] == ""]
    assert ordinary["imo"].map(imo_ok).all()
    assert ordinary["mmsi"].str.fullmatch(r"\d{9}").all()
    mids = mid_table()
    assert (ordinary["mmsi"].str[:3].map(mids) == ordinary["flag"]).all()
    bad_imo = calls[calls["planted"].str.contains("imo-invalid")]
    assert len(bad_imo) and not bad_imo["imo"].map(imo_ok).any()
    # Each IMO has one MMSI, one flag and one name unless an identity change was planted.
    changed = set(calls.loc[calls["planted"].str.contains("identity-change"), "imo"])
    per_imo = calls[~calls["imo"].isin(changed)].groupby("imo")[["mmsi", "flag", "vessel_name"]].nunique()
    assert (per_imo == 1).all().all()
    assert calls.groupby("mmsi")["imo"].nunique().max() == 1


def test_ordinary_people_adults_with_valid_unique_documents(plain: dict) -> None:
    m = read(Path(plain["manifest"]))
    truth = read(Path(plain["truth"]))
    ordinary = truth.loc[truth["planted"] == "", ["imo", "direction", "call_time"]]
    o = m.merge(ordinary)
    crew = o[o["role"] == "crew"]
    t = pd.to_datetime(crew["call_time"], format="%d/%m/%Y %H:%M")
    dob = pd.to_datetime(crew["date_of_birth"], format="%d/%m/%Y")
    assert ((t - dob).dt.days >= 20 * 365).all()
    expiry = pd.to_datetime(o["doc_expiry"], format="%d/%m/%Y")
    assert (expiry > pd.Timestamp(2026, 11, 29) + pd.Timedelta(days=180)).all()
    who = o["family_name"] + "|" + o["given_names"] + "|" + o["date_of_birth"]
    assert o.assign(who=who).groupby("doc_number")["who"].nunique().max() == 1
    assert set(o["gender"]) == {"M", "F"}
    assert set(o["nationality"]) == set(synth.NATIONALITIES)
    assert (o["doc_issuer"] == o["nationality"]).all()
    # Vietnamese names keep their diacritics; Myanmar names sit whole in family_name.
    assert o.loc[o["nationality"] == "VNM", "family_name"].str.contains("[ễầạăơưđĐ]", regex=True).any()
    assert (o.loc[o["nationality"] == "MMR", "given_names"] == "").all()
    passports = o[(o["doc_type"] == "Passport")]
    layout = {"KHM": r"N\d{8}", "THA": r"A[A-D]\d{7}", "VNM": r"[BC]\d{7}", "IDN": r"[ABCE]\d{7}",
              "MMR": r"M[A-K]\d{6}", "PHL": r"P\d{7}[A-Z]", "CHN": r"E\d{8}"}
    for nat, pattern in layout.items():
        numbers = passports.loc[passports["nationality"] == nat, "doc_number"]
        assert len(numbers) and numbers.str.fullmatch(pattern).all(), nat


def test_fleet_realism(plain: dict) -> None:
    m = read(Path(plain["manifest"]))
    truth = read(Path(plain["truth"]))
    m = m.merge(truth.loc[truth["planted"] == "", ["imo", "direction", "call_time"]])   # ordinary calls
    calls = m.drop_duplicates(["imo", "direction", "call_time"])
    assert set(calls["vessel_type"]) == {t[0] for t in synth.VESSEL_TYPES}
    assert 300 <= calls["imo"].nunique() <= 450          # about one vessel per 8 calls
    fishing = calls[calls["vessel_type"] == "Fishing vessel"]
    assert fishing["gross_tonnage"].astype(int).between(50, 400).all()
    assert fishing["declared_passengers"].eq("0").all()
    cargo = calls[calls["vessel_type"] == "General cargo"]
    assert cargo["gross_tonnage"].astype(int).between(2000, 30000).all()
    ferries = calls[calls["vessel_type"] == "Passenger ferry"]
    assert (ferries["capacity"] != "").all() and (ferries["declared_passengers"].astype(int) > 0).any()
    assert set(calls["last_port"]) <= set(synth.REGION_PORTS) and "KHKOS" not in set(calls["last_port"])
    assert set(calls["port"]) == {"KHKOS"}
    masters = m[m["rank"] == "Master"].groupby(["imo", "direction", "call_time"]).size()
    assert len(masters) == len(calls) and masters.max() == 1


def test_each_departure_follows_its_arrival_within_three_days(plain: dict) -> None:
    truth = read(Path(plain["truth"]))
    t = truth.assign(t=pd.to_datetime(truth["call_time"], format="%d/%m/%Y %H:%M")).sort_values(["imo", "t"])
    prev = t.groupby("imo").shift(1)
    dep = t["direction"] == "departure"
    assert (prev.loc[dep, "direction"] == "arrival").all()
    gap = t.loc[dep, "t"] - prev.loc[dep, "t"]
    assert gap.between(pd.Timedelta(days=1), pd.Timedelta(days=3)).all()
    # A vessel's next arrival comes after its previous departure: visits never overlap.
    arr = t["direction"] == "arrival"
    assert (prev.loc[arr, "direction"].dropna() == "departure").all()


def test_split_shape_joins_back_to_the_flat_manifest(tmp_path: Path) -> None:
    flat = synth.generate(200, tmp_path / "flat", seed=5)
    split = synth.generate(200, tmp_path / "split", seed=5, shape="split")
    assert split["manifest"].endswith("calls.csv") and split["persons_file"].endswith("persons.csv")
    calls, persons = read(Path(split["manifest"])), read(Path(split["persons_file"]))
    assert list(calls.columns) == [CALL_REF, *CALL_FIELDS] and list(persons.columns) == [CALL_REF, *PERSON_FIELDS]
    assert len(calls) == 200 and len(persons) == split["persons"] == flat["persons"]
    joined = persons.merge(calls, on=CALL_REF, how="left")[list(CALL_FIELDS) + list(PERSON_FIELDS)]
    pd.testing.assert_frame_equal(joined, read(Path(flat["manifest"])))
    assert Path(split["truth"]).read_bytes() == Path(flat["truth"]).read_bytes()


def test_build_in_memory_matches_files(tmp_path: Path) -> None:
    sample = synth.build(150, seed=2, ports=["THSGZ"], start=date(2027, 1, 10), days=10)
    files = synth.generate(150, tmp_path, seed=2, ports=["THSGZ"], start=date(2027, 1, 10), days=10)
    assert sample.flat().num_rows == files["persons"]
    truth = read(Path(files["truth"]))
    assert truth["call_id"].iloc[0] == f"THSGZ-{truth['call_time'].iloc[0][6:10]}{truth['call_time'].iloc[0][3:5]}" \
        f"{truth['call_time'].iloc[0][:2]}-{'A' if truth['direction'].iloc[0] == 'arrival' else 'D'}-{truth['imo'].iloc[0]}"
    times = pd.to_datetime(truth["call_time"], format="%d/%m/%Y %H:%M")
    assert times.min() >= pd.Timestamp(2027, 1, 10) and times.is_monotonic_increasing


@pytest.mark.parametrize("n", [1, 2, 3, 17])
def test_tiny_samples(tmp_path: Path, n: int) -> None:
    out = synth.generate(n, tmp_path, seed=1, days=1, plant_rate=1.0)
    truth = read(Path(out["truth"]))
    assert len(truth) == n == out["calls"]
    assert out["planted"] == (truth["planted"] != "").sum() >= 1
    found = detect(read(Path(out["manifest"])))
    expected = truth_sets(truth)
    for sid in synth.SCENARIOS:
        assert found[sid] == expected[sid], sid


def test_zero_plant_rate_is_all_ordinary(tmp_path: Path) -> None:
    out = synth.generate(400, tmp_path, seed=4, plant_rate=0.0)
    assert out["planted"] == 0
    assert all(not v for v in detect(read(Path(out["manifest"]))).values())


def test_mid_table_matches_reference() -> None:
    mids = mid_table()
    for flag, codes in synth.MID_BY_FLAG.items():
        for code in codes:
            assert mids[str(code)] == flag, (flag, code)
    assert set(synth.CALL_SIGN_PREFIX) == set(synth.MID_BY_FLAG)


def test_ordinary_flags_avoid_every_black_list() -> None:
    with open(REFERENCE / "flag_lists.csv", encoding="utf-8") as fh:
        black = {r["iso3"] for r in csv.DictReader(fh) if r["list"] == "black"}
    ordinary = {f for choices in synth.FLAG_CHOICES.values() for f, _ in choices}
    assert not ordinary & black
    assert set(synth.RISK_FLAGS) <= black


def test_imo_check_digit() -> None:
    assert synth.imo_check_digit(907472) == 9      # IMO 9074729 (DOMAIN.md worked example)
    assert synth.imo_check_digit(123456) == 7


@pytest.mark.parametrize("kwargs, message", [
    ({"n_calls": 0}, "--calls must be a whole number from 1 to 1,000,000, not 0"),
    ({"n_calls": 2_000_000}, "--calls must be a whole number from 1 to 1,000,000, not 2000000"),
    ({"n_calls": 10, "ports": ["KHK"]}, "--ports must be UN/LOCODEs like KHKOS,THSGZ (bad: KHK)"),
    ({"n_calls": 10, "shape": "wide"}, "--shape must be one of flat, split, not 'wide'"),
    ({"n_calls": 10, "plant_rate": 1.5}, "--plant-rate must be between 0 and 1, not 1.5"),
    ({"n_calls": 10, "days": 0}, "--days must be from 1 to 3660, not 0"),
])
def test_bad_arguments(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(UsageError) as err:
        synth.generate(out_dir=tmp_path, **kwargs)
    assert err.value.one_line() == message
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError) as err:
        synth.generate(5, blocker / "out")
    assert err.value.one_line() == (f"cannot create the output folder {blocker / 'out'} (Not a directory); "
                                    "choose a folder you can write to with --out")
