"""`harness evaluate` and `harness report`: the model comparison study."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from harness.cli.common import (
    BaselinesOpt,
    BatchSizeOpt,
    CollectionsOpt,
    ConfigOpt,
    DatasetOpt,
    DeviceOpt,
    DocumentPromptOpt,
    EfOpt,
    ExternalOpt,
    HybridWeightsOpt,
    MeasuresOpt,
    NameOpt,
    NprobeOpt,
    ProbesOpt,
    QueryPromptOpt,
    QuietOpt,
    ResultsOpt,
    RrfKOpt,
    RunOutputOpt,
    SplitOpt,
    TokenOpt,
    TopKOpt,
    UriOpt,
    console,
    open_dataset,
    progress_bar,
    split_names,
)
from harness.errors import HarnessError

CurrentOpt = Annotated[
    Optional[str],
    typer.Option(
        "--current",
        help="The model in use now (alias, name or collection): the recommendation says how far results move from it "
        "(default: the first model).",
    ),
]
DetailsOpt = Annotated[
    bool, typer.Option("--details", help="Also print every finding behind the recommendation (the report folds them).")
]


def evaluate(
    ctx: typer.Context,
    collections: CollectionsOpt = None,
    model: Annotated[
        Optional[list[str]],
        typer.Option(
            "--model",
            "-m",
            help="Compare this model without a collection (no Milvus): cost, contrast, graded pairs. Repeatable.",
        ),
    ] = None,
    corpus: Annotated[
        Optional[Path],
        typer.Option(
            "--corpus",
            help="Corpus file for the encode-throughput sample (default: the texts stored in each collection).",
        ),
    ] = None,
    pairs: Annotated[
        Optional[Path],
        typer.Option("--pairs", help="CSV sentence1,sentence2,label (1 similar, 0 dissimilar): contrast."),
    ] = None,
    graded: Annotated[
        Optional[Path],
        typer.Option("--graded", help="CSV sentence1,sentence2,score (any range): Spearman and Pearson."),
    ] = None,
    qrels: Annotated[
        Optional[Path],
        typer.Option(
            "--qrels",
            help="CSV probe_id,corpus_id,relevance (or BEIR's query-id, corpus-id, score TSV): recall@k, nDCG@10, "
            "MRR (needs --probes).",
        ),
    ] = None,
    probes: ProbesOpt = None,
    top_k: TopKOpt = 10,
    nprobe: NprobeOpt = None,
    nprobe_sweep: Annotated[
        Optional[list[int]],
        typer.Option(
            "--nprobe-sweep", help="nprobe values for the fidelity sweep (default 1,2,4,... up to nlist). Repeatable."
        ),
    ] = None,
    ef: EfOpt = None,
    ef_sweep: Annotated[
        Optional[list[int]],
        typer.Option(
            "--ef-sweep", help="HNSW ef values for the fidelity sweep (default k,2k,4k,... to 512). Repeatable."
        ),
    ] = None,
    baselines: BaselinesOpt = "bm25,hashing",
    rrf_k: RrfKOpt = None,
    hybrid_weights: HybridWeightsOpt = None,
    repeats: Annotated[
        int, typer.Option("--repeats", help="Repeats of model load and corpus encode; times are medians.")
    ] = 3,
    cost_sample: Annotated[
        int, typer.Option("--cost-sample", help="Corpus sentences encoded to measure throughput (0: all).")
    ] = 1000,
    coherence_sample: Annotated[
        int, typer.Option("--coherence-sample", help="Corpus lines used as queries for group coherence (0: all).")
    ] = 1000,
    fidelity_sample: Annotated[
        int, typer.Option("--fidelity-sample", help="Corpus vectors used as queries for index fidelity (0: all).")
    ] = 200,
    alignment_sample: Annotated[
        int, typer.Option("--alignment-sample", help="Rows compared for space alignment (0: all).")
    ] = 1000,
    similarity_sample: Annotated[
        int,
        typer.Option("--similarity-sample", help="Corpus lines whose every pair gives the similarity distribution."),
    ] = 1000,
    batch_size: BatchSizeOpt = 64,
    measures: MeasuresOpt = None,
    output: RunOutputOpt = None,
    name: NameOpt = None,
    results: ResultsOpt = None,
    html: Annotated[
        Optional[Path], typer.Option("--html", help="Also write the self-contained HTML report to this file.")
    ] = None,
    query: Annotated[
        Optional[str],
        typer.Option(
            "--query",
            help="A query run (folder, id, --name or latest) or a harness query --output folder: adds overlap and "
            "latency plots. Default: the latest run with a query, from the same Milvus.",
        ),
    ] = None,
    align: Annotated[
        Optional[Path], typer.Option("--align", help="A harness align --output folder: adds its tables and curves.")
    ] = None,
    external: ExternalOpt = None,
    uri: UriOpt = None,
    token: TokenOpt = None,
    device: DeviceOpt = "auto",
    query_prompt: QueryPromptOpt = None,
    document_prompt: DocumentPromptOpt = None,
    dataset: DatasetOpt = None,
    split: SplitOpt = "test",
    quiet: QuietOpt = False,
    current: CurrentOpt = None,
    details: DetailsOpt = False,
    config: ConfigOpt = None,
):
    """Compare the models behind the collections (or models alone, -m): cost, quality, index, alignment,
    and each variant against its base."""
    from harness.records import Fusion
    from harness.study import StudyPlan
    from harness.study import evaluate as run_evaluate

    found = open_dataset(ctx, dataset, split, None, {"probes": "--probes", "qrels": "--qrels"})
    probe_source = found.probes if found is not None else probes  # the split's queries, already read
    if found is not None:
        qrels = found.qrels_path
    # A kept run unless --output names the folder; a bad --name (or one with --output) fails before any work.
    run = _new_run("evaluate", results, name, output)
    query_dir = _query_dir(results, query) if query else None
    plan = StudyPlan(
        fusion=Fusion.parse(rrf_k, hybrid_weights),
        top_k=top_k,
        nprobe=nprobe,
        nprobe_values=nprobe_sweep or None,
        ef=ef,
        ef_values=ef_sweep or None,
        baselines=baselines,
        similarity_sample=similarity_sample,
        repeats=repeats,
        device=device,
        batch_size=batch_size,
        cost_sample=cost_sample,
        coherence_sample=coherence_sample,
        fidelity_sample=fidelity_sample,
        alignment_sample=alignment_sample,
        measures=measures,
    )
    out = console()
    with progress_bar(out, quiet=quiet) as progress:
        study = run_evaluate(
            split_names(collections) or None,
            uri,
            token,
            plan=plan,
            models=model or None,
            corpus=corpus,
            pairs=pairs,
            graded=graded,
            qrels=qrels,
            probes=probe_source,
            external=external or (),
            query_prompt=query_prompt,
            document_prompt=document_prompt,
            progress=progress,
        )
    if query is None and not model:
        query_dir = _latest_query(results, study.manifest.get("uri"))
        if query_dir is not None:
            out.print(f"query results from {query_dir.parent}")
    try:
        verdict = show_study(out, study, query_dir, align, current, details)
    except HarnessError:  # a --current the study does not know: keep the study, then say so
        write_evaluation(out, study, run, output, html, query_dir, align)
        raise
    write_evaluation(out, study, run, output, html, query_dir, align, current)
    print_recommendation(out, verdict)


def _new_run(kind: str, results: Optional[Path], name: Optional[str], output: Optional[Path]):
    """The run this command keeps (None: --output names the folder); a bad --name fails now."""
    from harness.runs import NewRun

    return NewRun(kind, results, name, output) if output is None or name else None


def _root(results: Optional[Path]) -> Path:
    from harness.runs import DEFAULT_ROOT

    return results if results is not None else DEFAULT_ROOT


def _query_dir(results: Optional[Path], ref: str) -> Path:
    from harness.runs import find_run, query_folder

    return query_folder(find_run(_root(results), ref, part="query").path)


def _latest_query(results: Optional[Path], uri: Optional[str]) -> Optional[Path]:
    from harness.runs import latest_with

    found = latest_with(_root(results), "query", uri=uri)
    return found.query if found is not None else None


def write_evaluation(out, study, run, output, html, query_dir, align, current: Optional[str] = None) -> None:
    """The study's files: a kept run (study/ and report.html), or the --output folder as before."""
    from harness.files import replace_copy
    from harness.output.report import write_study
    from harness.runs import REPORT, STUDY

    if output:
        written = write_study(study, output, query_dir=query_dir, html=html, align_dir=align, current=current)
        out.print(f"wrote {len(written)} files to {output}" + (f"; report {html}" if html else ""))
        return
    with run.folder() as folder:
        write_study(study, folder / STUDY, query_dir=query_dir, html=folder / REPORT, align_dir=align, current=current)
    if html:
        replace_copy(run.path / REPORT, html)
    out.print(f"run {run.path}; report {run.path / REPORT}" + (f" and {html}" if html else ""))


