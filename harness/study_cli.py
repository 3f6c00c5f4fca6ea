"""`harness evaluate` and `harness report`: the model comparison study on the command line."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from harness.errors import HarnessError

from harness.cli_options import ConfigOpt, DeviceOpt, TokenOpt, UriOpt, split_names


def _default(experiment, option: Optional[Path], name: str) -> Optional[Path]:
    """The option, else corpora/NAME next to the experiment file, if it exists."""
    if option is not None:
        return option
    if experiment.source is not None:
        candidate = Path(experiment.source).resolve().parent / "corpora" / name
        if candidate.is_file():
            return candidate
    return None


def register(app: typer.Typer) -> None:
    from harness.cli import _console, _experiment, _progress, _uri

    @app.command()
    def evaluate(
        collections: Annotated[Optional[list[str]], typer.Option("--collections", "--collection", "-c", help="Collections to evaluate, comma-separated or repeated (default: all harness collections).")] = None,
        corpus: Annotated[Optional[Path], typer.Option("--corpus", help="Corpus file for the encode-throughput sample (default: the texts stored in each collection).")] = None,
        pairs: Annotated[Optional[Path], typer.Option("--pairs", help="CSV sentence1,sentence2,label (1 similar, 0 dissimilar): contrast.")] = None,
        graded: Annotated[Optional[Path], typer.Option("--graded", help="CSV sentence1,sentence2,score (any range): Spearman and Pearson.")] = None,
        qrels: Annotated[Optional[Path], typer.Option("--qrels", help="CSV probe_id,corpus_id,relevance: recall@k, nDCG@10, MRR (needs --probes).")] = None,
        probes: Annotated[Optional[Path], typer.Option("--probes", help="Probe file whose ids --qrels uses.")] = None,
        top_k: Annotated[Optional[int], typer.Option("--top-k", "-k", help="k for recall@k, coherence, fidelity and alignment (default 10).")] = None,
        nprobe: Annotated[Optional[int], typer.Option("--nprobe", help="IVF lists searched for retrieval and coherence; its recall is reported too.")] = None,
        nprobe_sweep: Annotated[Optional[list[int]], typer.Option("--nprobe-sweep", help="nprobe values for the fidelity sweep (default 1,2,4,... up to nlist). Repeatable.")] = None,
        repeats: Annotated[Optional[int], typer.Option("--repeats", help="Repeats of model load and corpus encode; times are medians (default 3).")] = None,
        cost_sample: Annotated[int, typer.Option("--cost-sample", help="Corpus sentences encoded to measure throughput (0: all).")] = 1000,
        coherence_sample: Annotated[int, typer.Option("--coherence-sample", help="Corpus lines used as queries for group coherence (0: all).")] = 1000,
        fidelity_sample: Annotated[int, typer.Option("--fidelity-sample", help="Corpus vectors used as queries for index fidelity (0: all).")] = 200,
        alignment_sample: Annotated[int, typer.Option("--alignment-sample", help="Rows compared for space alignment (0: all).")] = 1000,
        batch_size: Annotated[int, typer.Option("--batch-size", help="Sentences per encode batch.")] = 64,
        output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write every table (CSV, JSON, Parquet), the plots and study.json here.")] = None,
        html: Annotated[Optional[Path], typer.Option("--html", help="Also write the self-contained HTML report to this file.")] = None,
        query: Annotated[Optional[Path], typer.Option("--query", help="A harness query --output folder: adds overlap and latency plots.")] = None,
        uri: UriOpt = None,
        token: TokenOpt = None,
        device: DeviceOpt = "auto",
        config: ConfigOpt = None,
    ):
        """Compare the models behind the collections: cost, quality, index fidelity, space alignment."""
        from harness.evaluation import evaluate as run_evaluate
        from harness.render import frame_table

        experiment = _experiment(config)
        pairs = _default(experiment, pairs, "pairs.csv")
        graded = _default(experiment, graded, "graded-pairs.csv")
        probes = probes or (experiment.probes if qrels else None)
        if html and not output:
            raise HarnessError("--html needs --output DIR (the plots and tables are written there)")
        console = _console()
        with _progress(console, "evaluate") as bar:
            task = bar.add_task("evaluate", total=None)

            def progress(stage: str, done: int, total: int) -> None:
                bar.update(task, description=stage, completed=done, total=total)

            study = run_evaluate(
                _uri(uri, experiment),
                token,
                split_names(collections) or None,
                corpus=corpus,
                pairs=pairs,
                graded=graded,
                qrels=qrels,
                probes=probes,
                top_k=experiment.top_k if top_k is None else top_k,
                nprobe=experiment.nprobe if nprobe is None else nprobe,
                nprobe_values=nprobe_sweep or None,
                repeats=experiment.repeats if repeats is None else repeats,
                device=device,
                batch_size=batch_size,
                cost_sample=cost_sample,
                coherence_sample=coherence_sample,
                fidelity_sample=fidelity_sample,
                alignment_sample=alignment_sample,
                progress=progress,
            )
        shown = (
            ("cost", "Cost (times are medians; memory is the peak while encoding)"),
            ("contrast", "Contrast on labelled pairs"),
            ("graded", "Graded pairs (x100)"),
            ("retrieval", "Retrieval with relevance judgements"),
            ("coherence", "Group coherence"),
            ("fidelity_summary", "IVF_FLAT recall against exact search"),
            ("alignment", "Space alignment"),
        )
        for name, title in shown:
            frame = getattr(study, name)
            if not frame.empty:
                console.print(frame_table(frame, title=title))
        for row in study.alignment.itertuples(index=False) if not study.alignment.empty else ():
            if row.warning:
                console.print(f"[yellow]note:[/] {row.collection_a} vs {row.collection_b}: {row.warning}")
        for warning in study.warnings:
            console.print(f"[yellow]note:[/] {warning}")
        if output:
            written = study.write(output, query_dir=query, html=html)
            console.print(f"wrote {len(written)} files to {output}" + (f"; report {html}" if html else ""))

    @app.command()
    def report(
        study: Annotated[Path, typer.Option("--study", help="Folder written by harness evaluate --output.")],
        html: Annotated[Path, typer.Option("--html", help="HTML file to write (self-contained, readable offline).")] = Path("harness-report.html"),
        query: Annotated[Optional[Path], typer.Option("--query", help="A harness query --output folder: adds overlap and latency.")] = None,
    ):
        """Write one self-contained HTML report (tables, plots, manifest) from a study folder."""
        from harness.report import build_report

        path = build_report(study, html, query_dir=query)
        _console().print(f"wrote {path}")
