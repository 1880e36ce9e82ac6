"""Which noise methods run and how: the ``noise`` section of a pipeline config."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict, Field, field_validator

from curate import embed
from curate.noise import checks
from curate.noise.cross import CrossConfig
from schemas.vocab import EVIDENCE_METHODS, RM_METHODS, NoiseMethod

METHODS: tuple[NoiseMethod, ...] = (*RM_METHODS, *EVIDENCE_METHODS, NoiseMethod.FUSED)
"""Every method, in the order they are computed and listed."""
OPT_IN: tuple[NoiseMethod, ...] = (NoiseMethod.CROSS,)
"""Methods a config must name: too slow on a CPU to run by default."""
DEFAULT_SOURCES: tuple[NoiseMethod, ...] = (NoiseMethod.ENSEMBLE, NoiseMethod.PEER)
"""The reward-model sources the fused score reads by default, by ``benchmarks/curation.py``'s ablation: the peers carry
most of the evidence; the ensemble adds little AUROC beside them but steadies the calibration, and with it the default
release finds more of the planted flips than with the peers alone, at the same seeds."""


class RMConfig(BaseModel):
    """How the reward heads are built and trained. Stored (hashed) with every score."""

    model_config = ConfigDict(extra="forbid")

    folds: int = Field(5, ge=2, description="cross-fitting folds; every pair is scored by heads that never saw it")
    members: int = Field(8, ge=1, description="ensemble members per fold (bootstrap resamples with their own seeds)")
    hidden: int = Field(0, ge=0, description="width of the one tanh hidden layer; 0 = linear head")
    epochs: int = Field(150, ge=1, description="passes over the training pairs")
    batch_size: int = Field(0, ge=0, description="pairs per Adam step; 0 = full batch")
    lr: float = Field(0.02, gt=0, description="Adam learning rate")
    weight_decay: float = Field(2.0, ge=0, description="L2 penalty on the head weights (mean loss + wd * |w|^2)")
    bootstrap: bool = Field(True, description="ensemble members train on bootstrap resamples (else only their seeds differ)")
    peer_batch_size: int = Field(64, ge=1, description="pairs per peer-review step; both peers train on the same mini-batches")
    peer_epochs: int = Field(20, ge=1, description="passes over the training pairs in peer review")
    peer_ramp: float = Field(0.5, gt=0, le=1, description="share of the peer-review steps over which the drop ratio ramps up")
    peer_max_rate: float = Field(0.45, ge=0, lt=0.5, description="cap on the drop ratio peer review uses")
    dynamics_epochs: int = Field(20, ge=2, description="training dynamics: mini-batch passes whose margins are recorded per pair")
    dynamics_batch_size: int = Field(64, ge=1, description="training dynamics: pairs per Adam step")
    dynamics_threshold_share: float = Field(0.1, gt=0, lt=0.5, description="training dynamics: share of pairs trained reversed "
                                            "in each run (threshold samples: what area under the margin a wrong label gets)")
    seed: int = Field(0, description="seed of folds, resamples and initializations")
    threads: int = Field(1, ge=1, description="torch CPU threads (the heads are small: a second thread gains little and spins on a shared CPU)")

    def config_hash(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]


class FusionConfig(BaseModel):
    """The fused score's EM (``fusion``): its prior, what a verdict source's accuracy is taken to be before its verdicts,
    and how the human verdicts anchor it."""

    model_config = ConfigDict(extra="forbid")

    prior_accuracy: float = Field(0.7, gt=0, lt=1, description="prior mean of every verdict source's accuracy (a judge, an annotator)")
    prior_pairs: float = Field(20.0, gt=0, description="weight of that prior, in pairs: a source with far fewer verdicts stays near it")
    anchor_humans: bool = Field(True, description="human verdicts anchor the EM: the audit sample sets the noise rate and the "
                                "judges' accuracies, every human-verified pair the reward models' scale; false: annotators are plain voters")
    audit_prior_pairs: float = Field(100.0, gt=0, description="what the rate and a judge's accuracy estimated from every pair are worth, "
                                     "in audited pairs, beside the audit sample's own estimate (their error is the evidence's bias, "
                                     "which more pairs do not shrink)")
    sources: list[str] = Field(list(DEFAULT_SOURCES), description=f"reward-model methods fused as one annotator: any of {', '.join(RM_METHODS)}")

    @field_validator("sources")
    @classmethod
    def _reward_models(cls, value: list[str]) -> list[str]:
        return _chosen(value, RM_METHODS, "fusion sources")


class NoiseConfig(BaseModel):
    """Which methods run and how. Stored with the run in ``runs.config``; its hash is on every score row."""

    model_config = ConfigDict(extra="forbid")

    methods: list[str] = Field([m for m in METHODS if m not in OPT_IN], description=f"methods to score and write: {', '.join(METHODS)} "
                               f"(default: all but {', '.join(OPT_IN)})")
    embedding: embed.EmbedConfig = Field(default_factory=embed.EmbedConfig, description="embedding model the features come from")
    rm: RMConfig = Field(default_factory=RMConfig, description="reward heads: folds, members, training")
    fusion: FusionConfig = Field(default_factory=FusionConfig, description="prior of the EM that estimates the reliabilities the fused score weighs its evidence by")
    cross: CrossConfig = Field(default_factory=CrossConfig, description="the fine-tuned cross-encoder (method cross, opt-in)")
    judge_attributes: list[str] | None = Field(None, description="judge attributes the judge signal reads; null = all")
    near_identical_cosine: float = Field(0.97, gt=0, le=1, description="responses at least this similar are flagged near-identical")

    @field_validator("methods")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        return _chosen(value, METHODS, "methods")

    def config_hash(self) -> str:
        """The hash on every score row: this config and the refusal-marker file it checks with."""
        return hashlib.sha256((self.model_dump_json() + checks.markers_text()).encode()).hexdigest()[:16]


def _chosen(value: list[str], allowed: tuple[NoiseMethod, ...], what: str) -> list[str]:
    """``value`` in ``allowed``'s order; an unknown name or an empty list is an error naming the choices."""
    unknown = sorted(set(value) - set(allowed))
    if unknown or not value:
        raise ValueError(f"unknown or no {what} {unknown}; choose from {', '.join(allowed)}")
    return [m for m in allowed if m in value]
