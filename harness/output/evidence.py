"""What the verdict is made of: its records (a finding, a sentence of the recommendation,
the verdict), the criteria it reads, and the helpers that read a figure, its interval and its
paired test out of the study's tables.

Quality and agreement are quoted with exact search, as the paired tests that tell a tie from
a difference compare them. BM25 runs no model: its encode cost counts as 0 (tokenising the
text is not measured).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from harness.errors import HarnessError
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


def scores_of(study: Study, table: str, column: str) -> tuple[pd.DataFrame, str]:
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


def quality_of(study: Study) -> Quality | None:
    for _, table, column, title, short in CRITERIA:
        scores, search = scores_of(study, table, column)
        if not scores.empty:
            kind = "float1" if column == "spearman" else "float3"
            return Quality(table, column, title, short, kind, search, scores)
    return None


def paired_test(study: Study, metric: str, x: str, y: str) -> dict | None:
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


def interval_text(low, high, kind: str = "float3") -> str:
    return "" if low is None or math.isnan(float(low)) else f" [{fmt(low, kind)}, {fmt(high, kind)}]"


def signed(value, kind: str = "float3") -> str:
    text = fmt(value, kind)
    return text if text.startswith("-") or text == "–" else f"+{text}"


def difference_text(compared: dict | None, kind: str) -> str:
    """A difference with its interval, or the plain difference where no paired test ran."""
    if compared is None:
        return "(no paired test)"
    return f"{signed(compared['difference'], kind)}{interval_text(compared['low'], compared['high'], kind)}"


def figures_of(compared: dict | None) -> dict:
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


def named(names: Names, name: str) -> str:
    """A retriever in a sentence: a model by its short name, BM25 as such, "the hashing baseline"."""
    if is_baseline(name):
        title = baseline_title(name)
        return title if name == NO_MODEL else f"the {title} baseline"
    return names(name)


def best_map(aligned: dict | None) -> dict | None:
    results = (aligned or {}).get("results", pd.DataFrame())
    maps = results[results["train_size"] > 0] if "train_size" in results else pd.DataFrame()
    if maps.empty:
        return None
    largest = maps[maps["train_size"] == maps.groupby("method")["train_size"].transform("max")]
    return largest.sort_values(["self_retrieval_at_1", "same_text_cosine"], ascending=False).iloc[0].to_dict()


# --- the findings behind it ---------------------------------------------------------------------
