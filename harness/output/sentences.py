"""The recommendation: at most five short sentences, each answering one question with one
figure and its 95% interval.

1. quality: which retriever to use, baselines included (when BM25 ties with or beats every
   model, that is the answer: keyword search);
2. cost: the cheapest retriever at no measurable loss (the Pareto answer, baselines counted);
3. change: how much the results change from the current model to the recommended one;
4. index: whether the index setting loses recall, and the setting that fixes it;
5. map: whether that switch can be bridged by a map (harness align) or needs re-embedding.
"""

from __future__ import annotations

import pandas as pd

from harness.metrics.spaces import SAME_TEXT_COSINE_MIN, SELF_RETRIEVAL_GOOD
from harness.output.evidence import (
    NO_MODEL,
    RECALL_TARGET,
    Quality,
    Sentence,
    Verdict,
    best_map,
    difference_text,
    encode_costs,
    figures_of,
    interval_text,
    named,
    paired_test,
)
from harness.output.present import Names, baseline_title, fmt
from harness.records import is_baseline
from harness.study import Study


def _quality_sentence(verdict: Verdict, study: Study, names: Names, q: Quality) -> list[str]:
    """Sentence 1; returns the retrievers at no measurable loss from the pick (the pick first)."""
    scores = q.scores.sort_values("value", ascending=False, kind="stable")
    models = scores[~scores["collection"].map(is_baseline)]
    baselines = scores[scores["collection"].map(is_baseline)]
    if models.empty:
        return []
    best = str(models.iloc[0]["collection"])
    where = f" ({q.search})" if q.search else ""
    tested = not study.tables.get("paired", pd.DataFrame()).empty
    table = "paired" if tested else q.table  # the differences quoted are the paired tests'
    figure = {"metric": q.metric, "values": {str(r.collection): r.value for r in scores.itertuples(index=False)}}
    if not baselines.empty:
        baseline = str(baselines.iloc[0]["collection"])
        results = [(paired_test(study, q.metric, baseline, str(m)) or {}).get("result") for m in models["collection"]]
        holds = (
            all(r in ("win", "tie") for r in results)
            if tested
            else baselines.iloc[0]["value"] >= models.iloc[0]["value"]
        )
        if holds:
            compared = paired_test(study, q.metric, best, baseline)
            verb = "beats every model" if tested and all(r == "win" for r in results) else "is as good as any model"
            lead = "Keyword search" if baseline == NO_MODEL else f"The {baseline_title(baseline)} baseline"
            close = "consider hybrid search" if baseline == NO_MODEL else "the models add nothing measurable"
            text = (
                f"{lead} {verb} here: the best model, {named(names, best)}, differs from {named(names, baseline)} "
                f"by {q.short} {difference_text(compared, q.kind)}{where}; {close}."
            )
            verdict.say(Sentence("quality", text, table, **figures_of(compared), figures=figure))
            return [baseline, *_tied(study, q, scores, baseline)]
    if not tested:
        top = scores.iloc[0]
        text = (
            f"{named(names, top['collection'])} scores highest, {q.short} {fmt(top['value'], q.kind)}"
            f"{interval_text(top['low'], top['high'], q.kind)}{where}; "
            "no paired test ran, so a tie cannot be told apart."
        )
        verdict.say(Sentence("quality", text, table, top["value"], top["low"], top["high"], figure))
        return [str(top["collection"])]
    tied = _tied(study, q, scores, best)
    if tied:
        weakest = tied[-1]
        compared = paired_test(study, q.metric, best, weakest)
        others = [named(names, t) for t in tied]
        who = others[0] if len(others) == 1 else f"{', '.join(others[:-1])} and {others[-1]}"
        text = (
            f"{named(names, best)} ties for quality with {who}: it leads {named(names, weakest)} by {q.short} "
            f"{difference_text(compared, q.kind)}{where}, within chance; choose among them by cost."
        )
    else:
        following = [str(c) for c in scores["collection"] if str(c) != best]
        compared = paired_test(study, q.metric, best, following[0]) if following else None
        text = f"Use {named(names, best)} for quality{where}."
        if following:
            text = (
                f"Use {named(names, best)} for quality: it leads the next best, {named(names, following[0])}, by "
                f"{q.short} {difference_text(compared, q.kind)}{where}."
            )
    verdict.say(Sentence("quality", text, table, **figures_of(compared), figures=figure))
    return [best, *tied]


