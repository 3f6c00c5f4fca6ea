"""What changed between two runs: the models and collections added, removed or rebuilt, the
settings that differ, and the change in each headline figure per model.

A retriever is matched across the two runs by its model's alias (baselines by name), so a
model whose collection was rebuilt under another prefix or index is one row whose index
setting changed; a run holding two collections of one model keeps their collection names.
Every figure is read from the files the runs wrote, so the diff can be recomputed from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from harness.files import read_frame
from harness.records import is_baseline
from harness.runs import RunParts, key_settings, manifests, models_of, run_parts

CHANGE_COLUMNS = ["kind", "name", "status", "detail"]
SETTING_COLUMNS = ["setting", "against", "run", "changed"]
FIGURE_COLUMNS = [
    "retriever",
    "table",
    "metric",
    "against",
    "run",
    "change",
    "against_ci_low",
    "against_ci_high",
    "run_ci_low",
    "run_ci_high",
]
# The headline figures: tables with a metric column (the metrics shown, each with the index
# search and exactly), and tables of one row per retriever (metric, column, interval prefix).
METRICS = {"retrieval": ("recall_at_k", "ndcg_at_10", "mrr"), "agreement": ("overlap_at_k", "rbo")}
PER_ROW = {
    "contrast": [("contrast", "contrast", "contrast_ci")],
    "graded": [("spearman", "spearman", "spearman_ci")],
    "coherence": [("coherence", "value", "value_ci"), ("coherence exact", "exact", "exact_ci")],
}


@dataclass
class RunDiff:
    """``changes``, ``settings`` and ``figures`` as DataFrames (see :func:`diff_runs`)."""

    run: Path
    against: Path
    changes: pd.DataFrame
    settings: pd.DataFrame
    figures: pd.DataFrame

    def frames(self) -> dict[str, pd.DataFrame]:
        return {"changes": self.changes, "settings": self.settings, "figures": self.figures}

    @property
    def changed_settings(self) -> pd.DataFrame:
        return self.settings[self.settings["changed"]] if not self.settings.empty else self.settings


def _labels(models: dict[str, dict]) -> dict[str, str]:
    """Collection -> the name it is matched by: its model's alias, unless two share one."""
    aliases = {name: str(record.get("alias") or name) for name, record in models.items()}
    counts = pd.Series(list(aliases.values())).value_counts() if aliases else pd.Series(dtype=int)
    return {name: alias if counts.get(alias, 0) == 1 else name for name, alias in aliases.items()}


def _models(parts: RunParts) -> dict[str, dict]:
    query, study = manifests(parts)
    return {**models_of(query), **models_of(study)}


def _changes(run: dict[str, dict], against: dict[str, dict]) -> pd.DataFrame:
    run_labels, against_labels = _labels(run), _labels(against)
    by_label_run = {label: run[name] for name, label in run_labels.items()}
    by_label_against = {label: against[name] for name, label in against_labels.items()}
    rows = []
    for label in dict.fromkeys([*by_label_against, *by_label_run]):
        old, new = by_label_against.get(label), by_label_run.get(label)
        if old is None:
            rows.append({"kind": "model", "name": label, "status": "added", "detail": _model_words(new)})
        elif new is None:
            rows.append({"kind": "model", "name": label, "status": "removed", "detail": _model_words(old)})
        elif old.get("fingerprint") != new.get("fingerprint"):
            rows.append(
                {
                    "kind": "model",
                    "name": label,
                    "status": "changed",
                    "detail": f"weights {old.get('fingerprint') or '?'} -> {new.get('fingerprint') or '?'}",
                }
            )
    for name in dict.fromkeys([*against, *run]):
        if name in run and name not in against:
            rows.append({"kind": "collection", "name": name, "status": "added", "detail": ""})
        elif name in against and name not in run:
            rows.append({"kind": "collection", "name": name, "status": "removed", "detail": ""})
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS)


def _model_words(record: dict | None) -> str:
    record = record or {}
    return f"{record.get('spec') or record.get('alias') or '?'}, {record.get('dimension') or '?'}-d, weights " + str(
        record.get("fingerprint") or "?"
    )


def _relabel(settings: dict, labels: dict[str, str]) -> dict:
    """Per-collection settings keyed by the retriever's label, so they match across runs."""
    out = {}
    for key, value in settings.items():
        head, _, name = key.partition(" ")
        out[f"{head} {labels.get(name, name)}" if head in ("index", "corpus") else key] = value
    return out


def _settings(parts: RunParts, labels: dict[str, str]) -> dict:
    query, study = manifests(parts)
    return _relabel(key_settings(query, study), labels)


