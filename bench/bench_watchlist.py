"""Benchmark: screening the whole store against a 10,000-entry watchlist vs ingesting that store.

Goal (issue "Watchlists and identity"): screening the benchmark store (about 750,000 persons)
against a 10,000-entry list finishes in no more time than ingesting that store, measured in the
same run. Steps:

1. `piu.synth.generate` writes a synthetic month (what `piu samples` does);
2. `piu ingest manifest.csv` into an empty store (timed, as a command);
3. a 10,000-entry list is built from the store: 2,000 persons of the store written as a partner
   would (token order swapped, a typo, day and month swapped, no date of birth) and 8,000
   made-up people from the same name pool with other dates of birth; `piu watchlist import`;
4. screening (timed, in one process): read every person of the current calls and the active
   entries from the store, `piu.matching.screen_persons` with blocking. Reported: seconds,
   candidate name pairs, matches, and how many of the 2,000 planted persons were found.

    .venv/bin/python bench/bench_watchlist.py [--calls 45000] [--entries 10000] [--work DIR] [--keep]

Prints one line per step and the ratio screening / ingest; exit 1 when it is above --goal (1.0).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PIU = str(Path(sys.executable).parent / "piu")
sys.path.insert(0, str(REPO))


def run_piu(home: Path, *args: str) -> float:
    """Run a piu command quietly; its wall time in seconds (raises on failure)."""
    t = time.perf_counter()
    proc = subprocess.run([PIU, "--home", str(home), "-q", *args], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"piu {' '.join(args)} failed: {proc.stderr.strip()[-300:]}")
    return time.perf_counter() - t


def make_list(home: Path, path: Path, n_entries: int, n_planted: int, seed: int = 1) -> int:
    """Write a watchlist CSV built from the store's persons; returns how many planted persons it has."""
    import numpy as np
    import pandas as pd

    from piu.identity import _current, _persons

    rng = np.random.default_rng(seed)
    calls = _current(home_store(home), columns=["call_id", "version_id", "ingest_id"])
    persons = _persons(home_store(home), calls["version_id"],
                       columns=["version_id", "family_name", "given_names", "date_of_birth", "nationality"])
    persons = persons.dropna(subset=["family_name"]).drop_duplicates(["family_name", "given_names", "date_of_birth"])
    planted = persons.sample(n=min(n_planted, len(persons)), random_state=seed).reset_index(drop=True)
    k = len(planted)
    dob = pd.to_datetime(planted["date_of_birth"])
    variant = rng.integers(0, 4, size=k)
    name = (planted["given_names"].fillna("") + " " + planted["family_name"]).str.strip()     # order swapped
    typo = name.str.slice(0, 1) + name.str.slice(1).str.replace(r"(?<=\w)([AEIOU])", "Y", n=1, regex=True)
    name = name.where(variant != 1, typo)
    dob_text = dob.dt.strftime("%d/%m/%Y")
    swapped = dob.dt.strftime("%m/%d/%Y").where(dob.dt.day <= 12, dob_text)
    dob_text = dob_text.where(variant != 2, swapped).where(variant != 3, "")
    others = n_entries - k
    fam = persons["family_name"].to_numpy()
    giv = persons["given_names"].fillna("").to_numpy()
    made_up = pd.DataFrame({
        "name": pd.Series(fam[rng.integers(0, len(fam), others)]) + " " + pd.Series(giv[rng.integers(0, len(giv), others)]),
        "dob": pd.Series(pd.to_datetime("1950-01-01") + pd.to_timedelta(rng.integers(0, 20000, others), unit="D"))
        .dt.strftime("%d/%m/%Y")})
    lst = pd.DataFrame({
        "kind": "person",
        "entry_id": [f"W-{i:05d}" for i in range(1, n_entries + 1)],
        "name": pd.concat([name, made_up["name"]], ignore_index=True),
        "date_of_birth": pd.concat([dob_text, made_up["dob"]], ignore_index=True),
        "nationality": pd.concat([planted["nationality"], pd.Series([""] * others)], ignore_index=True),
        "reason": ["planted"] * k + ["made up"] * others,
    })
    lst.to_csv(path, index=False)
    return k


