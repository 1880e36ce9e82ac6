"""Interchange: Label Studio and Argilla exports ingest as pairs (the annotators' majority) and import as annotations."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import query, run_ingest, trl, write_jsonl
from hypothesis import given, settings
from hypothesis import strategies as st

from curate.annotate import imports, interchange
from curate.annotate.config import ImportConfig
from curate.errors import ConfigError, SourceError
from curate.ingest.adapters import argilla, label_studio  # noqa: F401  (registers the formats)
from curate.ingest.adapters.annotated import choice_preference, majority_pair
from curate.ingest.adapters.fields import Reject
from schemas import RejectReason

CASES = Path(__file__).parent / "cases" / "annotate"


def pairs(wh) -> dict[str, dict]:
    """Stored pairs by their prompt's last message."""
    with wh.connect(read_only=True) as con:
        relation = con.sql("SELECT * FROM pairs")
        rows = [dict(zip(relation.columns, row)) for row in relation.fetchall()]
    return {row["prompt"][-1]["content"]: row for row in rows}


def annotations(wh) -> list[dict]:
    with wh.connect(read_only=True) as con:
        relation = con.sql("SELECT a.*, p.prompt[-1].content AS question FROM annotations a JOIN pairs p USING (pair_id) "
                           "ORDER BY annotation_id, version")
        return [dict(zip(relation.columns, row)) for row in relation.fetchall()]


def import_file(wh, path: Path, **options):
    return imports.run(wh, ImportConfig(path=path, **options))


def reasons(wh, run_id: str) -> dict[int, str | None]:
    return dict(query(wh, "SELECT source_row, reason FROM raw_rows WHERE run_id = ? ORDER BY source_row", [run_id]))


# ---------------------------------------------------------------- parsing


@pytest.mark.parametrize("label, expected", [
    ("-3", (3, True)), ("3", (-3, True)), ("0", (0, True)), (-1, (1, True)),
    ("Response 1", (2, False)), ("Right", (-2, False)), ("A is better", (2, False)), ("B", (-2, False)),
    ("Tie", (0, True)), ("Both are equally good", (0, True)),
    ("Response 2 is much better", (-3, True)), ("Response 1 is a bit better", (1, True)), ("Left slightly better", (1, True)),
    ("response2", (-2, False)), ("Maybe", None), ("1 and 2", None), ("7", None), (True, None), (None, None),
])
def test_annotate_interchange_choice_labels_read_as_a_preference_of_a_over_b(label, expected):
    assert choice_preference(label, ("response1", "response2")) == expected


@pytest.mark.parametrize("name, format", [
    ("ls_pairwise.json", "label-studio"), ("ls_curate.json", "label-studio"), ("argilla_ranking.json", "argilla"),
    ("argilla_rating", "argilla"), ("argilla_flat.jsonl", "argilla"),
])
def test_annotate_interchange_detects_the_format_of_each_export(name, format):
    assert interchange.export_format(CASES / name) == format


def test_annotate_interchange_file_in_neither_format_raises_with_its_path(tmp_path):
    with pytest.raises(SourceError, match=r"neither.json is neither a Label Studio JSON export \(tasks"):
        interchange.read_export(CASES / "neither.json")
    with pytest.raises(ConfigError, match="unknown export format 'prodigy'"):
        interchange.read_export(CASES / "ls_curate.json", "prodigy")
    with pytest.raises(SourceError, match="without records.json"):
        interchange.read_export(tmp_path)


def test_annotate_interchange_reads_each_annotation_with_annotator_reason_and_timing():
    items = list(interchange.read_export(CASES / "ls_curate.json"))
    first = items[0]
    assert (first.a, first.b, first.prompt) == ("Lyon.", "Paris.", [("user", "Capital of France?")])
    assert (first.preference, first.graded, first.annotator, first.annotation_id) == (-3, True, "5", "7001")
    assert (first.reason, first.lead_time, first.annotated_at.isoformat()) == ("Lyon is not the capital.", 12.25, "2025-06-02T09:00:00+00:00")
    assert [i.preference for i in items] == [-3, -1, 2, 0]  # curate's choices: negative = left (a) better
    ranking = list(interchange.read_export(CASES / "argilla_ranking.json"))
    assert [(i.record_id, i.preference) for i in ranking] == [("rec-1", 2), ("rec-1", 2), ("rec-2", -2)]  # the draft is left out
    assert ranking[0].reason == "The first one is an actual haiku."