def _settings_frame(run: dict, against: dict) -> pd.DataFrame:
    rows = []
    for key in dict.fromkeys([*against, *run]):
        old, new = against.get(key), run.get(key)
        rows.append({"setting": key, "against": _text(old), "run": _text(new), "changed": _text(old) != _text(new)})
    return pd.DataFrame(rows, columns=SETTING_COLUMNS)


def _text(value) -> str:
    return "" if value is None else str(value)


def _figure_rows(frame: pd.DataFrame, table: str, name_of: Callable[[dict], str]) -> list[dict]:
    rows = []
    for row in frame.to_dict("records") if not frame.empty else []:
        if "metric" in row:  # one row per metric, with the index search (value) and exactly
            if row["metric"] not in METRICS[table]:
                continue
            figures = [(row["metric"], "value", "value_ci"), (f"{row['metric']} exact", "exact", "exact_ci")]
        else:
            figures = PER_ROW[table]
        for metric, column, interval in figures:
            if column in row:
                rows.append(
                    {
                        "retriever": name_of(row),
                        "table": table,
                        "metric": metric,
                        "value": row[column],
                        "ci_low": row.get(f"{interval}_low", np.nan),
                        "ci_high": row.get(f"{interval}_high", np.nan),
                    }
                )
    return rows


def _figures_of(parts: RunParts, labels: dict[str, str]) -> pd.DataFrame:
    """One row per (retriever, table, metric): value and its interval, from the run's files."""

    def one(row: dict) -> str:
        return labels.get(str(row["collection"]), str(row["collection"]))

    def pair(row: dict) -> str:
        return " ~ ".join(sorted(labels.get(str(row[c]), str(row[c])) for c in ("collection_a", "collection_b")))

    rows: list[dict] = []
    tables = {name: read_frame(parts.study, name, prefer="csv") for name in METRICS | PER_ROW} if parts.study else {}
    for name, frame in tables.items():
        if name != "agreement":
            rows.extend(_figure_rows(frame, name, one))
    agreement = tables.get("agreement", pd.DataFrame())
    if agreement.empty and parts.query is not None:
        agreement = read_frame(parts.query, "agreement", prefer="csv")  # a query run: its agreement.csv
    rows.extend(_figure_rows(agreement, "agreement", pair))
    return pd.DataFrame(rows, columns=["retriever", "table", "metric", "value", "ci_low", "ci_high"])


def _figures_frame(run: pd.DataFrame, against: pd.DataFrame) -> pd.DataFrame:
    keys = ["retriever", "table", "metric"]
    merged = against.merge(run, on=keys, how="outer", suffixes=("_against", "_run"), sort=False)
    if merged.empty:
        return pd.DataFrame(columns=FIGURE_COLUMNS)
    out = pd.DataFrame(
        {
            **{k: merged[k] for k in keys},
            "against": merged["value_against"],
            "run": merged["value_run"],
            "change": merged["value_run"] - merged["value_against"],
            "against_ci_low": merged["ci_low_against"],
            "against_ci_high": merged["ci_high_against"],
            "run_ci_low": merged["ci_low_run"],
            "run_ci_high": merged["ci_high_run"],
        }
    )
    # models first, then baselines, each in the order the runs list them
    baseline = out["retriever"].map(lambda r: all(is_baseline(p) for p in str(r).split(" ~ ")))
    return out.assign(_b=baseline).sort_values(["_b"], kind="stable").drop(columns="_b").reset_index(drop=True)


def diff_runs(run: str | Path | RunParts, against: str | Path | RunParts) -> RunDiff:
    """What changed from AGAINST to RUN (both run folders, or study / query output folders).

    ``changes``: kind (model or collection), name, status (added, removed, changed weights),
    detail. ``settings``: each key setting of either run, its value in each and whether it
    changed (top_k, nprobe, ef, probes, index per model, the study's inputs, ...).
    ``figures``: per retriever (model alias, baseline, or two joined by `` ~ `` for agreement),
    table and metric: the value in each run, ``change`` = run - against, and each value's 95%
    interval as the run recorded it.
    """
    new = run if isinstance(run, RunParts) else run_parts(run)
    old = against if isinstance(against, RunParts) else run_parts(against)
    new_models, old_models = _models(new), _models(old)
    new_labels, old_labels = _labels(new_models), _labels(old_models)
    return RunDiff(
        run=new.path,
        against=old.path,
        changes=_changes(new_models, old_models),
        settings=_settings_frame(_settings(new, new_labels), _settings(old, old_labels)),
        figures=_figures_frame(_figures_of(new, new_labels), _figures_of(old, old_labels)),
    )