def home_store(home: Path):  # noqa: ANN201
    from piu.store import Store
    return Store(home)


def screen(home: Path, *, stats: bool = True) -> dict:
    """Read persons and entries from the store and screen them; timings and counts.

    With `stats`, the candidate-pair counts for the report are computed after the timed part
    (the benchmark table times the call with stats=False, so only screening is measured).
    """
    import numpy as np
    import pandas as pd

    from piu import matching as mt
    from piu.identity import _current, _persons
    from piu.watchlist import reference_tables

    t0 = time.perf_counter()
    st = home_store(home)
    calls = _current(st, columns=["call_id", "version_id", "ingest_id"])
    persons = _persons(st, calls["version_id"], columns=["version_id", "name_key", "date_of_birth", "nationality",
                                                          "gender", "doc_number", "doc_issuer", "source_row"])
    entries = reference_tables(st)["watchlist_persons"]
    t1 = time.perf_counter()
    matches = mt.screen_persons(persons, entries)
    t2 = time.perf_counter()
    planted = entries["reason"] == "planted"
    found = np.isin(np.flatnonzero(planted.to_numpy()), matches["entry"].to_numpy()).sum()
    result = {"read_s": t1 - t0, "screen_s": t2 - t1, "total_s": t2 - t0, "persons": len(persons),
              "entries": len(entries), "matches": len(matches), "planted": int(planted.sum()),
              "planted_found": int(found)}
    if not stats:
        return result
    # candidate pairs, for the report (recomputed outside the timing)
    table = mt.NameTable(pd.concat([persons["name_key"].fillna(""), mt.entry_names(entries)["name"]], ignore_index=True))
    a = pd.DataFrame({"nid": table.ids(persons["name_key"].fillna("")),
                      "year": pd.to_datetime(persons["date_of_birth"]).dt.year.astype("Int64")})
    en = mt.entry_names(entries)
    b = pd.DataFrame({"nid": table.ids(en["name"]),
                      "year": pd.to_datetime(entries["date_of_birth"]).dt.year.astype("Int64")
                      .reindex(en["entry"].to_numpy()).to_numpy()})
    pairs = len(mt.candidate_pairs(table, a, b))
    return {**result, "unique_names": int(persons["name_key"].nunique()), "candidate_pairs": pairs,
            "all_pairs": int(persons["name_key"].nunique()) * len(entries)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=45_000, help="calls to generate (45,000 ≈ 750,000 persons)")
    ap.add_argument("--entries", type=int, default=10_000)
    ap.add_argument("--planted", type=int, default=2_000)
    ap.add_argument("--goal", type=float, default=1.0, help="maximum screening / ingest time ratio")
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    from piu import synth

    work = args.work or Path(tempfile.mkdtemp(prefix="piu-bench-wl-"))
    home = work / "home"
    try:
        t = time.perf_counter()
        info = synth.generate(args.calls, work / "sample")
        print(f"generate: {info['calls']} calls, {info['persons']} persons in {time.perf_counter() - t:.1f} s")
        shutil.rmtree(home, ignore_errors=True)
        ingest_s = run_piu(home, "ingest", info["manifest"])
        print(f"piu ingest: {ingest_s:.1f} s")
        planted = make_list(home, work / "watchlist.csv", args.entries, args.planted)
        import_s = run_piu(home, "watchlist", "import", str(work / "watchlist.csv"), "--list", "bench")
        print(f"piu watchlist import: {args.entries} entries ({planted} planted) in {import_s:.1f} s")
        r = screen(home)
        print(f"screening: {r['persons']} persons ({r['unique_names']} distinct names) x {r['entries']} entries: "
              f"read {r['read_s']:.1f} s + match {r['screen_s']:.1f} s = {r['total_s']:.1f} s; "
              f"{r['candidate_pairs']:,} candidate name pairs of {r['all_pairs']:,} "
              f"({100 * r['candidate_pairs'] / max(r['all_pairs'], 1):.3f}%); {r['matches']} matches; "
              f"planted found {r['planted_found']}/{r['planted']}")
        ratio = r["total_s"] / ingest_s
        print(f"ratio screening / ingest: {ratio:.2f} (goal <= {args.goal})")
        return 0 if ratio <= args.goal else 1
    finally:
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
