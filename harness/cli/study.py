"""`harness evaluate` and `harness report`: the model comparison study."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from harness.cli.common import (
    BatchSizeOpt,
    CollectionsOpt,
    ConfigOpt,
    DeviceOpt,
    DocumentPromptOpt,
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
    batch_size: BatchSizeOpt = 64,
    output: OutputOpt = None,
    html: Annotated[
        Optional[Path], typer.Option("--html", help="Also write the self-contained HTML report to this file.")
    ] = None,
    query: Annotated[
        Optional[Path], typer.Option("--query", help="A harness query --output folder: adds overlap and latency plots.")
    ] = None,
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
    from harness.output.terminal import frame_table
    from harness.study import evaluate as run_evaluate
    from harness.study import tables

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
            repeats=repeats,
            device=device,
            batch_size=batch_size,
            cost_sample=cost_sample,
            coherence_sample=coherence_sample,
            fidelity_sample=fidelity_sample,
            alignment_sample=alignment_sample,
            query_prompt=query_prompt,
            document_prompt=document_prompt,
            progress=progress,
        )
    for name, table in tables().items():
        frame = study.tables[name]
        if table.terminal and not frame.empty:
            out.print(frame_table(frame, title=table.terminal))
    for row in study.alignment.itertuples(index=False) if not study.alignment.empty else ():
        if row.warning:
            out.print(f"[yellow]note:[/] {row.collection_a} vs {row.collection_b}: {row.warning}")
    for warning in study.warnings:
        out.print(f"[yellow]note:[/] {warning}")
    if output:
        written = write_study(study, output, query_dir=query, html=html)
        out.print(f"wrote {len(written)} files to {output}" + (f"; report {html}" if html else ""))


def report(
    study: Annotated[Path, typer.Option("--study", help="Folder written by harness evaluate --output.")],
    html: Annotated[Path, typer.Option("--html", help="HTML file to write (self-contained, readable offline).")] = Path(
        "harness-report.html"
    ),
    query: Annotated[
        Optional[Path], typer.Option("--query", help="A harness query --output folder: adds overlap and latency.")
    ] = None,
):
    """Write one self-contained HTML report (tables, plots, manifest) from a study folder."""
    from harness.output.report import build_report

    path = build_report(study, html, query_dir=query)
    console().print(f"wrote {path}")
