"""`harness ingest`: embed a corpus into one collection per model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from harness.cli.common import (
    BatchSizeOpt,
    ConfigOpt,
    DatasetOpt,
    DeviceOpt,
    DocumentPromptOpt,
    DocumentTemplateOpt,
    FullTextOpt,
    MaxSeqLengthOpt,
    NoCacheOpt,
    QueryPromptOpt,
    QuietOpt,
    SplitOpt,
    TokenOpt,
    UriOpt,
    console,
    open_dataset,
    progress_bar,
)
from harness.errors import HarnessError

INGEST_COLUMNS = [
    "model",
    "collection",
    "dimension",
    "rows_total",
    "rows_added",
    "rows_present",
    "truncated",
    "cut_share",
    "cache_hits",
    "encode_s",
    "insert_s",
    "index_s",
    "total_s",
    "index",
]


def ingest(
    ctx: typer.Context,
    corpus: Annotated[
        Optional[Path], typer.Option("--corpus", help="Corpus file: .txt, .jsonl, .csv or .parquet.")
    ] = None,
    model: Annotated[
        Optional[list[str]],
        typer.Option(
            "--model",
            "-m",
            help="Model: alias, local folder or Hugging Face name, optionally @variant (@onnx, @onnx-qint8, "
            "@static, @dim=N, ...). Repeatable.",
        ),
    ] = None,
    uri: UriOpt = None,
    token: TokenOpt = None,
    prefix: Annotated[str, typer.Option("--prefix", help="Experiment prefix for collection names.")] = "",
    nlist: Annotated[
        Optional[int],
        typer.Option("--nlist", help="IVF_FLAT lists (default: 4*sqrt(rows), at most rows/39, per segment on Lite)."),
    ] = None,
    index: Annotated[
        str,
        typer.Option(
            "--index",
            help="Vector index type: FLAT, IVF_FLAT, IVF_SQ8, HNSW, HNSW_SQ (Milvus Lite); a server also IVF_PQ.",
        ),
    ] = "IVF_FLAT",
    batch_size: BatchSizeOpt = 64,
    chunk_size: Annotated[int, typer.Option("--chunk-size", help="Rows read, encoded and inserted per step.")] = 2048,
    device: DeviceOpt = "auto",
    half: Annotated[bool, typer.Option("--half", help="Encode in float16 (GPU only).")] = False,
    trust_remote_code: Annotated[
        bool, typer.Option("--trust-remote-code", help="Allow models that run their own code.")
    ] = False,
    recreate: Annotated[bool, typer.Option("--recreate", help="Drop and rebuild the models' collections.")] = False,
    no_cache: NoCacheOpt = False,
    query_prompt: QueryPromptOpt = None,
    document_prompt: DocumentPromptOpt = None,
    text_column: Annotated[str, typer.Option("--text-column", help="Text column (jsonl/csv/parquet).")] = "text",
    id_column: Annotated[
        str, typer.Option("--id-column", help="Id column, if present (a table with _id and no id column: _id).")
    ] = "id",
    group_column: Annotated[str, typer.Option("--group-column", help="Group column, if present.")] = "group",
    dataset: DatasetOpt = None,
    split: SplitOpt = "test",
    document_template: DocumentTemplateOpt = None,
    quiet: QuietOpt = False,
    max_seq_length: MaxSeqLengthOpt = None,
    full_text: FullTextOpt = False,
    config: ConfigOpt = None,
):
    """Embed a corpus with each model into its own Milvus collection (idempotent, resumable)."""
    from harness.ingestion import ingest as run_ingest

    found = open_dataset(ctx, dataset, split, document_template, {"corpus": "--corpus"})
    source = found.corpus if found is not None else corpus  # a dataset's reader is already checked
    if source is None:
        raise HarnessError("no corpus: pass --corpus FILE (or run from a folder with harness.toml)")
    if not model:
        raise HarnessError("no model: pass --model NAME (harness models lists the packaged ones)")
    out = console()
    with progress_bar(out, per_stage=True, quiet=quiet) as progress:
        report = run_ingest(
            source,
            model,
            uri,
            token,
            prefix=prefix,
            nlist=nlist,
            index=index,
            full_text=full_text,
            batch_size=batch_size,
            chunk_size=chunk_size,
            device=device,
            half=half,
            trust_remote_code=trust_remote_code,
            recreate=recreate,
            cache=not no_cache,
            query_prompt=query_prompt,
            document_prompt=document_prompt,
            text_column=text_column,
            id_column=id_column,
            group_column=group_column,
            document_template=document_template,
            max_seq_length=max_seq_length,
            progress=progress,
        )
    print_ingest(out, report)


def print_ingest(out, report) -> None:
    """The ingest in the terminal: the corpus, one row per model, and the notes."""
    from harness.output.terminal import frame_table

    repeated_ids = f", {report.duplicate_ids} repeated ids skipped" if report.duplicate_ids else ""
    out.print(
        f"corpus {report.corpus}: {report.records} records in {report.groups} groups "
        f"({report.duplicates} duplicate texts skipped{repeated_ids}, {report.empty_lines} empty lines skipped) "
        f"-> {report.uri}"
    )
    out.print(frame_table(report.to_frame(), columns=INGEST_COLUMNS, digits=2))
    for row in report.models:
        for note in row.notes:
            out.print(f"[yellow]note:[/] {note}")
        if row.truncated:
            out.print(
                f"note: {truncation_note(row.model, row.truncated, report.records, row.cut_share, row.max_seq_length)}"
            )


def truncation_note(model: str, truncated: int, documents: int, cut_share: float, limit: int | None) -> str:
    """``3681 of 5183 documents (71%) are longer than M's max sequence length (256 tokens) ...``"""
    share = f" ({truncated / documents:.0%})" if documents else ""
    tokens = f" ({limit} tokens)" if limit else ""
    return (
        f"{truncated} of {documents} documents{share} are longer than {model}'s max sequence length{tokens} and "
        f"were truncated: {cut_share:.0%} of their tokens on average are not read (--max-seq-length to change it)"
    )
