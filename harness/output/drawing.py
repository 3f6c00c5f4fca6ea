"""What every plot is drawn with (matplotlib, headless): how a point and a baseline are
marked, a heatmap, and saving without cutting a label. Import lazily: it loads matplotlib."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from harness.output.present import BASELINE_COLOUR, Names  # noqa: E402
from harness.records import is_baseline  # noqa: E402

BASELINE_COLOR = BASELINE_COLOUR
PLAIN = Names()  # names as they are, when a caller gives none


def mark_baseline_ticks(labels, names: Names) -> None:
    """Baselines are marked in every plot: grey, italic, and named as such."""
    baselines = {names(n) for n in names.order if is_baseline(n)}
    for label in labels:
        if any(label.get_text().startswith(name) for name in baselines):
            label.set_color(BASELINE_COLOR)
            label.set_fontstyle("italic")


def point(ax, x, y, name, names: Names, on_front: bool = False, **kwargs):
    """One retriever in a scatter plot: a model a coloured disc, a baseline a grey hatched
    square, labelled as a baseline wherever its name is shown."""
    baseline = is_baseline(str(name))
    return ax.scatter(
        [x],
        [y],
        s=kwargs.pop("s", 60),
        marker="s" if baseline else "o",
        color="white" if baseline else names.colour(name),
        hatch="////" if baseline else None,
        edgecolors=BASELINE_COLOR if baseline and not on_front else ("black" if on_front else "none"),
        linewidths=1.2 if on_front or baseline else 0,
        zorder=3,
        label=kwargs.pop("label", names(name)),
        **kwargs,
    )


def save(fig, path: Path) -> Path:
    """Saved with a tight bounding box, so no label is cut off at the edge."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def collections(frame: pd.DataFrame, fixed: set[str]) -> list[str]:
    return [c for c in frame.columns if c not in fixed]


def heatmap(ax, matrix: pd.DataFrame, title: str, vmin=0.0, vmax=1.0, annotate=True, names: Names = PLAIN) -> None:
    image = ax.imshow(matrix.values.astype(float), vmin=vmin, vmax=vmax, cmap="viridis")
    ax.set_xticks(range(len(matrix.columns)), [str(c) for c in matrix.columns], rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(matrix.index)), [str(i) for i in matrix.index], fontsize=7)
    mark_baseline_ticks(ax.get_xticklabels(), names)
    mark_baseline_ticks(ax.get_yticklabels(), names)
    ax.set_title(title, fontsize=10)
    if annotate and matrix.size <= 100:
        for (i, j), value in np.ndenumerate(matrix.values.astype(float)):
            if not np.isnan(value):
                ax.text(
                    j,
                    i,
                    f"{value:.2f}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if value < 0.6 else "black",
                )
    plt.colorbar(image, ax=ax, fraction=0.046)


def swept_rows(fidelity: pd.DataFrame) -> pd.DataFrame:
    """Rows of an index search parameter's sweep (a FLAT index, or the server's default, has no value)."""
    if fidelity.empty or "value" not in fidelity:
        return pd.DataFrame()
    return fidelity.dropna(subset=["value"])
