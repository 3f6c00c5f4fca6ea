"""Run the registered measures over the collections of one Milvus and gather a Study."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from harness.baselines import DEFINITIONS, build_baselines, read_rows
from harness.errors import HarnessError
from harness.inputs import CorpusReader, load_probes, read_pairs, read_qrels
from harness.manifest import RunManifest
from harness.metrics import uncertainty
from harness.models import load_model, resolve_model, similarity_note, with_prompts
from harness.records import ModelRecord, Probe, Progress, ProgressFn
from harness.retrieval import RunBook
from harness.store import VectorStore, connect, distinct_names, incomplete_note, redact_uri
from harness.store.external import attach_sidecars, collections_to_use
from harness.study.base import Frames, Measure, StudyInputs, StudyPlan, StudySettings
from harness.study.context import BaselineContext, CollectionContext, Context, EmbedderLoader, ModelContext
from harness.study.fulltext import full_text_contexts
from harness.study.measures import MEASURES, select_measures, tables
from harness.study.result import Study

LITE_NOTE = "timings of Milvus Lite searches are not Milvus server timings; index recall figures hold"


def uncertainty_definition(seed: int) -> dict:
    """How every interval and test of the study is computed, for the manifest."""
    return {
        "interval": f"{uncertainty.CONFIDENCE:.0%} percentile bootstrap over items (probes, pairs, query lines), "
        f"{uncertainty.RESAMPLES} resamples; contrast resamples within each label",
        "paired_test": "paired bootstrap interval of the difference (tie when it includes 0) and a paired "
        "randomization test, two-sided: p = share of the 2^n per-item swaps of the two values whose |difference| "
        f"reaches the observed one, exact up to n = {uncertainty.EXACT_ITEMS}, else from {uncertainty.PERMUTATIONS} "
        "random swaps with p = (hits + 1) / (draws + 1)",
        "power": f"items_needed = n * ((z_{1 - uncertainty.ALPHA / 2:g} + z_{uncertainty.POWER:g}) * se / "
        "|difference|)^2, se = bootstrap standard error of the difference",
        "seed": seed,
        "rng": "numpy.random.default_rng(seed) for resamples, default_rng(seed + 1) for swaps",
    }


def read_inputs(
    corpus: str | Path | None = None,
    pairs: str | Path | None = None,
    graded: str | Path | None = None,
    qrels: str | Path | None = None,
    probes: str | Path | Sequence[Probe] | None = None,
) -> StudyInputs:
    """Parse every input file first, so a bad file fails before any model loads. ``probes``:
    a probe file, or probes already read (a dataset's queries)."""
    pair_frame = read_pairs(pairs, "label") if pairs else None
    graded_frame = read_pairs(graded, "score") if graded else None
    given = probes is not None and not isinstance(probes, (str, Path))
    probe_list: list[Probe] | None
    if isinstance(probes, (str, Path)):
        probe_list = load_probes(probes)
    else:
        probe_list = [p for p in probes if isinstance(p, Probe)] if probes is not None else None
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
            for k, v in {
                "corpus": corpus,
                "pairs": pairs,
                "graded": graded,
                "qrels": qrels,
                "probes": None if given else probes,
            }.items()
        },
    )


def evaluate(
    collections: Sequence[str] | None = None,
    uri: str | None = None,
    token: str | None = None,
    *,
    plan: StudyPlan | None = None,
    models: Sequence[str] | None = None,
    corpus: str | Path | None = None,
    pairs: str | Path | None = None,
    graded: str | Path | None = None,
    qrels: str | Path | None = None,
    probes: str | Path | Sequence[Probe] | None = None,
    external: Sequence[str | Path] = (),
    query_prompt: str | None = None,
    document_prompt: str | None = None,
    progress: ProgressFn | None = None,
) -> Study:
    """Run the comparison study over the harness collections in one Milvus (and the collections
    described by the ``external`` sidecar files, which it reads and never alters), with the
    baselines beside them, as ``plan`` says (a :class:`StudyPlan`: search, samples, repeats,
    seed, baselines, measures; defaults for what it leaves out). Variants are also compared
    with their base (:mod:`harness.study.measures.variants`).

    With ``models`` (specs) instead of collections, the models are compared without any store
    (no Milvus is opened): cost, contrast, graded pairs and, with ``corpus``, the similarity
    distribution; the measures that search are skipped with a note."""
    plan = plan or StudyPlan()
    chosen = select_measures(plan.measures)
    if models:
        check_models_only(models, collections, external, corpus, pairs, graded)
    inputs = read_inputs(corpus, pairs, graded, qrels, probes)

    # No embedding cache: the study times the models themselves.
    def load(ref):
        return load_model(with_prompts(ref, query_prompt, document_prompt), device=plan.device, progress=progress)

    if models:
        return run_study(None, None, inputs, plan, load, progress, chosen, models=models)
    store = connect(uri, token)
    try:
        attached = attach_sidecars(store, external)
        names = collections_to_use(store, collections, attached) if attached else collections
        return run_study(store, names, inputs, plan, load, progress, chosen)
    finally:
        store.close()