def test_annotate_interchange_rating_scale_needs_the_argilla_settings(tmp_path):
    scaled = {i.annotation_id: i.preference for i in interchange.read_export(CASES / "argilla_rating")}
    assert scaled == {"r-1:u-1": 2, "r-2:u-1": -3, "r-2:u-2": -2}  # 7 and 6 on 1..7: response b much / clearly better
    alone = tmp_path / "records.json"
    shutil.copy(CASES / "argilla_rating" / "records.json", alone)
    items = list(interchange.read_export(alone))
    bad = [i for i in items if isinstance(i, interchange.BadRecord)]
    assert [i.annotation_id for i in items if isinstance(i, interchange.External)] == ["r-1:u-1"]
    assert {(b.row, b.reason) for b in bad} == {(1, RejectReason.MISSING_FIELD)}
    assert all("settings" in b.detail for b in bad)


def test_annotate_interchange_bad_record_is_collected_with_its_reason_not_fatal():
    items = list(interchange.read_export(CASES / "broken.jsonl"))
    bad = [(i.row, i.reason) for i in items if isinstance(i, interchange.BadRecord)]
    assert bad == [(1, RejectReason.MALFORMED_JSON), (2, RejectReason.MISSING_FIELD), (3, RejectReason.BAD_STRENGTH)]
    assert [(i.record_id, i.preference) for i in items if isinstance(i, interchange.External)] == [("301", 2), ("304", 1)]


# ---------------------------------------------------------------- ingest


def test_annotate_interchange_label_studio_pairwise_ingests_the_majority(wh):
    result = run_ingest(wh, CASES / "ls_pairwise.json", format="label-studio", detect_language=False)
    got = pairs(wh)
    assert result.outcomes["accepted"] == 2
    assert got["Name a primary colour."]["chosen"]["content"] == "Red."  # both annotators said left
    assert got["What is 3 + 4?"]["chosen"]["content"] == "It is 7."  # right; the cancelled annotation does not count
    assert got["What is 3 + 4?"]["annotator"] == "1" and got["Name a primary colour."]["annotator"] is None
    assert {p["strength"] for p in got.values()} == {None}  # a bare left/right states no strength
    assert json.loads(got["Name a primary colour."]["meta"])["votes"] == [{"annotator": "1", "preference": 2},
                                                                           {"annotator": "bo@example.org", "preference": 2}]
    assert reasons(wh, result.run_id) == {0: None, 1: None, 2: RejectReason.MISSING_FIELD, 3: RejectReason.EQUAL_RATINGS}
    assert query(wh, "SELECT DISTINCT adapter FROM raw_rows") == [("label-studio",)]


def test_annotate_interchange_label_studio_format_is_detected_by_ingest(wh):
    run_ingest(wh, CASES / "ls_curate.json", detect_language=False)
    assert query(wh, "SELECT DISTINCT adapter FROM raw_rows") == [("label-studio",)]


def test_annotate_interchange_curate_choices_give_strength_ties_and_reasons(wh):
    run_ingest(wh, CASES / "ls_curate.json", format="label-studio", detect_language=False)
    got = pairs(wh)
    france, planet, number = got["Capital of France?"], got["Largest planet?"], got["Pick a number."]
    assert (france["chosen"]["content"], france["strength"], france["tie"]) == ("Paris.", 1, False)  # 3 and 1: median low
    assert france["justification"] == "Lyon is not the capital."
    assert (planet["chosen"]["content"], planet["strength"], [m["role"] for m in planet["prompt"]]) == ("Jupiter.", 2, ["system", "user"])
    assert (number["tie"], number["strength"], number["justification"]) == (True, 0, "Both are fine.")
    assert json.loads(france["meta"])["pair_id"] == "p-1"  # the task's own fields are kept


