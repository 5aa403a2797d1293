"""Matching people, documents and vessels against watchlist entries, with an explanation per match.

The scoring model follows OpenSanctions' nomenklatura (DOMAIN.md §6): a *main* feature (how alike
the names are, or an exact identifier) plus *qualifiers* that lower the score when facts disagree
(date of birth, nationality, gender); the result is clipped to [0, 1] and a match is a score at
or above the threshold (0.70 by default, as yente's SCORE_THRESHOLD).

Names. Both sides are transliterated to ASCII (anyascii: Vietnamese diacritics, Khmer, Thai and
Burmese script), upper-cased, stripped of punctuation and honorifics ("MR", "BIN"), and repeated
tokens are dropped (agents write a single name twice, "BUDI BUDI"). Each token also gets a
*spelling skeleton* that folds the romanisation variants common in the region: silent or
aspirating H (Sok/Sokh, Chanthou/Chantou), Y/I (Somchai/Somchay), W/V (Wichai/Vichai), OU/U,
doubled letters. Names are then compared token by token, order ignored:

  * every token of one name is paired with its most similar token of the other (Indel ratio on the
    skeletons, as `rapidfuzz.fuzz.ratio`; a lone initial matches a token starting with it);
  * a token similarity below 0.6 counts as no match, 0.6-1.0 is rescaled to 0-1, so a different
    given name ("DARA" / "DAVY", 0.5) adds nothing while a typo ("HUNG" / "HUGN", 0.75) counts half;
  * the name score is the length-weighted coverage of the *worse-covered* side, times 0.95 (a
    spelling-variant or fuzzy match never reaches a literal one, 1.0);
  * the same letters split into other tokens ("SREY NEANG" / "SREYNEANG", "NGUYEN VANHUNG"), also
    with the family name moved to the other end, are a spelling variant (0.95); written as one word
    the name must have JOINED_MIN letters or more.

Why not Jaro-Winkler or a whole-string token-sort ratio alone: both reward long shared prefixes
and shared family names, so look-alike different people ("SOK DARA" / "SOK DAVY", token-sort
0.75; "NGUYEN VAN HUNG" / "NGUYEN VAN HUY") cross 0.70 on the name alone. Coverage per token
keeps a different given name from being averaged away. A name that is a part of the other (a
missing family name, as with Burmese and many Indonesian names, or a missing middle name) is
a weaker feature (0.62 for one token, 0.68 for several) that needs an agreeing date of birth to
reach the threshold.

Dates of birth (qualifiers): equal +0.15; day and month swapped +0.05 (agents mix DD/MM and
MM/DD); birth year equal when one side only has a year +0.03; same year, other day -0.25;
years one apart -0.25; further apart -0.35. Nationality differs -0.20, gender differs -0.20.
Missing values are not compared and say so.

Screening is blocked (candidate selection) so it is not every person against every entry: two
names are compared only when they share a pair of token prefixes (first four letters of the
skeletons), or a token prefix and the birth year, or when one of them is a single token that
the other contains, or when both are the same letters written as one word. All comparisons run
on the unique names of a table, vectorised.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

DEFAULT_THRESHOLD = 0.70

# Main name features.
NAME_EQUAL = 1.0
FUZZY_FACTOR = 0.95           # spelling variants and typos stay below a literal match
PARTIAL_ONE = 0.62            # one name is a single token of the other
PARTIAL_MANY = 0.68           # one name (2+ tokens) is contained in the other
TOKEN_FLOOR = 0.6             # token similarity below this counts as a different token
# Qualifiers (added to the main feature).
DOB_EQUAL = 0.15
DOB_SWAPPED = 0.05
DOB_YEAR_EQUAL = 0.03
DOB_SAME_YEAR_DIFFERS = -0.25
DOB_YEAR_NEAR = -0.25
DOB_DIFFERS = -0.35
NATIONALITY_DIFFERS = -0.20
GENDER_DIFFERS = -0.20
MAX_BONUS = DOB_EQUAL         # the largest positive qualifier (bounds which pairs can still match)
DOCUMENT_SCORE = 1.0
STRONG_NAME = 0.80            # name score from which name + date of birth is a strong match

MAX_TOKENS = 6                # tokens kept per name (longer names are cut; rare)
JOINED_MIN = 6                # letters of a name written as one word for 'split differently' to count
PREFIX = 4                    # letters of a skeleton used in blocking keys
MAX_BLOCK = 20_000            # name pairs one blocking key may produce
_CHUNK = 200_000              # name pairs per vectorised block (bounds memory)

# Honorifics and patronymic particles that carry no identity ("Ahmad bin Ismail" = "Ahmad Ismail").
PARTICLES = frozenset({"MR", "MRS", "MS", "MISS", "MSTR", "DR", "CAPT", "BIN", "BINTI", "BINTE", "BTE", "BT"})
# Burmese honorifics: titles when they lead the name ("U Thein Sein" = "Thein Sein"); elsewhere
# "U" is a name syllable (Kyaw Zaw U / Kyaw Zaw Oo).
LEADING_TITLES = frozenset({"U", "DAW"})
# Vessel-name prefixes of the vessel type ("MV", "M/V", "KM" kapal motor, "FV", "MT", ...).
VESSEL_PREFIXES = frozenset({"MV", "MT", "MS", "MY", "FV", "FB", "SS", "KM", "KMP", "KLM", "TB", "TK", "RV", "LCT"})

# Tokens so common in the region's names that sharing them says little (Vietnamese family and
# middle names, Chinese and Khmer family names, Muslim given names), in skeleton form: they weigh
# COMMON_WEIGHT of their length, so "NGUYEN VAN HUNG" and "NGUYEN VAN HANG" stay apart.
COMMON_TOKENS = frozenset({
    "NGUIEN", "TRAN", "LE", "PAM", "HOANG", "HUINH", "PAN", "VU", "VO", "DANG", "BUI", "DO", "HO", "NGO",
    "DUONG", "LI", "VAN", "TI", "DUC", "MUHAMAD", "MOHAMED", "MOHAMAD", "MD", "ABDUL", "NUR", "SRI", "SITI",
    "AUNG", "MAUNG", "KIAV", "TAN", "LIM", "VANG", "SANG", "CEN", "LIU", "SOK", "CEA", "KIM", "SUN",
})
COMMON_WEIGHT = 0.4
_NON_ALNUM = re.compile(r"[^A-Z0-9]+")
_DOUBLE = re.compile(r"(.)\1+")
_SILENT_H = re.compile(r"(?<=[^AEIOU])H+")
_VOWELS = re.compile(r"[AEIOU]")
# Old Indonesian spelling (Soeharto, Widjaja, Tjahjadi) folds into the current one too.
_SKELETON_SUBS = (("OE", "U"), ("DJ", "J"), ("TJ", "C"), ("OU", "U"), ("OO", "U"), ("EE", "I"), ("Y", "I"), ("W", "V"), ("Q", "K"), ("Z", "S"))


# ---------------------------------------------------------------------------------------------
# Normalisation (scalar helpers, applied to unique values only)
# ---------------------------------------------------------------------------------------------

def fold(text: Any) -> str:
    """ASCII, upper case, punctuation as spaces, spaces collapsed ('' for missing)."""
    if text is None or (isinstance(text, float) and text != text):
        return ""
    from anyascii import anyascii

    s = str(text)
    if not s.isascii():
        s = anyascii(s)
    return " ".join(_NON_ALNUM.sub(" ", s.upper()).split())


def name_tokens(text: Any) -> list[str]:
    """The name's tokens: folded, honorifics and particles dropped, repeats dropped, order kept."""
    out: list[str] = []
    toks = fold(text).split()
    if len(toks) > 1 and toks[0] in LEADING_TITLES:
        toks = toks[1:]
    for tok in toks:
        if tok not in PARTICLES and tok not in out:
            out.append(tok)
    return out


