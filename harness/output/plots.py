"""PNG plots of a study (matplotlib, headless). Each function returns the path, or None
when its table has nothing to plot. Import this module lazily: it loads matplotlib."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _collections(frame: pd.DataFrame, fixed: set[str]) -> list[str]:
    return [c for c in frame.columns if c not in fixed]


def similarity_distributions(pair_scores: pd.DataFrame, path: Path) -> Path | None:
    """Histogram of cosine similarity, similar vs dissimilar pairs, one panel per collection."""
    if pair_scores.empty or "source" not in pair_scores:
        return None
    pairs = pair_scores[pair_scores["source"] == "pairs"]
    names = _collections(pairs, {"source", "sentence1", "sentence2", "gold"})
    if pairs.empty or not names:
        return None
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.2), squeeze=False, sharex=True)
    bins = np.linspace(-1, 1, 41)
    for ax, name in zip(axes[0], names):
        ax.hist(pairs.loc[pairs["gold"] == 1, name], bins=bins, alpha=0.6, label="similar")
        ax.hist(pairs.loc[pairs["gold"] == 0, name], bins=bins, alpha=0.6, label="dissimilar")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("cosine similarity")
    axes[0][0].set_ylabel("pairs")
    axes[0][0].legend(fontsize=8)
    return _save(fig, path)


def efficiency(cost: pd.DataFrame, path: Path) -> Path | None:
    """Size on disk vs time to encode the corpus; marker size follows the dimension."""
    if cost.empty:
        return None
    fig, ax = plt.subplots(figsize=(5.5, 4))
    sizes = cost["dimension"].astype(float)
    ax.scatter(cost["size_mb"], cost["corpus_encode_s"], s=30 + 200 * sizes / max(sizes.max(), 1), alpha=0.6)
    for row in cost.itertuples(index=False):
        ax.annotate(f"{row.collection} ({row.dimension}-d)", (row.size_mb, row.corpus_encode_s), fontsize=8)
    ax.set_xlabel("size on disk (MB)")
    ax.set_ylabel("corpus encode time (s)")
    ax.set_title("Efficiency (marker size = dimension)", fontsize=10)
    return _save(fig, path)


def contrast_vs_time(contrast: pd.DataFrame, cost: pd.DataFrame, path: Path) -> Path | None:
    if contrast.empty or cost.empty:
        return None
    merged = contrast.merge(cost[["collection", "total_s"]], on="collection")
    if merged.empty:
        return None
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.scatter(merged["total_s"], merged["contrast"])
    for row in merged.itertuples(index=False):
        ax.annotate(row.collection, (row.total_s, row.contrast), fontsize=8)
    ax.set_xlabel("total time: load + corpus encode (s)")
    ax.set_ylabel("contrast (similar - dissimilar cosine)")
    ax.set_title("Quality vs cost", fontsize=10)
    return _save(fig, path)


def _heatmap(ax, matrix: pd.DataFrame, title: str, vmin=0.0, vmax=1.0, annotate=True) -> None:
    image = ax.imshow(matrix.values.astype(float), vmin=vmin, vmax=vmax, cmap="viridis")
    ax.set_xticks(range(len(matrix.columns)), [str(c) for c in matrix.columns], rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(matrix.index)), [str(i) for i in matrix.index], fontsize=7)
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


def overlap_heatmap(overlap: pd.DataFrame, path: Path) -> Path | None:
    """Mean RBO and Jaccard between every two collections (from a query output's overlap.csv)."""
    if overlap is None or overlap.empty:
        return None
    means = overlap.groupby(["collection_a", "collection_b"])[["rbo", "jaccard"]].mean().reset_index()
    names = sorted(set(means["collection_a"]) | set(means["collection_b"]))
    fig, axes = plt.subplots(1, 2, figsize=(5 + 1.2 * len(names), 2.5 + 0.8 * len(names)))
    for ax, metric in zip(axes, ("rbo", "jaccard")):
        matrix = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
        for row in means.itertuples(index=False):
            matrix.loc[row.collection_a, row.collection_b] = getattr(row, metric)
            matrix.loc[row.collection_b, row.collection_a] = getattr(row, metric)
        _heatmap(ax, matrix, f"mean {'RBO' if metric == 'rbo' else 'Jaccard'}")
    return _save(fig, path)


def latency(latency_frame: pd.DataFrame, path: Path) -> Path | None:
    """Search latency per collection: p50, p95, p99 and mean (ms)."""
    if latency_frame is None or latency_frame.empty:
        return None
    columns = [c for c in ("p50_ms", "mean_ms", "p95_ms", "p99_ms") if c in latency_frame]
    frame = latency_frame.set_index("collection")[columns]
    fig, ax = plt.subplots(figsize=(5 + 0.8 * len(frame), 4))
    width = 0.8 / len(columns)
    x = np.arange(len(frame))
    for i, column in enumerate(columns):
        ax.bar(x + i * width, frame[column], width, label=column.replace("_ms", ""))
    ax.set_xticks(x + width * (len(columns) - 1) / 2, frame.index, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("latency (ms, client side)")
    ax.set_title("Search latency per collection", fontsize=10)
    ax.legend(fontsize=8)
    return _save(fig, path)


def group_affinity(affinity: pd.DataFrame, collection: str, path: Path, max_groups: int = 40) -> Path | None:
    """Share of neighbours of group X's lines that come from group Y."""
    if affinity.empty:
        return None
    frame = affinity[affinity["collection"] == collection]
    if frame.empty:
        return None
    matrix = frame.pivot_table(index="query_group", columns="neighbour_group", values="share", fill_value=0.0)
    groups = list(matrix.index)[:max_groups]
    matrix = matrix.reindex(index=groups, columns=groups, fill_value=0.0)
    size = 3 + 0.22 * len(groups)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    _heatmap(
        ax,
        matrix,
        f"group affinity: {collection}",
        vmax=max(float(matrix.values.max()), 1e-9),
        annotate=len(groups) <= 10,
    )
    ax.set_xlabel("neighbour's group")
    ax.set_ylabel("query line's group")
    return _save(fig, path)


def ivf_recall(fidelity: pd.DataFrame, path: Path) -> Path | None:
    """IVF_FLAT recall@k against exact search as nprobe grows."""
    if fidelity.empty:
        return None
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for name, frame in fidelity.groupby("collection"):
        frame = frame.sort_values("nprobe")
        ax.plot(frame["nprobe"], frame["recall_at_k"], marker="o", label=f"{name} (nlist {frame['nlist'].iloc[0]})")
    for level in (0.95, 0.99):
        ax.axhline(level, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("nprobe")
    ax.set_ylabel("recall@k vs exact search")
    ax.set_ylim(0, 1.02)
    ax.set_title("IVF_FLAT recall vs nprobe", fontsize=10)
    ax.legend(fontsize=7)
    return _save(fig, path)


def variant_tradeoff(variants: pd.DataFrame, cost: pd.DataFrame, path: Path) -> Path | None:
    """One panel per base model: each variant's encode throughput against how far its
    results agree with the base's (overlap@k on the probes; same-text cosine without probes)."""
    if variants is None or variants.empty or cost is None or cost.empty or "base" not in variants:
        return None
    use_overlap = "overlap_at_k" in variants and variants["overlap_at_k"].notna().any()
    quality = "overlap_at_k" if use_overlap else "same_text_cosine"
    speed = cost.drop_duplicates("collection").set_index("collection")["sentences_per_s"]
    bases = list(dict.fromkeys(variants["base"]))
    fig, axes = plt.subplots(1, len(bases), figsize=(5.5 * len(bases), 4.2), squeeze=False)
    for ax, base in zip(axes[0], bases):
        rows = variants[variants["base"] == base]
        points = [("base", speed.get(base, np.nan), 1.0)] + [
            (str(r.variant), speed.get(r.collection, np.nan), getattr(r, quality)) for r in rows.itertuples(index=False)
        ]
        for label, x, y in points:
            if not (np.isnan(x) or np.isnan(y)):
                ax.scatter([x], [y], s=60, alpha=0.7)
                ax.annotate(label, (x, y), fontsize=8, xytext=(4, 4), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlabel("encode throughput (sentences/s, log scale)")
        ax.set_ylabel("overlap@k with the base's results" if use_overlap else "same-text cosine with the base")
        ax.set_ylim(0, 1.05)
        ax.set_title(f"Variants of {base}", fontsize=10)
    return _save(fig, path)
