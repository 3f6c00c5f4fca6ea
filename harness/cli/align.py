"""`harness align`: fit maps from a new model's space into an old collection's, measure what
they recover, and gate a migration on it.

Exit codes: 0 done (and the gate, when asked for, passed), 1 error, 2 usage error,
3 the gate failed.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from harness.cli.common import (
    BatchSizeOpt,
    ConfigOpt,
    DatasetOpt,
    DeviceOpt,
    EfOpt,
    ExternalOpt,
    NoCacheOpt,
    NprobeOpt,
    OutputOpt,
    ProbesOpt,
    QrelsOpt,
    SplitOpt,
    TokenOpt,
    TopKOpt,
    UriOpt,
    console,
    open_dataset,
    progress_bar,
    split_names,
)

SHOWN = [
    "method",
    "train_size",
    "same_text_cosine",
    "self_retrieval_at_1",
    "overlap_at_k_vs_old",
    "overlap_at_k_vs_new",
    "recall_at_k",
    "mrr",
    "recovered_recall_at_k",
    "recovered_mrr",
    "fit_s",
    "apply_us",
]


def align(
    ctx: typer.Context,
    old: Annotated[str, typer.Option("--old", help="The old collection (built by the model in production).")],
    new_model: Annotated[
        Optional[str], typer.Option("--new-model", help="The new model, as a spec (alias, folder or hub name).")
    ] = None,
    new_collection: Annotated[
        Optional[str],
        typer.Option("--new-collection", help="The new model's collection, when it exists: its vectors are used."),
    ] = None,
    kind: Annotated[
        Optional[list[str]],
        typer.Option("--kind", help="Map kinds: procrustes, ridge, low-rank, mlp (default: all the dimensions allow)."),
    ] = None,
    train_size: Annotated[
        Optional[list[int]],
        typer.Option("--train-size", help="Training rows of each fit, repeatable: the learning curve."),
    ] = None,
    test_size: Annotated[
        Optional[int],
        typer.Option("--test-size", help="Held-out rows, never fitted on (default: a fifth, at most 1000)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the split and of the MLP.")] = 0,
    probes: ProbesOpt = None,
    probe: Annotated[
        Optional[list[str]], typer.Option("--probe", "-p", help="A probe sentence. Repeatable; replaces --probes.")
    ] = None,
    qrels: QrelsOpt = None,
    top_k: TopKOpt = 10,
    nprobe: NprobeOpt = None,
    ef: EfOpt = None,
    score_threshold: Annotated[
        Optional[float],
        typer.Option("--score-threshold", help="A score threshold tuned on the old model: its equivalent per scale."),
    ] = None,
    min_recovery: Annotated[
        Optional[float],
        typer.Option("--min-recovery", help="Gate: the best map keeps at least this share of new-native quality."),
    ] = None,
    min_overlap: Annotated[
        Optional[float],
        typer.Option("--min-overlap", help="Gate: the best map's results overlap the old results at least this much."),
    ] = None,
    output: OutputOpt = None,
    external: ExternalOpt = None,
    batch_size: BatchSizeOpt = 64,
    uri: UriOpt = None,
    token: TokenOpt = None,
    device: DeviceOpt = "auto",
    no_cache: NoCacheOpt = False,
    dataset: DatasetOpt = None,
    split: SplitOpt = "test",
    config: ConfigOpt = None,
):
    """Fit maps from a new model into an old collection's space; measure what they recover (exit 3: gate failed)."""
    from harness.aligning import GATE_FAILED, check_gate_inputs
    from harness.aligning import align as run_align
    from harness.inputs import probes_from_texts
    from harness.output.terminal import frame_table

    found = open_dataset(ctx, dataset, split, None, {"probes": "--probes", "qrels": "--qrels"})
    given = found.probes if found is not None else (probes_from_texts(probe) if probe else probes)
    if found is not None:
        qrels = found.qrels_path
    check_gate_inputs(min_recovery, min_overlap, given is not None, qrels is not None, new_collection is not None)
    out = console()
    with progress_bar(out) as progress:
        result = run_align(
            old,
            new_model,
            uri,
            token,
            new_collection=new_collection,
            probes=given,
            qrels=qrels,
            kinds=split_names(kind) or None,
            train_sizes=train_size or None,
            test_size=test_size,
            top_k=top_k,
            nprobe=nprobe,
            ef=ef,
            seed=seed,
            score_threshold=score_threshold,
            external=external or (),
            device=device,
            batch_size=batch_size,
            cache=not no_cache,
            progress=progress,
        )
    summary = result.summary()
    out.print(
        frame_table(
            summary,
            title="Maps at their largest training size, and the two ends of the scale",
            columns=[c for c in SHOWN if c in summary],
        )
    )
    curve = result.results[~result.results["method"].isin(["old-native", "new-native", "unmapped"])]
    out.print(frame_table(curve, title="Learning curve", columns=[c for c in SHOWN if c in curve]))
    out.print(frame_table(result.scores, title="Score scales: the score keeping N % of the top-k hits"))
    for warning in result.warnings:
        out.print(f"[yellow]note:[/] {warning}")
    out.print(f"best map: {result.best} (highest held-out self-retrieval@1)")
    gate = result.gate(min_recovery, min_overlap) if min_recovery is not None or min_overlap is not None else None
    if output:
        written = result.write(output, gate)
        out.print(f"wrote {len(written)} files to {output}")
    if gate is not None:
        for check in gate.checks:
            out.print(f"gate: {check}")
        out.print("gate passed" if gate.passed else f"gate failed (exit {GATE_FAILED})")
        if not gate.passed:
            raise typer.Exit(GATE_FAILED)
