"""Write a study for people: its plots as PNG beside the tables, and one self-contained
HTML report (see :mod:`harness.output.html`) that opens with the recommendation."""

from __future__ import annotations

import html as html_lib
import json
from pathlib import Path

import pandas as pd

from harness.aligning import load_align
from harness.errors import HarnessError
from harness.files import output_folder, replace_file
from harness.output.html import report_html
from harness.output.present import Names
from harness.output.verdict import Verdict, build_verdict
from harness.runs.diff import RunDiff
from harness.study import Study, load_study

STUDY_FILES = ("*.csv", "*.json", "*.parquet", "*.html", "plots/")  # what a study folder holds

# Long-form tables are in the files and drawn as plots, not printed in the report.
LONG_TABLES = {"pair_scores", "affinity", "retrieval_items", "coherence_items", "agreement_items"}

ALIGN_TITLE = "Migration maps: learning curves (harness align)"


def plot_titles() -> dict[str, str]:
    """Each plot's title: those the measures declare, and harness align's curves."""
    from harness.study import MEASURES

    return {plot.name: plot.title for measure in MEASURES for plot in measure.plots} | {"align": ALIGN_TITLE}


ALIGN_SHOWN = ("results", "scores")


def read_query(query_dir: str | Path | dict | None) -> dict:
    """A harness query output folder's tables and manifest (empty when there is none); a dict
    is the tables already in memory (harness compare)."""
    if query_dir is None:
        return {}
    if isinstance(query_dir, dict):
        return query_dir
    query_dir = Path(query_dir)
    if not (query_dir / "overlap.csv").is_file():
        raise HarnessError(
            f"{query_dir} is not a harness query output folder (no overlap.csv): run harness query --output {query_dir}"
        )
    found: dict = {}
    for name in ("overlap", "latency", "hits"):
        path = query_dir / f"{name}.csv"
        if path.is_file():
            try:
                found[name] = pd.read_csv(path)
            except (ValueError, OSError) as exc:
                raise HarnessError(f"{path} is unreadable ({str(exc).splitlines()[0]})") from None
    if (query_dir / "manifest.json").is_file():
        found["manifest"] = json.loads((query_dir / "manifest.json").read_text())
    return found


def query_tables(study: Study, query_dir: str | Path | dict | None) -> dict:
    """The query's tables for the report: the study's own hits and latency where it measured
    them, else those of the query folder given."""
    found = dict(read_query(query_dir))
    for name in ("hits", "latency"):
        own = study.tables.get(name)
        if own is not None and not own.empty:
            found[name] = own
    return found


def names_for(study: Study, query: dict | None = None) -> Names:
    """Short names and colours: the study's collections in order, then every baseline seen."""
    names = Names(study.manifest.get("collections"))
    for frame in [*study.tables.values(), *(query or {}).values()]:
        if isinstance(frame, pd.DataFrame):
            for column in ("collection", "collection_a", "collection_b"):
                if column in frame:
                    for value in dict.fromkeys(frame[column].dropna()):
                        names.add(str(value))
    return names


