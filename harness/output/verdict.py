"""The verdict: what a study says, in plain words with the figures behind each claim.

Which model is best on each criterion the study measured (a difference whose 95% interval
includes zero is a tie), what each costs, which models are on the quality-vs-cost Pareto
front, how much the top-k results change between them, whether the index setting loses
recall, and whether one model's collection can be queried by another's vectors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from harness.metrics.spaces import SAME_TEXT_COSINE_MIN, SELF_RETRIEVAL_GOOD
from harness.output.present import Names, fmt
from harness.records import is_baseline
from harness.study import Study

# (topic, table, column or retrieval metric, title)
CRITERIA = (
    ("retrieval", "retrieval", "ndcg_at_10", "Retrieval, nDCG@10"),
    ("retrieval", "retrieval", "recall_at_k", "Retrieval, recall@k"),
    ("retrieval", "retrieval", "mrr", "Retrieval, MRR"),
    ("contrast", "contrast", "contrast", "Contrast on labelled pairs"),
    ("graded", "graded", "spearman", "Graded pairs, Spearman ×100"),
    ("coherence", "coherence", "coherence", "Group coherence"),
)


@dataclass
class Finding:
    topic: str
    text: str


@dataclass
class Verdict:
    findings: list[Finding] = field(default_factory=list)
    front: pd.DataFrame = field(default_factory=pd.DataFrame)  # collection, quality, cost, on_front
    quality_title: str = ""

    def add(self, topic: str, text: str) -> None:
        self.findings.append(Finding(topic, text))


def _scores(study: Study, table: str, column: str) -> pd.DataFrame:
    """collection, value, low, high of one criterion (retrieval: exact search, as the paired test)."""
    frame = study.tables.get(table, pd.DataFrame())
    if frame.empty:
        return pd.DataFrame()
    if table == "retrieval":
        frame = frame[frame["metric"] == column]
        value = "exact" if "exact" in frame else "value"
        return frame.assign(value=frame[value], low=frame[f"{value}_ci_low"], high=frame[f"{value}_ci_high"])[
            ["collection", "value", "low", "high"]
        ].dropna(subset=["value"])
    if column not in frame:
        return pd.DataFrame()
    low, high = f"{column}_ci_low", f"{column}_ci_high"
    return pd.DataFrame(
        {
            "collection": frame["collection"],
            "value": frame[column],
            "low": frame[low] if low in frame else float("nan"),
            "high": frame[high] if high in frame else float("nan"),
        }
    ).dropna(subset=["value"])


def _paired(study: Study, metric: str, x: str, y: str) -> dict | None:
    """x against y on the same items: result from x's side, difference and its interval."""
    paired = study.tables.get("paired", pd.DataFrame())
    if paired.empty:
        return None
    rows = paired[(paired["metric"] == metric)]
    found = rows[(rows["collection_a"] == x) & (rows["collection_b"] == y)]
    if not found.empty:
        row = found.iloc[0]
        return {"result": row["result"], "difference": row["difference"], "low": row["ci_low"], "high": row["ci_high"]}
    found = rows[(rows["collection_a"] == y) & (rows["collection_b"] == x)]
    if found.empty:
        return None
    row = found.iloc[0]
    flipped = {"win": "loss", "loss": "win"}.get(row["result"], row["result"])
    return {"result": flipped, "difference": -row["difference"], "low": -row["ci_high"], "high": -row["ci_low"]}


def _interval(low, high, kind: str = "float3") -> str:
    return "" if low is None or math.isnan(float(low)) else f" [{fmt(low, kind)}, {fmt(high, kind)}]"


def _criterion(verdict: Verdict, study: Study, names: Names, topic: str, table: str, column: str, title: str) -> None:
    scores = _scores(study, table, column)
    models = (
        scores[~scores["collection"].map(is_baseline)].sort_values("value", ascending=False) if len(scores) else scores
    )
    if models.empty:
        return
    best = models.iloc[0]
    kind = "float1" if column == "spearman" else "float3"
    text = (
        f"{title}: best model {names(best['collection'])} {fmt(best['value'], kind)}"
        f"{_interval(best['low'], best['high'], kind)}"
    )
    others = [models.iloc[i] for i in range(1, len(models))]
    baselines = scores[scores["collection"].map(is_baseline)].sort_values("value", ascending=False)
    clauses = []
    for other in others[:2] + ([baselines.iloc[0]] if len(baselines) else []):
        compared = _paired(study, column, str(best["collection"]), str(other["collection"]))
        who = f"{names(other['collection'])} {fmt(other['value'], kind)}"
        if compared is None:
            clauses.append(f"{who} (no paired test)")
        elif compared["result"] == "tie":
            clauses.append(
                f"a tie with {who} (difference {fmt(compared['difference'], kind)}, 95% CI "
                f"[{fmt(compared['low'], kind)}, {fmt(compared['high'], kind)}] includes 0)"
            )
        else:
            verb = "ahead of" if compared["result"] == "win" else "behind"
            clauses.append(
                f"{verb} {who} (difference {fmt(compared['difference'], kind)}, 95% CI "
                f"[{fmt(compared['low'], kind)}, {fmt(compared['high'], kind)}])"
            )
    if len(others) > 2:  # the rest by value, so every model the study measured is named
        clauses.append("then " + ", ".join(f"{names(o['collection'])} {fmt(o['value'], kind)}" for o in others[2:]))
    verdict.add(topic, text + ("; " + "; ".join(clauses) if clauses else "") + ".")