def test_annotate_interchange_argilla_ranking_rating_and_flat_records_ingest(wh):
    ranking = run_ingest(wh, CASES / "argilla_ranking.json", format="argilla", detect_language=False)
    run_ingest(wh, CASES / "argilla_flat.jsonl", format="argilla", detect_language=False)
    rating = run_ingest(wh, CASES / "argilla_rating" / "records.json", format="argilla", detect_language=False)
    got = pairs(wh)
    assert got["Write a haiku about rain."]["chosen"]["content"].startswith("Rain taps")
    assert got["Translate 'cat' to German."]["chosen"]["content"] == "Katze."
    assert got["Best way to boil an egg?"]["chosen"]["content"].startswith("Simmer")
    assert got["Give a synonym for happy."]["chosen"]["content"] == "Joyful."
    assert reasons(wh, ranking.run_id)[2] == RejectReason.MISSING_FIELD  # rec-3 has no response
    # per-response ratings ingest; a rating on a preference scale needs the settings, which ingest does not read
    assert reasons(wh, rating.run_id) == {0: None, 1: RejectReason.MISSING_FIELD}


# ---------------------------------------------------------------- import


def test_annotate_interchange_import_orients_verdicts_to_the_stored_label(wh, tmp_path):
    # stored labels disagree with the annotators on purpose: Lyon chosen (they prefer Paris), Jupiter chosen (they agree)
    run_ingest(wh, write_jsonl(tmp_path / "stored.jsonl", [
        trl([{"role": "user", "content": "Capital of France?"}], "Lyon.", "Paris."),
        trl([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Largest planet?"}], "Jupiter.", "Mars."),
        trl([{"role": "user", "content": "Pick a number."}], "Four.", "Seven."),
    ]), detect_language=False)
    result = import_file(wh, CASES / "ls_curate.json")
    assert result.outcomes == {"imported": 4, "edited": 0, "unchanged": 0, "unknown_pair": 0, "already_pulled": 0, "bad": 0}
    assert result.rows_written == 4 and result.error_count == 0
    rows = annotations(wh)
    assert [(r["question"], r["annotator"], r["strength"], r["verdict"]) for r in rows] == [
        ("Capital of France?", "5", -3, "rejected"),  # Paris much better: against the stored Lyon
        ("Capital of France?", "6", -1, "rejected"),
        ("Largest planet?", "5", 2, "chosen"),  # left (Jupiter) better: the stored chosen
        ("Pick a number.", "5", 0, "tie"),
    ]
    first = rows[0]
    assert first["origin"] == f"file:{(CASES / 'ls_curate.json').resolve()}"
    assert (first["annotation_id"], first["version"], first["batch_id"]) == ("7001", 1, None)
    assert (first["reason"], first["lead_time"], first["annotated_at"].isoformat()) == (
        "Lyon is not the capital.", 12.25, "2025-06-02T09:00:00+00:00")
    assert first["run_id"] == result.run_id


def test_annotate_interchange_import_is_idempotent_and_versions_an_edit(wh, tmp_path):
    export = tmp_path / "export.json"
    shutil.copy(CASES / "argilla_ranking.json", export)
    run_ingest(wh, export, format="argilla", detect_language=False)
    assert import_file(wh, export).outcomes["imported"] == 3
    again = import_file(wh, export)
    assert again.outcomes == {"imported": 0, "edited": 0, "unchanged": 3, "unknown_pair": 0, "already_pulled": 0, "bad": 0}
    assert again.rows_written == 0 and len(annotations(wh)) == 3
    records = json.loads(export.read_text())
    records[1]["responses"]["ranking"][0]["value"] = ["response1", "response2"]  # the annotator changed their mind
    export.write_text(json.dumps(records))
    edited = import_file(wh, export)
    assert (edited.outcomes["edited"], edited.outcomes["unchanged"], edited.rows_written) == (1, 2, 1)
    versions = [(r["annotation_id"], r["version"], r["verdict"]) for r in annotations(wh) if r["question"].startswith("Translate")]
    assert versions == [("rec-2:7c1a0000-0000-4000-8000-000000000001", 1, "chosen"),
                        ("rec-2:7c1a0000-0000-4000-8000-000000000001", 2, "rejected")]


def test_annotate_interchange_import_counts_unknown_pairs_and_says_to_ingest_first(wh, tmp_path):
    run_ingest(wh, write_jsonl(tmp_path / "one.jsonl", [trl("What is 3 + 4?", "It is 7.", "It is 12.")]), detect_language=False)
    result = import_file(wh, CASES / "ls_pairwise.json")
    assert result.outcomes == {"imported": 1, "edited": 0, "unchanged": 0, "unknown_pair": 4, "already_pulled": 0, "bad": 0}
    assert result.dropped == {"unknown_pair": 4}
    assert "ingest the file first" in result.details["hint"]
    (row,) = annotations(wh)
    assert (row["strength"], row["verdict"]) == (2, "chosen")  # right (It is 7.) is the stored chosen


def test_annotate_interchange_import_counts_bad_records_and_keeps_the_rest(wh):
    run_ingest(wh, CASES / "broken.jsonl", format="label-studio", detect_language=False)
    result = import_file(wh, CASES / "broken.jsonl")
    assert result.outcomes == {"imported": 2, "edited": 0, "unchanged": 0, "unknown_pair": 0, "already_pulled": 0, "bad": 3}
    assert result.dropped == {"bad_strength": 1, "malformed_json": 1, "missing_field": 1}
    assert result.error_count == 3 and result.rows_in == 5


def test_annotate_interchange_import_uses_the_configured_annotator_for_records_without_one(wh, tmp_path):
    export = tmp_path / "anonymous.json"
    task = json.loads((CASES / "ls_pairwise.json").read_text())[1]
    task["annotations"] = task["annotations"][:1]
    del task["annotations"][0]["completed_by"]
    export.write_text(json.dumps([task]))
    run_ingest(wh, export, format="label-studio", detect_language=False)
    skipped = import_file(wh, export)
    assert (skipped.outcomes["bad"], skipped.dropped) == (1, {"missing_field": 1})
    assert "annotator" in skipped.details["annotator_hint"]
    named = import_file(wh, export, annotator="vendor-team")
    assert named.outcomes["imported"] == 1 and annotations(wh)[0]["annotator"] == "vendor-team"


def test_annotate_interchange_identical_responses_and_foreign_records_are_bad_with_their_reason(wh, tmp_path):
    same = json.loads((CASES / "ls_pairwise.json").read_text())[1]
    same["data"]["answer2"] = same["data"]["answer1"] + "  "  # the same text once normalized
    export = tmp_path / "same.json"
    export.write_text(json.dumps([same, {"fields": {"prompt": "x"}, "responses": {}}]))
    items = list(interchange.read_export(export, "label-studio"))
    assert [(i.row, i.reason) for i in items if isinstance(i, interchange.BadRecord)] == [(1, RejectReason.UNKNOWN_FORMAT)]
    result = import_file(wh, export, format="label-studio")
    assert result.dropped == {"identical_responses": 1, "unknown_format": 1} and result.outcomes["bad"] == 2


# ---------------------------------------------------------------- garbage

_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-4, 8), st.floats(), st.text(max_size=6),
                     st.sampled_from(["left", "right", "response1", "response2", "-3", "2", "Tie", "Response 1 is much better",
                                      "user", "2025-01-01T00:00:00Z", "2025-01-01T00:00:00"]))
