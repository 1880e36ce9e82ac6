"""The annotation stages' configs: where Label Studio is, which pairs go to people, and how they are shown.

Each is stored with its run (``runs.config``) and the routing policy with each batch too, so a batch can be
read back as "these pairs, for these reasons, under this policy". Tokens and passwords never live here:
the config names the environment variables that hold them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer, model_validator

from curate.llm.types import public_url

DEFAULT_URL = "http://127.0.0.1:8080"
TOKEN_ENV = "LABEL_STUDIO_API_KEY"
"""Environment variable with the Label Studio API token: a legacy token, or a personal access token (a JWT
refresh token, exchanged for short-lived access tokens). Never written anywhere by curate."""


class LabelStudioConfig(BaseModel):
    """Which Label Studio server to talk to, and as whom."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(DEFAULT_URL, description="base URL of the Label Studio server")
    token_env: str = Field(TOKEN_ENV, description="NAME of the environment variable that holds the API token")
    project: str = Field("curate preferences", description="title of the project tasks go to (created when missing)")
    timeout_s: float = Field(60.0, gt=0, description="seconds one HTTP request may take")
    export_timeout_s: float = Field(600.0, gt=0, description="seconds to wait for an export snapshot to be ready")

    @field_serializer("url")
    def _public(self, url: str) -> str:  # what runs.config stores: never a credential in the URL
        return public_url(url)

    @property
    def server(self) -> str:
        """The URL as stored with batches: no credentials, no query string."""
        return public_url(self.url).rstrip("/")


class RoutingPolicy(BaseModel):
    """Which pairs a batch sends to people. Stored with the batch.

    A batch holds up to ``limit`` pairs: first a uniform random ``audit_share`` of them (the audit sample,
    which measures how often labels and the judge are wrong without selection bias), then the targeted
    reasons taken in turn, one pair from each reason per round, each reason's pairs best first:
    likely wrong (highest fused P(wrong) first), uncertain (P(wrong) nearest ``uncertain_center``, the release's
    drop threshold), judge verdicts against the label, and judge verdicts that flipped with the sides."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(50, ge=1, description="most pairs in one batch")
    audit_share: float = Field(0.2, ge=0, le=1, description="share of the batch drawn uniformly at random (the audit sample)")
    reasons: list[Literal["likely_wrong", "uncertain", "judge_contradicts", "judge_inconsistent"]] = Field(
        default_factory=lambda: ["likely_wrong", "uncertain", "judge_contradicts", "judge_inconsistent"],
        description="targeted reasons, in the order they take turns")
    min_p_wrong: float | None = Field(None, ge=0, le=1, description="route as likely wrong only at or above this fused P(wrong) "
                                      "(unset: the highest first, whatever their level: on small or clean data the fused "
                                      "probabilities can all be low while their order still finds the flipped labels)")
    uncertain_center: float = Field(0.5, ge=0, le=1, description="P(wrong) where a verdict changes the release decision most "
                                    "(the default release policy drops at 0.5)")
    max_uncertain_distance: float = Field(0.25, ge=0, le=0.5, description="most |P(wrong) - center| a pair may have to count as uncertain")
    sources: list[str] | None = Field(None, description="route only pairs of these sources (all when unset)")
    include_ties: bool = Field(False, description="route pairs the source calls a tie too")
    reroute: bool = Field(False, description="route pairs that an earlier batch already sent (never, by default)")
    seed: int = Field(0, description="seed of the audit sample and of the side randomization")


class PushConfig(BaseModel):
    """``curate annotate push``: route a batch and create its tasks."""

    model_config = ConfigDict(extra="forbid")

    label_studio: LabelStudioConfig = Field(default_factory=LabelStudioConfig, description="the server")
    routing: RoutingPolicy = Field(default_factory=RoutingPolicy, description="which pairs go")
    overlap: int = Field(1, ge=1, le=20, description="annotators wanted per task")
    show_suggestions: bool = Field(False, description="show the judge's verdict and the fused P(wrong) on each task "
                                   "(off: annotators judge blind, so they cannot rubber-stamp a suggestion)")
    ask_reason: bool = Field(True, description="offer a box for a short reason")


class PullConfig(BaseModel):
    """``curate annotate pull``: collect what annotators finished since the last pull."""

    model_config = ConfigDict(extra="forbid")

    label_studio: LabelStudioConfig = Field(default_factory=LabelStudioConfig, description="the server")


class ImportConfig(BaseModel):
    """``curate annotate import``: verdicts annotated elsewhere (a Label Studio or Argilla export), as annotations."""

    model_config = ConfigDict(extra="forbid")

    path: Path = Field(..., description="the export file")
    format: Literal["auto", "label-studio", "argilla"] = Field("auto", description="its format; auto reads it from the file")
    annotator: str | None = Field(None, description="annotator name for records that carry none")

    @model_validator(mode="after")
    def _exists(self) -> ImportConfig:
        if not self.path.exists():
            raise ValueError(f"no such file: {self.path}")
        return self
