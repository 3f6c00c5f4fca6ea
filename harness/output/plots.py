"""PNG plots of a study (matplotlib, headless). Each function returns the path, or None
when its table has nothing to plot. Import this module lazily: it loads matplotlib."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from harness.output.drawing import (  # noqa: E402
    BASELINE_COLOR,
    PLAIN,
    collections,
    heatmap,
    mark_baseline_ticks,
    point,
    save,
    swept_rows,
)
from harness.output.present import Names  # noqa: E402
from harness.records import is_baseline  # noqa: E402

METRIC_TITLES = {"recall_at_k": "recall@k", "ndcg_at_10": "nDCG@10", "mrr": "MRR"}


def similarity_distributions(pair_scores: pd.DataFrame, path: Path, names: Names = PLAIN) -> Path | None:
    """Histogram of cosine similarity, similar vs dissimilar pairs, one panel per collection."""
    if pair_scores.empty or "source" not in pair_scores:
        return None
    pairs = pair_scores[pair_scores["source"] == "pairs"]
    shown = collections(pairs, {"source", "sentence1", "sentence2", "gold"})
    if pairs.empty or not shown:
        return None
    fig, axes = plt.subplots(1, len(shown), figsize=(3.6 * len(shown), 3.2), squeeze=False, sharex=True)
    bins = np.linspace(-1, 1, 41)
    for ax, name in zip(axes[0], shown):
        hatch = "//" if is_baseline(name) else None  # a baseline's panel is hatched, and titled grey
        ax.hist(pairs.loc[pairs["gold"] == 1, name], bins=bins, alpha=0.6, label="similar", hatch=hatch)
        ax.hist(pairs.loc[pairs["gold"] == 0, name], bins=bins, alpha=0.6, label="dissimilar", hatch=hatch)
        ax.set_title(names(name), fontsize=9, color=BASELINE_COLOR if is_baseline(name) else "black")
        ax.set_xlabel("cosine similarity")
    axes[0][0].set_ylabel("pairs")
    axes[0][0].legend(fontsize=8)
    return save(fig, path)


def efficiency(cost: pd.DataFrame, path: Path, names: Names = PLAIN) -> Path | None:
    """Size on disk vs time to encode the corpus; marker size follows the dimension."""
    if cost.empty:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 4))  # the legend takes the right of it
    sizes = cost["dimension"].astype(float)
    for row, size in zip(cost.itertuples(index=False), sizes):
        label = f"{names(row.collection)} ({row.dimension}-d)"
        point(ax, row.size_mb, row.corpus_encode_s, row.collection, names, s=30 + 200 * size / max(sizes.max(), 1),
               label=label)  # fmt: skip
    legend = ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0, markerscale=0.6)
    mark_baseline_ticks(legend.get_texts(), names)
    ax.set_xlabel("size on disk (MB)")
    ax.set_ylabel("corpus encode time (s)")
    ax.set_title("Efficiency (marker size = dimension)", fontsize=10)
    return save(fig, path)


def contrast_vs_time(contrast: pd.DataFrame, cost: pd.DataFrame, path: Path, names: Names = PLAIN) -> Path | None:
    if contrast.empty or cost.empty:
        return None
    merged = contrast.merge(cost[["collection", "total_s"]], on="collection")
    if merged.empty:
        return None
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for row in merged.itertuples(index=False):
        point(ax, row.total_s, row.contrast, row.collection, names)
    if "contrast_ci_low" in merged:
        ax.errorbar(
            merged["total_s"],
            merged["contrast"],
            yerr=[merged["contrast"] - merged["contrast_ci_low"], merged["contrast_ci_high"] - merged["contrast"]],
            fmt="none",
            ecolor="black",
            elinewidth=0.8,
            capsize=3,
        )
    for row in merged.itertuples(index=False):
        ax.annotate(names(row.collection), (row.total_s, row.contrast), fontsize=8)
    ax.set_xlabel("total time: load + corpus encode (s)")
    ax.set_ylabel("contrast (similar - dissimilar cosine)")
    ax.set_title("Quality vs cost", fontsize=10)
    return save(fig, path)


def overlap_heatmap(overlap: pd.DataFrame, path: Path, names: Names = PLAIN) -> Path | None:
    """Mean RBO and Jaccard between every two collections (from a query output's overlap.csv)."""
    if overlap is None or overlap.empty:
        return None
    means = overlap.groupby(["collection_a", "collection_b"])[["rbo", "jaccard"]].mean().reset_index()
    seen = list(dict.fromkeys([*means["collection_a"], *means["collection_b"]]))
    short = {n: names(n) for n in seen}  # registers each, so the order below is known
    shown = [short[n] for n in sorted(seen, key=lambda n: (is_baseline(n), names.order.index(n)))]
    fig, axes = plt.subplots(1, 2, figsize=(4.5 + 1.1 * len(shown), 2.5 + 0.7 * len(shown)))
    for ax, metric in zip(axes, ("rbo", "jaccard")):
        matrix = pd.DataFrame(np.eye(len(shown)), index=shown, columns=shown)
        for row in means.itertuples(index=False):
            matrix.loc[short[row.collection_a], short[row.collection_b]] = getattr(row, metric)
            matrix.loc[short[row.collection_b], short[row.collection_a]] = getattr(row, metric)
        heatmap(ax, matrix, f"mean {'RBO' if metric == 'rbo' else 'Jaccard'} over the probes", names=names)
    return save(fig, path)


def latency(latency_frame: pd.DataFrame, path: Path, names: Names = PLAIN) -> Path | None:
    """Search latency per collection: p50, p95, p99 and mean (ms)."""
    if latency_frame is None or latency_frame.empty or not latency_frame.get("p50_ms", pd.Series()).notna().any():
        return None  # no timed search (--repeats 0): nothing to draw
    columns = [c for c in ("p50_ms", "mean_ms", "p95_ms", "p99_ms") if c in latency_frame]
    frame = latency_frame.set_index("collection")[columns]
    fig, ax = plt.subplots(figsize=(5 + 0.8 * len(frame), 4))
    width = 0.8 / len(columns)
    x = np.arange(len(frame))
    for i, column in enumerate(columns):
        ax.bar(x + i * width, frame[column], width, label=column.replace("_ms", ""))
    ax.set_xticks(
        x + width * (len(columns) - 1) / 2, [names(n) for n in frame.index], rotation=30, ha="right", fontsize=8
    )
    ax.set_ylabel("latency (ms, client side)")
    ax.set_title("Search latency per collection", fontsize=10)
    ax.legend(fontsize=8)
    return save(fig, path)


def group_affinity(
    affinity: pd.DataFrame, collection: str, path: Path, max_groups: int = 40, names: Names = PLAIN
) -> Path | None:
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
    heatmap(
        ax,
        matrix,
        f"group affinity: {names(collection)}",
        vmax=max(float(matrix.values.max()), 1e-9),
        annotate=len(groups) <= 10,
    )
    ax.set_xlabel("neighbour's group")
    ax.set_ylabel("query line's group")
    return save(fig, path)


def ivf_recall(fidelity: pd.DataFrame, path: Path, names: Names = PLAIN) -> Path | None:
    """Index recall@k against exact search as the index's search parameter (nprobe, ef) grows."""
    swept = swept_rows(fidelity)
    if swept.empty:
        return None
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for name, frame in swept.groupby("collection"):
        frame = frame.sort_values("value")
        detail = f"{frame['index'].iloc[0]}, {frame['param'].iloc[0]}"
        ax.plot(
            frame["value"],
            frame["recall_at_k"],
            marker="o",
            label=f"{names(name)} ({detail})",
            color=names.colour(name),
        )
    for level in (0.95, 0.99):
        ax.axhline(level, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xscale("log", base=2)
    ax.set_xlabel(" / ".join(dict.fromkeys(swept["param"])))
    ax.set_ylabel("recall@k vs exact search")
    ax.set_ylim(0, 1.02)
    ax.set_title("Index recall vs search parameter", fontsize=10)
    ax.legend(fontsize=7)
    return save(fig, path)


def recall_latency(fidelity: pd.DataFrame, path: Path, names: Names = PLAIN) -> Path | None:
    """The sweep as a recall-vs-latency curve: what each setting of the search parameter costs."""
    if fidelity.empty or "latency_p50_ms" not in fidelity:
        return None
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for name, frame in fidelity.groupby("collection"):
        frame = frame.sort_values("value")  # the curve follows the sweep; latency is noisy
        ax.plot(frame["latency_p50_ms"], frame["recall_at_k"], marker="o", label=names(name), color=names.colour(name))
        for row in frame.itertuples(index=False):
            if pd.notna(row.value):
                ax.annotate(f"{row.param}={int(row.value)}", (row.latency_p50_ms, row.recall_at_k), fontsize=6)
    ax.set_xlabel("search latency p50 (ms, client side, one query)")
    ax.set_ylabel("recall@k vs exact search")
    ax.set_ylim(0, 1.02)
    ax.set_title("Recall vs latency", fontsize=10)
    ax.legend(fontsize=7)
    return save(fig, path)


def retrieval(retrieval_frame: pd.DataFrame, path: Path, names: Names = PLAIN) -> Path | None:
    """Each retrieval metric per collection and baseline (grey, hatched), with its 95% interval."""
    if retrieval_frame.empty or "metric" not in retrieval_frame:
        return None
    metrics = list(dict.fromkeys(retrieval_frame["metric"]))
    shown = list(dict.fromkeys(retrieval_frame["collection"]))
    # the figure the table and the recommendation quote: exact search where it was measured
    figure = "exact" if "exact" in retrieval_frame and retrieval_frame["exact"].notna().any() else "value"
    fig, ax = plt.subplots(figsize=(4 + 1.5 * len(metrics) * max(1, len(shown)) / 3, 4))
    width = 0.8 / len(shown)
    x = np.arange(len(metrics))
    for i, name in enumerate(shown):
        frame = retrieval_frame[retrieval_frame["collection"] == name].set_index("metric").reindex(metrics)
        baseline = is_baseline(name)
        ax.bar(
            x + i * width,
            frame[figure],
            width,
            yerr=[frame[figure] - frame[f"{figure}_ci_low"], frame[f"{figure}_ci_high"] - frame[figure]],
            capsize=3,
            label=names(name),
            color=names.colour(name),
            hatch="//" if baseline else None,
            alpha=0.7 if baseline else 1.0,
        )
    ax.set_xticks(x + width * (len(shown) - 1) / 2, [METRIC_TITLES.get(m, m) for m in metrics])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("mean over probes (95% CI)")
    search = "exact search" if figure == "exact" else "the index search"
    ax.set_title(f"Retrieval with {search}, baselines (hatched) beside the models", fontsize=10)
    ax.legend(fontsize=7)
    return save(fig, path)


def align_curve(results: pd.DataFrame, path: Path) -> Path | None:
    """Learning curves of the maps from harness align: held-out self-retrieval@1 and the share
    of the new model's native quality recovered (else overlap with the old results), by map kind
    and training size, with the unmapped query as a dashed line."""
    if results is None or results.empty or "train_size" not in results:
        return None
    maps = results[results["train_size"] > 0]
    if maps.empty:
        return None
    second = next(
        (c for c in ("recovered_mrr", "overlap_at_k_vs_old") if c in results and results[c].notna().any()), None
    )
    panels = [("self_retrieval_at_1", "held-out self-retrieval@1")]
    if second:
        panels.append(
            (second, "recovered share of new-native MRR" if second == "recovered_mrr" else "overlap@k with old results")
        )
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    unmapped = results[results["method"] == "unmapped"]
    for ax, (column, label) in zip(axes[0], panels):
        for kind, frame in maps.groupby("method", sort=False):
            frame = frame.sort_values("train_size")
            ax.plot(frame["train_size"], frame[column], marker="o", label=str(kind))
        if not unmapped.empty and unmapped[column].notna().any():
            ax.axhline(float(unmapped[column].iloc[0]), color="grey", linestyle="--", linewidth=0.8, label="unmapped")
        ax.set_xscale("log")
        sizes = sorted(set(int(v) for v in maps["train_size"]))
        ax.set_xticks(sizes, [str(v) for v in sizes], fontsize=8)
        ax.minorticks_off()
        ax.set_xlabel("training rows")
        ax.set_ylabel(label)
        ax.set_title(label, fontsize=10)
        ax.legend(fontsize=7)
    return save(fig, path)


def quality_cost(front: pd.DataFrame, quality: str, path: Path, names: Names = PLAIN) -> Path | None:
    """Each retriever's quality against its encode cost, baselines included, with the Pareto
    front drawn: the retrievers no other beats on both (higher quality, lower cost). A
    retriever without a model (BM25) has no encode cost: it sits at the left edge, so marked."""
    if front is None or front.empty:
        return None
    measured = front["measured"] if "measured" in front else pd.Series(True, index=front.index)
    positive = front.loc[measured & (front["cost"] > 0), "cost"]
    log = len(positive) > 0 and front["cost"].max() / max(positive.min(), 1e-9) > 50
    edge = positive.min() / 4 if log else 0.0  # where "no model" is drawn
    x = front["cost"].where(measured, edge)
    fig, ax = plt.subplots(figsize=(7.2, 4.2))
    for row, at in zip(front.itertuples(index=False), x):
        point(ax, at, row.quality, row.collection, names, on_front=bool(row.on_front))
    for row, at, known in zip(front.itertuples(index=False), x, measured):
        if not known:
            ax.annotate(
                "no model:\nno encode cost",
                (at, row.quality),
                xytext=(8, -4),
                textcoords="offset points",
                fontsize=7,
                color=BASELINE_COLOR,
                va="top",
            )
    line = front.assign(x=x)[front["on_front"]].sort_values("x")
    # the front runs on to the right edge: nothing to the right of its last point is better
    xs, ys = [*line["x"], x.max()], [*line["quality"], line["quality"].iloc[-1]]
    ax.step(xs, ys, where="post", color="black", linewidth=1, linestyle="--", label="Pareto front")
    if log:
        ax.set_xscale("log")
    ax.set_xlabel("encode cost (seconds per 1,000 sentences, lower is better)")
    ax.set_ylabel(f"{quality} (higher is better)", fontsize=8)
    ax.set_title("Quality vs cost (black edge: on the Pareto front)", fontsize=10)
    legend = ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)
    mark_baseline_ticks(legend.get_texts(), names)
    return save(fig, path)


def variant_tradeoff(variants: pd.DataFrame, cost: pd.DataFrame, path: Path, names: Names = PLAIN) -> Path | None:
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
        points = [("base", base, speed.get(base, np.nan), 1.0)] + [
            (str(r.variant), r.collection, speed.get(r.collection, np.nan), getattr(r, quality))
            for r in rows.itertuples(index=False)
        ]
        for label, name, x, y in points:
            if not (np.isnan(x) or np.isnan(y)):
                ax.scatter([x], [y], s=60, alpha=0.8, color=names.colour(name))
                ax.annotate(label, (x, y), fontsize=8, xytext=(4, 4), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlabel("encode throughput (sentences/s, log scale)")
        ax.set_ylabel("overlap@k with the base's results" if use_overlap else "same-text cosine with the base")
        ax.set_ylim(0, 1.05)
        ax.set_title(f"Variants of {names(base)}", fontsize=10)
    return save(fig, path)