def show_study(
    out,
    study,
    query_dir: Optional[Path | dict] = None,
    align_dir: Optional[Path] = None,
    current: Optional[str] = None,
    details: bool = False,
):
    """What the terminal shows after an evaluation: the key tables, notes, and with ``details``
    every finding; returns the verdict, whose recommendation the command prints last."""
    from harness.aligning import load_align
    from harness.output.report import names_for, query_tables
    from harness.output.terminal import print_study
    from harness.output.verdict import build_verdict

    query = query_tables(study, query_dir)
    aligned = load_align(align_dir)[0] if align_dir else None
    verdict = build_verdict(study, names_for(study, query), query.get("latency"), aligned, current)
    print_study(out, study, verdict, details)
    for warning in study.warnings:
        out.print(f"[yellow]note:[/] {warning}")
    return verdict


def print_recommendation(out, verdict) -> None:
    from harness.output.terminal import print_recommendation as printed

    printed(out, verdict)


def report(
    study: Annotated[
        Optional[Path], typer.Option("--study", help="A study folder (harness evaluate --output) or a run folder.")
    ] = None,
    run: Annotated[
        Optional[str],
        typer.Option("--run", help="A run: its folder, id (or the start of one), --name, or latest (the default)."),
    ] = None,
    against: Annotated[
        Optional[str],
        typer.Option("--against", help="Another run (or study folder): print what changed from it to this one."),
    ] = None,
    html: Annotated[Path, typer.Option("--html", help="HTML file to write (self-contained, readable offline).")] = Path(
        "harness-report.html"
    ),
    query: Annotated[
        Optional[str],
        typer.Option(
            "--query",
            help="A query run or harness query --output folder: adds overlap and latency (default: the run's own).",
        ),
    ] = None,
    align: Annotated[
        Optional[Path], typer.Option("--align", help="A harness align --output folder: adds its tables and curves.")
    ] = None,
    results: ResultsOpt = None,
    current: CurrentOpt = None,
    config: ConfigOpt = None,
):
    """Write the HTML report of a study or a run; --against: what changed between two runs."""
    from harness.output.report import build_report
    from harness.runs import RUN_FILE, RunParts, find_run, run_parts

    if study is not None and run is not None:
        raise HarnessError("--study and --run both name the study to report: give one")
    root = _root(results)
    other = find_run(root, against) if against is not None else None
    if study is not None:  # a run folder, else a study folder (load_study says what is wrong with it)
        parts = run_parts(study) if (study / RUN_FILE).is_file() else RunParts(study, study=study)
    else:
        parts = find_run(root, run or "latest")
    out = console()
    diff = None
    if other is not None:
        from harness.cli.runs import print_diff
        from harness.runs.diff import diff_runs

        diff = diff_runs(parts, other)
        print_diff(out, diff)
        if parts.study is None:
            out.print(f"{parts.path} holds no study: no HTML report written")
            return
    if parts.study is None:
        raise HarnessError(f"{parts.path} holds no study (no study.json): run harness evaluate or harness compare")
    query_dir = _query_dir(results, query) if query else parts.query
    path = build_report(parts.study, html, query_dir=query_dir, align_dir=align, diff=diff, current=current)
    out.print(f"wrote {path}")