def _tied(study: Study, q: Quality, scores: pd.DataFrame, pick: str) -> list[str]:
    """Retrievers whose paired test against the pick is a tie, best first."""
    return [
        str(c)
        for c in scores["collection"]
        if str(c) != pick and (paired_test(study, q.metric, pick, str(c)) or {}).get("result") == "tie"
    ]


def _cost_sentence(verdict: Verdict, study: Study, names: Names, q: Quality, equals: list[str]) -> str | None:
    """Sentence 2: the cheapest of the retrievers at no measurable loss; returns it."""
    if not equals:
        return None
    pick = equals[0]
    costs = encode_costs(study, q.scores["collection"])
    if pick not in costs:
        return pick
    priced = [c for c in equals if c in costs]
    cheapest = min(priced, key=lambda c: costs[c])
    unit = "s per 1,000 sentences encoded"
    figures = {"encode_s_per_1000": {c: costs[c] for c in q.scores["collection"] if c in costs}}
    if cheapest != pick:
        compared = paired_test(study, q.metric, cheapest, pick)
        text = (
            f"The cheapest at no measurable loss is {named(names, cheapest)}: {_cost(costs[cheapest])} {unit} against "
            f"{named(names, pick)}'s {_cost(costs[pick])}, differing from it by {q.short} "
            f"{difference_text(compared, q.kind)}."
        )
        verdict.say(Sentence("cost", text, "cost", **figures_of(compared), figures=figures))
        return cheapest
    cheaper = q.scores[q.scores["collection"].map(lambda c: c in costs and costs[c] < costs[pick])]
    if cheaper.empty:
        matching = sorted((c for c in priced if c != pick and not is_baseline(c)), key=lambda c: costs[c])
        if pick == NO_MODEL:
            text = f"{named(names, pick)} is also the cheapest: it runs no model."
            if matching:
                text = (
                    f"{named(names, pick)} is also the cheapest: it runs no model, where the cheapest model that "
                    f"matches it, {named(names, matching[0])}, takes {_cost(costs[matching[0]])} {unit}."
                )
        else:
            text = f"{named(names, pick)} is also the cheapest retriever measured: {_cost(costs[pick])} {unit}."
        verdict.say(Sentence("cost", text, "cost", costs[pick], figures=figures))
        return pick
    best_cheaper = str(cheaper.sort_values("value", ascending=False).iloc[0]["collection"])
    compared = paired_test(study, q.metric, best_cheaper, pick)
    text = (
        f"Nothing cheaper matches it: the best cheaper retriever, {named(names, best_cheaper)} "
        f"({_cost(costs[best_cheaper])} {unit} against {_cost(costs[pick])}), differs from it by {q.short} "
        f"{difference_text(compared, q.kind)}."
    )
    verdict.say(Sentence("cost", text, "cost", **figures_of(compared), figures=figures))
    return pick


def _cost(seconds: float) -> str:
    return fmt(seconds, "float2" if seconds < 100 else "int")


