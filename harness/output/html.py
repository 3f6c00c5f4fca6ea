"""The HTML report: one self-contained file (plots inlined, no script, no network) that
opens with the verdict, then the results side by side, the tables for people, the plots,
and the definitions and manifests folded away."""

from __future__ import annotations

import base64
import html as html_lib
import json
from functools import lru_cache
from pathlib import Path

import pandas as pd

from harness.output.present import Names, PeopleTable
from harness.output.verdict import Verdict
from harness.output.views import view
from harness.records import is_baseline
from harness.study import Study, tables

# Tables in the report, by section; the rest stay in the files (long forms, sweeps).


@lru_cache(maxsize=1)
def _declared() -> tuple[list[tuple[str, list[str]]], dict[str, str], dict[str, str], dict[str, list[str]]]:
    """What the measures declare for the report: each section's tables, the table folded under
    a section, the words a sentence links to a table with, each section's plots."""
    from harness.study import MEASURES
    from harness.study.base import SECTIONS as ORDER

    registry = tables().values()
    sections = [(s, [t.name for t in registry if t.section == s and not t.folded]) for s in ORDER]
    folded = {t.section: t.name for t in registry if t.folded and t.section}
    links = {t.name: t.link for t in registry if t.link} | {"align": "migration maps"}
    plots: dict[str, list[str]] = {}
    for measure in MEASURES:
        for plot in measure.plots:
            if plot.section:
                plots.setdefault(plot.section, []).append(plot.name)
    return sections, folded, links, plots


def table_links() -> dict[str, str]:
    """The words a sentence of the recommendation names each table with."""
    return _declared()[2]


BASELINE_ROW = ' class="baseline"'
NAME_COLUMNS = ("Model", "Model A", "Model B")
NAME_CELL = ' class="name"'
SHARED = ("#fde8a8", "#cfe8fc", "#d7f5d0", "#f9d5e5", "#e6dcfa", "#ffe0c7", "#d2f4f4", "#eeeeee")

STYLE = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1100px;color:#222;
 padding:1.5em 1em;line-height:1.45}