def _costs(verdict: Verdict, study: Study, names: Names, latency: pd.DataFrame | None) -> None:
    cost = study.tables.get("cost", pd.DataFrame())
    if cost.empty:
        return
    parts = []
    for row in cost.to_dict(orient="records"):
        dimension = row.get("dimension")
        bytes_per_row = f", {fmt(dimension * 4, 'int')} bytes per vector" if dimension == dimension else ""
        parts.append(
            f"{names(row['collection'])}: {fmt(row.get('sentences_per_s'), 'int')} sentences/s on "
            f"{row.get('device', '?')}, {fmt(row.get('size_mb'), 'float1')} MB, "
            f"{fmt(dimension, 'int')}-d{bytes_per_row}"
        )
    text = "Cost: " + "; ".join(parts) + "."
    if latency is not None and not latency.empty:
        column = "server_p50_ms" if "server_p50_ms" in latency and latency["server_p50_ms"].notna().any() else "p50_ms"
        where = "on the server" if column == "server_p50_ms" else "client side"
        lat = ", ".join(f"{names(r['collection'])} {fmt(r[column], 'float1')} ms" for r in latency.to_dict("records"))
        text += f" Search p50 ({where}): {lat}."
        if study.manifest.get("backend") == "milvus-lite":
            text += " Milvus Lite latency is not a Milvus server's: measure on a server for production figures."
    verdict.add("cost", text)


def _front(verdict: Verdict, study: Study, names: Names) -> None:
    """Quality (the first criterion measured) against encode cost (seconds per 1,000 sentences)."""
    cost = study.tables.get("cost", pd.DataFrame())
    if cost.empty or "sentences_per_s" not in cost:
        return
    measured = ((title, _scores(study, table, column)) for _, table, column, title in CRITERIA)
    title, scores = next(((t, s) for t, s in measured if not s.empty), ("", pd.DataFrame()))
    if scores.empty:
        return
    merged = scores.merge(cost[["collection", "sentences_per_s"]], on="collection").dropna()
    merged = merged[merged["sentences_per_s"] > 0]
    if len(merged) < 2:
        return
    merged = merged.assign(quality=merged["value"], cost=1000.0 / merged["sentences_per_s"])
    on_front = []
    for row in merged.itertuples(index=False):
        dominated = (
            (merged["quality"] >= row.quality)
            & (merged["cost"] <= row.cost)
            & ((merged["quality"] > row.quality) | (merged["cost"] < row.cost))
        ).any()
        on_front.append(not dominated)
    verdict.front = merged.assign(on_front=on_front)[["collection", "quality", "cost", "on_front"]]
    verdict.quality_title = title
    members = [
        f"{names(r.collection)} ({fmt(r.quality)}, {fmt(r.cost, 'float2')} s)"
        for r in verdict.front[verdict.front["on_front"]].itertuples(index=False)
    ]
    verdict.add(
        "front",
        f"Quality ({title}) against encode cost (seconds per 1,000 sentences): on the Pareto front, no other "
        f"model being both better and cheaper: {', '.join(members)}.",
    )


def _agreement(verdict: Verdict, study: Study, names: Names) -> None:
    frame = study.tables.get("agreement", pd.DataFrame())
    if frame.empty:
        return
    models = frame[~frame["collection_a"].map(is_baseline) & ~frame["collection_b"].map(is_baseline)]
    for (a, b), pair in models.groupby(["collection_a", "collection_b"], sort=False):
        by = pair.set_index("metric")
        if "overlap_at_k" not in by.index:
            continue
        overlap = by.loc["overlap_at_k"]
        text = (
            f"How different the results are: {names(a)} and {names(b)} share {fmt(overlap['value'] * 100, 'float0')}% "
            f"of their top-{int(overlap.get('k', 10))} (overlap@k {fmt(overlap['value'])}"
        )
        if "rbo" in by.index:
            text += f", RBO {fmt(by.loc['rbo', 'value'])}"
        text += ")"
        if pd.notna(overlap.get("exact")):
            text += (
                f"; with exact search {fmt(overlap['exact'])}, so of the {fmt(1 - overlap['value'], 'float2')} "
                f"disagreement {fmt(overlap['index_loss'], 'float2')} is the index's and the rest the models'"
            )
        verdict.add("agreement", text + ".")


