"""Write a study for people: its plots as PNG beside the tables, and one self-contained
HTML report with the plots inlined. The tables and their titles come from the registry."""

from __future__ import annotations

import base64
import html as html_lib
import json
from pathlib import Path

import pandas as pd

from harness.errors import HarnessError
from harness.files import output_folder, replace_file
from harness.study import Study, load_study, tables

STUDY_FILES = ("*.csv", "*.json", "*.parquet", "*.html", "plots/")  # what a study folder holds

# Long-form tables are in the files and drawn as plots, not printed in the report.
LONG_TABLES = {"pair_scores", "affinity"}

PLOT_TITLES = {
    "similarity": "Similarity distributions (similar vs dissimilar pairs)",
    "efficiency": "Efficiency: size vs encode time",
    "contrast_vs_time": "Contrast vs total time",
    "overlap": "Agreement between collections (query output)",
    "latency": "Search latency (query output)",
    "ivf_recall": "IVF recall vs nprobe",
    "variants": "Variants: agreement with the base vs encode speed",
}


def _read_query(query_dir: str | Path | None) -> tuple[pd.DataFrame | None, pd.DataFrame | None, dict | None]:
    if query_dir is None:
        return None, None, None
    query_dir = Path(query_dir)
    if not (query_dir / "overlap.csv").is_file():
        raise HarnessError(
            f"{query_dir} is not a harness query output folder (no overlap.csv): run harness query --output {query_dir}"
        )
    overlap = pd.read_csv(query_dir / "overlap.csv")
    latency = pd.read_csv(query_dir / "latency.csv") if (query_dir / "latency.csv").is_file() else None
    manifest = (
        json.loads((query_dir / "manifest.json").read_text()) if (query_dir / "manifest.json").is_file() else None
    )
    return overlap, latency, manifest


def write_plots(study: Study, directory: str | Path, query_dir: str | Path | None = None) -> dict[str, Path]:
    """All plots the study's tables allow, under DIRECTORY/plots; name -> path."""
    from harness.output import plots

    folder = Path(directory) / "plots"
    overlap, latency, _ = _read_query(query_dir)
    made = {
        "similarity": plots.similarity_distributions(study.pair_scores, folder / "similarity.png"),
        "efficiency": plots.efficiency(study.cost, folder / "efficiency.png"),
        "contrast_vs_time": plots.contrast_vs_time(study.contrast, study.cost, folder / "contrast_vs_time.png"),
        "overlap": plots.overlap_heatmap(overlap, folder / "overlap.png"),
        "latency": plots.latency(latency, folder / "latency.png"),
        "ivf_recall": plots.ivf_recall(study.fidelity, folder / "ivf_recall.png"),
        "variants": plots.variant_tradeoff(study.variants, study.cost, folder / "variants.png"),
    }
    if not study.affinity.empty:
        for i, name in enumerate(dict.fromkeys(study.affinity["collection"])):
            made[f"affinity:{name}"] = plots.group_affinity(study.affinity, name, folder / f"affinity_{i + 1}.png")
    return {name: path for name, path in made.items() if path is not None}


def write_study(
    study: Study, directory: str | Path, query_dir: str | Path | None = None, html: str | Path | None = None
) -> list[Path]:
    """Tables, plots, study.json (manifest, warnings, table and plot lists) and optionally the
    HTML, in a folder replaced whole (see :func:`harness.files.output_folder`)."""
    directory = Path(directory)
    inside = html is not None and Path(html).resolve().parent.is_relative_to(directory.resolve())
    with output_folder(directory, STUDY_FILES) as partial:
        made = write_plots(study, partial, query_dir)
        plots = {name: str(p.relative_to(partial)) for name, p in made.items()}
        written = [directory / p.relative_to(partial) for p in study.save(partial, extra={"plots": plots})]
        written.extend(directory / p for p in plots.values())
        if html and inside:
            relative = Path(html).resolve().relative_to(directory.resolve())
            write_html(study, partial / relative, query_dir=query_dir, plot_paths=made)
    if html:
        if not inside:
            write_html(study, html, query_dir=query_dir, plot_paths={n: directory / p for n, p in plots.items()})
        written.append(Path(html))
    return written