def skeleton(token: str) -> str:
    """A token's spelling skeleton: romanisation variants (Sokh/Sok, Somchay/Somchai) fold together."""
    s = token.upper()
    if len(s) > 1:
        # H after a consonant (KH, TH, PH, CH) or at the end goes; between vowels or leading it stays
        s = _SILENT_H.sub("", s)
        if s.endswith("H") and len(s) > 1:
            s = s[:-1]
    for a, b in _SKELETON_SUBS:
        s = s.replace(a, b)
    s = _DOUBLE.sub(r"\1", s)
    return s or token


def consonants(skel: str) -> str:
    """First letter and the consonants of a skeleton (MUHAMAD and MOHAMED -> MHMD)."""
    return _DOUBLE.sub(r"\1", skel[:1] + _VOWELS.sub("", skel[1:]))


def vessel_name_key(text: Any) -> str:
    """A vessel name for comparison: folded, type prefixes (MV, M/V, KM, FV...) dropped."""
    toks = fold(text).split()
    if len(toks) > 1 and toks[0] == "M" and toks[1] in ("V", "T", "Y", "S"):
        toks = toks[2:]  # 'M/V' folds to 'M V'
    elif toks and toks[0] in VESSEL_PREFIXES and len(toks) > 1:
        toks = toks[1:]
    return " ".join(toks)


def fold_series(values: pd.Series, func: Any = fold) -> pd.Series:
    """`func` applied to the unique values of a column, mapped back (vectorised over rows)."""
    import pandas as pd

    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = [func(u) for u in uniques] + [""]
    import numpy as np
    return pd.Series(np.asarray(table, dtype=object)[codes], index=values.index, dtype="str")


# ---------------------------------------------------------------------------------------------
# A table of unique names, as token-id matrices
# ---------------------------------------------------------------------------------------------

