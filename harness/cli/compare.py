"""`harness compare`: the whole experiment in one process: ingest, query, evaluate, one run
folder with the report, and the study's summary at the end."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from harness.cli.common import (
    BaselinesOpt,
    BatchSizeOpt,
    ConfigOpt,
    DatasetOpt,
    DeviceOpt,
    DocumentPromptOpt,
    DocumentTemplateOpt,
    EfOpt,
    FullTextOpt,
    HybridWeightsOpt,
    MaxSeqLengthOpt,
    MeasuresOpt,
    NameOpt,
    NoCacheOpt,
    NprobeOpt,
    ProbesOpt,
    QrelsOpt,
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
)
from harness.cli.ingest import print_ingest
from harness.cli.query import print_query
from harness.cli.study import CurrentOpt, DetailsOpt, print_recommendation, show_study
from harness.errors import HarnessError


def compare(
    ctx: typer.Context,
    corpus: Annotated[
        Optional[Path], typer.Option("--corpus", help="Corpus file: .txt, .jsonl, .csv or .parquet.")
    ] = None,
    model: Annotated[
        Optional[list[str]],
        typer.Option("--model", "-m", help="Model: alias, local folder or Hugging Face name. Repeatable."),
    ] = None,
    probes: ProbesOpt = None,
    pairs: Annotated[
        Optional[Path], typer.Option("--pairs", help="CSV sentence1,sentence2,label (1 similar, 0 dissimilar).")
    ] = None,
    graded: Annotated[
        Optional[Path], typer.Option("--graded", help="CSV sentence1,sentence2,score (any range).")
    ] = None,
    qrels: QrelsOpt = None,
    prefix: Annotated[str, typer.Option("--prefix", help="Experiment prefix for collection names.")] = "",
    index: Annotated[
        str,
        typer.Option("--index", help="Vector index type (FLAT, IVF_FLAT, IVF_SQ8, HNSW, HNSW_SQ; IVF_PQ on a server)."),
    ] = "IVF_FLAT",
    nlist: Annotated[
        Optional[int], typer.Option("--nlist", help="Lists of an IVF index (default 4*sqrt(rows)).")
    ] = None,
    full_text: FullTextOpt = False,
    rrf_k: RrfKOpt = None,
    hybrid_weights: HybridWeightsOpt = None,
    top_k: TopKOpt = 10,
    nprobe: NprobeOpt = None,
    ef: EfOpt = None,
    repeats: Annotated[
        int, typer.Option("--repeats", help="Timed searches per probe after a warm-up (0: no timing).")
    ] = 3,
    cost_repeats: Annotated[
        int, typer.Option("--cost-repeats", help="Corpus encodes timed by the study's cost measure; times are medians.")
    ] = 3,
    baselines: BaselinesOpt = "bm25,hashing",
    measures: MeasuresOpt = None,
    show: Annotated[
        int, typer.Option("--show", min=0, help="Hits per collection shown per probe in the terminal (0: none).")
    ] = 0,
    batch_size: BatchSizeOpt = 64,
    name: NameOpt = None,
    output: RunOutputOpt = None,
    results: ResultsOpt = None,
    uri: UriOpt = None,
    token: TokenOpt = None,
    device: DeviceOpt = "auto",
    no_cache: NoCacheOpt = False,
    query_prompt: QueryPromptOpt = None,
    document_prompt: DocumentPromptOpt = None,
    dataset: DatasetOpt = None,
    split: SplitOpt = "test",
    document_template: DocumentTemplateOpt = None,
    max_seq_length: MaxSeqLengthOpt = None,
    quiet: QuietOpt = False,
    current: CurrentOpt = None,
    details: DetailsOpt = False,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the recommendation and its figures as one JSON object, and nothing else."),
    ] = False,
    config: ConfigOpt = None,
):
    """Ingest every model, query, evaluate and report, in one process and one run folder."""
    from harness.experiment import compare as run_compare

    found = open_dataset(
        ctx, dataset, split, document_template, {"corpus": "--corpus", "probes": "--probes", "qrels": "--qrels"}
    )
    source = found.corpus if found is not None else corpus  # a dataset's reader is already checked
    probe_source = found.probes if found is not None else probes  # the split's queries
    if found is not None:
        qrels = found.qrels_path
    if source is None:
        raise HarnessError("no corpus: pass --corpus FILE or --dataset DIR (or run from a folder with harness.toml)")
    if not model:
        raise HarnessError("no model: pass --model NAME (harness models lists the packaged ones)")
    if probe_source is None:
        raise HarnessError("no probes: pass --probes FILE or --dataset DIR")
    from harness.output.verdict import check_current
    from harness.records import Fusion, IndexPlan
    from harness.study import StudyPlan

    check_current(current, model)

    index_plan = IndexPlan(index, nlist, full_text)
    plan = StudyPlan(
        fusion=Fusion.parse(rrf_k, hybrid_weights),
        top_k=top_k,
        nprobe=nprobe,
        ef=ef,
        repeats=cost_repeats,
        search_repeats=repeats,
        baselines=baselines,
        measures=measures,
        batch_size=batch_size,
        device=device,
    )
    out = console()
    if as_json:  # stdout carries the JSON alone; the progress bar goes to stderr
        from rich.console import Console

        out = Console(stderr=True, highlight=False)
    with progress_bar(out, quiet=quiet) as progress:
        done = run_compare(
            source,
            model,
            uri,
            token,
            probes=probe_source,
            pairs=pairs,
            graded=graded,
            qrels=qrels,
            index=index_plan,
            plan=plan,
            prefix=prefix,
            cache=not no_cache,
            query_prompt=query_prompt,
            document_prompt=document_prompt,
            max_seq_length=max_seq_length,
            current=current,
            results=results,
            name=name,
            output=output,
            progress=progress,
        )
    if as_json:
        from harness.output.report import verdict_json

        typer.echo(verdict_json(done.study, done.query_frames, current, run=str(done.run), report=str(done.report)))
        return
    print_ingest(out, done.ingest)
    print_query(out, done.query, show=show, top_k=top_k, repeats=repeats)
    verdict = show_study(out, done.study, done.query_frames, current=current, details=details)
    out.print(f"run {done.run}; report {done.report}")
    print_recommendation(out, verdict)
