"""The release plots, as PNG bytes: one function per plot, shared by the dataset card and the HTML report.

Figures are built with matplotlib's object API on the Agg canvas (no pyplot state, no display),
so they render the same in tests, flows and headless machines. Every plot stays readable when
its evidence is missing: it then says what is missing ("no noise scores yet") instead of failing.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING

from curate.publish.facts import ReleaseFacts
from schemas.vocab import Decision

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure as MplFigure

_COLORS = {Decision.KEEP: "#4c72b0", Decision.FLIP: "#dd8452", Decision.DROP: "#c44e52", "candidates": "#8c8c8c",
           "released": "#4c72b0"}
_SIZE = (6.4, 3.6)


def noise_histogram(facts: ReleaseFacts) -> bytes:
    """Scores of the noise method the policy read, for the candidate pairs, stacked by the decision taken,
    with the policy's thresholds."""
    fig, ax = _figure()
    groups = {d: s for d, s in facts.noise_by_decision.items() if s}
    if not groups:
        _empty(ax, "no noise scores yet\n(run `curate noise` before the release)")
    else:
        ax.hist(list(groups.values()), bins=40, range=(0, 1), stacked=True, label=list(groups),
                color=[_COLORS.get(d, "#999") for d in groups])
        for key, style in (("min_p_wrong_to_drop", "--"), ("min_p_wrong_to_flip", ":")):
            if isinstance(facts.policy.get(key), (int, float)):
                ax.axvline(facts.policy[key], color="black", linewidth=0.9, linestyle=style, label=f"{key.removeprefix('min_p_wrong_to_')} threshold")
        ax.set_xlabel(f"{facts.noise_method} noise score (higher = more likely mislabeled)")
        ax.set_ylabel("pairs")
        ax.legend(title="decision")
    ax.set_title(f"Noise scores: {facts.name}")
    return _png(fig)


def length_bias(facts: ReleaseFacts) -> bytes:
    """log2(chosen length / rejected length), before and after the decisions; > 0 means chosen is longer."""
    fig, ax = _figure()
    series = {k: v for k, v in facts.length_log_ratios.items() if v}
    if not series:
        _empty(ax, "no non-tie pairs")
    else:
        rates = dict(zip(facts.length_bias.column("rows"), facts.length_bias.column("chosen_longer_rate")))
        for (label, values), rate in zip(series.items(), rates.values()):
            legend = f"{label} (chosen longer: {rate:.0%})" if rate is not None else label
            ax.hist(values, bins=40, range=(-6, 6), histtype="step", linewidth=1.6, label=legend, color=_COLORS.get(label))
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_xlabel("log2(chosen chars / rejected chars)")
        ax.set_ylabel("pairs")
        ax.legend(fontsize=8, loc="upper left")
    ax.set_title("Length bias")
    return _png(fig)


def judge_agreement(facts: ReleaseFacts) -> bytes:
    """Per judge version: agreement with the ingested label (``accuracy``) and position consistency."""
    fig, ax = _figure()
    judges = facts.judges
    if not judges:
        _empty(ax, "no judge verdicts yet\n(run `curate judge` before the release)")
    else:
        names = [f"{j}\n{t} {a or ''}" for j, t, a in zip(judges.column("judge"), judges.column("template"),
                                                         judges.column("attribute"))]
        agree = [x or 0.0 for x in judges.column("accuracy")]
        consistent = [x or 0.0 for x in judges.column("consistency")]
        positions = range(len(names))
        width = 0.38
        ax.barh([p - width / 2 for p in positions], agree, height=width, label="agrees with label", color="#4c72b0")
        ax.barh([p + width / 2 for p in positions], consistent, height=width, label="same verdict in both orders", color="#55a868")
        ax.set_yticks(list(positions), names, fontsize=7)
        ax.set_ylim(-0.75, max(len(names), 3) - 0.25)  # one judge gets a bar, not the whole panel
        ax.set_xlim(0, 1)
        ax.axvline(0.5, color="black", linewidth=0.8, linestyle=":")
        ax.set_xlabel("share of verdicts")
        ax.legend(fontsize=8, loc="lower right")
    ax.set_title("Judge agreement")
    return _png(fig)


PLOTS: dict[str, Callable[[ReleaseFacts], bytes]] = {
    "noise_histogram": noise_histogram,
    "length_bias": length_bias,
    "judge_agreement": judge_agreement,
}
"""Plot name (also its file stem and its anchor in the card and report) -> function."""


def render_all(facts: ReleaseFacts) -> dict[str, bytes]:
    """Every plot of the release, as ``{name: png_bytes}``."""
    return {name: plot(facts) for name, plot in PLOTS.items()}


def _figure() -> tuple[MplFigure, Axes]:
    """A new figure on the Agg canvas (matplotlib is imported here, by the first plot: it is slow to import)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=_SIZE, dpi=100, layout="tight")
    return fig, fig.add_subplot()


def _empty(ax: Axes, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=11, color="#555", transform=ax.transAxes)
    ax.set_axis_off()


def _png(fig: MplFigure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
