"""Every finding behind the recommendation, one per criterion, cost, front, pair, index,
alignment and the probes every retriever missed: the detail the report folds under it."""

from __future__ import annotations

import pandas as pd

from harness.metrics.spaces import SAME_TEXT_COSINE_MIN, SELF_RETRIEVAL_GOOD
from harness.output.evidence import (
    NO_MODEL,
    RECALL_TARGET,
    Finding,
    Quality,
    Verdict,
    best_map,
    encode_costs,
    interval_text,
    paired_test,
    scores_of,
)
from harness.output.present import Names, fmt
from harness.records import is_baseline
from harness.study import Study


def _criterion(verdict: Verdict, study: Study, names: Names, topic: str, table: str, column: str, title: str) -> None:
    scores, search = scores_of(study, table, column)
    models = (
        scores[~scores["collection"].map(is_baseline)].sort_values("value", ascending=False) if len(scores) else scores
    )
    if models.empty:
        return
    best = models.iloc[0]
    kind = "float1" if column == "spearman" else "float3"
    where = f" ({search})" if search else ""
    text = (
        f"{title}{where}: best model {names(best['collection'])} {fmt(best['value'], kind)}"
        f"{interval_text(best['low'], best['high'], kind)}"
    )
    others = [models.iloc[i] for i in range(1, len(models))]
    baselines = scores[scores["collection"].map(is_baseline)].sort_values("value", ascending=False)
    clauses = []
    for other in others[:2] + ([baselines.iloc[0]] if len(baselines) else []):
        compared = paired_test(study, column, str(best["collection"]), str(other["collection"]))
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


def _front(verdict: Verdict, study: Study, names: Names, q: Quality | None) -> None:
    """Quality against encode cost (seconds per 1,000 sentences), baselines included."""
    if q is None:
        return
    costs = encode_costs(study, q.scores["collection"])
    merged = q.scores[q.scores["collection"].map(lambda c: c in costs)]
    if len(merged) < 2:
        return
    merged = merged.assign(
        quality=merged["value"],
        cost=merged["collection"].map(costs),
        measured=merged["collection"] != NO_MODEL,
    )
    on_front = []
    for row in merged.itertuples(index=False):
        dominated = (
            (merged["quality"] >= row.quality)
            & (merged["cost"] <= row.cost)
            & ((merged["quality"] > row.quality) | (merged["cost"] < row.cost))
        ).any()
        on_front.append(not dominated)
    verdict.front = merged.assign(on_front=on_front)[["collection", "quality", "cost", "measured", "on_front"]]
    verdict.quality_title = q.title + (f", {q.search}" if q.search else "")
    members = [
        f"{names(r.collection)} ({fmt(r.quality, q.kind)}, "
        + (f"{fmt(r.cost, 'float2')} s)" if r.measured else "no model)")
        for r in verdict.front[verdict.front["on_front"]].itertuples(index=False)
    ]
    verdict.add(
        "front",
        f"Quality ({verdict.quality_title}) against encode cost (seconds per 1,000 sentences; BM25 runs no model): on "
        f"the Pareto front, no other retriever being both better and cheaper: {', '.join(members)}.",
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
        exact = pd.notna(overlap.get("exact"))
        column = "exact" if exact else "value"
        k = int(overlap.get("k", 10))
        text = (
            f"How different the results are ({'exact' if exact else 'index'} search): {names(a)} and {names(b)} share "
            f"{fmt(overlap[column] * 100, 'float0')}% of their top-{k} (overlap@k {fmt(overlap[column])}"
            f"{interval_text(overlap.get(f'{column}_ci_low'), overlap.get(f'{column}_ci_high'))}"
        )
        if "rbo" in by.index:
            text += f", RBO {fmt(by.loc['rbo', column])}"
        text += ")"
        if exact:
            text += (
                f"; with the index search {fmt(overlap['value'])}: the index adds "
                f"{fmt(overlap['index_loss'], 'float2')} to the disagreement"
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
        if recall == recall and recall < RECALL_TARGET and needed == needed:
            text += f"; {row.get('param')} {fmt(needed, 'text')} reaches {RECALL_TARGET}"
        parts.append(text)
    losing = any(r.get("recall_at_setting", 1) < RECALL_TARGET for r in frame.to_dict(orient="records"))
    head = "The index setting loses recall" if losing else f"The index setting keeps recall at {RECALL_TARGET} or more"
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
    best = best_map(aligned)
    if best is not None:
        text = (
            f"Migration map (harness align): {best['method']} on {int(best['train_size'])} rows, held-out "
            f"self-retrieval@1 {fmt(best['self_retrieval_at_1'])}"
        )
        recovered = best.get("recovered_mrr")
        if recovered is not None and recovered == recovered:
            text += f", recovering {fmt(recovered * 100, 'float0')}% of the new model's MRR"
        good = best["self_retrieval_at_1"] >= SELF_RETRIEVAL_GOOD
        verdict.add("alignment", text + (" (faithful)." if good else " (not faithful enough to use)."))


def _misses(verdict: Verdict, study: Study) -> None:
    unanswered = study.tables.get("unanswered", pd.DataFrame())
    if unanswered.empty:
        return
    count = unanswered["probe_id"].nunique() if "probe_id" in unanswered else len(unanswered)
    retrieval = study.tables.get("retrieval", pd.DataFrame())
    judged = int(retrieval["items"].max()) if "items" in retrieval and len(retrieval) else None
    k = int(retrieval["k"].iloc[0]) if "k" in retrieval and len(retrieval) else None
    of = f" of {judged}" if judged else ""
    top = f"top {k}" if k else "top k"
    verdict.add(
        "misses",
        f"{count}{of} judged probes are missed by every retriever: no judged-relevant line in any {top}.",
    )


TRUNCATION_WARNING = 0.1  # a tenth of the documents read only in part: said first


def _truncation(verdict: Verdict, study: Study, names: Names) -> None:
    """A warning for each collection whose model read more than a tenth of the documents only
    in part (measured at ingest by its own tokenizer): its figures judge them by their start."""
    for name, summary in (study.manifest.get("collections") or {}).items():
        found = (summary or {}).get("truncation") or {}
        share = float(found.get("truncated_share") or 0.0)
        if share <= TRUNCATION_WARNING:
            continue
        limit = ((summary or {}).get("model") or {}).get("max_seq_length")
        verdict.findings.insert(
            0,
            Finding(
                "truncation",
                f"Warning: {names(name)} read {found.get('truncated')} of {found.get('documents')} documents "
                f"({share:.0%}) only in part: they are longer than its {limit or 'maximum'} tokens, and on average "
                f"{float(found.get('mean_cut_share') or 0.0):.0%} of their tokens were cut; its figures judge those "
                "documents by their beginning (--max-seq-length raises the limit where the model allows).",
            ),
        )
