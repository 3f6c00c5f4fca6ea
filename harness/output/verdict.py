"""The verdict: a recommendation in at most five short sentences, each answering one
question with one figure and its 95% interval, and every finding behind it.

1. quality: which retriever to use, baselines included (when BM25 ties with or beats every
   model, that is the answer: keyword search);
2. cost: the cheapest retriever at no measurable loss (the Pareto answer, baselines counted);
3. change: how much the results change from the current model to the recommended one;
4. index: whether the index setting loses recall, and the setting that fixes it;
5. map: whether that switch can be bridged by a map (harness align) or needs re-embedding.

Quality and agreement are quoted with exact search, as the paired tests that tell a tie from
a difference compare them: what is compared is the retrievers, and the index's part is
sentence 4. The tables beside lead with the same figures and say so.

BM25 runs no model: its encode cost counts as 0 (tokenising the text is not measured), so
it sits at the left edge of the quality-vs-cost plot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from harness.errors import HarnessError
from harness.metrics.spaces import SAME_TEXT_COSINE_MIN, SELF_RETRIEVAL_GOOD
from harness.output.present import Names, baseline_title, fmt
from harness.records import BASELINE_PREFIX, is_baseline
from harness.study import Study

# (topic, table, column or retrieval metric, title, the figure's short name)
CRITERIA = (
    ("retrieval", "retrieval", "ndcg_at_10", "Retrieval, nDCG@10", "nDCG@10"),
    ("retrieval", "retrieval", "recall_at_k", "Retrieval, recall@k", "recall@k"),
    ("retrieval", "retrieval", "mrr", "Retrieval, MRR", "MRR"),
    ("contrast", "contrast", "contrast", "Contrast on labelled pairs", "contrast"),
    ("graded", "graded", "spearman", "Graded pairs, Spearman ×100", "Spearman ×100"),
    ("coherence", "coherence", "coherence", "Group coherence", "group coherence"),
)
SEARCHED = ("retrieval", "coherence")  # tables with an index search and an exact search
NO_MODEL = f"{BASELINE_PREFIX}bm25"  # runs no model: encode cost 0
RECALL_TARGET = 0.95
QUESTIONS = ("quality", "cost", "change", "index", "map")


@dataclass
class Finding:
    topic: str
    text: str


@dataclass
class Sentence:
    """One sentence of the recommendation: the question it answers, its figure and interval,
    and the table behind it (its anchor in the report is ``table-<table>``; "" for none)."""

    question: str
    text: str
    table: str
    figure: float | None = None
    low: float | None = None
    high: float | None = None
    figures: dict = field(default_factory=dict)  # what else it rests on, for --json


@dataclass
class Verdict:
    sentences: list[Sentence] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    front: pd.DataFrame = field(default_factory=pd.DataFrame)  # collection, quality, cost, on_front
    quality_title: str = ""
    search: str = ""  # the search the quality and agreement figures come from, in words
    current: str | None = None
    recommended: str | None = None

    def add(self, topic: str, text: str) -> None:
        self.findings.append(Finding(topic, text))

    def say(self, sentence: Sentence | None) -> None:
        if sentence is not None:
            sentence.text = (
                sentence.text[:1].upper() + sentence.text[1:] if sentence.text.startswith("the ") else sentence.text
            )
            self.sentences.append(sentence)

    def to_dict(self, names: Names) -> dict:
        """The recommendation and the figures behind it, as plain JSON values (NaN: null)."""

        def clean(value):
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return [clean(v) for v in value]
            if isinstance(value, float) and math.isnan(value):
                return None
            if hasattr(value, "item"):  # numpy scalars
                return clean(value.item())
            return value

        front = [
            {"retriever": r.collection, "name": names(r.collection), "quality": r.quality,
             "encode_s_per_1000": r.cost, "cost_measured": bool(r.measured), "on_front": bool(r.on_front)}
            for r in self.front.itertuples(index=False)
        ] if not self.front.empty else []  # fmt: skip
        return clean(
            {
                "recommendation": [
                    {
                        "question": s.question,
                        "text": s.text,
                        "table": s.table,
                        "figure": s.figure,
                        "ci_low": s.low,
                        "ci_high": s.high,
                        **s.figures,
                    }
                    for s in self.sentences
                ],
                "search": self.search,
                "quality": self.quality_title,
                "current": self.current,
                "current_name": names(self.current) if self.current else None,
                "recommended": self.recommended,
                "recommended_name": names(self.recommended) if self.recommended else None,
                "front": front,
                "findings": [{"topic": f.topic, "text": f.text} for f in self.findings],
            }
        )


@dataclass
class Quality:
    """The quality figure the recommendation decides on: the first criterion measured."""

    table: str
    metric: str
    title: str
    short: str
    kind: str
    search: str  # "exact search", "index search" or "" (pairs have no search)
    scores: pd.DataFrame  # collection, value, low, high


def _scores(study: Study, table: str, column: str) -> tuple[pd.DataFrame, str]:
    """collection, value, low, high of one criterion, and the search they come from: exact
    search where the table has it (as the paired tests), else the index search."""
    frame = study.tables.get(table, pd.DataFrame())
    if frame.empty:
        return pd.DataFrame(), ""
    if table == "retrieval":
        frame = frame[frame["metric"] == column]
        column = "value"
    if column not in frame:
        return pd.DataFrame(), ""
    search = ""
    if table in SEARCHED:
        exact = "exact" in frame and frame["exact"].notna().any()
        column, search = ("exact", "exact search") if exact else (column, "index search")
    low, high = f"{column}_ci_low", f"{column}_ci_high"
    scores = pd.DataFrame(
        {
            "collection": frame["collection"].astype(str),
            "value": frame[column],
            "low": frame[low] if low in frame else float("nan"),
            "high": frame[high] if high in frame else float("nan"),
        }
    ).dropna(subset=["value"])
    return scores.reset_index(drop=True), search


def _quality(study: Study) -> Quality | None:
    for _, table, column, title, short in CRITERIA:
        scores, search = _scores(study, table, column)
        if not scores.empty:
            kind = "float1" if column == "spearman" else "float3"
            return Quality(table, column, title, short, kind, search, scores)
    return None


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


def _signed(value, kind: str = "float3") -> str:
    text = fmt(value, kind)
    return text if text.startswith("-") or text == "–" else f"+{text}"


def _difference(compared: dict | None, kind: str) -> str:
    """A difference with its interval, or the plain difference where no paired test ran."""
    if compared is None:
        return "(no paired test)"
    return f"{_signed(compared['difference'], kind)}{_interval(compared['low'], compared['high'], kind)}"


def _figures(compared: dict | None) -> dict:
    if compared is None:
        return {}
    return {"figure": compared["difference"], "low": compared["low"], "high": compared["high"]}


# --- the recommendation -------------------------------------------------------------------------


def encode_costs(study: Study, collections) -> dict[str, float]:
    """Seconds to encode 1,000 sentences per retriever; BM25 runs no model: 0."""
    cost = study.tables.get("cost", pd.DataFrame())
    found: dict[str, float] = {}
    if not cost.empty and "sentences_per_s" in cost:
        for row in cost.to_dict(orient="records"):
            speed = row.get("sentences_per_s")
            if speed is not None and speed == speed and speed > 0:
                found[str(row["collection"])] = 1000.0 / float(speed)
    if found:
        found.update({c: 0.0 for c in collections if c == NO_MODEL})
    return found


def resolve_current(study: Study, names: Names, current: str | None) -> str | None:
    """The collection (or model) named as current: its collection name, model alias or
    spec; default the study's first model."""
    manifest = study.manifest or {}
    records = {**(manifest.get("models_compared") or {}), **(manifest.get("collections") or {})}
    candidates = [c for c in records if not is_baseline(c)]
    for table in ("retrieval", "cost", "contrast", "graded", "coherence"):
        frame = study.tables.get(table, pd.DataFrame())
        if not frame.empty and "collection" in frame:
            candidates += [str(c) for c in dict.fromkeys(frame["collection"]) if str(c) not in candidates]
    if current is None:
        models = [c for c in candidates if not is_baseline(c)]
        return models[0] if models else None
    wanted = current.strip()
    for name in candidates:
        record = records.get(name) or {}
        model = record.get("model") or record  # a collection's record holds its model's; a model's is it
        if wanted in (name, names(name), model.get("alias"), model.get("spec"), f"{BASELINE_PREFIX}{wanted}"):
            return name
    shown = ", ".join(names(c) for c in candidates if not is_baseline(c)) or "none"
    raise HarnessError(f"--current {current}: not one of the models compared (models: {shown})")


