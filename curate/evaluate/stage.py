"""Stage ``train_rm``: train a reward model on a release, score it on a named held-out set, record it in ``rm_evals``.

The work is in ``curate.evaluate.train_rm`` (pairs, training, scoring); ``run`` puts it in
order and commits one ``rm_evals`` row with its run. torch, transformers and trl (the ``ml``
extra) are imported by ``run``, never by importing this package.
"""

from __future__ import annotations

import json
from importlib.resources import files

from curate import sequence
from curate.errors import ConfigError
from curate.evaluate import train_rm
from curate.evaluate.config import CPU_MAX_TRAIN_PAIRS, TrainRMConfig
from curate.release import store
from curate.stage import Counts, StageResult, StageRun, utcnow
from curate.warehouse import Transaction, Warehouse
from schemas import RELEASE_ROWS, RELEASES, RM_EVALS

STAGE = "train_rm"
READS = (RELEASES, RELEASE_ROWS)
"""The tables whose changes are this stage's input: a flow skips the stage while they stay as they were."""


def run(wh: Warehouse, cfg: TrainRMConfig) -> StageResult:
    """Train on release ``cfg.release``, score the eval set, and record one ``rm_evals`` row. ``details``: train and
    eval pairs, eval prompts left out of training, accuracy, training seconds and the eval set's name."""
    name = cfg.release
    stage_run = StageRun.start(wh, STAGE, cfg, reads=READS)
    torch, transformers, trl = _ml_imports()
    info = store.get(wh, name)
    eval_info = store.get(wh, cfg.eval_on) if cfg.eval_on else info
    eval_pairs, eval_prompts = train_rm.eval_pairs(wh, eval_info, cfg.max_eval_pairs)
    eval_set = train_rm.eval_set_name(eval_info, cfg.max_eval_pairs)
    if not eval_pairs:
        raise train_rm.TrainRMError(f"eval set {eval_set} is empty: release {eval_info.name} has no non-tie test pairs; "
                                    "pass --eval-on with a release that has some", release=name)
    device = _device(torch, cfg.device)
    limit = cfg.max_train_pairs or (None if device.startswith("cuda") else CPU_MAX_TRAIN_PAIRS)
    train, leaked = train_rm.train_pairs(wh, info, eval_prompts, limit)
    if not train:
        raise train_rm.TrainRMError(f"release {name} has no train pairs outside the eval set's prompts", release=name,
                                    eval_set=eval_set)

    base_model = cfg.base_model or sequence.default_model()
    model, tokenizer, train_seconds = train_rm.fit(torch, transformers, trl, base_model, train, cfg, device)
    accuracy = train_rm.accuracy(torch, model, tokenizer, eval_pairs, cfg)

    config = {**cfg.model_dump(mode="json", exclude={"release"}), "base_model": base_model, "max_train_pairs": limit,
              "eval_set": eval_set, "left_out_eval_prompts": leaked}
    row = {"release": name, "eval_set": eval_set, "base_model": train_rm.model_name(base_model),
           "device": train_rm.device_name(torch, device), "train_pairs": len(train), "eval_pairs": len(eval_pairs),
           "accuracy": accuracy, "train_seconds": train_seconds, "config": json.dumps(config),
           "run_id": stage_run.run_id, "created_at": utcnow()}
    counts = Counts(
        rows_in=len(train) + len(eval_pairs), rows_written=1,
        outcomes={"train_pairs": len(train), "eval_pairs": len(eval_pairs), "eval_correct": round(accuracy * len(eval_pairs))},
        dropped={"eval_prompt_in_train": leaked} if leaked else {},
        details={"train_pairs": len(train), "eval_pairs": len(eval_pairs), "left_out_eval_prompts": leaked,
                 "accuracy": accuracy, "train_seconds": round(train_seconds, 2), "eval_set": eval_set},
    )

    def write(tx: Transaction) -> Counts:
        tx.append(RM_EVALS, [row])
        return counts

    return stage_run.commit(wh, write, message=f"train-rm {name} eval={eval_set}")


def _device(torch, wanted: str) -> str:
    if wanted == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train_rm.device is cuda but no GPU is visible to torch", stage=STAGE)
    return "cuda" if wanted != "cpu" and torch.cuda.is_available() else "cpu"


def _ml_imports():
    """torch, transformers and trl, or an install hint: they are the optional ``ml`` extra."""
    try:
        import torch
        import transformers
        import trl
        files(sequence.MINILM_PACKAGE)
    except ImportError as exc:
        raise ConfigError(f"train-rm needs the ml extra ({exc.name} is missing): pip install -e '.[ml]'", stage=STAGE) from exc
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    return torch, transformers, trl
