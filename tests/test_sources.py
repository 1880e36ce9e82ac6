"""Sources: every file format (gzip too), directories, globs, and hf:// through the datasets library."""

from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import query, run_ingest, trl, write_jsonl

from curate.ingest import sources
from curate.errors import SourceError

ROWS = [trl(prompt=f"question {i}", chosen=f"good {i}", rejected=f"bad {i}") for i in range(3)]


def test_sources_jsonl_gzip_json_parquet_csv_tsv_all_ingest(wh, tmp_path):
    write_jsonl(tmp_path / "a.jsonl.gz", ROWS)
    (tmp_path / "b.json").write_text(json.dumps(ROWS))
    (tmp_path / "c.json").write_text(json.dumps({"data": ROWS}))
    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "d.parquet")
    (tmp_path / "e.csv").write_text("prompt,chosen,rejected\n" + "".join(f'"{r["prompt"]}",{r["chosen"]},{r["rejected"]}\n' for r in ROWS))
    (tmp_path / "f.tsv").write_text("prompt\tchosen\trejected\n" + "".join(f'{r["prompt"]}\t{r["chosen"]}\t{r["rejected"]}\n' for r in ROWS))
    (tmp_path / "notes.txt").write_text("not a data file")
    result = run_ingest(wh, tmp_path)
    assert result.rows_in == 18 and result.outcomes["accepted"] == 3 and result.outcomes["duplicate"] == 15
    per_file = query(wh, "SELECT regexp_extract(source_file, '[^/]+$'), count(*) FROM raw_rows GROUP BY 1 ORDER BY 1")
    assert per_file == [(name, 3) for name in ("a.jsonl.gz", "b.json", "c.json", "d.parquet", "e.csv", "f.tsv")]
    assert query(wh, "SELECT DISTINCT source FROM pairs") == [("a",)]


def test_sources_glob_selects_files_and_source_row_is_zero_based_line_index(wh, tmp_path):
    write_jsonl(tmp_path / "part-1.jsonl", [ROWS[0], "", ROWS[1]])  # a blank line is not a row but keeps line numbers
    write_jsonl(tmp_path / "other.jsonl", [ROWS[2]])
    run_ingest(wh, str(tmp_path / "part-*.jsonl"), source_name="parts")
    assert query(wh, "SELECT source, source_row FROM pairs ORDER BY source_row") == [("parts", 0), ("parts", 2)]


def test_sources_csv_with_wrong_cell_count_is_rejected(wh, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("prompt,chosen,rejected\nq,a,b\nq2,only-two\n")
    result = run_ingest(wh, path)
    assert query(wh, "SELECT source_row, reason FROM raw_rows WHERE run_id = ? ORDER BY 1", [result.run_id]) == [
        (0, None), (1, "malformed_csv")]


def test_sources_missing_path_and_empty_directory_fail_clearly(tmp_path):
    with pytest.raises(SourceError, match="source not found"):
        sources.resolve(str(tmp_path / "nope.jsonl"))
    with pytest.raises(SourceError, match="no readable files"):
        sources.resolve(str(tmp_path))
    with pytest.raises(SourceError, match="only config and split"):
        sources.resolve("hf://org/name?revision=main")


def test_sources_hf_dataset_loads_through_datasets_with_config_and_split(wh, tmp_path):
    """A dataset repository laid out as on the Hub (README configs), loaded offline by ``datasets``."""
    repo = tmp_path / "org" / "prefs"
    (repo / "data").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(ROWS[:2]), repo / "data" / "train.parquet")
    pq.write_table(pa.Table.from_pylist(ROWS[2:]), repo / "data" / "test.parquet")
    pq.write_table(pa.Table.from_pylist([trl(prompt="other config")]), repo / "data" / "extra.parquet")
    (repo / "README.md").write_text(
        "---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: data/train.parquet\n"
        "  - split: test\n    path: data/test.parquet\n- config_name: extra\n  data_files:\n"
        "  - split: train\n    path: data/extra.parquet\n---\n"
    )
    result = run_ingest(wh, f"hf://{repo}?split=test")
    assert result.outcomes["accepted"] == 1
    run_ingest(wh, f"hf://{repo}?config=extra&split=train")
    rows = query(wh, "SELECT source_file, source_row, prompt[1].content FROM pairs ORDER BY prompt[1].content")
    assert rows == [(f"hf://{repo}?config=extra&split=train", 0, "other config"), (f"hf://{repo}?split=test", 0, "question 2")]
    with pytest.raises(SourceError, match="cannot load"):
        run_ingest(wh, f"hf://{repo}?split=validation")


def test_sources_byte_order_mark_does_not_cost_the_first_row(wh, tmp_path):
    (tmp_path / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + json.dumps(ROWS[0]).encode() + b"\n")
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbfprompt,chosen,rejected\nq,a,b\n")
    result = run_ingest(wh, tmp_path / "bom.jsonl")
    assert result.outcomes["accepted"] == 1
    assert run_ingest(wh, tmp_path / "bom.csv").outcomes["accepted"] == 1


def test_sources_csv_cells_past_the_parser_limit_are_read_and_oversized_rows_rejected_alone(wh, tmp_path):
    path = tmp_path / "big.csv"
    path.write_text(f"prompt,chosen,rejected\nq0,{'x' * 200_000},b\nq1,{'y' * 2_000_000},b\nq2,a,b\n")
    result = run_ingest(wh, path)
    assert query(wh, "SELECT source_row, reason FROM raw_rows WHERE run_id = ? ORDER BY 1", [result.run_id]) == [
        (0, None), (1, "too_large"), (2, None)]


def test_sources_gzipped_parquet_ingests(wh, tmp_path):
    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "d.parquet")
    (tmp_path / "d.parquet.gz").write_bytes(gzip.compress((tmp_path / "d.parquet").read_bytes()))
    assert run_ingest(wh, tmp_path / "d.parquet.gz").outcomes["accepted"] == 3