_ANY = st.recursive(_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(
    st.sampled_from(["value", "rank", "role", "content", "email", "id", "text", "choices", "selected", "rating"]), inner, max_size=3)),
    max_leaves=8)
_GOOD = st.sampled_from(["Hi?", "Yes.", "No."])
_TEXT = st.one_of(_GOOD, _GOOD, _GOOD, _ANY)  # mostly valid texts, so the annotations get read
_RESULT = st.fixed_dictionaries({"type": st.sampled_from(["pairwise", "choices", "rating", "textarea", "labels"]),
                                 "from_name": st.sampled_from(["preference", "pw", "reason"]),
                                 "to_name": st.sampled_from(["left", "right", "x"]),
                                 "value": st.one_of(st.fixed_dictionaries({}, optional={
                                     "selected": st.one_of(_ANY, st.sampled_from(["left", "right"])), "choices": st.one_of(st.lists(_SCALARS, min_size=1, max_size=2), _ANY),
                                     "rating": _SCALARS, "text": _ANY}), _ANY)})
_TASK = st.fixed_dictionaries({"data": st.fixed_dictionaries({"prompt": _TEXT, "left": _TEXT, "right": _TEXT})}, optional={
    "id": _SCALARS, "annotations": st.one_of(_ANY, st.lists(st.fixed_dictionaries({}, optional={
        "id": _SCALARS, "completed_by": _ANY, "was_cancelled": _SCALARS, "lead_time": _SCALARS, "updated_at": _SCALARS,
        "result": st.one_of(_ANY, st.lists(_RESULT, min_size=1, max_size=3))}), max_size=3))})