def _table_html(frame: pd.DataFrame, max_rows: int = 200) -> str:
    shown = frame.head(max_rows)
    body = shown.to_html(index=False, border=0, classes="t", na_rep="–", float_format=lambda v: f"{v:.4g}", escape=True)
    if len(frame) > max_rows:
        body += f"<p class=note>first {max_rows} of {len(frame)} rows; the CSV has them all.</p>"
    return body


def _image(path: Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    alt = html_lib.escape(alt)
    return f'<figure><img alt="{alt}" src="data:image/png;base64,{data}"><figcaption>{alt}</figcaption></figure>'


STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
table.t{border-collapse:collapse;font-size:13px;margin:.5em 0 1.5em}
table.t td,table.t th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:right}
table.t th{background:#f4f4f4}
figure{display:inline-block;margin:.5em 1em .5em 0}img{max-width:100%}
figcaption,.note{font-size:12px;color:#666}pre{background:#f7f7f7;padding:1em;font-size:12px;overflow:auto}
"""


def write_html(
    study: Study, html: str | Path, query_dir: str | Path | None = None, plot_paths: dict[str, Path] | None = None
) -> Path:
    """One self-contained HTML file: tables, plots inlined as base64 PNG, the run manifest."""
    html = Path(html)
    html.parent.mkdir(parents=True, exist_ok=True)
    if plot_paths is None:
        import tempfile

        with tempfile.TemporaryDirectory() as scratch:
            return write_html(study, html, query_dir, write_plots(study, scratch, query_dir))
    _, latency_frame, query_manifest = _read_query(query_dir)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>harness study</title>",
        f"<style>{STYLE}</style></head><body><h1>Embedding model comparison</h1>",
    ]
    manifest = study.manifest or {}
    parts.append(
        f"<p>Created {html_lib.escape(str(manifest.get('created', '?')))} on "
        f"{html_lib.escape(str(manifest.get('backend', '?')))} ({html_lib.escape(str(manifest.get('uri', '')))}); "
        f"collections: {html_lib.escape(', '.join(manifest.get('collections', {}) or []))}.</p>"
    )
    for warning in study.warnings or []:
        parts.append(f"<p class=note>note: {html_lib.escape(str(warning))}</p>")
    for name, table in tables().items():
        frame = study.tables.get(name)
        if name not in LONG_TABLES and frame is not None and not frame.empty:
            parts.append(f"<h2>{html_lib.escape(table.title)}</h2>{_table_html(frame)}")
    if latency_frame is not None and not latency_frame.empty:
        parts.append(f"<h2>Search latency (query output)</h2>{_table_html(latency_frame)}")
    parts.append("<h2>Plots</h2>")
    for name, path in plot_paths.items():
        title = PLOT_TITLES.get(name) or f"Group affinity: {name.split(':', 1)[-1]}"
        parts.append(_image(path, title))
    definitions = manifest.get("definitions") or {}
    if definitions:
        parts.append(
            "<h2>Definitions</h2><ul>"
            + "".join(
                f"<li><b>{html_lib.escape(k)}</b>: {html_lib.escape(str(v))}</li>" for k, v in definitions.items()
            )
            + "</ul>"
        )
    parts.append("<h2>Run manifest</h2><pre>" + html_lib.escape(json.dumps(manifest, indent=2, default=str)) + "</pre>")
    if query_manifest:
        parts.append(
            "<h2>Query manifest</h2><pre>"
            + html_lib.escape(json.dumps(query_manifest, indent=2, default=str))
            + "</pre>"
        )
    parts.append("</body></html>\n")
    return replace_file(html, "".join(parts))


def build_report(study_dir: str | Path, html: str | Path, query_dir: str | Path | None = None) -> Path:
    """The HTML report of a study folder written by harness evaluate --output."""
    study = load_study(study_dir)
    made = write_plots(study, study_dir, query_dir)
    return write_html(study, html, query_dir=query_dir, plot_paths=made)
