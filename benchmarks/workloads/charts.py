"""One PNG per workload: a panel per measure, a bar per tool (named with its version),
medians, on a log scale when the tools are orders of magnitude apart."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: files only
import matplotlib.pyplot as plt

from benchmarks.workloads.results import Measure, Results

COLORS = {
    "runyard": "#2a7ab0",
    "mlflow": "#d9822b",
    "wandb": "#c9b200",
    "aim": "#5a9e4b",
    "tensorboard": "#8e5bb5",
}


def fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def short_reason(note: str) -> str:
    head = note.split(":", 1)[0].split(" (", 1)[0]
    return head if head in ("n/a", "pending", "error") else note[:20]


def measures_chart(
    path: Path,
    title: str,
    measures: Sequence[tuple[Measure, str]],
    results: Results,
    tools: Sequence[str],
    titles: dict[str, str],
    subtitle: str,
) -> None:
    """``measures``: (measure, its label with sizes filled in)."""
    bars = [max(1, sum(1 for t in tools if not _hidden(m, t))) for m, _ in measures]
    # Panel heights follow their bar counts, so a one-tool row stays a thin panel.
    fig, axes = plt.subplots(
        len(measures),
        1,
        squeeze=False,
        figsize=(9, 1.0 + sum(0.55 + 0.3 * n for n in bars)),
        gridspec_kw={"height_ratios": [0.9 + n for n in bars]},
    )
    for ax, (measure, label) in zip(axes[:, 0], measures):
        names = [t for t in tools if not _hidden(measure, t)]
        values, texts = [], []
        for tool in names:
            cell = results.cells.get(measure.key, {}).get(tool)
            median = cell.median() if cell else None
            values.append(median or 0.0)
            texts.append(
                f"{fmt(median)} {measure.unit}"
                if median is not None
                else short_reason(cell.note if cell else "n/a")
            )
        ypos = range(len(names))
        ax.barh(list(ypos), values, color=[COLORS.get(t, "#888") for t in names], height=0.6)
        ax.set_yticks(list(ypos), [titles.get(t, t) for t in names], fontsize=9)
        ax.invert_yaxis()
        positive = [v for v in values if v > 0]
        if positive and max(positive) / min(positive) > 30:
            ax.set_xscale("log")
            ax.set_xlim(min(positive) / 3, max(positive) * 12)
        elif positive:
            ax.set_xlim(0, max(positive) * 1.35)
        for y, (v, text) in enumerate(zip(values, texts)):
            x = (
                v
                if v > 0
                else (min(positive) / 2.5 if positive and ax.get_xscale() == "log" else 0)
            )
            ax.text(x, y, "  " + text, va="center", fontsize=8.5)
        ax.set_title(f"{label} [{measure.unit}]", fontsize=10, loc="left")
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(f"{title}\n{subtitle}", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def durability_chart(
    path: Path, results: Results, tools: Sequence[str], titles: dict[str, str], subtitle: str
) -> None:
    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.55 * len(tools)))
    for y, tool in enumerate(tools):
        kills = [k for k in results.kills if k["tool"] == tool and "found" in k]
        reported = sum(k["reported"] for k in kills)
        lost = sum(k["lost"] for k in kills)
        pct = 100.0 * lost / reported if reported else 0.0
        ax.barh(y, pct, color=COLORS.get(tool, "#888"), height=0.6)
        text = (
            f"lost {lost:,} of {reported:,} reported points ({pct:.2f} %) in {len(kills)} kills"
            if kills
            else "no result"
        )
        ax.text(pct, y, "  " + text, va="center", fontsize=8.5)
    ax.set_yticks(range(len(tools)), [titles.get(t, t) for t in tools], fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(0, max(5.0, ax.get_xlim()[1] * 2.2))
    ax.set_xlabel("points reported as logged but missing from the store after SIGKILL [%]")
    ax.grid(axis="x", alpha=0.3)
    fig.suptitle(f"Durability: SIGKILL while logging\n{subtitle}", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _hidden(measure: Measure, tool: str) -> bool:
    return (measure.runyard_only and tool != "runyard") or (
        bool(measure.peer_only) and tool != measure.peer_only
    )
