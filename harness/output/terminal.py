"""Terminal rendering of results with rich. Only the CLI calls this."""

from __future__ import annotations

import math
from typing import Iterable

import pandas as pd
from rich.console import Console
from rich.table import Table


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:.{digits}f}"
    return str(value)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _intervals(columns: list[str]) -> dict[str, str]:
    """``X_ci_low`` (or ``ci_low``) -> its column title, where ``X_ci_high`` is there too."""
    found = {}
    for column in columns:
        if column.endswith("ci_low") and column[: -len("low")] + "high" in columns:
            stem = column[: -len("ci_low")].rstrip("_")
            found[column] = f"{stem} 95% CI".strip()
    return found


def frame_table(
    frame: pd.DataFrame, title: str | None = None, digits: int = 3, columns: Iterable[str] | None = None
) -> Table:
    """A table of the frame; each pair of interval columns shows as one ``[low, high]`` column."""
    columns = list(columns or frame.columns)
    intervals = _intervals(columns)
    shown = [c for c in columns if not (c.endswith("ci_high") and c[: -len("high")] + "low" in intervals)]
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in shown:
        numeric = pd.api.types.is_numeric_dtype(frame[column]) if column in frame else False
        table.add_column(intervals.get(column, column), justify="right" if numeric else "left")
    for row in frame[columns].to_dict(orient="records"):
        cells = []
        for column in shown:
            if column in intervals:
                high = row[column[: -len("low")] + "high"]
                cells.append(f"[{_fmt(row[column], digits)}, {_fmt(high, digits)}]")
            else:
                cells.append(_fmt(row[column], digits))
        table.add_row(*cells)
    return table


def print_side_by_side(console: Console, hits: pd.DataFrame, top: int = 5, width: int = 48) -> None:
    """For each probe, its top hits in each collection next to each other."""
    collections = list(dict.fromkeys(hits["collection"]))
    for probe_id, probe_hits in hits.groupby("probe_id", sort=False):
        probe = probe_hits["probe"].iloc[0]
        table = Table(title=f"[bold]{probe_id}[/]: {probe}", title_justify="left", show_lines=False)
        table.add_column("#", justify="right")
        for name in collections:
            table.add_column(name, overflow="fold")
        for rank in range(1, top + 1):
            cells = []
            for name in collections:
                row = probe_hits[(probe_hits["collection"] == name) & (probe_hits["rank"] == rank)]
                if row.empty:
                    cells.append("")
                else:
                    r = row.iloc[0]
                    cells.append(
                        f"{_clip(r['text'], width)} [dim]({_clip(str(r['group']), 24)}; {r['distance']:.3f})[/]"
                    )
            table.add_row(str(rank), *cells)
        console.print(table)


def _escape(text: str) -> str:
    """Text shown as it is, not read as rich markup (an interval is [low, high])."""
    return text.replace("[", "\\[")


def people_rich(people, title: str | None = None) -> Table:
    """A table for people (see :mod:`harness.output.present`) in the terminal; best values bold."""
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in people.frame.columns:
        table.add_column(str(column), justify="left" if column in ("Model", "Model A", "Model B") else "right")
    for i, row in enumerate(people.frame.itertuples(index=False)):
        baseline = bool(people.collections) and str(people.collections[i]).startswith("baseline:")
        cells = []
        for column, value in zip(people.frame.columns, row):
            text = str(value).replace("[", "\\[")
            if (i, column) in people.best:
                text = f"[bold green]{text}[/]"
            elif baseline:
                text = f"[dim]{text}[/]"
            cells.append(text)
        table.add_row(*cells)
    return table


def print_study(console: Console, study, verdict, details: bool = False) -> None:
    """The key tables for people, with ``details`` every finding, then the recommendation."""
    from harness.output.present import Names
    from harness.output.views import view
    from harness.study import tables

    names = Names(study.manifest.get("collections"))
    for name, table in tables().items():  # the tables a measure shows in the terminal
        frame = study.tables.get(name)
        if table.terminal and frame is not None and not frame.empty:
            console.print(people_rich(view(name, frame, names), table.title))
    if details and verdict.findings:
        console.print("[bold]Every finding behind the recommendation[/]")
        for finding in verdict.findings:
            console.print(f"  • {finding.text}", markup=False)


def print_recommendation(console: Console, verdict) -> None:
    """The recommendation's sentences, each with the table behind it: what the terminal ends with."""
    from harness.output.html import table_links

    if not verdict.sentences:
        console.print("[bold]Recommendation[/]: nothing to recommend: the study measured no quality criterion.")
        return
    where = f"{verdict.search}; " if verdict.search else ""
    console.print(f"[bold]Recommendation[/] ({where}95% intervals; a difference whose interval includes 0 is a tie)")
    for number, sentence in enumerate(verdict.sentences, 1):
        see = f" [dim](see the {table_links().get(sentence.table, sentence.table)})[/]" if sentence.table else ""
        console.print(f"  {number}. {_escape(sentence.text)}{see}")