def check_current(current: str | None, specs) -> None:
    """Before a run: --current names one of the models given (by alias, name or spec)."""
    if current is None:
        return
    from harness.models.specs import model_alias

    known = set()
    for spec in specs:
        name, sep, rest = spec.partition("=")
        known.update({spec, name} if sep and rest else {spec})
        try:
            known.add(model_alias(rest if sep and rest else spec))
        except HarnessError:
            pass
    if current.strip() not in known and current.strip() not in ("bm25", "hashing"):
        raise HarnessError(f"--current {current}: not one of the models given (--model {', '.join(specs)})")


def _named(names: Names, name: str) -> str:
    """A retriever in a sentence: a model by its short name, BM25 as such, "the hashing baseline"."""
    if is_baseline(name):
        title = baseline_title(name)
        return title if name == NO_MODEL else f"the {title} baseline"
    return names(name)


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
        results = [(_paired(study, q.metric, baseline, str(m)) or {}).get("result") for m in models["collection"]]
        holds = (
            all(r in ("win", "tie") for r in results)
            if tested
            else baselines.iloc[0]["value"] >= models.iloc[0]["value"]
        )
        if holds:
            compared = _paired(study, q.metric, best, baseline)
            verb = "beats every model" if tested and all(r == "win" for r in results) else "is as good as any model"
            lead = "Keyword search" if baseline == NO_MODEL else f"The {baseline_title(baseline)} baseline"
            close = "consider hybrid search" if baseline == NO_MODEL else "the models add nothing measurable"
            text = (
                f"{lead} {verb} here: the best model, {_named(names, best)}, differs from {_named(names, baseline)} "
                f"by {q.short} {_difference(compared, q.kind)}{where}; {close}."
            )
            verdict.say(Sentence("quality", text, table, **_figures(compared), figures=figure))
            return [baseline, *_tied(study, q, scores, baseline)]
    if not tested:
        top = scores.iloc[0]
        text = (
            f"{_named(names, top['collection'])} scores highest, {q.short} {fmt(top['value'], q.kind)}"
            f"{_interval(top['low'], top['high'], q.kind)}{where}; no paired test ran, so a tie cannot be told apart."
        )
        verdict.say(Sentence("quality", text, table, top["value"], top["low"], top["high"], figure))
        return [str(top["collection"])]
    tied = _tied(study, q, scores, best)
    if tied:
        weakest = tied[-1]
        compared = _paired(study, q.metric, best, weakest)
        others = [_named(names, t) for t in tied]
        who = others[0] if len(others) == 1 else f"{', '.join(others[:-1])} and {others[-1]}"
        text = (
            f"{_named(names, best)} ties for quality with {who}: it leads {_named(names, weakest)} by {q.short} "
            f"{_difference(compared, q.kind)}{where}, within chance; choose among them by cost."
        )
    else:
        following = [str(c) for c in scores["collection"] if str(c) != best]
        compared = _paired(study, q.metric, best, following[0]) if following else None
        text = f"Use {_named(names, best)} for quality{where}."
        if following:
            text = (
                f"Use {_named(names, best)} for quality: it leads the next best, {_named(names, following[0])}, by "
                f"{q.short} {_difference(compared, q.kind)}{where}."
            )
    verdict.say(Sentence("quality", text, table, **_figures(compared), figures=figure))
    return [best, *tied]


