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
    DeviceOpt,
    DocumentPromptOpt,
    EfOpt,
    ExternalOpt,
    NprobeOpt,
    OutputOpt,
    ProbesOpt,
    QueryPromptOpt,
    TokenOpt,
    TopKOpt,
    UriOpt,
    console,
    progress_bar,
    split_names,
)
from harness.errors import HarnessError


def evaluate(
    collections: CollectionsOpt = None,
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
        typer.Option("--qrels", help="CSV probe_id,corpus_id,relevance: recall@k, nDCG@10, MRR (needs --probes)."),
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
    output: OutputOpt = None,
    html: Annotated[
        Optional[Path], typer.Option("--html", help="Also write the self-contained HTML report to this file.")
    ] = None,
    query: Annotated[
        Optional[Path], typer.Option("--query", help="A harness query --output folder: adds overlap and latency plots.")
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
    config: ConfigOpt = None,
):
    """Compare the models behind the collections: cost, quality, index fidelity, space alignment,
    and each variant against its base."""
    from harness.output.report import write_study
    from harness.study import evaluate as run_evaluate

    if html and not output:
        raise HarnessError("--html needs --output DIR (the plots and tables are written there)")
    out = console()
    with progress_bar(out) as progress:
        study = run_evaluate(
            split_names(collections) or None,
            uri,
            token,
            corpus=corpus,
            pairs=pairs,
            graded=graded,
            qrels=qrels,
            probes=probes,
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
            external=external or (),
            query_prompt=query_prompt,
            document_prompt=document_prompt,
            progress=progress,
        )
    show_study(out, study, query, align)
    if output:
        written = write_study(study, output, query_dir=query, html=html, align_dir=align)
        out.print(f"wrote {len(written)} files to {output}" + (f"; report {html}" if html else ""))


def show_study(out, study, query_dir: Optional[Path] = None, align_dir: Optional[Path] = None) -> None:
    """What the terminal shows after an evaluation: the key tables, notes, and the verdict."""
    from harness.aligning import load_align
    from harness.output.report import names_for, read_query
    from harness.output.terminal import print_study
    from harness.output.verdict import build_verdict

    query = read_query(query_dir)
    aligned = load_align(align_dir)[0] if align_dir else None
    verdict = build_verdict(study, names_for(study, query), query.get("latency"), aligned)
    print_study(out, study, verdict)
    for warning in study.warnings:
        out.print(f"[yellow]note:[/] {warning}")


def report(
    study: Annotated[Path, typer.Option("--study", help="Folder written by harness evaluate --output.")],
    html: Annotated[Path, typer.Option("--html", help="HTML file to write (self-contained, readable offline).")] = Path(
        "harness-report.html"
    ),
    query: Annotated[
        Optional[Path], typer.Option("--query", help="A harness query --output folder: adds overlap and latency.")
    ] = None,
    align: Annotated[
        Optional[Path], typer.Option("--align", help="A harness align --output folder: adds its tables and curves.")
    ] = None,
):
    """Write one self-contained HTML report (tables, plots, manifest) from a study folder."""
    from harness.output.report import build_report

    path = build_report(study, html, query_dir=query, align_dir=align)
    console().print(f"wrote {path}")