def write_plots(
    study: Study,
    directory: str | Path,
    query_dir: str | Path | dict | None = None,
    align_dir: str | Path | None = None,
    verdict: Verdict | None = None,
) -> dict[str, Path]:
    """All plots the study's tables allow, under DIRECTORY/plots; name -> path."""
    from harness.output import plots
    from harness.study import MEASURES

    folder = Path(directory) / "plots"
    query = query_tables(study, query_dir)
    names = names_for(study, query)
    verdict = verdict or build_verdict(study, names, query.get("latency"))
    aligned = load_align(align_dir)[0] if align_dir else {}
    built_in = {  # the built-in measures' plots, drawn here; a measure's own plot draws itself
        "quality_cost": lambda: plots.quality_cost(
            verdict.front, verdict.quality_title, folder / "quality_cost.png", names
        ),
        "similarity": lambda: plots.similarity_distributions(study.pair_scores, folder / "similarity.png", names),
        "efficiency": lambda: plots.efficiency(study.cost, folder / "efficiency.png", names),
        "contrast_vs_time": lambda: plots.contrast_vs_time(
            study.contrast, study.cost, folder / "contrast_vs_time.png", names
        ),
        "overlap": lambda: plots.overlap_heatmap(query.get("overlap"), folder / "overlap.png", names),
        "latency": lambda: plots.latency(query.get("latency"), folder / "latency.png", names),
        "ivf_recall": lambda: plots.ivf_recall(study.fidelity, folder / "ivf_recall.png", names),
        "recall_latency": lambda: plots.recall_latency(study.fidelity, folder / "recall_latency.png", names),
        "retrieval": lambda: plots.retrieval(study.retrieval, folder / "retrieval.png", names),
        "variants": lambda: plots.variant_tradeoff(study.variants, study.cost, folder / "variants.png", names),
    }
    made: dict[str, Path | None] = {}
    for plot in (plot for measure in MEASURES for plot in measure.plots):
        if plot.draw is not None:
            made[plot.name] = plot.draw(study.tables, names, folder / f"{plot.name}.png")
        elif plot.name in built_in:
            made[plot.name] = built_in[plot.name]()
    made["align"] = plots.align_curve(aligned.get("results", pd.DataFrame()), folder / "align.png")
    if not study.affinity.empty:
        for i, name in enumerate(dict.fromkeys(study.affinity["collection"])):
            made[f"affinity:{name}"] = plots.group_affinity(
                study.affinity, name, folder / f"affinity_{i + 1}.png", names=names
            )
    return {name: path for name, path in made.items() if path is not None}


def write_study(
    study: Study,
    directory: str | Path,
    query_dir: str | Path | dict | None = None,
    html: str | Path | None = None,
    align_dir: str | Path | None = None,
    current: str | None = None,
) -> list[Path]:
    """Tables, plots, study.json (manifest, warnings, table and plot lists) and optionally the
    HTML, in a folder replaced whole (see :func:`harness.files.output_folder`). ``current``:
    the model the recommendation measures a switch from (default the first)."""
    directory = Path(directory)
    inside = html is not None and Path(html).resolve().parent.is_relative_to(directory.resolve())
    with output_folder(directory, STUDY_FILES) as partial:
        made = write_plots(study, partial, query_dir, align_dir)
        plots = {name: str(p.relative_to(partial)) for name, p in made.items()}
        written = [directory / p.relative_to(partial) for p in study.save(partial, extra={"plots": plots})]
        written.extend(directory / p for p in plots.values())
        if html and inside:
            relative = Path(html).resolve().relative_to(directory.resolve())
            write_html(
                study, partial / relative, query_dir=query_dir, plot_paths=made, align_dir=align_dir, current=current
            )
    if html:
        if not inside:
            plot_paths = {n: directory / p for n, p in plots.items()}
            write_html(study, html, query_dir=query_dir, plot_paths=plot_paths, align_dir=align_dir, current=current)
        written.append(Path(html))
    return written


def _table_html(frame: pd.DataFrame, max_rows: int = 200) -> str:
    shown = frame.head(max_rows)
    body = shown.to_html(index=False, border=0, classes="t", na_rep="–", float_format=lambda v: f"{v:.4g}", escape=True)
    if len(frame) > max_rows:
        body += f"<p class=note>first {max_rows} of {len(frame)} rows; the CSV has them all.</p>"
    return f'<div class="wrap">{body}</div>'


