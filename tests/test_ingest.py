"""Ingest: every adapter, every reject reason, dedup and conflicts, column maps, time travel, real data."""

from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import query, run_ingest, trl, write_jsonl

from curate import ids
from curate.errors import NoValidRows, UnknownAdapterError
from schemas import RejectReason

HH_CHOSEN = "\n\nHuman: Hi there\n\nAssistant: Hello! How can I help?\n\nHuman: Name a fruit.\n\nAssistant: An apple."
HH_REJECTED = "\n\nHuman: Hi there\n\nAssistant: Hello! How can I help?\n\nHuman: Name a fruit.\n\nAssistant: A chair."


def pairs(wh, where: str = "true") -> list[dict]:
    with wh.connect(read_only=True) as con:
        relation = con.sql(f"SELECT * FROM pairs WHERE {where} ORDER BY source_file, source_row")
        return [dict(zip(relation.columns, row)) for row in relation.fetchall()]


def outcomes(wh, run_id: str) -> list[tuple]:
    return query(wh, "SELECT source_row, outcome, reason FROM raw_rows WHERE run_id = ? ORDER BY source_row", [run_id])


# ---------------------------------------------------------------- adapters


def test_ingest_hh_transcripts_split_into_multi_turn_prompt(wh, tmp_path):
    result = run_ingest(wh, write_jsonl(tmp_path / "hh.jsonl", [{"chosen": HH_CHOSEN, "rejected": HH_REJECTED}]))
    (pair,) = pairs(wh)
    assert result.outcomes["accepted"] == 1
    assert [m["role"] for m in pair["prompt"]] == ["user", "assistant", "user"]
    assert pair["prompt"][2]["content"] == "Name a fruit."
    assert pair["chosen"] == {"role": "assistant", "content": "An apple."}
    assert pair["rejected"]["content"] == "A chair."
    assert query(wh, "SELECT adapter FROM raw_rows") == [("hh",)]


def test_ingest_trl_standard_conversational_and_implicit_prompt(wh, tmp_path):
    conversation = [{"role": "user", "content": "Capital of France?"}]
    rows = [
        trl(),
        {"prompt": conversation, "chosen": [{"role": "assistant", "content": "Paris."}],
         "rejected": [{"role": "assistant", "content": "Lyon."}]},
        {"chosen": [{"role": "user", "content": "Largest planet?"}, {"role": "assistant", "content": "Jupiter."}],
         "rejected": [{"role": "user", "content": "Largest planet?"}, {"role": "assistant", "content": "Mars."}]},
    ]
    result = run_ingest(wh, write_jsonl(tmp_path / "trl.jsonl", rows))
    got = pairs(wh)
    assert result.outcomes["accepted"] == 3
    assert [p["prompt"][-1]["content"] for p in got] == ["What is 2+2?", "Capital of France?", "Largest planet?"]
    assert [p["chosen"]["content"] for p in got] == ["It is 4.", "Paris.", "Jupiter."]


def test_ingest_trl_keeps_strength_ties_ratings_annotator_language_and_meta(wh, tmp_path):
    rows = [
        trl(strength=2, annotator="a-7", language="FR", chosen_ratings={"helpfulness": 4}, extra_field="kept"),
        trl(prompt="Pick one", chosen="Left", rejected="Right", tie=True),
        trl(prompt="Binarized", score_chosen=8.5, score_rejected=3),
    ]
    run_ingest(wh, write_jsonl(tmp_path / "trl.jsonl", rows))
    first, tie, binarized = pairs(wh)
    assert first["strength"] == 2 and first["annotator"] == "a-7"
    assert first["language"] == "fr" and first["language_detected"] is False
    assert first["chosen_ratings"] == {"helpfulness": 4.0}
    assert json.loads(first["meta"]) == {"extra_field": "kept"}
    assert tie["tie"] is True and tie["strength"] == 0
    assert binarized["chosen_ratings"] == {"overall": 8.5} and binarized["rejected_ratings"] == {"overall": 3.0}