class NameTable:
    """Unique names prepared for vectorised comparison: skeleton-token ids, lengths, sorted forms."""

    def __init__(self, names: Iterable[str]) -> None:
        import numpy as np
        import pandas as pd
        from anyascii import anyascii

        # a Series stays a column (listing an Arrow-backed column one value at a time costs ~0.5 s a million)
        values = names if isinstance(names, pd.Series) else pd.Series(list(names), dtype="str")
        self.names = pd.Index(pd.unique(values.astype("str").fillna("")))
        n = len(self.names)
        # name_tokens(), column-wise: transliterate (non-ASCII names only), fold, split
        text = pd.Series(self.names, dtype="str")
        non_ascii = ~text.str.isascii().fillna(True).astype(bool)
        if non_ascii.any():
            text = text.mask(non_ascii, text[non_ascii].map(anyascii))
        text = text.str.upper().str.replace(r"[^A-Z0-9]+", " ", regex=True)
        flat = text.str.split().explode().dropna()
        frame = pd.DataFrame({"nid": flat.index.to_numpy(dtype=np.int64), "tok": flat.to_numpy(dtype=object)})
        frame = frame[frame["tok"] != ""]
        first = frame.groupby("nid").cumcount().to_numpy() == 0
        many = frame.groupby("nid")["tok"].transform("size").to_numpy() > 1
        frame = frame[~(first & many & frame["tok"].isin(LEADING_TITLES).to_numpy())]
        frame = frame[~frame["tok"].isin(PARTICLES)].drop_duplicates(["nid", "tok"])
        utok = pd.unique(frame["tok"])
        skel = dict(zip(utok, (skeleton(t) for t in utok)))  # unique tokens only
        frame["sk"] = frame["tok"].map(skel)
        frame = frame.drop_duplicates(["nid", "sk"])
        frame["pos"] = frame.groupby("nid").cumcount()
        frame = frame[frame["pos"] < MAX_TOKENS]
        rows, cols = frame["nid"].to_numpy(), frame["pos"].to_numpy()
        codes, vocab = pd.factorize(frame["sk"])
        self.vocab = np.asarray(vocab, dtype=object)
        self.tok = np.full((n, MAX_TOKENS), -1, dtype=np.int64)
        self.tok[rows, cols] = codes
        lit_codes, _ = pd.factorize(frame["tok"])
        lit = np.full((n, MAX_TOKENS), -1, dtype=np.int64)
        lit[rows, cols] = lit_codes
        # sorted token ids: equal rows mean the same tokens in any order (literal / spelling skeleton)
        self.lit_sorted = np.sort(lit, axis=1)
        self.tok_sorted = np.sort(self.tok, axis=1)
        self.rawlen = np.array([len(v) for v in self.vocab], dtype=np.int64)
        self.initial = np.array([v[:1] for v in self.vocab], dtype=object)
        self.vlen = self.rawlen * np.where(np.isin(self.vocab, list(COMMON_TOKENS)), COMMON_WEIGHT, 1.0)
        cons = [consonants(v) for v in self.vocab]
        self.cons = np.asarray(cons, dtype=object)
        self.cons_ok = np.array([len(c) >= 4 for c in cons], dtype=bool)
        self.ntok = (self.tok >= 0).sum(axis=1)
        self.frame = frame  # nid, tok, sk, pos (for blocking keys)
        self.joined = self._joined_keys(text)

    @staticmethod
    def _joined_keys(text: pd.Series) -> np.ndarray:
        """Per name (folded text), codes of its tokens written as one word, in order and with the first or
        last token moved to the other end (family name first or last): (n, 3), -1 where none. Equal codes
        mean the same letters split into other tokens ('SREY NEANG' / 'SREYNEANG'). Column-wise string
        operations (a million names); keys shorter than JOINED_MIN letters are left out (short names join
        into other names too easily)."""
        import numpy as np
        import pandas as pd

        t = text.fillna("").str.strip()
        forms = [t.str.replace(" ", "", regex=False),
                 t.str.replace(r"^(\S+) (.*)$", r"\2\1", regex=True).str.replace(" ", "", regex=False),
                 t.str.replace(r"^(.*) (\S+)$", r"\2\1", regex=True).str.replace(" ", "", regex=False)]
        flat = pd.concat(forms, ignore_index=True)
        codes, _ = pd.factorize(flat)
        codes = np.where(flat.str.len().to_numpy() >= JOINED_MIN, codes, -1)
        return codes.reshape(3, -1).T.copy()

    def skeleton_keys(self) -> np.ndarray:
        """Per name, its skeleton tokens sorted and joined ('HUNG NGUIEN VAN'): an order-free key."""
        import numpy as np

        sk = self.frame.sort_values(["nid", "sk"]).groupby("nid")["sk"].agg(" ".join)
        out = np.full(len(self.names), "", dtype=object)
        out[sk.index.to_numpy()] = sk.to_numpy()
        return out

    def __len__(self) -> int:
        return len(self.names)

    def ids(self, names: pd.Series) -> np.ndarray:
        """Positions of the given names in the table (-1 when absent)."""
        return self.names.get_indexer(names.astype("str").fillna(""))


def _token_sims(a_ids: np.ndarray, b_ids: np.ndarray, table: NameTable) -> np.ndarray:
    """Similarity in [0, 1] of skeleton-token pairs (ids into the vocabulary), initials included."""
    import numpy as np
    from rapidfuzz import fuzz, process
    from rapidfuzz.distance import Levenshtein

    out = np.ones(len(a_ids), dtype=np.float64)
    diff = a_ids != b_ids
    if diff.any():
        ia, ib = a_ids[diff], b_ids[diff]
        sa, sb = table.vocab[ia], table.vocab[ib]
        sims = process.cpdist(list(sa), list(sb), scorer=fuzz.ratio, workers=1) / 100.0
        # one edit in a long token is a spelling variant (PISETH / PISITH), not another name
        edits = process.cpdist(list(sa), list(sb), scorer=Levenshtein.distance, workers=1)
        la, lb = table.rawlen[ia], table.rawlen[ib]
        initial = ((la == 1) | (lb == 1)) & (table.initial[ia] == table.initial[ib])  # 'V' for 'VAN'
        one_edit = (edits == 1) & (np.minimum(la, lb) >= 5)
        # same consonant frame (4+ letters): vowel-only romanisation variants (MUHAMMAD / MOHAMMED)
        frame = table.cons_ok[ia] & (table.cons[ia] == table.cons[ib])
        out[diff] = np.where(initial | frame | one_edit, np.maximum(sims, 0.9), sims)
    return out