def _pair_row(frame: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    return frame[
        ((frame["collection_a"] == a) & (frame["collection_b"] == b))
        | ((frame["collection_a"] == b) & (frame["collection_b"] == a))
    ]


def _change_sentence(verdict: Verdict, study: Study, names: Names, current: str, target: str) -> None:
    """Sentence 3: how far the results move from the current model to the recommended one."""
    if target == current:
        verdict.say(
            Sentence(
                "change",
                f"Keep {named(names, current)}, the current model: it is the recommendation.",
                "agreement",
                1.0,
            )
        )
        return
    frame = study.tables.get("agreement", pd.DataFrame())
    rows = _pair_row(frame, current, target) if not frame.empty else frame
    rows = rows[rows["metric"] == "overlap_at_k"] if not rows.empty else rows
    if rows.empty:
        return
    row = rows.iloc[0]
    exact = "exact" in row and row["exact"] == row["exact"]
    column, search = ("exact", "exact search") if exact else ("value", "index search")
    value, low, high = row[column], row[f"{column}_ci_low"], row[f"{column}_ci_high"]
    share = value * 100
    amount = "most of" if value < 0.5 else ("some of" if value < 0.9 else "few of")
    k = int(row["k"]) if "k" in row and row["k"] == row["k"] else 10
    text = (
        f"Switching from {named(names, current)} (current) to {named(names, target)} changes {amount} the "
        f"results: they share {fmt(share, 'float0')}%{_percent_interval(low, high)} of their top {k} ({search})."
    )
    verdict.say(Sentence("change", text, "agreement", value, low, high, {"overlap_at_k": value, "k": k}))


def _percent_interval(low, high) -> str:
    if low is None or low != low:
        return ""
    return f" [{fmt(low * 100, 'float0')}%, {fmt(high * 100, 'float0')}%]"


def _index_sentence(verdict: Verdict, study: Study, names: Names) -> None:
    """Sentence 4: the worst recall of the index search against exact search, and the fix."""
    frame = study.tables.get("fidelity_summary", pd.DataFrame())
    if frame.empty or "recall_at_setting" not in frame:
        return
    frame = frame.dropna(subset=["recall_at_setting"])
    if frame.empty:
        return
    worst = frame.sort_values("recall_at_setting").iloc[0]
    k = int(worst["k"]) if "k" in worst and worst["k"] == worst["k"] else 10
    recall = float(worst["recall_at_setting"])
    figures = {"recall_at_setting": {str(r.collection): r.recall_at_setting for r in frame.itertuples(index=False)}}
    setting = str(worst.get("search", "?"))
    if recall >= RECALL_TARGET:
        text = (
            f"The index setting keeps recall: at {setting} every model finds at least {fmt(recall, 'float2')} of "
            f"exact search's top {k} (lowest: {named(names, worst['collection'])})."
        )
        verdict.say(Sentence("index", text, "fidelity_summary", recall, figures=figures))
        return
    losing = frame[frame["recall_at_setting"] < RECALL_TARGET]
    needed = pd.to_numeric(losing["value_for_0_95"], errors="coerce")
    param = str(worst.get("param") or "the search parameter")
    if needed.notna().all() and len(needed):
        fix = f"{param}={fmt(needed.max(), 'text')} reaches {RECALL_TARGET} for every model"
        figures["fix"] = {"param": param, "value": needed.max()}
    else:
        fix = f"no {param} tried reaches {RECALL_TARGET} for every model: use a FLAT index or rebuild with more lists"
    text = (
        f"The index setting loses recall: at {setting}, {named(names, worst['collection'])} finds only "
        f"{fmt(recall, 'float2')} of exact search's top {k}; {fix}."
    )
    verdict.say(Sentence("index", text, "fidelity_summary", recall, figures=figures))


def _map_sentence(
    verdict: Verdict, study: Study, names: Names, current: str, target: str, aligned: dict | None
) -> None:
    """Sentence 5: can the switch keep the stored vectors (as they are, or through a map)?"""
    if target == current or is_baseline(current):
        return
    if is_baseline(target):
        what = "a full-text index over the stored text" if target == NO_MODEL else "vectors from the hashing baseline"
        text = f"{named(names, target)} needs no model's vectors: switching to it means {what}, not a map."
        verdict.say(Sentence("map", text, ""))  # nothing measured behind it: no table
        return
    map_found = best_map(aligned)
    if map_found is not None:
        good = map_found["self_retrieval_at_1"] >= SELF_RETRIEVAL_GOOD
        head = "A map bridges the switch" if good else "No map bridges the switch: re-embed the corpus"
        text = (
            f"{head}: harness align's {map_found['method']} on {int(map_found['train_size'])} rows finds the same line "
            f"first for {fmt(map_found['self_retrieval_at_1'], 'float2')} of held-out rows (needs "
            f"{SELF_RETRIEVAL_GOOD})."
        )
        verdict.say(Sentence("map", text, "align", map_found["self_retrieval_at_1"]))
        return
    frame = study.tables.get("alignment", pd.DataFrame())
    rows = _pair_row(frame, current, target) if not frame.empty else frame
    if rows.empty:
        return
    cosine = rows.iloc[0].get("same_text_cosine")
    new, old = named(names, target), named(names, current)
    if cosine is None or cosine != cosine:
        text = (
            f"{new} and {old} differ in dimension: switching means re-embedding the corpus with {new}, or a map "
            "fitted with harness align."
        )
        verdict.say(Sentence("map", text, "alignment"))
        return
    if cosine >= SAME_TEXT_COSINE_MIN:
        text = (
            f"{new}'s vectors can search {old}'s collection as it is (same-text cosine {fmt(cosine, 'float2')}): "
            "no re-embedding to switch."
        )
    else:
        text = (
            f"{new} puts the same line elsewhere than {old} (same-text cosine {fmt(cosine, 'float2')}, below "
            f"{SAME_TEXT_COSINE_MIN}): re-embed the corpus, or measure a map with harness align."
        )
    verdict.say(Sentence("map", text, "alignment", cosine))
