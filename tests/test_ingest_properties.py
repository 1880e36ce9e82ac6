"""Property tests: random and garbage rows never crash ingest, and every row is accounted for."""

from __future__ import annotations

import json

import pytest
from conftest import query
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curate import ingest
from curate.ingest.adapters import ADAPTERS
from curate.errors import NoValidRows
from curate.warehouse import Warehouse

KEYS = ["prompt", "chosen", "rejected", "response", "helpfulness", "completions", "instruction", "response_1",
        "response_2", "preference_strength", "strength", "tie", "input", "preferred_output", "non_preferred_output",
        "role", "content", "messages", "language", "annotator", "score_chosen", "overall_score"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False), st.text(max_size=20),
                    st.sampled_from(["\n\nHuman: hi\n\nAssistant: yo", "user", "assistant", ""]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)), max_leaves=12)
records = st.dictionaries(st.sampled_from(KEYS), values, max_size=6)
good = st.builds(lambda p, a, b: {"prompt": p, "chosen": a, "rejected": b + "!"}, st.text(min_size=1, max_size=30),
                 st.text(min_size=1, max_size=30), st.text(min_size=1, max_size=30))
lines = st.one_of(
    records.map(lambda r: json.dumps(r).encode()),
    good.map(lambda r: json.dumps(r).encode()),
    st.binary(max_size=60).map(lambda b: b.replace(b"\n", b" ")),
    values.map(lambda v: json.dumps(v).encode()),
)


@pytest.fixture(scope="module")
def shared_wh(tmp_path_factory) -> Warehouse:
    return Warehouse.init(tmp_path_factory.mktemp("prop") / "wh")


@pytest.mark.parametrize("format", [None, *ADAPTERS])
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(lines, min_size=1, max_size=25))
def test_ingest_properties_every_row_accounted_for(shared_wh, tmp_path_factory, format, rows):
    path = tmp_path_factory.mktemp("src") / "rows.jsonl"
    path.write_bytes(b"\n".join(rows) + b"\n")
    expected = sum(1 for r in rows if r.strip())
    try:
        result = ingest.run(shared_wh, ingest.IngestConfig(source=str(path), format=format, detect_language=False))
    except NoValidRows as exc:
        result = exc.result
    o = result.outcomes
    assert result.rows_in == expected == o["accepted"] + o["duplicate"] + o["conflict"] + o["rejected"]
    recorded = query(shared_wh, "SELECT outcome, count(*) FROM raw_rows WHERE run_id = ? GROUP BY 1", [result.run_id])
    assert dict(recorded) == {k: v for k, v in o.items() if v}
    new_pairs = query(shared_wh, "SELECT count(*) FROM pairs WHERE run_id = ?", [result.run_id])[0][0]
    assert new_pairs == result.rows_written >= (1 if o["accepted"] else 0)