def study_settings(**values) -> StudyPlan:
    """A study plan from the options' values (kept for notebooks; StudyPlan checks them)."""
    return StudyPlan(**values)


def check_models_only(
    models: Sequence[str],
    collections: Sequence[str] | None,
    external: Sequence[str | Path],
    corpus: str | Path | None,
    pairs: str | Path | None,
    graded: str | Path | None,
) -> None:
    """Models compared without a collection: refuse what only collections allow, and a study
    with nothing to measure."""
    if collections:
        raise HarnessError("give models (-m) or collections (-c), not both: -m compares models without a collection")
    if external:
        raise HarnessError("--external describes a collection: it does not go with -m (models without a collection)")
    if not (corpus or pairs or graded):
        raise HarnessError(
            "evaluate -m needs --pairs, --graded or --corpus: without a collection there is nothing else to measure"
        )


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

    def on_context(self, ctx: Context, single: list[Measure], paired: list[Measure], inputs: StudyInputs) -> None:
        """Every measure of one context: what each will read is planned first (one scan of the
        collection for every exact search), then the single measures run and the paired ones
        prepare; then its model is closed (the paired measures read stored vectors or prepared runs)."""
        for measure in [*single, *paired]:
            if measure.applies(ctx):
                self.plan(measure, ctx, inputs)
        for measure in single:
            if measure.applies(ctx):
                self.run(measure, ctx.name, measure.run, ctx, inputs)
        for measure in paired:
            if measure.applies(ctx):
                self.prepare(measure, ctx, inputs)
        ctx.close()

    def plan(self, measure: Measure, ctx: Context, inputs: StudyInputs) -> None:
        """A measure that cannot say what it will read fails later, where it is reported."""
        try:
            measure.plan(ctx, inputs)
        except HarnessError:
            raise
        except Exception:
            pass

    def prepare(self, measure: Measure, ctx: Context, inputs: StudyInputs) -> None:
        try:
            measure.prepare(ctx, inputs)
        except HarnessError:
            raise
        except Exception as exc:  # its pairs then fail one by one, each reported
            self.warnings.append(f"{measure.name} failed on {ctx.name}: {type(exc).__name__}: {exc}".splitlines()[0])


def _baselines(
    store: VectorStore, contexts: list[CollectionContext], settings: StudySettings, notes: list[str], book: RunBook
):
    """Baseline contexts over the corpus of the first collection (every collection of one
    experiment holds the same corpus; a note names those that do not)."""
    if not settings.baselines or not contexts:
        return []
    first = contexts[0]
    others = [c.name for c in contexts[1:] if c.meta.corpus.sha256 != first.meta.corpus.sha256]
    if others:
        notes.append(
            f"baselines cover the corpus of {first.name}; {', '.join(others)} hold another corpus, so their rows "
            "are not comparable with the baselines'"
        )
    rows = read_rows(store, first.name)
    return [BaselineContext(b, settings, book) for b in build_baselines(rows, settings.baselines)]


@dataclass
class _Setup:
    """What a study runs over: the contexts, and what its manifest says about where they are."""

    contexts: list[Context]
    collections: list[CollectionContext]
    measures: list[Measure]
    notes: list[str]
    uri: str | None = None
    backend: str = "none"
    embedded: bool = False
    external: list[str] = field(default_factory=list)


def _collection_setup(
    store: VectorStore,
    collections: Sequence[str] | None,
    inputs: StudyInputs,
    settings: StudySettings,
    load: EmbedderLoader,
    measures: Sequence[Measure],
) -> _Setup:
    names, notes = distinct_names(collections or store.harness_collections())
    if not names:
        raise HarnessError(f"no harness collections in {redact_uri(store.uri)}: run harness ingest first")
    book = RunBook()
    collection_contexts = [
        CollectionContext(store, name, store.require_collection(name), settings, load, book) for name in names
    ]
    notes += [note for c in collection_contexts if (note := incomplete_note(store, c.name, c.meta))]
    wanted = [m for m in measures if m.wanted(inputs)]
    for collection in collection_contexts:
        for measure in wanted:
            if not measure.combined:
                measure.check(collection, inputs)
    contexts: list[Context] = [
        *collection_contexts,
        *full_text_contexts(store, collection_contexts, notes, book),
        *_baselines(store, collection_contexts, settings, notes, book),
    ]
    return _Setup(
        contexts,
        collection_contexts,
        wanted,
        notes,
        uri=redact_uri(store.uri),
        backend=store.capabilities.backend,
        embedded=store.capabilities.embedded,
        external=[ctx.name for ctx in collection_contexts if ctx.info.external],
    )