def _index(verdict: Verdict, study: Study, names: Names) -> None:
    frame = study.tables.get("fidelity_summary", pd.DataFrame())
    if frame.empty:
        return
    parts = []
    for row in frame.to_dict(orient="records"):
        recall = row.get("recall_at_setting")
        needed = row.get("value_for_0_95")
        text = f"{names(row['collection'])} {fmt(recall)} at {row.get('search', '?')} ({row.get('index', '?')})"
        if recall == recall and recall < 0.95 and needed == needed:
            text += f"; {row.get('param')} {fmt(needed, 'text')} reaches 0.95"
        parts.append(text)
    losing = any(r.get("recall_at_setting", 1) < 0.95 for r in frame.to_dict(orient="records"))
    head = "The index setting loses recall" if losing else "The index setting keeps recall at 0.95 or more"
    verdict.add("index", f"{head} (recall@k of the index search against exact search): " + "; ".join(parts) + ".")


def _alignment(verdict: Verdict, study: Study, names: Names, aligned: dict | None) -> None:
    frame = study.tables.get("alignment", pd.DataFrame())
    for row in frame.to_dict(orient="records") if not frame.empty else []:
        cosine = row.get("same_text_cosine")
        pair = f"{names(row['collection_a'])} and {names(row['collection_b'])}"
        if cosine is None or cosine != cosine:
            verdict.add(
                "alignment",
                f"Cross-model querying: {pair} have different dimensions: one model's vectors cannot search the "
                "other's collection without a map (harness align).",
            )
        elif cosine >= SAME_TEXT_COSINE_MIN:
            verdict.add(
                "alignment",
                f"Cross-model querying: {pair} agree on the same lines (same-text cosine {fmt(cosine)}): one "
                "model's vectors can search the other's collection.",
            )
        else:
            verdict.add(
                "alignment",
                f"Cross-model querying: {pair} put the same line in different places (same-text cosine {fmt(cosine)}, "
                f"below {SAME_TEXT_COSINE_MIN}): querying one's collection with the other's vectors changes results; "
                "harness align measures what a fitted map recovers.",
            )
    if aligned:
        results = aligned.get("results", pd.DataFrame())
        maps = results[results["train_size"] > 0] if "train_size" in results else pd.DataFrame()
        if not maps.empty:
            largest = maps[maps["train_size"] == maps.groupby("method")["train_size"].transform("max")]
            best = largest.sort_values(["self_retrieval_at_1", "same_text_cosine"], ascending=False).iloc[0]
            text = (
                f"Migration map (harness align): {best['method']} on {int(best['train_size'])} rows, held-out "
                f"self-retrieval@1 {fmt(best['self_retrieval_at_1'])}"
            )
            if "recovered_mrr" in best and best["recovered_mrr"] == best["recovered_mrr"]:
                text += f", recovering {fmt(best['recovered_mrr'] * 100, 'float0')}% of the new model's MRR"
            good = best["self_retrieval_at_1"] >= SELF_RETRIEVAL_GOOD
            verdict.add("alignment", text + (" (faithful)." if good else " (not faithful enough to use)."))


def build_verdict(
    study: Study, names: Names | None = None, latency: pd.DataFrame | None = None, aligned: dict | None = None
) -> Verdict:
    names = names or Names(study.manifest.get("collections"))
    verdict = Verdict()
    paired = study.tables.get("paired", pd.DataFrame())
    for topic, table, column, title in CRITERIA:
        if topic == "retrieval" and column != "ndcg_at_10" and not paired.empty:
            continue  # one retrieval figure in the verdict; the others are in the table
        _criterion(verdict, study, names, topic, table, column, title)
    if paired.empty and verdict.findings:
        verdict.add(
            "uncertainty",
            "No paired test was run, so no difference is shown as a tie: read small differences with care.",
        )
    _costs(verdict, study, names, latency)
    _front(verdict, study, names)
    _agreement(verdict, study, names)
    _index(verdict, study, names)
    _alignment(verdict, study, names, aligned)
    unanswered = study.tables.get("unanswered", pd.DataFrame())
    if not unanswered.empty:
        count = unanswered["probe_id"].nunique() if "probe_id" in unanswered else len(unanswered)
        verdict.add(
            "judgements",
            f"{count} judged probes have no judged-relevant line in any retriever's top k: check their judgements.",
        )
    return verdict
