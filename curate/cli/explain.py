"""``curate explain PAIR_ID``: one pair's whole story, from the rows it came from to every release that decided it."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape

from curate.cli._app import AtOpt, WarehouseOpt, app, console, fails_cleanly, print_table
from curate.lineage import PairStory, explain as pair_story
from curate.warehouse import Warehouse

TEXT_WIDTH = 160
"""Characters of a prompt message or a response shown before it is cut."""

SECTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("raw_rows", "raw rows it came from", ("source", "source_file", "source_row", "run_id", "outcome", "reason", "detail")),
    ("duplicates", "duplicates and conflicting rows", ("source", "source_file", "source_row", "outcome", "detail")),
    ("conflicts", "conflicts recorded", ("kind", "strength", "annotator", "source", "source_file", "source_row", "run_id")),
    ("judgments", "judge verdicts, both orders", ("judge", "template", "attribute", "swapped", "sample", "status",
                                                  "verdict", "p_verdict", "run_id")),
    ("judge_verdicts", "consistent verdict per judge version", ("judge", "template", "attribute", "settings_hash",
                                                                "consistent", "verdict", "verdict_chosen_as_a",
                                                                "verdict_chosen_as_b", "votes", "mean_p")),
    ("scores", "noise scores (latest run of each method)", ("method", "score", "run_id", "created_at")),
    ("reliabilities", "reliabilities of the sources that spoke on it (latest noise run)",
     ("annotator", "reliability", "weight", "run_id")),
    ("tasks", "annotation tasks", ("batch_id", "task_id", "route_reason", "p_wrong", "chosen_shown")),
    ("annotations", "human verdicts", ("annotator", "verdict", "strength", "reason", "batch_id", "annotated_at")),
    ("augmentation", "the augmentation that made it", ("parent_pair_id", "donor_pair_id", "kind", "method", "attribute",
                                                       "side", "generator", "judge", "run_id")),
    ("augmentations", "augmentations made from it", ("pair_id", "kind", "method", "attribute", "status", "reason", "run_id")),
    ("rubrics", "rubrics written for it (every attempt)", ("attempt", "status", "reason", "accuracy", "pairs_checked",
                                                           "final", "generator", "run_id")),
    ("releases", "releases", ("release", "decision", "reason", "split", "human_verdict", "human_votes",
                              "judge_verdict", "human_against_judge", "created_at")),
)
"""(story field, title, columns shown) in the order printed; ``--json`` has every column."""


@app.command(name="explain")
@fails_cleanly
def explain_command(
    pair_id: Annotated[str, typer.Argument(help="A pair id, or a unique prefix of it (at least 8 hex characters).")],
    warehouse: WarehouseOpt = None,
    at: AtOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the story as one JSON object.")] = False,
) -> None:
    """One pair's story: its source rows, duplicates and conflicts, judge verdicts, noise scores, human
    verdicts, and every release that kept, flipped or dropped it. An unknown or ambiguous id exits 2."""
    wh = Warehouse.open(warehouse, read_only=True)
    story = pair_story(wh, pair_id, at=at)
    if as_json:
        print(json.dumps(story.as_dict(), default=str, ensure_ascii=False, indent=1))
        return
    _print_pair(story)
    for name, title, columns in SECTIONS:
        rows = getattr(story, name)
        if not rows:
            console.print(f"[bold]{title}[/]: none", highlight=False)
            continue
        shown = [c for c in columns if any(c in r for r in rows)]
        print_table(shown, [[_cell(r.get(c)) for c in shown] for r in rows], title=title)
        if name == "scores":
            for row in rows:
                if row["method"] == "fused":
                    console.print(f"fused components: {escape(json.dumps(row['components'], default=str))}",
                                  highlight=False, soft_wrap=True)


def _print_pair(story: PairStory) -> None:
    pair = story.pair
    console.print(f"[bold]pair {story.pair_id}[/] at snapshot {story.snapshot_id}", highlight=False)
    facts = {k: pair.get(k) for k in ("source", "strength", "tie", "language", "kind", "annotator", "parent_pair_id")}
    console.print("  " + "  ".join(f"{k} {v}" for k, v in facts.items() if v is not None), highlight=False)
    console.print("[bold]prompt[/]", highlight=False)
    for message in pair.get("prompt") or []:
        console.print(f"  {escape(message['role'])}: {escape(_short(message['content']))}", highlight=False)
    for side in ("chosen", "rejected"):
        message = pair.get(side) or {}
        console.print(f"[bold]{side}[/]: {escape(_short(message.get('content')))}", highlight=False)


def _short(text: str | None, width: int = TEXT_WIDTH) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _cell(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return value
