"""`harness query`: probe every collection, side by side, with agreement and latency."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from harness.cli.common import (
    BaselinesOpt,
    CollectionsOpt,
    ConfigOpt,
    DatasetOpt,
    DeviceOpt,
    DocumentPromptOpt,
    EfOpt,
    ExternalOpt,
    NameOpt,
    NoCacheOpt,
    NprobeOpt,
    ProbesOpt,
    QueryPromptOpt,
    ResultsOpt,
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


def query(
    ctx: typer.Context,
    probes: ProbesOpt = None,
    probe: Annotated[Optional[list[str]], typer.Option("--probe", "-p", help="A probe sentence. Repeatable.")] = None,
    collections: CollectionsOpt = None,
    probe_model: Annotated[
        Optional[str], typer.Option("--probe-model", help="Embed probes with this one model for every collection.")
    ] = None,
    map_file: Annotated[
        Optional[Path],
        typer.Option("--map", help="A map file from harness align: map the probe model's vectors before searching."),
    ] = None,
    top_k: TopKOpt = 10,
    nprobe: NprobeOpt = None,
    ef: EfOpt = None,
    baselines: BaselinesOpt = "bm25,hashing",
    exact: Annotated[
        bool,
        typer.Option(
            "--exact/--no-exact", help="Also compute agreement from exact search over each collection's stored vectors."
        ),
    ] = True,
    repeats: Annotated[
        int, typer.Option("--repeats", help="Timed searches per probe after a warm-up (0: no timing).")
    ] = 3,
    output: RunOutputOpt = None,
    name: NameOpt = None,
    results: ResultsOpt = None,
    show: Annotated[
        int, typer.Option("--show", min=0, help="Hits per collection shown per probe in the terminal (0: none).")
    ] = 5,
    metrics_url: Annotated[
        Optional[str],
        typer.Option(
            "--metrics-url", help="Milvus Prometheus endpoint (http://host:9091/metrics) for server-side latency."
        ),
    ] = None,
    external: ExternalOpt = None,
    uri: UriOpt = None,
    token: TokenOpt = None,
    device: DeviceOpt = "auto",
    no_cache: NoCacheOpt = False,
    query_prompt: QueryPromptOpt = None,
    document_prompt: DocumentPromptOpt = None,
    dataset: DatasetOpt = None,
    split: SplitOpt = "test",
    config: ConfigOpt = None,
):
    """Probe every collection and report hits side by side, agreement and latency."""
    from harness.inputs import load_probes, probes_from_texts
    from harness.querying import query as run_query
    from harness.runs import QUERY, NewRun

    # A kept run unless --output names the folder; a bad --name (or one with --output) fails before any work.
    run = NewRun("query", results, name, output) if output is None or name else None
    found = open_dataset(ctx, dataset, split, None, {"probes": "--probes"})
    if found is not None:
        probe_list = found.probes  # the split's queries
    elif probe:
        probe_list = probes_from_texts(probe)
    elif probes is not None:
        probe_list = load_probes(probes)
    else:
        raise HarnessError("no probes: pass --probes FILE or --probe TEXT")
    out = console()
    with progress_bar(out) as progress:
        result = run_query(
            probe_list,
            split_names(collections) or None,
            uri,
            token,
            probe_model=probe_model,
            top_k=top_k,
            nprobe=nprobe,
            ef=ef,
            repeats=repeats,
            device=device,
            cache=not no_cache,
            metrics_url=metrics_url,
            map_file=map_file,
            external=external or (),
            baselines=baselines,
            exact=exact,
            query_prompt=query_prompt,
            document_prompt=document_prompt,
            progress=progress,
        )
    print_query(out, result, show=show, top_k=top_k, repeats=repeats)
    if output:
        written = result.write(output)
        out.print(f"wrote {', '.join(str(p) for p in written)}")
    elif run is not None:
        with run.folder() as folder:
            result.write(folder / QUERY)
        out.print(f"run {run.path} (harness runs lists the runs)")


def print_query(out, result, show: int, top_k: int, repeats: int) -> None:
    """The query in the terminal: hits side by side, agreement, alignment, latency, notes."""
    from harness.output.terminal import frame_table, print_side_by_side

    if show:
        print_side_by_side(out, result.hits, top=show)
    summary = result.agreement_summary()
    if not summary.empty:
        title = f"Agreement of top-{top_k} results (mean over probes, 95% CI; index_loss = exact - value)"
        out.print(frame_table(summary, title=title))
    for line in result.index_attribution():
        out.print(line)
    if not result.alignment.empty:
        out.print(frame_table(result.alignment, title="Probe model vs each collection's model (same stored lines)"))
    if repeats:
        out.print(
            frame_table(result.latency, title="Search latency (ms, client side) and probe embedding time", digits=2)
        )
    for warning in result.warnings:
        out.print(f"[yellow]note:[/] {warning}")
