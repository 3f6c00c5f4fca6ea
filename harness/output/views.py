"""Each study table as people read it: the columns that answer its question, long tables
turned so that a model is a row, intervals beside their figures. A table without a view
here is shown with all its columns, formatted."""

from __future__ import annotations

from typing import Callable

import pandas as pd

from harness.output.present import Names, PeopleTable, people_table

METRICS = ("recall_at_k", "ndcg_at_10", "mrr")
QUOTED_ORDER = ("ndcg_at_10", "recall_at_k", "mrr")  # the recommendation's figure first
EXACT_TITLES = ("nDCG@10", "Recall@k", "MRR")
INDEX_FIGURES = "index search (nDCG@10 / recall@k / MRR)"


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
        "truncated_share",
    ]
    table = people_table(frame, names, columns)
    notes = []
    if "device" in frame and frame["device"].nunique() == 1:
        repeats = int(frame["repeats"].iloc[0]) if "repeats" in frame else 1
        notes.append(f"Encoded on {frame['device'].iloc[0]}; times are medians over {repeats} runs.")
    if "peak_memory_mb" in frame and frame["peak_memory_mb"].isna().any():
        notes.append("Peak memory –: the encode grew no memory that could be measured.")
    table.note = " ".join(notes)
    return table


def _renamed_titles(table: PeopleTable, titles: dict[str, str]) -> PeopleTable:
    """Column titles changed, the best-value marks with them."""
    table.frame = table.frame.rename(columns=titles)
    table.best = {(i, titles.get(title, title)) for i, title in table.best}
    return table


def _retrieval(frame: pd.DataFrame, names: Names) -> PeopleTable:
    """One row per retriever: each metric with exact search and its interval (the figures the
    recommendation and the paired tests quote), then the same with the index search."""
    rows = []
    exact = "exact" in frame and frame["exact"].notna().any()
    shown = "exact" if exact else "value"
    for (collection, search), part in frame.groupby(["collection", "search"], sort=False):
        by = part.set_index("metric")
        row: dict = {"collection": collection, "search": search}
        for metric in QUOTED_ORDER:
            if metric in by.index:
                row[metric] = by.loc[metric, shown]
                row[f"{metric}_ci_low"] = by.loc[metric, f"{shown}_ci_low"]
                row[f"{metric}_ci_high"] = by.loc[metric, f"{shown}_ci_high"]
        if exact:
            row[INDEX_FIGURES] = " / ".join(f"{by.loc[m, 'value']:.3f}" if m in by.index else "–" for m in QUOTED_ORDER)
        rows.append(row)
    table = people_table(pd.DataFrame(rows), names)
    if exact:
        table = _renamed_titles(table, {f"{t} [95% CI]": f"{t}, exact search [95% CI]" for t in EXACT_TITLES})
    notes = []
    if "items" in frame:
        notes.append(f"Means over {int(frame['items'].max())} judged probes; k = {int(frame['k'].iloc[0])}.")
    if exact:
        notes.append(
            "Exact search compares every stored vector, as the recommendation and the paired tests do; "
            "the index search is each collection's setting (Search)."
        )
    table.note = " ".join(notes)
    return table


def _coherence(frame: pd.DataFrame, names: Names) -> PeopleTable:
    """Group coherence with exact search first (as the paired tests), the index search beside."""
    if "exact" not in frame or frame["exact"].isna().all():
        return _columns("collection", "search", "coherence", "chance")(frame, names)
    shown = frame.assign(coherence_index=frame["coherence"])
    shown = shown.drop(columns=["coherence", "coherence_ci_low", "coherence_ci_high"], errors="ignore")
    shown = shown.rename(columns={"exact": "coherence", "exact_ci_low": "coherence_ci_low"})
    shown = shown.rename(columns={"exact_ci_high": "coherence_ci_high"})
    table = people_table(shown, names, ["collection", "search", "coherence", "coherence_ci_low",
                                        "coherence_ci_high", "coherence_index", "chance"])  # fmt: skip
    return _renamed_titles(
        table, {"Coherence [95% CI]": "Coherence, exact search [95% CI]", "coherence index": "Coherence, index search"}
    )


def _agreement(frame: pd.DataFrame, names: Names) -> PeopleTable:
    """Per pair: overlap, RBO and Kendall tau with exact search and their intervals (as the
    recommendation quotes), and the overlap with the index search beside."""
    rows = []
    exact = "exact" in frame and frame["exact"].notna().any()
    shown = "exact" if exact else "value"
    probes: list[tuple[int, int]] = []  # per pair: probes behind tau, probes in all
    for (a, b), part in frame.groupby(["collection_a", "collection_b"], sort=False):
        by = part.set_index("metric")
        if "items" in by and "kendall_tau" in by.index:
            probes.append((int(by.loc["kendall_tau", "items"]), int(by["items"].max())))
        row: dict = {"collection_a": a, "collection_b": b}
        for metric in ("overlap_at_k", "rbo", "kendall_tau"):
            if metric in by.index:
                row[metric] = by.loc[metric, shown]
                row[f"{metric}_ci_low"] = by.loc[metric, f"{shown}_ci_low"]
                row[f"{metric}_ci_high"] = by.loc[metric, f"{shown}_ci_high"]
        if "overlap_at_k" in by.index and exact:
            row["overlap@k, index search"] = f"{by.loc['overlap_at_k', 'value']:.3f}"
            row["index_loss"] = by.loc["overlap_at_k", "index_loss"]
        rows.append(row)
    table = people_table(pd.DataFrame(rows), names)
    tau = "Kendall τ [95% CI]"
    if tau in table.frame:  # no figure where no probe shares three results: n/a, not a dash
        table.frame[tau] = table.frame[tau].replace("–", "n/a")
        if len(probes) == len(table.frame):  # a tau over fewer probes says on how many; over one, no interval
            table.frame[tau] = [
                cell if n == total or cell == "n/a" else (cell.split(" [")[0] if n < 2 else cell) + f" ({n} of {total})"
                for cell, (n, total) in zip(table.frame[tau], probes)
            ]
    if exact:
        titles = ("Overlap@k", "RBO", "Kendall τ")
        table = _renamed_titles(table, {f"{t} [95% CI]": f"{t}, exact search [95% CI]" for t in titles})
    table.note = ("Exact search over the same stored vectors, as the recommendation quotes; " if exact else "") + (
        "Kendall τ is over the results both lists share, and n/a for a probe sharing fewer than 3; (n of m): "
        "the probes left."
    )
    return table


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
    "coherence": _coherence,
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