def _model_setup(
    models: Sequence[str],
    inputs: StudyInputs,
    settings: StudySettings,
    load: EmbedderLoader,
    measures: Sequence[Measure],
) -> _Setup:
    """Models compared without a store: each encodes the corpus lines, else the pairs' sentences."""
    refs = [resolve_model(m) for m in models]
    aliases = [r.alias for r in refs]
    repeated = sorted({a for a in aliases if aliases.count(a) > 1})
    if repeated:
        raise HarnessError(f"two models are named {repeated[0]}: name them apart with NAME=SPEC")
    texts = list(inputs.corpus_texts or [])
    if not texts:
        for frame in (inputs.pairs, inputs.graded):
            if frame is not None:
                texts.extend([*frame["sentence1"], *frame["sentence2"]])
    if not texts:
        raise HarnessError("no texts to encode: the corpus and the pairs files are empty")
    contexts: list[Context] = [ModelContext(ref, texts, settings, load) for ref in refs]
    notes = []
    if "hashing" in settings.baselines:
        contexts.append(ModelContext(resolve_model("hashing"), texts, settings, load, kind="hashing"))
    if "bm25" in settings.baselines:
        notes.append("baseline:bm25 left out: it only searches, and models without a collection are not searched")
    wanted = [m for m in measures if m.wanted(inputs)]
    skipped: dict[str, list[str]] = {}
    for measure in wanted:
        if not measure.without_store(inputs):
            skipped.setdefault(measure.store_note, []).append(measure.name)
    notes.extend(f"{', '.join(names)} skipped without collections: {why}" for why, names in skipped.items())
    return _Setup(contexts, [], [m for m in wanted if m.without_store(inputs)], notes)


def run_study(
    store: VectorStore | None,
    collections: Sequence[str] | None,
    inputs: StudyInputs,
    settings: StudySettings,
    load: EmbedderLoader,
    progress: ProgressFn | None = None,
    measures: Sequence[Measure] = MEASURES,
    *,
    models: Sequence[str] | None = None,
) -> Study:
    """Every wanted measure on every collection (or, with ``models`` and no store, every model),
    baseline and pair, then the summaries; a measure that fails is reported, not fatal."""
    if models:
        setup = _model_setup(models, inputs, settings, load, measures)
    elif store is None:
        raise HarnessError("a study needs a store with collections, or models to compare without one")
    else:
        setup = _collection_setup(store, collections, inputs, settings, load, measures)
    contexts = setup.contexts
    single = [m for m in setup.measures if not m.per_pair and not m.combined]
    paired = [m for m in setup.measures if m.per_pair]
    summaries = [m for m in setup.measures if m.combined]
    pairs = [(m, a, b) for a, b in combinations(contexts, 2) for m in paired if m.applies(a) and m.applies(b)]
    runs = _Runs(sum(m.applies(c) for c in contexts for m in single) + len(pairs) + len(summaries), progress)
    runs.warnings.extend(setup.notes)
    runs.warnings.extend(
        note
        for ctx in setup.collections
        if (note := similarity_note(ctx.name, ctx.meta.model.similarity_fn_name, ctx.meta.model.normalized))
    )
    for ctx in contexts:
        runs.on_context(ctx, single, paired, inputs)
    for measure, a, b in pairs:
        runs.run(measure, f"{a.name} {b.name}", measure.run_pair, a, b, inputs)
    combined = _combined(runs.parts, setup.measures)
    for measure in summaries:  # each sees the tables before it, earlier summaries included
        runs.run(measure, "all", measure.summarise, combined, inputs, settings)
        combined = _combined(runs.parts, setup.measures)
    if setup.embedded:
        runs.warnings.append(LITE_NOTE)
    details: dict = {}
    if models:
        details["models_compared"] = {
            ctx.name: (ctx.record or ModelRecord(ctx.ref.alias, ctx.ref.spec, ctx.ref.source)).to_dict()
            for ctx in contexts
            if isinstance(ctx, ModelContext) and not ctx.baseline
        }
    manifest = RunManifest(
        uri=setup.uri or "",
        backend=setup.backend,
        collections={ctx.name: ctx.meta.summary() for ctx in setup.collections},
        details={
            **details,
            "inputs": inputs.paths,
            "external": setup.external,
            "parameters": settings.to_dict(),
            "measures": [m.name for m in setup.measures],
            "search": {ctx.name: ctx.setting for ctx in contexts},
            "baselines": {c.name: DEFINITIONS[c.kind] for c in contexts if c.baseline and c.kind in DEFINITIONS},
            "definitions": {
                **{m.name: m.definition for m in setup.measures if m.definition},
                "uncertainty": uncertainty_definition(settings.seed),
            },
        },
        notes=runs.warnings,
    )
    return Study(combined, manifest.to_dict(), runs.warnings)


def _combined(parts: dict[str, list[pd.DataFrame]], measures: Sequence[Measure]) -> dict[str, pd.DataFrame]:
    """Each table's parts joined: the registered tables, and those of a measure run beside them."""
    known = {**tables(), **{t.name: t for m in measures for t in m.tables}}
    out = {}
    for name, table in known.items():
        frames = [f for f in parts.get(name, []) if f is not None and not f.empty]
        if not frames:
            out[name] = pd.DataFrame()
        elif table.combine is not None:
            out[name] = table.combine(frames)
        else:
            out[name] = pd.concat(frames, ignore_index=True)
    return out