def write_html(
    study: Study,
    html: str | Path,
    query_dir: str | Path | dict | None = None,
    plot_paths: dict[str, Path] | None = None,
    align_dir: str | Path | None = None,
    diff: RunDiff | None = None,
    current: str | None = None,
) -> Path:
    """One self-contained HTML file that opens with the recommendation: plots inlined as base64
    PNG; with ``diff``, a section on what changed since another run."""
    html = Path(html)
    if plot_paths is None:
        import tempfile

        with tempfile.TemporaryDirectory() as scratch:
            made = write_plots(study, scratch, query_dir, align_dir)
            return write_html(study, html, query_dir, made, align_dir, diff, current)
    query = query_tables(study, query_dir)
    names = names_for(study, query)
    aligned = load_align(align_dir) if align_dir else None
    verdict = build_verdict(study, names, query.get("latency"), aligned[0] if aligned else None, current)
    page = report_html(
        study,
        names,
        verdict,
        plot_paths,
        plot_titles(),
        hits=query.get("hits"),
        latency=query.get("latency"),
        query_manifest=query.get("manifest"),
        extra_sections=((_diff_html(diff),) if diff else ()) + ((_align_html(align_dir),) if align_dir else ()),
    )
    return replace_file(html, page)


def _diff_html(diff: RunDiff) -> str:
    """What changed from another run (harness report --against): the diff's three tables."""
    parts = [f"<h2>What changed since {html_lib.escape(diff.against.name)}</h2>"]
    if diff.changes.empty:
        parts.append("<p>No model or collection added, removed or changed.</p>")
    else:
        parts.append(f"<h3>Models and collections</h3>{_table_html(diff.changes)}")
    changed = diff.changed_settings
    if changed.empty:
        parts.append("<p>No setting changed.</p>")
    else:
        parts.append(f"<h3>Settings that changed</h3>{_table_html(changed[['setting', 'against', 'run']])}")
    if not diff.figures.empty:
        shown = diff.figures[["retriever", "metric", "against", "run", "change"]]
        parts.append(f"<h3>Headline figures (change = run - against)</h3>{_table_html(shown)}")
    return "".join(parts)


def _align_html(align_dir: str | Path) -> str:
    """The alignment's results and score scales, the best map and the gate (harness align)."""
    frames, manifest = load_align(align_dir)
    gate = manifest.get("gate") or {}
    parts = [
        f"<h2 id=table-align>Migration maps (harness align {html_lib.escape(str(align_dir))})</h2>",
        f"<p>Old collection {html_lib.escape(str((manifest.get('old') or {}).get('collection', '?')))}, new model "
        f"{html_lib.escape(str((manifest.get('new') or {}).get('alias', '?')))}; best map: "
        f"{html_lib.escape(str(manifest.get('best')))}"
        + (f"; gate {'passed' if gate.get('passed') else 'failed'}" if gate else "")
        + ".</p>",
    ]
    for check in gate.get("checks", []):
        parts.append(f"<p class=note>gate: {html_lib.escape(str(check))}</p>")
    for name in ALIGN_SHOWN:
        if not frames[name].empty:
            parts.append(f"<h3>{name}</h3>{_table_html(frames[name])}")
    return "".join(parts)


def build_report(
    study_dir: str | Path,
    html: str | Path,
    query_dir: str | Path | dict | None = None,
    align_dir: str | Path | None = None,
    diff: RunDiff | None = None,
    current: str | None = None,
) -> Path:
    """The HTML report of a study folder written by harness evaluate --output; with ``diff``
    (:func:`harness.runs.diff.diff_runs`), what changed since another run."""
    study = load_study(study_dir)
    made = write_plots(study, study_dir, query_dir, align_dir)
    return write_html(
        study, html, query_dir=query_dir, plot_paths=made, align_dir=align_dir, diff=diff, current=current
    )


def verdict_json(study: Study, query_dir: str | Path | dict | None, current: str | None = None, **extra) -> str:
    """The recommendation, the figures behind it and every finding as one JSON object (harness
    compare --json), with ``extra`` (the run and report paths) and the study's notes."""
    query = query_tables(study, query_dir)
    names = names_for(study, query)
    verdict = build_verdict(study, names, query.get("latency"), current=current)
    return json.dumps({**verdict.to_dict(names), **extra, "notes": list(study.warnings)}, indent=2)
