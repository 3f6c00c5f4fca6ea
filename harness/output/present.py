"""Tables for people: short model names, column titles with units, numbers formatted to
their precision, a 95% interval shown with its figure, and the best value of a column
marked. The files keep the raw columns; only what people read goes through here."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from harness.records import BASELINE_PREFIX, full_text_parts, is_baseline
from harness.study.base import Column

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
BASELINE_COLOUR = "#8c8c8c"
BASELINE_TITLES = {"bm25": "BM25", "hashing": "hashing"}
FULL_TEXT_TITLES = {"milvus-bm25": "{model} · Milvus BM25", "hybrid": "{model} + BM25 (hybrid)"}


def baseline_title(name: str) -> str:
    """A baseline as people write it: BM25, hashing."""
    kind = name[len(BASELINE_PREFIX) :]
    return BASELINE_TITLES.get(kind, kind)


# Columns several tables share; each table declares its own (harness.study.Table.columns).
COLUMNS: dict[str, Column] = {
    "search": Column("Search", "text"),
    "items": Column("Items", "int"),
    "queries": Column("Queries", "int"),
    "groups": Column("Groups", "int"),
    "k": Column("k", "int"),
    "rows": Column("Rows", "int"),
}


@lru_cache(maxsize=1)
def declared_columns() -> dict[str, Column]:
    """Every column the registered measures' tables declare, and the shared ones."""
    from harness.study import tables

    found = dict(COLUMNS)
    for table in tables().values():
        found.update(table.columns)
    return found


def fmt(value, kind: str = "float3") -> str:
    """One figure for people: NaN as a dash, parameters in millions, thousands separated."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if kind == "text" or isinstance(value, str):
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if kind == "int":
        return f"{number:,.0f}"
    if kind == "millions":
        return f"{number / 1e6:,.1f}"
    digits = int(kind[-1]) if kind.startswith("float") else 3
    return f"{number:,.{digits}f}"


def with_interval(value, low, high, kind: str = "float3") -> str:
    if low is None or (isinstance(low, float) and math.isnan(low)):
        return fmt(value, kind)
    return f"{fmt(value, kind)} [{fmt(low, kind)}, {fmt(high, kind)}]"


class Names:
    """Short names for collections (their model's alias) and one colour each, the same in
    every table and plot. Baselines read "BM25 (baseline)" and are grey."""

    def __init__(self, collections: dict[str, dict] | None = None, extra: list[str] | None = None):
        self.short: dict[str, str] = {}
        aliases: dict[str, list[str]] = {}
        for name, record in (collections or {}).items():
            alias = str(((record or {}).get("model") or {}).get("alias") or name)
            aliases.setdefault(alias, []).append(name)
        for alias, names in aliases.items():
            for name in names:  # two collections of one model (two prefixes) keep their names
                self.short[name] = alias if len(names) == 1 else name
        self.order = list(self.short)
        for name in extra or []:
            self.add(name)

    def add(self, name: str) -> None:
        if name in self.short:
            return
        parts = full_text_parts(name)
        if is_baseline(name):
            self.short[name] = f"{baseline_title(name)} (baseline)"
        elif parts is not None:  # a collection's Milvus BM25 or hybrid search, named by its model
            self.short[name] = FULL_TEXT_TITLES[parts[1]].format(model=self.short.get(parts[0], parts[0]))
        else:
            self.short[name] = str(name)
        self.order.append(name)

    def __call__(self, name) -> str:
        name = str(name)
        self.add(name)
        return self.short[name]

    def colour(self, name) -> str:
        name = str(name)
        self.add(name)
        if is_baseline(name):
            return BASELINE_COLOUR
        models = [n for n in self.order if not is_baseline(n)]
        return PALETTE[models.index(name) % len(PALETTE)]


NAME_TITLES = {"collection": "Model", "collection_a": "Model A", "collection_b": "Model B"}


@dataclass
class PeopleTable:
    """Display strings, with the cells whose value is the best of its column."""

    frame: pd.DataFrame
    best: set[tuple[int, str]]
    note: str = ""
    collections: list[str] | None = None  # each row's collection (or baseline), for its colour and style


def people_table(frame: pd.DataFrame, names: Names, columns: list[str] | None = None) -> PeopleTable:
    """Known columns titled and formatted; each X with X_ci_low/X_ci_high shown as one
    "X [low, high]" cell; the best model's value marked where the column has a direction
    (baselines are not marked: the marks compare the models)."""
    frame = frame.reset_index(drop=True)
    columns = [c for c in (columns or list(frame.columns)) if c in frame.columns]
    shown: dict[str, list[str]] = {}
    best: set[tuple[int, str]] = set()
    for column in columns:
        if column.endswith(("_ci_low", "_ci_high")) or column in ("ci_low", "ci_high"):
            continue
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        spec = declared_columns().get(column, Column(column.replace("_", " "), "float3" if numeric else "text"))
        if column in NAME_TITLES:
            shown[NAME_TITLES.get(column, column)] = [names(v) for v in frame[column]]
            continue
        low, high = f"{column}_ci_low", f"{column}_ci_high"
        if low in frame and high in frame:
            cells = [with_interval(v, lo, hi, spec.kind) for v, lo, hi in zip(frame[column], frame[low], frame[high])]
            title = f"{spec.title} [95% CI]"
        else:
            cells = [fmt(v, spec.kind) for v in frame[column]]
            title = spec.title
        shown[title] = cells
        if spec.better and "collection" in frame and pd.api.types.is_numeric_dtype(frame[column]):
            models = frame[~frame["collection"].map(is_baseline)]
            values = pd.to_numeric(models[column], errors="coerce").dropna()
            if len(values) > 1:
                target = values.max() if spec.better == "high" else values.min()
                best.update((int(i), title) for i in values.index[values == target])
    collections = [str(c) for c in frame["collection"]] if "collection" in frame else None
    return PeopleTable(pd.DataFrame(shown), best, collections=collections)
