"""Stage ``export``: a release as files a trainer reads without an adapter, one file (or shard set) per split.

Rows come from ``store.rows_sql``: the pair content as of the release's
snapshot, so an export made after later ingests or scores is the same export.
Flipped pairs are written with chosen and rejected swapped; dropped pairs are
not written. DuckDB writes the files straight from the query (``COPY``), so
memory stays flat whatever the release size.

Ties (source ties a policy keeps with ``include_ties``, and neutral augmentations) are rows like any other,
with ``margin`` 0.0 and ``preference`` 0.5: a soft label, P(chosen is preferred), which is 1.0 on every other
row. Train ties with the soft-label Bradley-Terry loss ``-[p log s(d) + (1 - p) log s(-d)]`` (``curate
train-rm`` does). TRL's RewardTrainer and OpenRLHF have no tie handling and ignore ``preference``: they would
train a tie as a preference for an arbitrary side, so for them release with ``include_ties: false`` and
``include_augmentations: [causal, adversarial]``, or filter ``preference == 1.0``.

Formats (``ExportConfig.format``, ``--format``):

- ``trl``: ``{out}/{split}.parquet`` in TRL's conversational preference layout
  with an explicit prompt: ``prompt`` is a list of ``{role, content}`` messages,
  ``chosen`` and ``rejected`` are one-message lists (the assistant turn), plus
  ``margin`` (float; TRL's RewardTrainer adds it to the loss when present),
  ``preference``, ``weight`` when the policy sets one, and ``pair_id``, ``source``, ``language``.
  ``datasets.load_dataset("parquet", data_files={"train": ".../train.parquet"})``.
- ``openrlhf``: ``{out}/{split}.jsonl`` with keys ``prompt``, ``chosen``,
  ``rejected`` (message lists as above), ``margin``, ``preference`` and ``pair_id``. Train with
  ``openrlhf.cli.train_rm --dataset {out}/train.jsonl --eval_dataset {out}/test.jsonl
  --prompt_key prompt --chosen_key chosen --rejected_key rejected --apply_chat_template``
  (add ``--margin_loss`` to use the margin): with a prompt key and the chat template,
  OpenRLHF renders ``prompt + chosen`` and ``prompt + rejected`` as conversations.
- ``jsonl``: ``{out}/{split}.jsonl`` with every column of ``release.rows``
  (decision, reason, kind, tie, strength, ...): for reading and auditing.
- ``hub``: Parquet shards in the Hugging Face Hub layout
  ``{out}/data/{split}-NNNNN-of-NNNNN.parquet`` with the ``trl`` columns, each
  shard at most ``max_shard_bytes`` (500 MB) of text, estimated before writing;
  ``datasets.load_dataset(out)`` reads the folder as it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from curate.errors import CurateError, Terminal
from curate.release import store
from curate.release.config import FORMATS, ExportConfig
from curate.stage import Counts, StageResult, StageRun
from curate.warehouse import Warehouse
from schemas import RELEASE_ROWS, RELEASES

STAGE = "export"

_MESSAGE_LISTS = "prompt, [chosen] AS chosen, [rejected] AS rejected"
_PREFERENCE = "CASE WHEN coalesce(tie, false) THEN 0.5 ELSE 1.0 END AS preference"
_COLUMNS = {
    "trl": f"{_MESSAGE_LISTS}, margin, {_PREFERENCE}, {{weight}}pair_id, source, language",
    "hub": f"{_MESSAGE_LISTS}, margin, {_PREFERENCE}, {{weight}}pair_id, source, language",
    "openrlhf": f"{_MESSAGE_LISTS}, margin, {_PREFERENCE}, pair_id",
    "jsonl": f"pair_id, prompt_id, split, decision, reason, margin, {_PREFERENCE}, weight, "
    f"{_MESSAGE_LISTS}, source, language, kind, tie, strength, annotator",
}
_SUFFIX = {"trl": "parquet", "hub": "parquet", "openrlhf": "jsonl", "jsonl": "jsonl"}
# text bytes of a row: what a shard's size is estimated from (Parquet compresses it, so shards come out smaller)
_ROW_BYTES = "strlen(chosen.content) + strlen(rejected.content) + list_sum([strlen(m.content) for m in prompt]) + 64"


class ExportError(Terminal, CurateError):
    exit_code = 2


@dataclass(frozen=True)
class Exported:
    """The files one export wrote: per split, its rows and its files (the card's data_files)."""

    release: str
    format: str
    out_dir: Path
    rows: dict[str, int] = field(default_factory=dict)
    files: dict[str, list[Path]] = field(default_factory=dict)

    def details(self) -> dict:
        """The export's ``StageResult.details`` (and ``runs.counts``): paths as strings, files per split."""
        return {"release": self.release, "format": self.format, "out_dir": str(self.out_dir), "rows": dict(self.rows),
                "files": {split: [str(p) for p in paths] for split, paths in self.files.items()}}


def run(wh: Warehouse, cfg: ExportConfig) -> StageResult:
    """Write release ``cfg.release`` in ``cfg.format`` under ``cfg.out_dir`` and record the run; refuses to replace
    files unless ``cfg.overwrite``. ``details``: release, format, out_dir, rows and files per split."""
    stage_run = StageRun.start(wh, STAGE, cfg, reads=(RELEASES, RELEASE_ROWS))
    exported = write(wh, cfg)
    total = sum(exported.rows.values())
    counts = Counts(rows_in=total, rows_written=total, outcomes=dict(exported.rows), details=exported.details())
    return stage_run.commit(wh, lambda tx: counts, message=f"export {cfg.release} as {cfg.format}")


def write(wh: Warehouse, cfg: ExportConfig) -> Exported:
    """The files of the export, without a ``runs`` row: for a reader that only needs them for a while
    (reward-model training reads the Hub shards it exports to a scratch folder)."""
    name, fmt = cfg.release, cfg.format
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; formats: {', '.join(FORMATS)}", release=name)
    out = Path(cfg.out_dir).expanduser().resolve()
    info = store.get(wh, name)
    weight = "weight, " if info.policy.exports_weight else ""
    columns = _COLUMNS[fmt].format(weight=weight)
    source = store.rows_sql(info)
    with wh.connect(read_only=True, views=False) as con:
        sizes = con.execute(
            f"SELECT split, count(*), sum({_ROW_BYTES}) FROM ({source}) GROUP BY split ORDER BY split"
        ).fetchall()
        plan = {split: (rows, _shards(fmt, text_bytes, cfg.max_shard_bytes)) for split, rows, text_bytes in sizes}
        targets = {split: _paths(out, fmt, split, shards) for split, (_, shards) in plan.items()}
        _clear(out, fmt, [p for paths in targets.values() for p in paths], overwrite=cfg.overwrite, name=name)
        for split, (rows, shards) in plan.items():
            per_shard = math.ceil(rows / shards)
            for index, path in enumerate(targets[split]):
                path.parent.mkdir(parents=True, exist_ok=True)
                options = "FORMAT parquet, COMPRESSION zstd" if _SUFFIX[fmt] == "parquet" else "FORMAT json"
                split_literal = split.replace("'", "''")
                con.execute(
                    f"COPY (SELECT {columns} FROM ({source}) WHERE split = '{split_literal}' ORDER BY pair_id "
                    f"LIMIT {per_shard} OFFSET {index * per_shard}) TO '{path}' ({options})"
                )
    return Exported(release=name, format=fmt, out_dir=out, rows={split: rows for split, (rows, _) in plan.items()},
                    files=targets)


def _shards(fmt: str, text_bytes: int, max_shard_bytes: int) -> int:
    return max(1, math.ceil(text_bytes / max_shard_bytes)) if fmt == "hub" else 1


def _paths(out: Path, fmt: str, split: str, shards: int) -> list[Path]:
    if fmt == "hub":
        return [out / "data" / f"{split}-{i:05d}-of-{shards:05d}.parquet" for i in range(shards)]
    return [out / f"{split}.{_SUFFIX[fmt]}"]


def _clear(out: Path, fmt: str, targets: list[Path], *, overwrite: bool, name: str) -> None:
    """Refuse to mix two exports: existing target files (or, for hub, any shard in data/) stop the export
    unless ``overwrite``, which deletes them first."""
    stale = [p for p in targets if p.exists()]
    if fmt == "hub" and (out / "data").is_dir():
        stale = sorted(set(stale) | set((out / "data").glob("*.parquet")))
    if stale and not overwrite:
        raise ExportError(f"{len(stale)} export files already exist under {out} (e.g. {stale[0].name}); "
                          "choose another --out or pass --overwrite", release=name)
    for path in stale:
        path.unlink()
