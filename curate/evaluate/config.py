"""How to train and evaluate a reward model on a release: the ``train_rm`` stage config."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CPU_MAX_TRAIN_PAIRS = 256


class TrainRMConfig(BaseModel):
    """How to train and evaluate (section ``train_rm``). Stored with the run and in ``rm_evals.config``."""

    model_config = ConfigDict(extra="forbid")

    release: str = Field(description="the release to train on (its train split, from its Hub export)")
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