h1{margin:.2em 0}h2{margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}
.meta,.note,figcaption{font-size:13px;color:#666}
.verdict{background:#f6f8fb;border:1px solid #dbe3ee;border-radius:6px;padding:.2em 1.2em .5em}
.verdict h2{margin-top:.5em}.verdict li{margin:.35em 0}
ol.recommendation{font-size:16px;padding-left:1.4em;margin:.5em 0}
ol.recommendation a.src{font-size:12.5px;color:#3a6ea5;margin-left:.4em;white-space:nowrap}
.findings li{font-size:13.5px}
.wrap{max-width:100%;overflow-x:auto}
table.t{border-collapse:collapse;font-size:13px;margin:.4em 0 .3em;max-width:100%}
table.t td,table.t th{border-bottom:1px solid #e3e3e3;padding:4px 8px;text-align:right;vertical-align:top}
table.t th{background:#f4f4f4;font-weight:600}
table.t td.name,table.t th.name{text-align:left;white-space:nowrap}
table.t td.best{font-weight:700;background:#e6f4ea}
table.t tr.baseline td{color:#777;font-style:italic}
.model{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:.35em;vertical-align:-1px}
table.hits{border-collapse:collapse;table-layout:fixed;width:100%;font-size:12.5px}
table.hits th,table.hits td{border:1px solid #e3e3e3;padding:4px 6px;vertical-align:top;word-wrap:break-word}
table.hits th{background:#f4f4f4}table.hits .rank{width:2.4em;text-align:right;color:#888}
table.hits .group{display:block;color:#777;font-size:11.5px}
details{margin:.4em 0}summary{cursor:pointer}
figure{display:inline-block;margin:.5em 1em .5em 0;max-width:100%;vertical-align:top}
img{max-width:100%;height:auto}
pre{background:#f7f7f7;padding:1em;font-size:12px;white-space:pre-wrap;word-break:break-all}
"""


def _e(value) -> str:
    return html_lib.escape(str(value))


def _table(people: PeopleTable, names: Names) -> str:
    frame = people.frame
    head = "".join(f"<th{NAME_CELL if c in NAME_COLUMNS else ''}>{_e(c)}</th>" for c in frame.columns)
    rows = []
    for i, row in enumerate(frame.itertuples(index=False)):
        collection = people.collections[i] if people.collections else None
        cells = []
        for column, value in zip(frame.columns, row):
            cls = ["best"] if (i, column) in people.best else []
            text = _e(value)
            if column in NAME_COLUMNS:
                cls.append("name")
                if column == "Model" and collection is not None:
                    text = f'<span class="model" style="background:{names.colour(collection)}"></span>{text}'
            cells.append(f"<td{_classes(cls)}>{text}</td>")
        baseline = collection is not None and is_baseline(collection)
        rows.append(f"<tr{BASELINE_ROW if baseline else ''}>{''.join(cells)}</tr>")
    note = f"<p class=note>{_e(people.note)}</p>" if people.note else ""
    return f'<div class="wrap"><table class="t"><tr>{head}</tr>{"".join(rows)}</table></div>{note}'


def _classes(names: list[str]) -> str:
    return f' class="{" ".join(names)}"' if names else ""


def _study_table(name: str, study: Study, names: Names) -> str:
    frame = study.tables.get(name, pd.DataFrame())
    if frame is None or frame.empty:
        return ""
    if name == "threshold_map":
        frame = frame.rename(columns={c: names(c) for c in frame.columns if c != "quantile"})
    title = tables()[name].title
    return f"<h3 id=table-{name}>{_e(title)}</h3>{_table(view(name, frame, names), names)}"


def _latency(frame: pd.DataFrame, names: Names) -> PeopleTable:
    titles = {
        "p50_ms": "p50 (ms)",
        "p95_ms": "p95 (ms)",
        "p99_ms": "p99 (ms)",
        "server_p50_ms": "server p50 (ms)",
        "embed_ms_per_probe": "embed per probe (ms)",
    }
    shown = {"Model": [names(c) for c in frame["collection"]]}
    for column, title in titles.items():
        if column in frame:
            shown[title] = [f"{v:.2f}" if v == v else "–" for v in frame[column]]
    return PeopleTable(pd.DataFrame(shown), set(), collections=[str(c) for c in frame["collection"]])


def _image(path: Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return (
        f'<figure><img alt="{_e(alt)}" src="data:image/png;base64,{data}"><figcaption>{_e(alt)}</figcaption></figure>'
    )


def verdict_html(verdict: Verdict, names: Names, linked: set[str] | None = None) -> str:
    """The recommendation first, each sentence linked to the table behind it (where the page
    has it), then every finding folded under it."""
    linked = linked or set()
    items = []
    for sentence in verdict.sentences:
        link = ""
        if sentence.table in linked:
            words = table_links().get(sentence.table, sentence.table)
            link = f' <a class=src href="#table-{sentence.table}">{_e(words)}</a>'
        items.append(f"<li>{_e(sentence.text)}{link}</li>")
    if items:
        head = f"<ol class=recommendation>{''.join(items)}</ol>"
    else:
        head = "<p class=recommendation>Nothing to recommend: the study measured no quality criterion.</p>"
    where = f"Quality and agreement figures are from {verdict.search}; " if verdict.search else ""
    note = (
        f"<p class=note>{_e(where)}[low, high] is a 95% interval (paired bootstrap over the same probes, pairs or "
        "lines), and a difference whose interval includes 0 is a tie. The best model's value in each table is in "
        "bold on green; baselines are grey and italic.</p>"
    )
    findings = ""
    if verdict.findings:
        rows = "".join(f"<li>{_e(f.text)}</li>" for f in verdict.findings)
        findings = (
            f"<details class=findings><summary>Every finding behind it ({len(verdict.findings)})</summary>"
            f"<ul>{rows}</ul></details>"
        )
    return f"<section class=verdict id=verdict><h2>Recommendation</h2>{head}{note}{findings}</section>"


def _relevant(study: Study) -> dict[str, set[int]]:
    """Judged-relevant corpus ids per probe, when the study had judgements."""
    path = ((study.manifest.get("inputs") or {}).get("qrels")) or ""
    if not path or not Path(path).is_file():
        return {}
    from harness.inputs import read_qrels

    qrels = read_qrels(path)
    return {p: set(g.loc[g["relevance"] > 0, "corpus_id"].astype(int)) for p, g in qrels.groupby("probe_id")}


def _linked(study: Study, extra_sections: tuple[str, ...]) -> set[str]:
    """The tables the page shows, so a sentence links only to what is there."""
    sections, folded, _, _ = _declared()
    shown = {name for _, names_ in sections for name in names_ if not study.tables.get(name, pd.DataFrame()).empty}
    shown |= {name for name in folded.values() if not study.tables.get(name, pd.DataFrame()).empty}
    if any("id=table-align" in section for section in extra_sections):
        shown.add("align")
    return shown


def side_by_side(
    hits: pd.DataFrame, names: Names, relevant: dict[str, set[int]], top: int = 5, open_first: int = 2
) -> str:
    """Each probe's top hits in every collection in columns; a line found by several
    retrievers has one background colour wherever it appears; judged-relevant lines are marked."""
    if hits is None or hits.empty:
        return ""
    order = sorted(
        dict.fromkeys(hits["collection"]),
        key=lambda c: (is_baseline(c), names.order.index(c) if c in names.order else 99),
    )
    parts = [
        "<h2>Results side by side</h2><p class=note>Each probe's top hits in every collection. A line that "
        "several retrievers return has the same background colour wherever it appears; ✓ marks a line judged "
        "relevant; below each line, its group (song) and distance.</p>"
    ]
    for n, (probe_id, probe_hits) in enumerate(hits.groupby("probe_id", sort=False)):
        top_hits = probe_hits[probe_hits["rank"] <= top]
        counts = top_hits.groupby("id")["collection"].nunique()
        shared = [i for i in counts.index if counts[i] > 1]
        colour = {i: SHARED[k % len(SHARED)] for k, i in enumerate(shared)}
        head = "".join(f"<th>{_e(names(c))}</th>" for c in order)
        rows = []
        for rank in range(1, top + 1):
            cells = []
            for c in order:
                row = top_hits[(top_hits["collection"] == c) & (top_hits["rank"] == rank)]
                if row.empty:
                    cells.append("<td></td>")
                    continue
                r = row.iloc[0]
                style = f' style="background:{colour[r["id"]]}"' if r["id"] in colour else ""
                mark = " ✓" if int(r["id"]) in relevant.get(str(probe_id), set()) else ""
                where = f"{_e(r['group'])} · {float(r['distance']):.3f}"
                cells.append(f"<td{style}>{_e(r['text'])}{mark}<span class=group>{where}</span></td>")
            rows.append(f"<tr><td class=rank>{rank}</td>{''.join(cells)}</tr>")
        shared_note = f"{len(shared)} line{'' if len(shared) == 1 else 's'} shared"
        summary = f"{_e(probe_id)}: {_e(probe_hits['probe'].iloc[0])} <span class=note>({shared_note})</span>"
        parts.append(
            f"<details{' open' if n < open_first else ''}><summary>{summary}</summary>"
            f'<table class="hits"><tr><th class=rank>#</th>{head}</tr>{"".join(rows)}</table></details>'
        )
    return "".join(parts)


def report_html(
    study: Study,
    names: Names,
    verdict: Verdict,
    plots: dict[str, Path],
    plot_titles: dict[str, str],
    hits: pd.DataFrame | None = None,
    latency: pd.DataFrame | None = None,
    query_manifest: dict | None = None,
    extra_sections: tuple[str, ...] = (),
) -> str:
    """The whole page. Long because it is one page read top to bottom."""
    manifest = study.manifest or {}
    models = ", ".join(names(c) for c in manifest.get("collections", {}) or [])
    parts = [
        "<!doctype html><html lang=en><head><meta charset='utf-8'>",
        "<meta name=viewport content='width=device-width, initial-scale=1'><title>Embedding model comparison</title>",
        f"<style>{STYLE}</style></head><body><h1>Embedding model comparison</h1>",
        f"<p class=meta>{_e(models)} · {_e(manifest.get('backend', '?'))} ({_e(manifest.get('uri', ''))}) · "
        f"created {_e(manifest.get('created', '?'))}</p>",
        verdict_html(verdict, names, _linked(study, extra_sections)),
    ]
    for name in ("quality_cost", "retrieval"):
        if name in plots:
            parts.append(_image(plots[name], plot_titles.get(name, name)))
    parts.append(side_by_side(hits, names, _relevant(study)) if hits is not None else "")
    used = {"quality_cost", "retrieval"}
    sections, folded_tables, _, section_plots = _declared()
    for section, names_ in sections:
        body = "".join(_study_table(name, study, names) for name in names_)
        if section == "Cost" and latency is not None and not latency.empty:
            shown = latency[
                [
                    c
                    for c in latency.columns
                    if c in ("collection", "p50_ms", "p95_ms", "p99_ms", "server_p50_ms", "embed_ms_per_probe")
                ]
            ]
            body += "<h3>Search latency (query output)</h3>" + _table(
                PeopleTable(
                    shown.assign(collection=shown["collection"].map(names))
                    .rename(
                        columns={
                            "collection": "Model",
                            "p50_ms": "p50 (ms)",
                            "p95_ms": "p95 (ms)",
                            "p99_ms": "p99 (ms)",
                            "server_p50_ms": "server p50 (ms)",
                            "embed_ms_per_probe": "embed per probe (ms)",
                        }
                    )
                    .round(2),
                    set(),
                ),
                names,
            )
        folded = folded_tables.get(section)
        frame = study.tables.get(folded, pd.DataFrame()) if folded else None
        if folded and frame is not None and not frame.empty:
            body += (
                f"<details id=table-{folded}><summary>{_e(tables()[folded].title)}</summary>"
                f"{_table(view(folded, frame, names), names)}</details>"
            )
        figures = [p for p in section_plots.get(section, ()) if p in plots and p not in used]
        used.update(figures)
        body += "".join(_image(plots[p], plot_titles.get(p, p)) for p in figures)
        if body:
            parts.append(f"<h2>{_e(section)}</h2>{body}")
    parts.extend(extra_sections)
    rest = [p for p in plots if p not in used]
    if rest:
        parts.append(
            "<h2>More plots</h2>"
            + "".join(
                _image(plots[p], plot_titles.get(p) or f"Group affinity: {names(p.split(':', 1)[-1])}") for p in rest
            )
        )
    definitions = manifest.get("definitions") or {}
    if definitions:
        items = "".join(
            f"<li><b>{_e(k)}</b>: {_e('; '.join(f'{a}: {b}' for a, b in v.items()) if isinstance(v, dict) else v)}</li>"
            for k, v in definitions.items()
        )
        parts.append(f"<details><summary>Definitions</summary><ul>{items}</ul></details>")
    for warning in study.warnings or []:
        parts.append(f"<p class=note>note: {_e(warning)}</p>")
    parts.append(
        "<details><summary>Run manifest</summary><pre>"
        + _e(json.dumps(manifest, indent=2, default=str))
        + "</pre></details>"
    )
    if query_manifest:
        parts.append(
            "<details><summary>Query manifest</summary><pre>"
            + _e(json.dumps(query_manifest, indent=2, default=str))
            + "</pre></details>"
        )
    parts.append("</body></html>\n")
    return "".join(parts)