def _tied(study: Study, q: Quality, scores: pd.DataFrame, pick: str) -> list[str]:
    """Retrievers whose paired test against the pick is a tie, best first."""
    return [
        str(c)
        for c in scores["collection"]
        if str(c) != pick and (_paired(study, q.metric, pick, str(c)) or {}).get("result") == "tie"
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
        compared = _paired(study, q.metric, cheapest, pick)
        text = (
            f"The cheapest at no measurable loss is {_named(names, cheapest)}: {_cost(costs[cheapest])} {unit} against "
            f"{_named(names, pick)}'s {_cost(costs[pick])}, differing from it by {q.short} "
            f"{_difference(compared, q.kind)}."
        )
        verdict.say(Sentence("cost", text, "cost", **_figures(compared), figures=figures))
        return cheapest
    cheaper = q.scores[q.scores["collection"].map(lambda c: c in costs and costs[c] < costs[pick])]
    if cheaper.empty:
        matching = sorted((c for c in priced if c != pick and not is_baseline(c)), key=lambda c: costs[c])
        if pick == NO_MODEL:
            text = f"{_named(names, pick)} is also the cheapest: it runs no model."
            if matching:
                text = (
                    f"{_named(names, pick)} is also the cheapest: it runs no model, where the cheapest model that "
                    f"matches it, {_named(names, matching[0])}, takes {_cost(costs[matching[0]])} {unit}."
                )
        else:
            text = f"{_named(names, pick)} is also the cheapest retriever measured: {_cost(costs[pick])} {unit}."
        verdict.say(Sentence("cost", text, "cost", costs[pick], figures=figures))
        return pick
    best_cheaper = str(cheaper.sort_values("value", ascending=False).iloc[0]["collection"])
    compared = _paired(study, q.metric, best_cheaper, pick)
    text = (
        f"Nothing cheaper matches it: the best cheaper retriever, {_named(names, best_cheaper)} "
        f"({_cost(costs[best_cheaper])} {unit} against {_cost(costs[pick])}), differs from it by {q.short} "
        f"{_difference(compared, q.kind)}."
    )
    verdict.say(Sentence("cost", text, "cost", **_figures(compared), figures=figures))
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
                f"Keep {_named(names, current)}, the current model: it is the recommendation.",
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
        f"Switching from {_named(names, current)} (current) to {_named(names, target)} changes {amount} the "
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
            f"exact search's top {k} (lowest: {_named(names, worst['collection'])})."
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
        f"The index setting loses recall: at {setting}, {_named(names, worst['collection'])} finds only "
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
        text = f"{_named(names, target)} needs no model's vectors: switching to it means {what}, not a map."
        verdict.say(Sentence("map", text, ""))  # nothing measured behind it: no table
        return
    map_found = _best_map(aligned)
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
    new, old = _named(names, target), _named(names, current)
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


def _best_map(aligned: dict | None) -> dict | None:
    results = (aligned or {}).get("results", pd.DataFrame())
    maps = results[results["train_size"] > 0] if "train_size" in results else pd.DataFrame()
    if maps.empty:
        return None
    largest = maps[maps["train_size"] == maps.groupby("method")["train_size"].transform("max")]
    return largest.sort_values(["self_retrieval_at_1", "same_text_cosine"], ascending=False).iloc[0].to_dict()


# --- the findings behind it ---------------------------------------------------------------------


def _criterion(verdict: Verdict, study: Study, names: Names, topic: str, table: str, column: str, title: str) -> None:
    scores, search = _scores(study, table, column)
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
            f"{_interval(overlap.get(f'{column}_ci_low'), overlap.get(f'{column}_ci_high'))}"
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
    best = _best_map(aligned)
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


def build_verdict(
    study: Study,
    names: Names | None = None,
    latency: pd.DataFrame | None = None,
    aligned: dict | None = None,
    current: str | None = None,
) -> Verdict:
    """The recommendation and its findings. ``current``: the model the results change from
    (alias, collection or spec; default the study's first model)."""
    names = names or Names(study.manifest.get("collections"))
    verdict = Verdict()
    q = _quality(study)
    verdict.current = resolve_current(study, names, current)
    if q is not None:
        verdict.search = q.search
        equals = _quality_sentence(verdict, study, names, q)
        verdict.recommended = _cost_sentence(verdict, study, names, q, equals)
    if verdict.current is not None and verdict.recommended is not None:
        _change_sentence(verdict, study, names, verdict.current, verdict.recommended)
    _index_sentence(verdict, study, names)
    if verdict.current is not None and verdict.recommended is not None:
        _map_sentence(verdict, study, names, verdict.current, verdict.recommended, aligned)

    paired = study.tables.get("paired", pd.DataFrame())
    for topic, table, column, title, _ in CRITERIA:
        if topic == "retrieval" and column != "ndcg_at_10" and not paired.empty:
            continue  # one retrieval figure in the findings; the others are in the table
        _criterion(verdict, study, names, topic, table, column, title)
    if paired.empty and verdict.findings:
        verdict.add(
            "uncertainty",
            "No paired test was run, so no difference is shown as a tie: read small differences with care.",
        )
    _costs(verdict, study, names, latency)
    _front(verdict, study, names, q)
    _agreement(verdict, study, names)
    _index(verdict, study, names)
    _alignment(verdict, study, names, aligned)
    _misses(verdict, study)
    return verdict