_SIDES = st.sampled_from(["response1", "response2"])
_ANSWER = st.fixed_dictionaries({"value": st.one_of(st.integers(-1, 9), _ANY, st.lists(_SIDES, max_size=3), st.lists(
                                     st.fixed_dictionaries({"value": _SIDES, "rank": _SCALARS}), max_size=3)), "user_id": st.one_of(st.sampled_from(["u1", "u2"]), _SCALARS),
                                 "status": st.sampled_from([None, "submitted", "draft"])})
_RECORD = st.fixed_dictionaries({"fields": st.fixed_dictionaries({"prompt": _TEXT, "response1": _TEXT, "response2": _TEXT}),
                                 "responses": st.one_of(_ANY, st.dictionaries(
                                     st.sampled_from(["ranking", "rating_response1", "rating_response2", "preference", "comment"]),
                                     st.one_of(_ANY, st.lists(_ANSWER, max_size=3)), max_size=4))},
                                optional={"updated_at": _SCALARS}).map(lambda r: {"id": "r", **r})


@settings(max_examples=150, deadline=None)
@given(task=_TASK, record=_RECORD, scale=st.tuples(st.integers(-2, 8), st.integers(-2, 8)))
def test_annotate_interchange_garbage_records_only_ever_reject(task, record, scale):
    for parse in (label_studio.parse_task, lambda r: argilla.parse_record(r, {"preference": scale})):
        for candidate in (task, record):
            try:
                majority_pair(parse(candidate), {}, set())
            except Reject:
                pass


def test_annotate_interchange_import_leaves_tasks_curate_pushed_to_pull(wh, tmp_path):
    """An export of a project curate pushed to: its tasks' verdicts are pull's to collect, so importing the export
    as well would count those annotators twice; they are counted as already_pulled and not written."""
    from curate.stage import utcnow
    from schemas import ANNOTATION_BATCHES

    run_ingest(wh, write_jsonl(tmp_path / "stored.jsonl", [
        trl([{"role": "user", "content": "Capital of France?"}], "Lyon.", "Paris."),
        trl([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Largest planet?"}], "Jupiter.", "Mars."),
        trl([{"role": "user", "content": "Pick a number."}], "Four.", "Seven."),
    ]), detect_language=False)
    with wh.transaction("annotate_push-1", "the batch the export's tasks came from") as tx:
        tx.append(ANNOTATION_BATCHES, [{"batch_id": "annotate_push-1", "tool": "label-studio", "server": "http://127.0.0.1:8080",
                                        "project_id": 1, "project": "curate preferences", "overlap": 1, "show_suggestions": False,
                                        "routing": "{}", "reasons": "{}", "pairs": 3, "run_id": "annotate_push-1",
                                        "created_at": utcnow()}])
    result = import_file(wh, CASES / "ls_curate.json")
    assert result.outcomes["already_pulled"] == 4 and result.outcomes["imported"] == 0 and result.rows_written == 0
    assert result.error_count == 0
