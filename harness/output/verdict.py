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

import pandas as pd

from harness.output.evidence import (
    CRITERIA,
    QUESTIONS,
    Finding,
    Sentence,
    Verdict,
    check_current,
    encode_costs,
    quality_of,
    resolve_current,
)
from harness.output.findings import (
    _agreement,
    _alignment,
    _costs,
    _criterion,
    _front,
    _index,
    _misses,
    _truncation,
)
from harness.output.present import Names
from harness.output.sentences import _change_sentence, _cost_sentence, _index_sentence, _map_sentence, _quality_sentence
from harness.study import MEASURES, Study

__all__ = [
    "CRITERIA",
    "QUESTIONS",
    "Finding",
    "Sentence",
    "Verdict",
    "build_verdict",
    "check_current",
    "encode_costs",
    "resolve_current",
]


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
    q = quality_of(study)
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
    _truncation(verdict, study, names)
    for measure in MEASURES:  # a measure's own lines, beside the built-in ones
        for line in measure.findings(study.tables, names):
            verdict.add(measure.name, line)
    return verdict
