"""Each study table as people read it: the columns that answer its question, long tables
turned so that a model is a row, intervals beside their figures. A table without a view
here is shown with all its columns, formatted."""

from __future__ import annotations

from typing import Callable

import pandas as pd

from harness.output.present import Names, PeopleTable, people_table

METRICS = ("recall_at_k", "ndcg_at_10", "mrr")


def _columns(*names: str) -> Callable[[pd.DataFrame, Names], PeopleTable]:
    def view(frame: pd.DataFrame, names_: Names) -> PeopleTable:
        wanted = []
        for name in names:
            wanted += [name, f"{name}_ci_low", f"{name}_ci_high"]
        return people_table(frame, names_, [c for c in wanted if c in frame])

    return view


def _cost(frame: pd.DataFrame, names: Names) -> PeopleTable:
    frame = frame.assign(vector_bytes=frame["dimension"] * 4) if "dimension" in frame else frame
    columns = [
        "collection",
        "dimension",
        "vector_bytes",
        "parameters",
        "size_mb",
        "load_s",
        "sentences_per_s",
        "corpus_encode_s",
        "peak_memory_mb",
    ]
    table = people_table(frame, names, columns)
    if "device" in frame and frame["device"].nunique() == 1:
        repeats = int(frame["repeats"].iloc[0]) if "repeats" in frame else 1
        table.note = f"Encoded on {frame['device'].iloc[0]}; times are medians over {repeats} runs."
    return table


def _retrieval(frame: pd.DataFrame, names: Names) -> PeopleTable:
    """One row per model: each metric with its interval, and the exact-search figures."""
    rows = []
    for (collection, search), part in frame.groupby(["collection", "search"], sort=False):
        by = part.set_index("metric")
        row: dict = {"collection": collection, "search": search}
        for metric in METRICS:
            if metric in by.index:
                row[metric] = by.loc[metric, "value"]
                row[f"{metric}_ci_low"] = by.loc[metric, "value_ci_low"]
                row[f"{metric}_ci_high"] = by.loc[metric, "value_ci_high"]
        if "exact" in by:
            row["exact search (recall / nDCG / MRR)"] = " / ".join(
                f"{by.loc[m, 'exact']:.3f}" if m in by.index else "–" for m in METRICS
            )
        rows.append(row)
    table = people_table(pd.DataFrame(rows), names)
    if "items" in frame:
        table.note = f"Means over {int(frame['items'].max())} judged probes; k = {int(frame['k'].iloc[0])}."
    return table


def _agreement(frame: pd.DataFrame, names: Names) -> PeopleTable:
    rows = []
    for (a, b), part in frame.groupby(["collection_a", "collection_b"], sort=False):
        by = part.set_index("metric")
        row: dict = {"collection_a": a, "collection_b": b}
        for metric in ("overlap_at_k", "rbo", "kendall_tau"):
            if metric in by.index:
                row[metric] = by.loc[metric, "value"]
                row[f"{metric}_ci_low"] = by.loc[metric, "value_ci_low"]
                row[f"{metric}_ci_high"] = by.loc[metric, "value_ci_high"]
        if "overlap_at_k" in by.index and "exact" in by:
            row["overlap@k, exact search"] = f"{by.loc['overlap_at_k', 'exact']:.3f}"
            row["index_loss"] = by.loc["overlap_at_k", "index_loss"]
        rows.append(row)
    return people_table(pd.DataFrame(rows), names)


def _standings(frame: pd.DataFrame, names: Names) -> PeopleTable:
    """Wins, ties and losses; the baselines named as everywhere else."""
    text = frame.get("against_baselines")
    if text is not None:
        baselines = {b for b in names.order if b.startswith("baseline:")}
        frame = frame.assign(against_baselines=[_renamed(str(t), baselines, names) if t == t else "" for t in text])
    return people_table(frame, names, ["collection", "wins", "ties", "losses", "against_baselines"])


def _renamed(text: str, known: set[str], names: Names) -> str:
    for name in sorted(known, key=len, reverse=True):
        text = text.replace(name, names(name))
    return text


def _paired(frame: pd.DataFrame, names: Names) -> PeopleTable:
    return people_table(
        frame.assign(
            metric=frame["metric"].map(lambda m: {"recall_at_k": "recall@k", "ndcg_at_10": "nDCG@10"}.get(m, m))
        ),
        names,
        [
            "metric",
            "collection_a",
            "collection_b",
            "items",
            "a",
            "b",
            "difference",
            "ci_low",
            "ci_high",
            "p_value",
            "result",
            "items_needed",
        ],
    )


VIEWS: dict[str, Callable[[pd.DataFrame, Names], PeopleTable]] = {
    "cost": _cost,
    "contrast": _columns("collection", "contrast", "mean_similar", "mean_dissimilar"),
    "graded": _columns("collection", "spearman", "pearson"),
    "retrieval": _retrieval,
    "coherence": _columns("collection", "search", "coherence", "exact", "chance"),
    "agreement": _agreement,
    "standings": _standings,
    "paired": _paired,
    "fidelity_summary": _columns(
        "collection",
        "index",
        "search",
        "recall_at_setting",
        "latency_p50_ms",
        "param",
        "value_for_0_95",
        "value_for_0_99",
    ),
    "alignment": _columns("collection_a", "collection_b", "rows", "same_text_cosine", "mutual_knn", "cka", "warning"),
    "score_distribution": _columns("collection", "mean", "q0.05", "q0.5", "q0.95", "q0.99"),
}


def view(name: str, frame: pd.DataFrame, names: Names) -> PeopleTable:
    if name in VIEWS:
        return VIEWS[name](frame, names)
    return people_table(frame, names)
