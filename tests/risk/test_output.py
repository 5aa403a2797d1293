"""piu.risk.output: score records keep integer keys integers and a missing count None."""

from __future__ import annotations

import pandas as pd

from piu.risk.output import INTEGER_KEYS, score_records


def test_integer_keys_stay_integers_and_a_missing_count_stays_none() -> None:
    frame = pd.DataFrame({"call_id": ["A", "B"], "persons_aboard": [35.0, None], "score": [9.0, 3.0],
                          "band": ["high", "medium"], "hits": ['[{"rule": "overcapacity", "weight": 5}]', None]})
    records = score_records(frame)
    assert [(r["persons_aboard"], r["score"], r["reasons"]) for r in records] == [
        (35, 9, "overcapacity (5)"), (None, 3, "")]
    assert [type(r[k]) for r in records[:1] for k in INTEGER_KEYS] == [int, int]
