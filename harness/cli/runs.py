"""`harness runs`: the runs kept under the results folder, newest first; and how `harness
report --against` shows what changed between two runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from harness.cli.common import ConfigOpt, ResultsOpt, console


def _settings_words(record: dict) -> str:
    """The settings a reader picks runs by: k, nprobe or ef, the index types, the probes."""
    settings = record.get("settings") or {}
    words = []
    for key in ("top_k", "nprobe", "ef"):
        value = settings.get(f"study {key}", settings.get(f"query {key}"))
        if value is not None:
            words.append(f"{key}={value}")
    indexes = sorted({str(v).split(" ")[0] for k, v in settings.items() if k.startswith("index ")})
    if indexes:
        words.append("index " + "/".join(indexes))
    probes = settings.get("query probes")  # "15 probes (sha256 ...)"
    if probes:
        words.append(str(probes).split(" (")[0])
    return ", ".join(words)


def runs(
    kind: Annotated[
        Optional[str], typer.Option("--kind", help="Only runs of this kind: query, evaluate or compare.")
    ] = None,
    prune: Annotated[
        Optional[int],
        typer.Option("--prune", help="Delete all but the newest N runs (never the one latest names), then list."),
    ] = None,
    results: ResultsOpt = None,
    config: ConfigOpt = None,
):
    """List the runs kept under the results folder, newest first."""
    import pandas as pd

    from harness.errors import HarnessError
    from harness.output.terminal import frame_table
    from harness.runs import DEFAULT_ROOT, KINDS, latest_run, list_runs
    from harness.runs import prune as prune_runs

    if kind is not None and kind not in KINDS:
        raise HarnessError(f"--kind {kind!r}: one of {', '.join(KINDS)}")
    root = results if results is not None else DEFAULT_ROOT
    out = console()
    if prune is not None:
        removed = prune_runs(root, prune)
        out.print(f"removed {len(removed)} runs" + (f": {', '.join(p.name for p in removed)}" if removed else ""))
    latest = latest_run(root)
    rows = []
    for run in list_runs(root):
        record = run.record
        if kind is not None and record.get("kind") != kind:
            continue
        models = [m.get("alias") or "?" for m in record.get("models") or []]
        rows.append(
            {
                "run": run.path.name + (" (latest)" if latest is not None and run.path == latest.path else ""),
                "name": record.get("name") or "",
                "kind": record.get("kind"),
                "created": str(record.get("created", "")).replace("+00:00", "Z"),
                "models": ", ".join(models),
                "collections": len(record.get("collections") or []),
                "settings": _settings_words(record),
                "report": "yes" if run.report is not None else "",
            }
        )
    if not rows:
        out.print(f"no runs under {Path(root) / 'runs'}" + (f" of kind {kind}" if kind else ""))
        return
    out.print(frame_table(pd.DataFrame(rows), title=f"Runs under {Path(root) / 'runs'}, newest first"))


def print_diff(out, diff) -> None:
    """What changed from the --against run to the reported one, as three terminal tables."""
    from harness.output.terminal import frame_table

    out.print(f"[bold]{diff.run}[/] against [bold]{diff.against}[/]")
    if diff.changes.empty:
        out.print("no model or collection added, removed or changed")
    else:
        out.print(frame_table(diff.changes, title="Models and collections"))
    changed = diff.changed_settings
    if changed.empty:
        out.print("no setting changed")
    else:
        out.print(frame_table(changed[["setting", "against", "run"]], title="Settings that changed"))
    if not diff.figures.empty:
        shown = diff.figures[["retriever", "metric", "against", "run", "change"]]
        out.print(frame_table(shown, title="Headline figures (change = run - against)"))
