"""Run the registered measures over the collections of one Milvus and gather a Study."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from harness.errors import HarnessError
from harness.inputs import CorpusReader, load_probes, read_pairs, read_qrels
from harness.manifest import RunManifest
from harness.models import load_model, similarity_note, with_prompts
from harness.records import Progress, ProgressFn, SearchParams
from harness.store import VectorStore, connect, distinct_names, redact_uri
from harness.study.base import Frames, Measure, StudyInputs, StudySettings
from harness.study.context import CollectionContext, EmbedderLoader
from harness.study.measures import MEASURES, tables
from harness.study.result import Study

LITE_NOTE = "timings of Milvus Lite searches are not Milvus server timings; index recall figures hold"


def read_inputs(
    corpus: str | Path | None = None,
    pairs: str | Path | None = None,
    graded: str | Path | None = None,
    qrels: str | Path | None = None,
    probes: str | Path | None = None,
) -> StudyInputs:
    """Parse every input file first, so a bad file fails before any model loads."""
    pair_frame = read_pairs(pairs, "label") if pairs else None
    graded_frame = read_pairs(graded, "score") if graded else None
    probe_list = load_probes(probes) if probes else None
    if qrels and probe_list is None:
        raise HarnessError("--qrels needs the probe file its probe ids refer to: pass --probes FILE")
    return StudyInputs(
        pairs=pair_frame,
        graded=graded_frame,
        qrels=read_qrels(qrels, [p.id for p in probe_list or []]) if qrels else None,
        qrels_path=Path(qrels) if qrels else None,
        probes=probe_list,
        corpus_texts=[r.text for r in CorpusReader(corpus)] if corpus else None,
        paths={
            k: str(v) if v else None
            for k, v in {"corpus": corpus, "pairs": pairs, "graded": graded, "qrels": qrels, "probes": probes}.items()
        },
    )


def evaluate(
    collections: Sequence[str] | None = None,
    uri: str | None = None,
    token: str | None = None,
    *,
    corpus: str | Path | None = None,
    pairs: str | Path | None = None,
    graded: str | Path | None = None,
    qrels: str | Path | None = None,
    probes: str | Path | None = None,
    top_k: int = 10,
    nprobe: int | None = None,
    nprobe_values: Sequence[int] | None = None,
    repeats: int = 3,
    device: str = "auto",
    batch_size: int = 64,
    cost_sample: int = 1000,
    coherence_sample: int = 1000,
    fidelity_sample: int = 200,
    alignment_sample: int = 1000,
    seed: int = 0,
    query_prompt: str | None = None,
    document_prompt: str | None = None,
    progress: ProgressFn | None = None,
) -> Study:
    """Run the comparison study over the harness collections in one Milvus (variants are
    also compared with their base, see :mod:`harness.study.measures.variants`)."""
    SearchParams(top_k, nprobe)  # the same checks as query
    if repeats < 1:
        raise HarnessError("--repeats must be at least 1")
    settings = StudySettings(
        top_k,
        nprobe,
        nprobe_values,
        repeats,
        device,
        batch_size,
        cost_sample,
        coherence_sample,
        fidelity_sample,
        alignment_sample,
        seed,
    )
    inputs = read_inputs(corpus, pairs, graded, qrels, probes)
    store = connect(uri, token)
    try:
        # No embedding cache: the study times the models themselves.
        return run_study(
            store,
            collections,
            inputs,
            settings,
            lambda ref: load_model(with_prompts(ref, query_prompt, document_prompt), device=device, progress=progress),
            progress,
        )
    finally:
        store.close()


class _Runs:
    """Runs measures, gathering their tables, the notes of those that fail, and progress."""

    def __init__(self, total: int, progress: ProgressFn | None):
        self.parts: dict[str, list[pd.DataFrame]] = {}
        self.warnings: list[str] = []
        self.total, self.done, self.progress = total, 0, progress

    def run(self, measure: Measure, label: str, call: Callable[..., Frames], *args) -> None:
        try:
            frames = call(*args)
        except HarnessError:
            raise
        except Exception as exc:  # a bug or numerical failure in one measure spares the others
            self.warnings.append(f"{measure.name} failed on {label}: {type(exc).__name__}: {exc}".splitlines()[0])
            frames = {}
        for table, frame in frames.items():
            self.parts.setdefault(table, []).append(frame)
        self.done += 1
        if self.progress:
            self.progress(Progress(f"{measure.name} {label}", self.done, self.total))


def run_study(
    store: VectorStore,
    collections: Sequence[str] | None,
    inputs: StudyInputs,
    settings: StudySettings,
    load: EmbedderLoader,
    progress: ProgressFn | None = None,
    measures: Sequence[Measure] = MEASURES,
) -> Study:
    """Every wanted measure on every collection (and pair); one that fails is reported, not fatal."""
    names, notes = distinct_names(collections or store.harness_collections())
    if not names:
        raise HarnessError(f"no harness collections in {redact_uri(store.uri)}: run harness ingest first")
    contexts = [CollectionContext(store, name, store.require_collection(name), settings, load) for name in names]
    single = [m for m in measures if m.wanted(inputs) and not m.per_pair]
    paired = [m for m in measures if m.wanted(inputs) and m.per_pair]
    for ctx in contexts:
        for measure in single + paired:
            measure.check(ctx, inputs)
    pairs = list(combinations(contexts, 2))
    runs = _Runs(len(contexts) * len(single) + len(pairs) * len(paired), progress)
    runs.warnings.extend(notes)
    for ctx in contexts:
        runs.warnings.extend(
            filter(None, [similarity_note(ctx.name, ctx.meta.model.similarity_fn_name, ctx.meta.model.normalized)])
        )
    for ctx in contexts:
        for measure in single:
            runs.run(measure, ctx.name, measure.run, ctx, inputs)
        ctx.close()  # its model is no longer needed: the paired measures read stored vectors
    for a, b in pairs:
        for measure in paired:
            runs.run(measure, f"{a.name} {b.name}", measure.run_pair, a, b, inputs)
    if store.capabilities.embedded:
        runs.warnings.append(LITE_NOTE)
    manifest = RunManifest(
        uri=redact_uri(store.uri),
        backend=store.capabilities.backend,
        collections={ctx.name: ctx.meta.summary() for ctx in contexts},
        details={
            "inputs": inputs.paths,
            "parameters": settings.to_dict(),
            "definitions": {m.name: m.definition for m in measures if m.definition},
        },
        notes=runs.warnings,
    )
    return Study(_combined(runs.parts), manifest.to_dict(), runs.warnings)


def _combined(parts: dict[str, list[pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    out = {}
    for name, table in tables().items():
        frames = [f for f in parts.get(name, []) if f is not None and not f.empty]
        if not frames:
            out[name] = pd.DataFrame()
        elif table.combine is not None:
            out[name] = table.combine(frames)
        else:
            out[name] = pd.concat(frames, ignore_index=True)
    return out