def test_ingest_ultrafeedback_pairs_best_against_each_lower_rated(wh, tmp_path):
    row = {"instruction": "Write a haiku.", "completions": [
        {"model": "a", "response": "Best haiku", "overall_score": 9},
        {"model": "b", "response": "Middle haiku", "overall_score": 6},
        {"model": "c", "response": "Also best", "overall_score": 9},
        {"model": "d", "response": "Worst haiku", "overall_score": 2},
    ]}
    path = write_jsonl(tmp_path / "uf.jsonl", [row])
    result = run_ingest(wh, path)
    got = pairs(wh)
    assert result.outcomes == {"accepted": 1, "duplicate": 0, "conflict": 0, "rejected": 0}
    assert sorted(p["rejected"]["content"] for p in got) == ["Middle haiku", "Worst haiku"]
    assert {p["chosen"]["content"] for p in got} == {"Best haiku"}
    assert got[0]["chosen_ratings"] == {"overall": 9.0}

    run_ingest(wh, path, include_ties=True)  # the equal-rated completion now forms a tie
    ties = pairs(wh, "tie")
    assert [(p["chosen"]["content"], p["rejected"]["content"]) for p in ties] == [("Best haiku", "Also best")]


def test_ingest_helpsteer2_preference_orients_by_strength_sign(wh, tmp_path):
    rows = [
        {"prompt": "Q1", "response_1": "good one", "response_2": "bad one", "preference_strength": -2,
         "preference_statement": "@Response 1 is better."},
        {"prompt": "Q2", "response_1": "bad two", "response_2": "good two", "preference_strength": 3},
        {"prompt": "Q3", "response_1": "same a", "response_2": "same b", "preference_strength": 0},
        {"prompt": "First turn<extra_id_1>Assistant\nA reply\n<extra_id_1>User\nSecond turn",
         "response_1": "x", "response_2": "y", "preference_strength": 1},
    ]
    run_ingest(wh, write_jsonl(tmp_path / "hs2p.jsonl", rows))
    one, two, three, multi = pairs(wh)
    assert (one["chosen"]["content"], one["strength"], one["justification"]) == ("good one", 2, "@Response 1 is better.")
    assert (two["chosen"]["content"], two["strength"]) == ("good two", 3)
    assert three["tie"] is True and three["strength"] == 0
    assert [m["content"] for m in multi["prompt"]] == ["First turn", "A reply", "Second turn"]


def test_ingest_helpsteer2_pairs_rows_of_one_prompt_by_helpfulness(wh, tmp_path):
    def rated(prompt, response, helpfulness):
        return {"prompt": prompt, "response": response, "helpfulness": helpfulness, "correctness": 3,
                "coherence": 4, "complexity": 1, "verbosity": 2}

    rows = [rated("P1", "weak", 1), rated("P1", "strong", 4), rated("P2", "lonely", 3),
            rated("P3", "even a", 2), rated("P3", "even b", 2)]
    result = run_ingest(wh, write_jsonl(tmp_path / "hs2.jsonl", rows))
    (pair,) = pairs(wh)
    assert (pair["chosen"]["content"], pair["rejected"]["content"]) == ("strong", "weak")
    assert pair["chosen_ratings"]["helpfulness"] == 4.0 and pair["rejected_ratings"]["verbosity"] == 2.0
    assert outcomes(wh, result.run_id) == [
        (0, "accepted", None), (1, "accepted", None), (2, "rejected", "unpaired_response"),
        (3, "rejected", "equal_ratings"), (4, "rejected", "equal_ratings"),
    ]


def test_ingest_openai_preference_layout(wh, tmp_path):
    row = {"input": {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]},
           "preferred_output": [{"role": "assistant", "content": "Hello."}],
           "non_preferred_output": [{"role": "assistant", "content": "Go away."}]}
    run_ingest(wh, write_jsonl(tmp_path / "oai.jsonl", [row]))
    (pair,) = pairs(wh)
    assert [m["role"] for m in pair["prompt"]] == ["system", "user"]
    assert pair["chosen"]["content"] == "Hello." and pair["rejected"]["content"] == "Go away."


