"""Property tests: random and garbage rows (JSONL, Parquet, CSV, truncated gzip) never crash ingest, and every
row is accounted for."""

from __future__ import annotations

import csv
import gzip
import io
import json
import math

import pyarrow as pa
import pyarrow.parquet as pq
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


def accounted(wh: Warehouse, path, expected_rows: int | None, *, format: str | None = None):
    """Ingest ``path``; every row ends with one outcome, once in raw_rows, and a break is one more rejected row."""
    try:
        result = ingest.run(wh, ingest.IngestConfig(source=str(path), format=format, detect_language=False))
    except NoValidRows as exc:
        result = exc.result
    o = result.outcomes
    assert result.rows_in == o["accepted"] + o["duplicate"] + o["conflict"] + o["rejected"]
    recorded = query(wh, "SELECT outcome, count(*), count(DISTINCT source_row) FROM raw_rows WHERE run_id = ? GROUP BY 1",
                     [result.run_id])
    assert {k: n for k, n, _ in recorded} == {k: v for k, v in o.items() if v}
    assert sum(d for _, _, d in recorded) == result.rows_in  # one raw_rows row per input row
    breaks = query(wh, "SELECT source_row FROM raw_rows WHERE run_id = ? AND reason = 'unreadable_source'", [result.run_id])
    if expected_rows is not None:
        assert result.rows_in == expected_rows and not breaks
    else:
        ((last,),) = breaks  # a truncated file: the rows before the break, then the break itself
        assert result.rows_in == last + 1
    return result


# Columns a table may hold, each with one type (Parquet) or as text (CSV): NaN, inf, nulls and numbers-as-text.
COLUMNS = ["prompt", "chosen", "rejected", "response", "helpfulness", "response_1", "response_2",
           "preference_strength", "strength", "tie", "score_chosen", "score_rejected", "language", "annotator", "justification"]
floats = st.one_of(st.none(), st.floats(), st.sampled_from([math.nan, math.inf, -math.inf, 0.0, 1.0, 2.5, -3.0]))
words = st.one_of(st.none(), st.text(max_size=12), st.sampled_from(["nan", "NaN", "inf", "-inf", "", "true", "false", "0", "1",
                                                                    "yes", "2", "1e999", " 3 ", "Hi", "\n\nHuman: a\n\nAssistant: b"]))
column_values = {
    "float": floats, "text": words, "int": st.one_of(st.none(), st.integers(-5, 5)), "bool": st.one_of(st.none(), st.booleans()),
}


@st.composite
def tables(draw) -> tuple[list[str], list[dict]]:
    columns = draw(st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=7, unique=True))
    kinds = {c: draw(st.sampled_from(sorted(column_values))) for c in columns}
    n = draw(st.integers(1, 12))
    rows = [{c: draw(column_values[kinds[c]]) for c in columns} for _ in range(n)]
    if draw(st.booleans()):  # a few good rows among the garbage
        rows += [{"prompt": f"q{i}", "chosen": "yes", "rejected": f"no {i}"} for i in range(draw(st.integers(1, 3)))]
        columns = list(dict.fromkeys([*columns, "prompt", "chosen", "rejected"]))
    return columns, rows


def _cell(value) -> str:
    return "" if value is None else str(value)


def write_csv(columns: list[str], rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows([[_cell(r.get(c)) for c in columns] for r in rows])
    return out.getvalue().encode("utf-8", "surrogatepass")


def _arrow_type(values: list):
    """A Parquet column has one type: booleans, numbers (float when any is), else text, which is also
    how a column of mixed Python types is written."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return pa.bool_()
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return pa.float64() if any(isinstance(v, float) for v in present) else pa.int64()
    return pa.string()


def write_parquet(path, columns: list[str], rows: list[dict]) -> None:
    data = {}
    for c in columns:
        values = [r.get(c) for r in rows]
        kind = _arrow_type(values)
        if kind == pa.string():
            values = [None if v is None else str(v) for v in values]
        elif kind == pa.float64():
            values = [None if v is None else float(v) for v in values]
        data[c] = pa.array(values, type=kind, from_pandas=False)  # NaN stays NaN, as pandas' float columns hold it
    pq.write_table(pa.table(data), path)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=tables())
def test_ingest_properties_parquet_with_nan_inf_nulls_and_mixed_types(shared_wh, tmp_path_factory, table):
    columns, rows = table
    path = tmp_path_factory.mktemp("pq") / "rows.parquet"
    write_parquet(path, columns, rows)
    accounted(shared_wh, path, len(rows))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=tables(), cut=st.one_of(st.none(), st.floats(0.01, 0.99)))
def test_ingest_properties_csv_with_nan_inf_nulls_and_a_truncated_gzip(shared_wh, tmp_path_factory, table, cut):
    """CSV cells are text: "nan", "inf", "false", empty. ``cut`` truncates the gzipped file at that fraction."""
    columns, rows = table
    data = write_csv(columns, rows)
    folder = tmp_path_factory.mktemp("csv")
    if cut is None:
        path = folder / "rows.csv"
        path.write_bytes(data)
    else:
        whole = gzip.compress(data)
        path = folder / "rows.csv.gz"
        path.write_bytes(whole[: max(1, int(len(whole) * cut))])
    accounted(shared_wh, path, len(rows) if cut is None else None)
