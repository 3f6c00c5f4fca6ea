"""What the commands share: each shared option defined once, the console, the progress
bar, and the experiment file fed to click's ``default_map``.

Precedence, with no hand-merging: command line > environment (``MILVUS_URI``,
``MILVUS_TOKEN``) > experiment file > built-in default. The eager ``--config`` option
loads the file (or ./harness.toml) before the other options are resolved.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Callable, Iterator, Optional

import typer

from harness.errors import HarnessError
from harness.records import Progress


def _load_config(ctx: typer.Context, value: Optional[Path]) -> Optional[Path]:
    from harness.config import load_experiment

    experiment = load_experiment(value)
    if experiment.bm25 or "harness.baselines" in sys.modules:  # else its default is in force once imported
        from harness.baselines import Bm25Settings, configure_bm25

        configure_bm25(Bm25Settings.from_dict(experiment.bm25))  # the BM25 baseline's setting for this run
    ctx.default_map = {**(ctx.default_map or {}), **experiment.defaults_for(ctx.info_name or "")}
    ctx.meta["experiment"] = experiment
    return value


def experiment(ctx: typer.Context):
    """The experiment the ``--config`` callback loaded (built-in defaults when there is none)."""
    from harness.config import Experiment

    return ctx.meta.get("experiment") or Experiment()


ConfigOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--config",
        help="Experiment TOML file (default: ./harness.toml if present).",
        is_eager=True,
        callback=_load_config,
    ),
]
UriOpt = Annotated[
    Optional[str],
    typer.Option(
        "--uri",
        envvar="MILVUS_URI",
        help="Milvus Lite file (*.db) or server URI (http\\[s]://host:port). Default: harness.db.",
    ),
]
TokenOpt = Annotated[
    Optional[str],
    typer.Option(
        "--token",
        envvar="MILVUS_TOKEN",
        show_envvar=True,
        help="Server token (user:password or API key). Prefer the environment variable.",
    ),
]
DeviceOpt = Annotated[
    str,
    typer.Option(
        "--device", help="auto, cpu, cuda, cuda:N, or a comma-separated list (one encoding process per device)."
    ),
]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Do not read or write the embedding cache.")]
CollectionsOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--collections",
        "--collection",
        "-c",
        help="Collections, comma-separated or repeated (default: all harness collections).",
    ),
]
TopKOpt = Annotated[
    int, typer.Option("--top-k", "-k", help="Hits per probe; k of recall@k, coherence, fidelity and agreement.")
]
NprobeOpt = Annotated[
    Optional[int], typer.Option("--nprobe", help="IVF lists searched per query (default: the server's).")
]
EfOpt = Annotated[
    Optional[int],
    typer.Option("--ef", help="HNSW search breadth ef, at least --top-k (default: the server's; Lite: 64)."),
]
FullTextOpt = Annotated[
    bool,
    typer.Option(
        "--full-text",
        help="Also build each collection's full-text side (Milvus's BM25; Milvus 2.5+ or Lite): adds the "
        "Milvus BM25 and hybrid retrievers.",
    ),
]
RrfKOpt = Annotated[
    Optional[int],
    typer.Option("--rrf-k", help="k of the hybrid search's reciprocal rank fusion (RRFRanker; default 60)."),
]
HybridWeightsOpt = Annotated[
    Optional[str],
    typer.Option(
        "--hybrid-weights",
        help="Fuse the hybrid search by weighted scores instead of RRF: dense,full-text weights, e.g. 0.7,0.3.",
    ),
]
BaselinesOpt = Annotated[
    str,
    typer.Option(
        "--baselines", help="Baselines searched beside the models: bm25, hashing, both comma-separated, or none."
    ),
]
ProbesOpt = Annotated[
    Optional[Path], typer.Option("--probes", help="Probe file: .txt (one a line) or .csv/.jsonl with id,text.")
]
OutputOpt = Annotated[Optional[Path], typer.Option("--output", "-o", help="Folder for the output files.")]
QrelsOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--qrels",
        help="CSV probe_id,corpus_id,relevance (or BEIR's query-id, corpus-id, score TSV): recall@k, nDCG@10, MRR "
        "(needs --probes).",
    ),
]
ExternalOpt = Annotated[
    Optional[list[Path]],
    typer.Option(
        "--external",
        help="Sidecar JSON of a collection the harness did not build (its fields and model); repeatable. "
        "Read, never altered.",
    ),
]
BatchSizeOpt = Annotated[int, typer.Option("--batch-size", help="Sentences per encode batch.")]
QueryPromptOpt = Annotated[
    Optional[str],
    typer.Option(
        "--query-prompt",
        help="Text put before every probe (default: the model's query prompt, as recorded at ingest; '' for none).",
    ),
]
DocumentPromptOpt = Annotated[
    Optional[str],
    typer.Option(
        "--document-prompt",
        help="Text put before every corpus line (default: the model's document/passage prompt; '' for none).",
    ),
]
ResultsOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--results",
        help="Results folder: each run is kept in RESULTS/runs/<UTC time>-<kind>[-<name>], RESULTS/latest names "
        "the newest. Default: \\[output] dir, else harness-results.",
    ),
]
NameOpt = Annotated[
    Optional[str],
    typer.Option("--name", help="A name for this run, part of its folder name (letters, digits, '.', '-', '_')."),
]
RunOutputOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--output", "-o", help="Write to this one folder, replaced whole, instead of a new run under --results."
    ),
]
MeasuresOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--measures",
        help="Measures to run, comma-separated or repeated (default all): cost, contrast, graded, retrieval, "
        "fusion, coherence, agreement, hits, latency, similarity, fidelity, alignment, variants, comparison, "
        "unanswered.",
    ),
]

DatasetOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--dataset",
        help="A BEIR-layout folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv): its corpus, queries and "
        "judgements, with the dataset's own ids.",
    ),
]
SplitOpt = Annotated[
    str, typer.Option("--split", help="The qrels split of --dataset: qrels/<split>.tsv and the queries it judges.")
]
DocumentTemplateOpt = Annotated[
    Optional[str],
    typer.Option(
        "--document-template",
        help="A document's text from its fields (default for BEIR corpora: '{title} {text}', as MTEB encodes it).",
    ),
]


def open_dataset(ctx: typer.Context, dataset: Optional[Path], split: str, template: Optional[str], replaces: dict):
    """The BEIR-layout dataset of ``--dataset``, read and checked whole (None without it).

    It stands for the options in ``replaces`` (parameter -> option): one of them also given
    on the command line is refused; a value from the experiment file gives way to it."""
    if dataset is None:
        if _from_command_line(ctx, "split"):
            raise HarnessError("--split chooses the qrels of a --dataset: give --dataset DIR")
        return None
    clash = [option for parameter, option in replaces.items() if _from_command_line(ctx, parameter)]
    if clash:
        raise HarnessError(f"--dataset gives the corpus, queries and judgements: leave out {', '.join(clash)}")
    from harness.inputs import BEIR_TEMPLATE, read_dataset

    return read_dataset(dataset, split, template if template is not None else BEIR_TEMPLATE)


def _from_command_line(ctx: typer.Context, parameter: str) -> bool:
    source = ctx.get_parameter_source(parameter)
    return source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT")


def split_names(values: Optional[list[str]]) -> list[str]:
    """Repeated and comma-separated option values as one list."""
    return [name.strip() for value in values or [] for name in value.split(",") if name.strip()]


def console():
    from rich.console import Console

    out = Console(highlight=False)
    if not out.is_terminal:
        out.width = 200  # files and pipes: no wrapping of wide tables
    return out


QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress: no bar, and no progress lines in a log.")]
MaxSeqLengthOpt = Annotated[
    Optional[int],
    typer.Option(
        "--max-seq-length", help="Tokens read per document (default: each model's own maximum sequence length)."
    ),
]
PROGRESS_INTERVAL = 10.0  # seconds between two progress lines in a log


class ProgressLines:
    """Progress for a log (output that is not a terminal): one plain line at most every
    ``interval`` seconds, "stage: done/total rows, rows/s, ETA", where a bar would be drawn."""

    def __init__(self, write: Callable[[str], None], interval: float = PROGRESS_INTERVAL, clock=time.monotonic):
        self.write, self.interval, self.clock = write, interval, clock
        self.last = clock()
        self.started: dict[str, tuple[float, int]] = {}  # stage -> (when first seen, rows done then)

    def __call__(self, step: Progress) -> None:
        now = self.clock()
        first = self.started.setdefault(step.stage, (now, step.done))
        if now - self.last < self.interval:
            return
        self.last = now
        self.write(progress_line(step, now - first[0], step.done - first[1]))


def progress_line(step: Progress, seconds: float, done_since: int) -> str:
    """``stage: 2048/5183 rows, 410 rows/s, ETA 8s`` (rate and ETA once they are known)."""
    unit = f" {step.unit}" if step.unit else ""
    parts = [f"{step.stage}: {step.done}/{step.total}{unit}" if step.total else f"{step.stage}: {step.done}{unit}"]
    rate = done_since / seconds if seconds > 0 and done_since > 0 else None
    if rate:
        parts.append(f"{rate:,.0f}{unit}/s" if rate >= 10 else f"{rate:.2g}{unit}/s")
        if step.total and step.total > step.done:
            parts.append(f"ETA {_duration((step.total - step.done) / rate)}")
    return ", ".join(parts)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _stderr_line(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@contextmanager
def progress_bar(out, per_stage: bool = False, quiet: bool = False, interval: float | None = None) -> Iterator:
    """A progress callback for the library: on a terminal one bar whose label follows the
    stage, or one bar per stage (``per_stage``: ingest's one bar per model); elsewhere (a
    log) a line on standard error every ``interval`` seconds; ``quiet``: nothing."""
    if quiet:
        yield lambda step: None
        return
    if not out.is_terminal:
        yield ProgressLines(_stderr_line, PROGRESS_INTERVAL if interval is None else interval)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn
    from rich.progress import Progress as Bars

    bars = Bars(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=out,
        transient=True,
    )
    tasks: dict[str, TaskID] = {}

    def update(step: Progress) -> None:
        key = step.stage if per_stage else ""
        if key not in tasks:
            tasks[key] = bars.add_task(step.stage, total=step.total)
        bars.update(tasks[key], description=step.stage, completed=step.done, total=step.total)

    with bars:
        yield update