def test_ingest_format_forces_an_adapter_and_unknown_names_are_listed(wh, tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", [trl()])
    with pytest.raises(UnknownAdapterError, match="known formats: .*trl"):
        run_ingest(wh, path, format="nope")
    with pytest.raises(NoValidRows) as failed:  # TRL rows forced through the HH parser are rejected, not guessed
        run_ingest(wh, path, format="hh")
    assert outcomes(wh, failed.value.result.run_id) == [(0, "rejected", "bad_role_order")]


def test_ingest_column_map_reads_an_unfamiliar_layout(wh, tmp_path):
    path = tmp_path / "survey.csv"
    path.write_text("question,answer_a,answer_b,who\nBest pet?,A dog.,A rock.,r1\n")
    result = run_ingest(wh, path, column_map={"prompt": "question", "chosen": "answer_a", "rejected": "answer_b", "annotator": "who"})
    (pair,) = pairs(wh)
    assert result.outcomes["accepted"] == 1
    assert (pair["prompt"][0]["content"], pair["chosen"]["content"], pair["annotator"]) == ("Best pet?", "A dog.", "r1")


def test_ingest_detects_language_when_the_source_has_none(wh, tmp_path):
    rows = [trl(prompt="Quelle est la capitale de la France et pourquoi est-elle célèbre ?",
                chosen="La capitale de la France est Paris, célèbre pour ses musées.", rejected="Je ne sais pas du tout."),
            trl(prompt="Was ist die Hauptstadt von Deutschland und wie groß ist sie?",
                chosen="Die Hauptstadt von Deutschland ist Berlin mit fast vier Millionen Einwohnern.", rejected="Keine Ahnung.")]
    run_ingest(wh, write_jsonl(tmp_path / "lang.jsonl", rows))
    assert [(p["language"], p["language_detected"]) for p in pairs(wh)] == [("fr", True), ("de", True)]


# ---------------------------------------------------------------- reject reasons


REJECTS = [
    (b"{not json", RejectReason.MALFORMED_JSON),
    (b'{"prompt": "caf\xff", "chosen": "a", "rejected": "b"}', RejectReason.INVALID_UTF8),
    (b"[1, 2, 3]", RejectReason.NOT_AN_OBJECT),
    (trl(rejected=None), RejectReason.MISSING_FIELD),
    (trl(chosen="   "), RejectReason.EMPTY_CONTENT),
    (trl(chosen=42), RejectReason.NON_STRING_CONTENT),
    (trl(chosen="Same answer.", rejected=" Same answer.\r\n"), RejectReason.IDENTICAL_RESPONSES),
    (trl(prompt=[{"role": "assistant", "content": "I start"}]), RejectReason.BAD_ROLE_ORDER),
    (trl(prompt=[{"role": "robot", "content": "beep"}]), RejectReason.BAD_ROLE),
    (trl(strength=7), RejectReason.BAD_STRENGTH),
    (trl(chosen_ratings={"helpfulness": "great"}), RejectReason.BAD_RATING),
    (trl(prompt="x" * 3000), RejectReason.TOO_LARGE),
]


@pytest.mark.parametrize(("row", "reason"), REJECTS, ids=[str(r) for _, r in REJECTS])
def test_ingest_rejects_with_reason_code(wh, tmp_path, row, reason):
    path = write_jsonl(tmp_path / "mixed.jsonl", [trl(prompt="good row"), row])
    result = run_ingest(wh, path, max_row_bytes=2048)
    assert outcomes(wh, result.run_id) == [(0, "accepted", None), (1, "rejected", reason.value)]
    (raw,) = query(wh, "SELECT raw FROM raw_rows WHERE outcome = 'rejected'")
    assert raw[0]  # the raw row is kept


def test_ingest_rejects_prompt_mismatch_and_bad_hh_transcripts(wh, tmp_path):
    rows = [
        {"chosen": HH_CHOSEN, "rejected": HH_REJECTED.replace("Hi there", "Hello")},
        {"chosen": "\n\nHuman: Only a question", "rejected": "\n\nHuman: Only a question"},
        {"chosen": "\n\nHuman: Q\n\nAssistant:", "rejected": "\n\nHuman: Q\n\nAssistant: A"},
    ]
    result = run_ingest(wh, write_jsonl(tmp_path / "hh.jsonl", rows + [{"chosen": HH_CHOSEN, "rejected": HH_REJECTED}]))
    assert [r[2] for r in outcomes(wh, result.run_id)] == ["prompt_mismatch", "bad_role_order", "empty_content", None]


def test_ingest_mixed_file_keeps_every_good_row_and_lists_each_bad_one(wh, tmp_path):
    rows = [trl(prompt=f"question {i}") for i in range(5)]
    rows[1:1] = [b"{broken"]
    rows[4:4] = [trl(chosen="")]
    result = run_ingest(wh, write_jsonl(tmp_path / "mixed.jsonl", rows))
    assert result.outcomes == {"accepted": 5, "duplicate": 0, "conflict": 0, "rejected": 2}
    assert result.dropped == {"empty_content": 1, "malformed_json": 1}
    assert query(wh, "SELECT count(*) FROM pairs") == [(5,)]
    assert query(wh, "SELECT source_row, reason FROM raw_rows WHERE outcome = 'rejected' ORDER BY 1") == [
        (1, "malformed_json"), (4, "empty_content")]


def test_ingest_unrecognized_layout_is_rejected_with_a_hint(wh, tmp_path):
    path = write_jsonl(tmp_path / "odd.jsonl", [{"question": "q", "answer": "a"}])
    with pytest.raises(NoValidRows, match="unknown_format=1") as failed:
        run_ingest(wh, path)
    (detail,) = query(wh, "SELECT detail FROM raw_rows WHERE run_id = ?", [failed.value.result.run_id])
    assert "answer, question" in detail[0] and "--map" in detail[0]


def test_ingest_file_without_valid_rows_fails_but_records_its_rejects(wh, tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", [b"{", trl(chosen="")])
    with pytest.raises(NoValidRows, match="malformed_json=1"):
        run_ingest(wh, path)
    assert query(wh, "SELECT count(*) FROM raw_rows WHERE outcome = 'rejected'") == [(2,)]
    assert query(wh, "SELECT count(*) FROM pairs") == [(0,)]


# ---------------------------------------------------------------- bad input never aborts a run


def test_ingest_nan_and_inf_strength_from_parquet_and_csv_are_rejected_as_bad_strength(wh, tmp_path):
    """NaN is what pandas writes for a missing integer; it is a bad row, never an exception."""
    pq.write_table(pa.table({"prompt": ["p0", "p1", "p2"], "chosen": ["a", "a", "a"], "rejected": ["b", "b", "b"],
                             "strength": pa.array([2.0, float("nan"), float("inf")])}), tmp_path / "s.parquet")
    (tmp_path / "s.csv").write_text("prompt,chosen,rejected,strength\nc0,a,b,nan\nc1,a,b,-inf\nc2,a,b,\nc3,a,b,1\n")
    hs2p = [{"prompt": "h0", "response_1": "x", "response_2": "y", "preference_strength": v} for v in (float("nan"), -1.0)]
    pq.write_table(pa.Table.from_pylist(hs2p), tmp_path / "t.parquet")
    result = run_ingest(wh, tmp_path)
    rows = query(wh, "SELECT regexp_extract(source_file, '[^/]+$'), source_row, outcome, reason FROM raw_rows "
                     "WHERE run_id = ? ORDER BY 1, 2", [result.run_id])
    assert rows == [
        ("s.csv", 0, "rejected", "bad_strength"), ("s.csv", 1, "rejected", "bad_strength"),
        ("s.csv", 2, "accepted", None), ("s.csv", 3, "accepted", None),
        ("s.parquet", 0, "accepted", None), ("s.parquet", 1, "rejected", "bad_strength"),
        ("s.parquet", 2, "rejected", "bad_strength"),
        ("t.parquet", 0, "rejected", "bad_strength"), ("t.parquet", 1, "accepted", None),
    ]
    assert query(wh, "SELECT strength FROM pairs WHERE prompt[1].content = 'p0'") == [(2,)]


def test_ingest_nan_and_inf_ratings_are_rejected_as_bad_rating(wh, tmp_path):
    nan, inf = float("nan"), float("inf")
    trl_rows = [trl(prompt="r0", score_chosen=nan, score_rejected=1.0), trl(prompt="r1", score_chosen=2.0, score_rejected=inf),
                trl(prompt="r2", score_chosen=2.0, score_rejected=1.0)]
    pq.write_table(pa.Table.from_pylist(trl_rows), tmp_path / "trl.parquet")
    uf = [{"instruction": f"u{i}", "completions": [{"response": "good", "overall_score": score},
                                                   {"response": "bad", "overall_score": 1.0}]} for i, score in enumerate((nan, 5.0))]
    pq.write_table(pa.Table.from_pylist(uf), tmp_path / "uf.parquet")
    (tmp_path / "hs2.csv").write_text("prompt,response,helpfulness\nq,one,nan\nq,two,1\nq,three,3\n")
    result = run_ingest(wh, tmp_path)
    rows = query(wh, "SELECT regexp_extract(source_file, '[^/]+$'), source_row, outcome, reason FROM raw_rows "
                     "WHERE run_id = ? ORDER BY 1, 2", [result.run_id])
    assert rows == [
        ("hs2.csv", 0, "rejected", "bad_rating"), ("hs2.csv", 1, "accepted", None), ("hs2.csv", 2, "accepted", None),
        ("trl.parquet", 0, "rejected", "bad_rating"), ("trl.parquet", 1, "rejected", "bad_rating"),
        ("trl.parquet", 2, "accepted", None),
        ("uf.parquet", 0, "rejected", "bad_rating"), ("uf.parquet", 1, "accepted", None),
    ]


def test_ingest_csv_tie_words_are_booleans_and_anything_else_is_bad_tie(wh, tmp_path):
    values = ["false", "0", "no", "False", "", "true", "1", "YES", "maybe", "2"]
    path = tmp_path / "ties.csv"
    path.write_text("prompt,chosen,rejected,tie\n" + "".join(f"q{i},a,b,{v}\n" for i, v in enumerate(values)))
    result = run_ingest(wh, path)
    assert [r[2] for r in outcomes(wh, result.run_id)] == [None] * 8 + ["bad_tie", "bad_tie"]
    ties = query(wh, "SELECT tie FROM pairs ORDER BY source_row")
    assert [t for (t,) in ties] == [False] * 5 + [True] * 3


def truncated_gzip(path, data: bytes, keep: float = 0.5):
    whole = gzip.compress(data)
    path.write_bytes(whole[: int(len(whole) * keep)])
    return path


def test_ingest_truncated_gzip_keeps_the_rows_before_the_break_as_unreadable_source(wh, tmp_path):
    lines = b"".join(json.dumps(trl(prompt=f"question {i}")).encode() + b"\n" for i in range(400))
    result = run_ingest(wh, truncated_gzip(tmp_path / "cut.jsonl.gz", lines))
    rows = outcomes(wh, result.run_id)
    *kept, (break_row, outcome, reason) = rows
    assert (outcome, reason) == ("rejected", "unreadable_source")
    assert 0 < len(kept) < 400 and {r[1] for r in kept} == {"accepted"}
    assert break_row == len(kept) == result.outcomes["accepted"]
    (detail,) = query(wh, "SELECT detail FROM raw_rows WHERE reason = 'unreadable_source'")
    assert f"breaks off at row {break_row}" in detail[0] and "EOFError" in detail[0]


def test_ingest_corrupt_gzip_csv_and_damaged_parquet_are_unreadable_sources_beside_good_files(wh, tmp_path):
    csv_text = b"prompt,chosen,rejected\n" + b"".join(b"c%d,a,b\n" % i for i in range(300))
    whole = bytearray(gzip.compress(csv_text))
    whole[len(whole) // 2:] = bytes(len(whole) - len(whole) // 2)  # zeros from the middle on: corrupt deflate data
    (tmp_path / "bad.csv.gz").write_bytes(bytes(whole))
    pq.write_table(pa.Table.from_pylist([trl(prompt="parquet")]), tmp_path / "damaged.parquet")
    damaged = (tmp_path / "damaged.parquet").read_bytes()
    (tmp_path / "damaged.parquet").write_bytes(damaged[: len(damaged) // 2])
    write_jsonl(tmp_path / "good.jsonl", [trl(prompt="good")])
    result = run_ingest(wh, tmp_path)
    breaks = query(wh, "SELECT regexp_extract(source_file, '[^/]+$'), detail FROM raw_rows "
                       "WHERE run_id = ? AND reason = 'unreadable_source' ORDER BY 1", [result.run_id])
    assert [name for name, _ in breaks] == ["bad.csv.gz", "damaged.parquet"]
    assert "no row could be read" in breaks[1][1]
    assert query(wh, "SELECT count(*) FROM pairs WHERE prompt[1].content = 'good'") == [(1,)]
    assert result.rows_in == query(wh, "SELECT count(*) FROM raw_rows WHERE run_id = ?", [result.run_id])[0][0]


def test_ingest_grouped_rows_in_no_pair_are_rejected_not_accepted(wh, tmp_path):
    def rated(response, helpfulness):
        return {"prompt": "P", "response": response, "helpfulness": helpfulness}

    rows = [rated("best", 4), rated("also best", 4), rated("best ", 2), rated("worst", 1)]
    result = run_ingest(wh, write_jsonl(tmp_path / "hs2.jsonl", rows))
    assert outcomes(wh, result.run_id) == [
        (0, "accepted", None), (1, "rejected", "equal_ratings"), (2, "rejected", "identical_responses"), (3, "accepted", None)]
    pair_ids = query(wh, "SELECT source_row, len(pair_ids) FROM raw_rows WHERE pair_ids IS NOT NULL ORDER BY 1")
    assert pair_ids == [(0, 1), (3, 1)]  # each row holds only the pairs its response is in
    reversed_rows = [rated("worst", 4), rated("best", 1)]
    again = run_ingest(wh, write_jsonl(tmp_path / "flip.jsonl", reversed_rows))
    assert [r[1] for r in outcomes(wh, again.run_id)] == ["conflict", "conflict"]
    assert query(wh, "SELECT count(*) FROM conflicts") == [(1,)]  # one contradiction, recorded once


def test_ingest_non_string_justification_is_rejected_and_a_nan_annotator_is_missing(wh, tmp_path):
    write_jsonl(tmp_path / "j.jsonl", [trl(prompt="j0", justification=5), trl(prompt="j1", rationale={"why": 1})])
    pq.write_table(pa.Table.from_pylist([trl(prompt="j2", annotator=float("nan")), trl(prompt="j3", annotator=7.0)]),
                   tmp_path / "k.parquet")
    result = run_ingest(wh, tmp_path)
    assert result.dropped == {"non_string_content": 2}
    assert query(wh, "SELECT prompt[1].content, annotator FROM pairs ORDER BY 1") == [("j2", None), ("j3", "7")]


# ---------------------------------------------------------------- ids, duplicates, conflicts


def test_ingest_same_comparison_in_either_order_collides_and_conflict_is_recorded(wh, tmp_path):
    rows = [trl(), trl(), trl(chosen="It is 5.", rejected="It is 4."), trl(tie=True)]
    result = run_ingest(wh, write_jsonl(tmp_path / "dups.jsonl", rows))
    assert [r[1] for r in outcomes(wh, result.run_id)] == ["accepted", "duplicate", "conflict", "conflict"]
    (pair,) = pairs(wh)
    assert pair["chosen"]["content"] == "It is 4."  # never overwritten
    assert query(wh, "SELECT kind, source_row FROM conflicts ORDER BY source_row") == [("reversed", 2), ("tie", 3)]
    pair_ids = query(wh, "SELECT DISTINCT unnest(pair_ids) FROM raw_rows")
    assert pair_ids == [(pair["pair_id"],)]  # duplicates and conflicts point at the stored pair


def test_ingest_ids_normalize_whitespace_and_unicode_but_keep_text():
    assert ids.content_hash("Caf\u00e9 \r\n") == ids.content_hash("Cafe\u0301")
    prompt = ids.prompt_id([("user", "Hi")])
    assert ids.pair_id(prompt, "a", "b") == ids.pair_id(prompt, "b", "a")
    assert ids.prompt_id([("user", "Hi")]) != ids.prompt_id([("system", "Hi")])


def test_ingest_reingest_adds_no_pairs(wh, tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [trl(prompt=f"q{i}") for i in range(4)])
    run_ingest(wh, path)
    again = run_ingest(wh, path)
    assert again.outcomes == {"accepted": 0, "duplicate": 4, "conflict": 0, "rejected": 0}
    assert again.rows_written == 0
    assert query(wh, "SELECT count(*) FROM pairs") == [(4,)]


def test_ingest_each_run_is_one_snapshot_with_time_travel(wh, tmp_path):
    first = run_ingest(wh, write_jsonl(tmp_path / "a.jsonl", [trl(prompt="one")]))
    second = run_ingest(wh, write_jsonl(tmp_path / "b.jsonl", [trl(prompt="two"), trl(prompt="three")]))
    assert second.snapshot_id == first.snapshot_id + 1
    assert query(wh, f"SELECT count(*) FROM pairs AT (VERSION => {first.snapshot_id})") == [(1,)]
    assert query(wh, "SELECT count(*) FROM pairs", at=first.snapshot_id) == [(1,)]
    assert query(wh, "SELECT count(*) FROM pairs") == [(3,)]
    (message,) = query(wh, "SELECT commit_message FROM snapshots() WHERE snapshot_id = ?", [second.snapshot_id])
    assert second.run_id in message[0]


# ---------------------------------------------------------------- real data


@pytest.mark.slow
def test_ingest_real_hh_rlhf_reconciles(wh, real_data):
    result = run_ingest(wh, real_data)
    o = result.outcomes
    assert o["accepted"] + o["duplicate"] + o["conflict"] + o["rejected"] == 2312 == result.rows_in
    assert query(wh, "SELECT count(*) FROM pairs") == [(o["accepted"],)]
    assert query(wh, "SELECT count(*) FROM raw_rows") == [(2312,)]
    bad = query(wh, """SELECT count(*) FROM pairs
                       WHERE len(list_filter(prompt, m -> m.role = 'user')) = 0
                          OR trim(chosen.content) = '' OR trim(rejected.content) = ''""")
    assert bad == [(0,)]
    assert query(wh, "SELECT count(*) FROM pairs WHERE len(prompt) > 1")[0][0] > 1000  # multi-turn prompts parsed
    again = run_ingest(wh, real_data)
    assert again.rows_written == 0 and query(wh, "SELECT count(*) FROM pairs") == [(o["accepted"],)]


def test_ingest_demo_examples_account_for_every_planted_row(wh):
    from pathlib import Path

    from curate import pipeline

    examples = pipeline.load(Path(__file__).resolve().parents[1] / "examples" / "pipeline.yaml")
    results = [ingest_config(wh, config.model_dump()) for config in examples.ingest.sources]
    assert sum(r.outcomes["conflict"] for r in results) == 1
    assert sum(r.outcomes["duplicate"] for r in results) == 2
    rejects = query(wh, "SELECT regexp_extract(source_file, '[^/]+$'), source_row, reason FROM raw_rows "
                        "WHERE outcome = 'rejected' ORDER BY 1, 2")
    assert rejects == [
        ("chat_pairs.jsonl", 4, "malformed_json"), ("chat_pairs.jsonl", 10, "missing_field"),
        ("chat_pairs.jsonl", 16, "empty_content"), ("chat_pairs.jsonl", 22, "identical_responses"),
        ("chat_pairs.jsonl", 28, "bad_role_order"), ("chat_pairs.jsonl", 33, "non_string_content"),
        ("invalid_utf8.jsonl", 1, "invalid_utf8"),
    ]
    assert 50 <= query(wh, "SELECT count(*) FROM pairs")[0][0] <= 100
    assert query(wh, "SELECT count(DISTINCT language) FROM pairs")[0][0] >= 7
    assert query(wh, "SELECT count(*) FROM pairs WHERE tie")[0][0] >= 3


def ingest_config(wh, config: dict):
    from curate import ingest

    return ingest.run(wh, ingest.IngestConfig(**config))