def name_scores(table: NameTable, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Score and feature code per name pair (a[i], b[i]): 0 none, 1 equal, 2 variant, 3 fuzzy, 4 partial."""
    import numpy as np

    score = np.zeros(len(a), dtype=np.float64)
    feature = np.zeros(len(a), dtype=np.int8)
    for start in range(0, len(a), _CHUNK):
        sl = slice(start, start + _CHUNK)
        s, f = _name_scores_chunk(table, a[sl], b[sl])
        score[sl], feature[sl] = s, f
    return score, feature


def _name_scores_chunk(table: NameTable, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np
    import pandas as pd

    k = int(max(table.ntok[a].max(initial=1), table.ntok[b].max(initial=1)))  # most names have 2-3 tokens
    A, B = table.tok[a, :k], table.tok[b, :k]              # (n, k) token ids, -1 padding
    va = (A >= 0)[:, :, None] & (B >= 0)[:, None, :]       # (n, K, K) valid token pairs
    V = len(table.vocab)
    flat = (A[:, :, None] * V + B[:, None, :])[va]         # token-pair codes of the valid pairs
    f = np.zeros(va.shape, dtype=np.float64)
    if len(flat):
        inv, uniq = pd.factorize(flat)                     # each distinct token pair compared once
        usims = _token_sims(uniq // V, uniq % V, table)
        f[va] = usims[inv]
    # rescaled in place: (sims - floor) / (1 - floor), clipped to [0, 1]
    f -= TOKEN_FLOOR
    f /= 1.0 - TOKEN_FLOOR
    np.clip(f, 0.0, 1.0, out=f)
    LA = np.where(A >= 0, table.vlen[np.maximum(A, 0)], 0.0)
    LB = np.where(B >= 0, table.vlen[np.maximum(B, 0)], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        cov_a = (f.max(axis=2) * LA).sum(axis=1) / LA.sum(axis=1)
        cov_b = (f.max(axis=1) * LB).sum(axis=1) / LB.sum(axis=1)
    cov_a, cov_b = np.nan_to_num(cov_a), np.nan_to_num(cov_b)
    na, nb = table.ntok[a], table.ntok[b]
    fuzzy = np.minimum(cov_a, cov_b) * FUZZY_FACTOR
    score = fuzzy.copy()
    feature = np.where(fuzzy > 0, 3, 0).astype(np.int8)
    # a missing name part: the shorter name is (almost) wholly inside the longer one
    short_cov = np.where(na < nb, cov_a, cov_b)
    part = (na != nb) & (np.minimum(na, nb) >= 1) & (short_cov >= 0.9)
    part_score = np.where(np.minimum(na, nb) == 1, PARTIAL_ONE, PARTIAL_MANY) * short_cov
    better = part & (part_score > score)
    score = np.where(better, part_score, score)
    feature = np.where(better, 4, feature).astype(np.int8)
    variant = (table.tok_sorted[a] == table.tok_sorted[b]).all(axis=1) & (na > 0)
    # the same letters split into other tokens ('SREY NEANG' / 'SREYNEANG'): a spelling variant too
    ja, jb = table.joined[a], table.joined[b]
    variant |= (na != nb) & ((ja[:, :, None] == jb[:, None, :]) & (ja >= 0)[:, :, None]).any(axis=(1, 2))
    score = np.where(variant, FUZZY_FACTOR, score)
    feature = np.where(variant, 2, feature).astype(np.int8)
    equal = (table.lit_sorted[a] == table.lit_sorted[b]).all(axis=1) & (na > 0)
    score = np.where(equal, NAME_EQUAL, score)
    feature = np.where(equal, 1, feature).astype(np.int8)
    return score, feature


# ---------------------------------------------------------------------------------------------
# Blocking: candidate name pairs
# ---------------------------------------------------------------------------------------------

def _pair_keys(table: NameTable, nids: np.ndarray) -> pd.DataFrame:
    """Sorted pairs of token prefixes of each name (names with 2+ tokens): (nid, key)."""
    import pandas as pd

    fr = table.frame[table.frame["nid"].isin(nids)][["nid", "sk", "pos"]].copy()
    fr["p"] = fr["sk"].str.slice(0, PREFIX)
    m = fr.merge(fr, on="nid", suffixes=("_a", "_b"))
    m = m[m["pos_a"] < m["pos_b"]]
    lo = m["p_a"].where(m["p_a"] <= m["p_b"], m["p_b"])
    hi = m["p_b"].where(m["p_a"] <= m["p_b"], m["p_a"])
    return pd.DataFrame({"nid": m["nid"].to_numpy(), "key": (lo + "|" + hi).to_numpy()}).drop_duplicates()


def _token_keys(table: NameTable, nids: np.ndarray) -> pd.DataFrame:
    """One key per token prefix of each name: (nid, key)."""
    import pandas as pd

    fr = table.frame[table.frame["nid"].isin(nids)]
    return pd.DataFrame({"nid": fr["nid"].to_numpy(), "key": fr["sk"].str.slice(0, PREFIX).to_numpy()}).drop_duplicates()


def _joined_key_rows(table: NameTable, nids: np.ndarray) -> pd.DataFrame:
    """The joined-name keys of these names (NameTable.joined): (nid, key)."""
    import numpy as np
    import pandas as pd

    keys = table.joined[nids]
    rows = np.repeat(nids, keys.shape[1])
    flat = keys.reshape(-1)
    keep = flat >= 0
    return pd.DataFrame({"nid": rows[keep], "key": flat[keep]}).drop_duplicates()


def _join_keys(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    """Name pairs sharing a key, leaving out keys so common they would pair thousands with thousands."""
    ca, cb = left["key"].value_counts(), right["key"].value_counts()
    shared = ca.index.intersection(cb.index)
    size = ca.reindex(shared) * cb.reindex(shared)
    # A block over MAX_BLOCK pairs is a key of very common tokens ("NGUYEN|VAN", "NGUYEN|1985"); a
    # true match almost always shares a rarer key too (its given name), so such blocks are skipped.
    usable = size.index[size <= MAX_BLOCK]
    left, right = left[left["key"].isin(usable)], right[right["key"].isin(usable)]
    m = left.merge(right, on="key", suffixes=("_a", "_b"))
    return m[["nid_a", "nid_b"]]


def candidate_pairs(table: NameTable, a_rows: pd.DataFrame, b_rows: pd.DataFrame) -> pd.DataFrame:
    """Name pairs (nid_a, nid_b) worth comparing; rows have columns nid and year (birth year or NA)."""
    import numpy as np
    import pandas as pd

    a_n = np.unique(a_rows["nid"].to_numpy())
    b_n = np.unique(b_rows["nid"].to_numpy())
    parts = [_join_keys(_pair_keys(table, a_n), _pair_keys(table, b_n))]
    # token prefix + birth year: catches a typo in the other token, or a missing name part
    ay = a_rows.dropna(subset=["year"]).drop_duplicates(["nid", "year"])
    by = b_rows.dropna(subset=["year"]).drop_duplicates(["nid", "year"])
    if len(ay) and len(by):
        ka = _token_keys(table, ay["nid"].unique()).merge(ay[["nid", "year"]], on="nid")
        kb = _token_keys(table, by["nid"].unique()).merge(by[["nid", "year"]], on="nid")
        ka["key"] = ka["key"] + "|" + ka["year"].astype("int64").astype("str")
        kb["key"] = kb["key"] + "|" + kb["year"].astype("int64").astype("str")
        parts.append(_join_keys(ka[["nid", "key"]], kb[["nid", "key"]]))
    # single-token names (Burmese names, Indonesian single names) against any token of the other
    single_a = a_n[table.ntok[a_n] == 1]
    single_b = b_n[table.ntok[b_n] == 1]
    if len(single_a):
        parts.append(_join_keys(_token_keys(table, single_a), _token_keys(table, b_n)))
    if len(single_b):
        parts.append(_join_keys(_token_keys(table, a_n), _token_keys(table, single_b)))
    # the same letters split into other tokens ('SREY NEANG' / 'SREYNEANG')
    parts.append(_join_keys(_joined_key_rows(table, a_n), _joined_key_rows(table, b_n)))
    out = pd.concat(parts, ignore_index=True).drop_duplicates()
    return out.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Screening persons
# ---------------------------------------------------------------------------------------------

def _dates(values: pd.Series) -> pd.Series:
    import pandas as pd
    return pd.to_datetime(values, errors="coerce").astype("datetime64[us]")


def _text(frame: pd.DataFrame, col: str) -> pd.Series:
    import pandas as pd
    if col not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype="str")
    s = frame[col].astype("str")
    return s.where(frame[col].notna() & (s.str.strip() != ""), pd.NA)


def entry_names(entries: pd.DataFrame) -> pd.DataFrame:
    """One row per name of each entry (its name and its ';'-separated aliases): (entry, name)."""
    import pandas as pd

    names = _text(entries, "name").fillna("")
    if "aliases" in entries.columns:
        names = names.str.cat(_text(entries, "aliases").fillna(""), sep=";")
    split = names.str.split(";").explode()
    out = pd.DataFrame({"entry": split.index.to_numpy(), "name": split.str.strip().to_numpy()})
    out = out[out["name"] != ""]
    return out.drop_duplicates().reset_index(drop=True)


def screen_persons(persons: pd.DataFrame, entries: pd.DataFrame, *, threshold: float = DEFAULT_THRESHOLD,
                   blocking: bool = True) -> pd.DataFrame:
    """Person rows matching person entries, best match per (person, entry), at or above `threshold`.

    persons: name_key (or name), date_of_birth, nationality, gender, doc_number, doc_issuer.
    entries: name, aliases (';'-separated), date_of_birth, birth_year, nationality, gender,
    doc_number, doc_issuer. Returns columns person, entry (positions in the inputs), score,
    basis ('document', 'name+dob' or 'name') and explanation.
    """
    import numpy as np
    import pandas as pd

    persons = persons.reset_index(drop=True)
    entries = entries.reset_index(drop=True)
    name_col = "name_key" if "name_key" in persons.columns else "name"
    p_names = _text(persons, name_col).fillna("")
    e_names = entry_names(entries)
    table = NameTable(pd.concat([p_names, e_names["name"]], ignore_index=True))
    p_nid = table.ids(p_names)
    e_nid = table.ids(e_names["name"])
    p_dob = _dates(persons["date_of_birth"]) if "date_of_birth" in persons.columns else pd.Series(pd.NaT, index=persons.index)
    e_dob = _dates(entries["date_of_birth"]) if "date_of_birth" in entries.columns else pd.Series(pd.NaT, index=entries.index)
    e_year = (entries["birth_year"].astype("Int64") if "birth_year" in entries.columns
              else pd.Series(pd.NA, index=entries.index, dtype="Int64")).fillna(e_dob.dt.year.astype("Int64"))

    a_rows = pd.DataFrame({"nid": p_nid, "year": p_dob.dt.year.astype("Int64")})
    b_rows = pd.DataFrame({"nid": e_nid, "year": e_year.reindex(e_names["entry"].to_numpy()).to_numpy()})
    if blocking:
        pairs = candidate_pairs(table, a_rows, b_rows)
    else:
        pa_ = np.unique(p_nid)
        pb_ = np.unique(e_nid)
        pairs = pd.DataFrame({"nid_a": np.repeat(pa_, len(pb_)), "nid_b": np.tile(pb_, len(pa_))})
    score, feature = name_scores(table, pairs["nid_a"].to_numpy(), pairs["nid_b"].to_numpy())
    pairs["name_score"], pairs["feature"] = score, feature
    # only pairs that can still reach the threshold with the best qualifier
    pairs = pairs[pairs["name_score"] + MAX_BONUS >= threshold - 1e-9]

    # The same person is listed call after call: qualify each distinct (name, date of birth,
    # nationality, gender) once, then spread the matches back to the rows.
    prof_key = pd.DataFrame({"nid": p_nid, "dob": p_dob.to_numpy(),
                             "nat": _text(persons, "nationality").str.upper().to_numpy(),
                             "gen": _text(persons, "gender").str.upper().to_numpy()})
    prof_id = prof_key.groupby(["nid", "dob", "nat", "gen"], dropna=False, sort=False).ngroup().to_numpy()
    first = pd.Series(np.arange(len(persons))).groupby(prof_id).first().to_numpy()
    profiles = persons.iloc[first].reset_index(drop=True)

    # expand name pairs to (profile, entry): best name of the entry per profile
    m = pairs.merge(pd.DataFrame({"nid_b": e_nid, "entry": e_names["entry"].to_numpy()}), on="nid_b")
    m = m.sort_values("name_score", ascending=False).drop_duplicates(["nid_a", "entry"])
    m = _with_profiles(m, p_nid[first], len(table))
    by_name = _qualify(m[["person", "entry", "name_score", "feature"]],
                       profiles, entries, p_dob.iloc[first].reset_index(drop=True), e_dob, e_year, threshold)
    by_name = by_name.rename(columns={"person": "profile"}).merge(
        pd.DataFrame({"profile": prof_id, "person": np.arange(len(persons))}), on="profile").drop(columns="profile")

    by_doc = screen_documents(persons, entries)
    out = by_name.merge(by_doc[["person", "entry", "explanation"]].rename(columns={"explanation": "doc_expl"}),
                        on=["person", "entry"], how="outer")
    has_doc = out["doc_expl"].notna()
    has_name = out["score"].notna()
    out["explanation"] = out["doc_expl"].where(~has_name, out["doc_expl"].fillna("").str.cat(
        out["explanation"].fillna(""), sep="; ").str.strip("; ")).where(has_doc, out["explanation"])
    out["score"] = out["score"].where(~has_doc, DOCUMENT_SCORE).astype("float64")
    out["basis"] = out["basis"].where(~has_doc, "document")
    out = out.sort_values(["person", "score", "entry"], ascending=[True, False, True])
    return out[["person", "entry", "score", "basis", "explanation"]].reset_index(drop=True)


def _with_profiles(m: pd.DataFrame, profile_nid: np.ndarray, names: int) -> pd.DataFrame:
    """Each row of `m` (a name pair, nid_a) once per profile with that name, as an inner merge on
    nid_a would give it (rows of m in order, profiles in ascending order), with integer gathers:
    person, entry, name_score, feature."""
    import numpy as np
    import pandas as pd

    order = np.argsort(profile_nid, kind="stable")          # profiles grouped by name, ascending within
    counts = np.bincount(profile_nid, minlength=names)
    starts = np.cumsum(counts) - counts
    nid = m["nid_a"].to_numpy()
    rep = counts[nid]
    rows = np.repeat(np.arange(len(m)), rep)
    within = np.arange(int(rep.sum())) - np.repeat(np.cumsum(rep) - rep, rep)
    return pd.DataFrame({"person": order[starts[nid][rows] + within],
                         **{c: m[c].to_numpy()[rows] for c in ("entry", "name_score", "feature")}})


def _qualify(m: pd.DataFrame, persons: pd.DataFrame, entries: pd.DataFrame, p_dob: pd.Series,
             e_dob: pd.Series, e_year: pd.Series, threshold: float = 0.0) -> pd.DataFrame:
    """Add date-of-birth, nationality and gender qualifiers, the score, basis and explanation."""
    import numpy as np
    import pandas as pd

    pi, ei = m["person"].to_numpy(), m["entry"].to_numpy()
    ey = e_year.to_numpy(dtype="float64", na_value=np.nan)[ei]

    def ymd(dates: pd.Series, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        # per person (entry) once: has a date, year, month, day as small integers, then taken to the
        # pairs (millions of them: taking is cheap, date arithmetic over them is not)
        idx = pd.DatetimeIndex(dates.to_numpy())
        has = ~np.asarray(idx.isna())
        fields = [getattr(idx, f).to_numpy(dtype="float64", na_value=0).astype(np.int16) for f in ("year", "month", "day")]
        return (has[rows], *(f[rows] for f in fields))

    p_has, py, pm, pday = ymd(p_dob, pi)
    e_has, eyy, em, eday = ymd(e_dob, ei)
    both = p_has & e_has
    year_only = p_has & ~e_has & ~np.isnan(ey)
    equal = both & (py == eyy) & (pm == em) & (pday == eday)
    swapped = both & ~equal & (py == eyy) & (pm == eday) & (pday == em)
    # years apart, in integers: against the entry's date, or its birth year alone
    years = py.astype(np.int32)
    dy_date = np.abs(years - eyy)
    dy_year = np.abs(years - np.nan_to_num(ey, nan=0.0).astype(np.int32))
    dy = np.where(both, dy_date, dy_year)
    same_year_other_day = both & ~equal & ~swapped & (dy_date == 0)
    y_equal = year_only & (dy_year == 0)
    near = (both | year_only) & (dy == 1)
    far = (both | year_only) & (dy >= 2)
    dob_cases = [equal, swapped, y_equal, same_year_other_day, near, far]
    dob_q = np.select(dob_cases, [DOB_EQUAL, DOB_SWAPPED, DOB_YEAR_EQUAL, DOB_SAME_YEAR_DIFFERS, DOB_YEAR_NEAR,
                                  DOB_DIFFERS], 0.0)

    def qual(col: str) -> tuple[np.ndarray, np.ndarray]:
        # compared as codes of one factorization: no object arrays over every person and pair
        a = _text(persons, col).str.upper()
        b = _text(entries, col).str.upper()
        codes, _ = pd.factorize(pd.concat([a, b], ignore_index=True), use_na_sentinel=True)
        ac, bc = codes[: len(a)][pi], codes[len(a):][ei]
        known = (ac >= 0) & (bc >= 0)
        return known, known & (ac == bc)

    nat_known, nat_same = qual("nationality")
    gen_known, gen_same = qual("gender")
    nat_q = np.where(nat_known & ~nat_same, NATIONALITY_DIFFERS, 0.0)
    gen_q = np.where(gen_known & ~gen_same, GENDER_DIFFERS, 0.0)

    name = m["name_score"].to_numpy()
    feat = m["feature"].to_numpy()
    score = name + dob_q
    score += nat_q
    score += gen_q
    np.clip(score, 0.0, 1.0, out=score)
    keep = score >= threshold - 1e-9  # explanations only for matches: they are few
    name, feat, score, equal, swapped = name[keep], feat[keep], score[keep], equal[keep], swapped[keep]
    nat_known, nat_same, gen_known, gen_same, m = nat_known[keep], nat_same[keep], gen_known[keep], gen_same[keep], m[keep]
    dob_txt = np.select([c[keep] for c in dob_cases],
                        ["date of birth equal", "date of birth day/month swapped", "birth year equal",
                         "date of birth differs (same year)", "date of birth differs (1 year apart)",
                         "date of birth differs"], "date of birth not compared")
    nat_txt = np.where(nat_known, np.where(nat_same, "nationality equal", "nationality differs"), "")
    gen_txt = np.where(gen_known & ~gen_same, "gender differs", "")
    num = pd.Series(name).map("{:.2f}".format).to_numpy(dtype=object)
    name_txt = np.select([feat == 1, feat == 2, feat == 3, feat == 4, feat == 0],
                         ["name equal", "name " + num + " spelling variant", "name " + num + " token-match",
                          "name " + num + " partial (a name part missing)", "name not alike"], "")
    expl = pd.Series(name_txt, dtype="str")
    for piece in (dob_txt, nat_txt, gen_txt):
        p = pd.Series(piece, dtype="str")
        expl = expl.where(p == "", expl + ", " + p)
    strong = (equal | swapped) & (name >= STRONG_NAME)
    out = m[["person", "entry"]].copy()
    out["score"] = score
    out["basis"] = np.where(strong, "name+dob", "name")
    out["explanation"] = expl.to_numpy()
    return out.sort_values("score", ascending=False).drop_duplicates(["person", "entry"])


# ---------------------------------------------------------------------------------------------
# Documents and vessels
# ---------------------------------------------------------------------------------------------

def doc_key(values: pd.Series) -> pd.Series:
    """A document number for comparison: upper case, letters and digits only ('' when missing)."""
    text = values.astype("str")
    non_ascii = ~text.str.isascii().fillna(True).astype(bool)
    if non_ascii.any():  # rare: transliterate those values only
        text = text.mask(non_ascii, fold_series(text[non_ascii]))
    return text.str.upper().str.replace(r"[^A-Z0-9]+", "", regex=True).fillna("")


def screen_documents(persons: pd.DataFrame, entries: pd.DataFrame) -> pd.DataFrame:
    """Persons whose document number equals an entry's (and issuer, when both are known)."""
    import numpy as np
    import pandas as pd

    cols = ["person", "entry", "score", "basis", "explanation"]
    if "doc_number" not in persons.columns or "doc_number" not in entries.columns:
        return pd.DataFrame(columns=cols)
    p = pd.DataFrame({"person": np.arange(len(persons)), "doc": doc_key(persons["doc_number"].reset_index(drop=True)),
                      "iss_p": _text(persons.reset_index(drop=True), "doc_issuer").str.upper()})
    e = pd.DataFrame({"entry": np.arange(len(entries)), "doc": doc_key(entries["doc_number"].reset_index(drop=True)),
                      "iss_e": _text(entries.reset_index(drop=True), "doc_issuer").str.upper()})
    p, e = p[p["doc"] != ""], e[e["doc"] != ""]
    m = p.merge(e, on="doc")
    known = m["iss_p"].notna() & m["iss_e"].notna()
    m = m[~known | (m["iss_p"] == m["iss_e"])]
    known = m["iss_p"].notna() & m["iss_e"].notna()
    m = m.assign(score=DOCUMENT_SCORE, basis="document",
                 explanation=np.where(known, "document number and issuer equal",
                                      "document number equal (issuer not compared)"))
    return m[cols].reset_index(drop=True)


def _digits(values: pd.Series, width: int) -> pd.Series:
    s = fold_series(values, lambda v: fold(v).replace(" ", "").removeprefix("IMO").removeprefix("MMSI"))
    return s.where(s.str.fullmatch(rf"\d{{{width}}}") & (s != "0" * width), "")


def screen_vessels(calls: pd.DataFrame, entries: pd.DataFrame) -> pd.DataFrame:
    """Calls whose vessel matches a vessel entry: IMO or MMSI equal, else name plus flag or call sign.

    calls: imo, mmsi, vessel_name (or vessel_name_key), flag, call_sign. entries: imo, mmsi,
    name, aliases, flag (alpha-3, as `nationality` or `flag`), call_sign. Returns call, entry,
    score, basis ('imo', 'mmsi', 'name+flag', 'name+call-sign'), explanation.
    """
    import numpy as np
    import pandas as pd

    cols = ["call", "entry", "score", "basis", "explanation"]
    calls = calls.reset_index(drop=True)
    entries = entries.reset_index(drop=True)
    c = pd.DataFrame({"call": np.arange(len(calls))})
    e = pd.DataFrame({"entry": np.arange(len(entries))})
    parts = []
    for col, width, label in (("imo", 7, "IMO"), ("mmsi", 9, "MMSI")):
        if col in calls.columns and col in entries.columns:
            c[col], e[col] = _digits(calls[col], width), _digits(entries[col], width)
            m = c[c[col] != ""].merge(e[e[col] != ""], on=col)
            parts.append(m.assign(score=0.95, basis=col, explanation=label + " " + m[col] + " equal"))
    vname = calls["vessel_name"] if "vessel_name" in calls.columns else calls.get("vessel_name_key")
    if vname is not None:
        c["vkey"] = fold_series(vname, vessel_name_key)
        en = entry_names(entries)
        en["vkey"] = fold_series(en["name"], vessel_name_key)
        en = en[en["vkey"] != ""].drop_duplicates(["entry", "vkey"])
        m = c[c["vkey"] != ""].merge(en[["entry", "vkey"]], on="vkey")
        flag_e = _text(entries, "flag") if "flag" in entries.columns else _text(entries, "nationality")
        flag_c = _text(calls, "flag")
        cs_c = fold_series(_text(calls, "call_sign").fillna(""), lambda v: fold(v).replace(" ", ""))
        cs_e = fold_series(_text(entries, "call_sign").fillna(""), lambda v: fold(v).replace(" ", ""))
        fc = flag_c.str.upper().to_numpy(dtype=object, na_value=None)[m["call"].to_numpy()]
        fe = flag_e.str.upper().to_numpy(dtype=object, na_value=None)[m["entry"].to_numpy()]
        same_flag = np.array([a is not None and a == b for a, b in zip(fc, fe)], dtype=bool)
        cc = cs_c.to_numpy(dtype=object)[m["call"].to_numpy()]
        ce = cs_e.to_numpy(dtype=object)[m["entry"].to_numpy()]
        same_cs = (cc != "") & (cc == ce)
        both = same_flag & same_cs
        m = m.assign(score=np.where(both, 0.9, 0.85),
                     basis=np.where(same_flag, "name+flag", "name+call-sign"),
                     explanation=np.where(both, "name, flag and call sign equal",
                                          np.where(same_flag, "name and flag equal", "name and call sign equal")))
        parts.append(m[same_flag | same_cs])
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat([p[cols] for p in parts], ignore_index=True)
    # one row per (call, entry): identifiers first, then name evidence
    out = out.sort_values(["call", "entry", "score"], ascending=[True, True, False])
    expl = out.groupby(["call", "entry"], sort=False)["explanation"].agg("; ".join)
    out = out.drop_duplicates(["call", "entry"]).set_index(["call", "entry"])
    out["explanation"] = expl
    return out.reset_index()[cols]


def score_pairs(persons: pd.DataFrame, entries: pd.DataFrame) -> pd.DataFrame:
    """Score aligned pairs (row i of persons against row i of entries): score, basis, explanation."""
    import numpy as np
    import pandas as pd

    persons = persons.reset_index(drop=True)
    entries = entries.reset_index(drop=True)
    if len(persons) != len(entries):
        raise ValueError("score_pairs needs two tables of the same length")
    name_col = "name_key" if "name_key" in persons.columns else "name"
    p_names = _text(persons, name_col).fillna("")
    e_names = entry_names(entries)
    table = NameTable(pd.concat([p_names, e_names["name"]], ignore_index=True))
    pairs = pd.DataFrame({"person": e_names["entry"].to_numpy(), "entry": e_names["entry"].to_numpy()})
    score, feature = name_scores(table, table.ids(p_names)[pairs["person"].to_numpy()], table.ids(e_names["name"]))
    pairs["name_score"], pairs["feature"] = score, feature
    pairs = pairs.sort_values("name_score", ascending=False).drop_duplicates("entry")
    missing = np.setdiff1d(np.arange(len(entries)), pairs["entry"].to_numpy())  # entries without a name
    pairs = pd.concat([pairs, pd.DataFrame({"person": missing, "entry": missing, "name_score": 0.0,
                                            "feature": np.int8(0)})], ignore_index=True)
    p_dob = _dates(persons["date_of_birth"]) if "date_of_birth" in persons.columns else pd.Series(pd.NaT, index=persons.index)
    e_dob = _dates(entries["date_of_birth"]) if "date_of_birth" in entries.columns else pd.Series(pd.NaT, index=entries.index)
    e_year = (entries["birth_year"].astype("Int64") if "birth_year" in entries.columns
              else pd.Series(pd.NA, index=entries.index, dtype="Int64")).fillna(e_dob.dt.year.astype("Int64"))
    out = _qualify(pairs.reset_index(drop=True), persons, entries, p_dob, e_dob, e_year)
    docs = screen_documents(persons, entries)
    docs = docs[docs["person"] == docs["entry"]]
    out = out.set_index("entry").sort_index()
    if len(docs):
        idx = docs["entry"].to_numpy()
        out.loc[idx, "explanation"] = docs["explanation"].to_numpy() + "; " + out.loc[idx, "explanation"].to_numpy()
        out.loc[idx, "score"] = DOCUMENT_SCORE
        out.loc[idx, "basis"] = "document"
    return out.reset_index()[["score", "basis", "explanation"]]


def match_one(a: dict[str, Any], b: dict[str, Any]) -> tuple[float, str]:
    """Score and explanation of one person against one entry (for tests and single lookups)."""
    import pandas as pd

    keys = ("date_of_birth", "nationality", "gender", "doc_number", "doc_issuer")
    pa_ = {"name_key": a.get("name"), **{k: a.get(k) for k in keys}}
    eb = {"name": b.get("name"), "aliases": b.get("aliases"), "birth_year": b.get("birth_year"),
          **{k: b.get(k) for k in keys}}
    res = score_pairs(pd.DataFrame([pa_]), pd.DataFrame([eb]))
    return float(res["score"].iloc[0]), str(res["explanation"].iloc[0])
