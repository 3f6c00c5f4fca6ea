"""The experiment file (TOML): defaults for every command that a user can copy and edit.

Keys are strict: an unknown section or key, or a value of the wrong type, is one error
line naming the file and the key. The file only supplies defaults: the command line and
the environment (MILVUS_URI, MILVUS_TOKEN) come first, as :meth:`Experiment.defaults_for`
feeds click's ``default_map``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import tomllib

from harness.errors import HarnessError
from harness.inputs import default_probe_file
from harness.records import INDEX_TYPES

CONFIG_NAME = "harness.toml"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_stemmer(value: Any) -> bool:
    if value == "none":
        return True
    try:
        import Stemmer
    except ImportError:  # reported when the baseline is built
        return isinstance(value, str)
    return value in Stemmer.algorithms()


# section -> key -> (type check, what is expected)
SCHEMA: dict[str, dict[str, tuple[Callable[[Any], bool], str]]] = {
    "corpus": {
        "path": (lambda v: isinstance(v, str), "a file path"),
        "probes": (lambda v: isinstance(v, str), "a file path"),
    },
    "models": {
        "names": (
            lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
            'a list of model names, e.g. ["all-MiniLM-L6-v2"]',
        )
    },
    "milvus": {"uri": (lambda v: isinstance(v, str), "a Milvus Lite file or a server URI")},
    "index": {
        "type": (lambda v: isinstance(v, str) and v.upper() in INDEX_TYPES, f"one of {', '.join(INDEX_TYPES)}"),
        "nlist": (lambda v: _is_int(v) and v >= 0, "a whole number >= 0 (0: the default)"),
        "full_text": (lambda v: isinstance(v, bool), "true or false (a full-text side: Milvus BM25 and hybrid)"),
    },
    "search": {
        "top_k": (lambda v: _is_int(v) and v >= 1, "a whole number >= 1"),
        "nprobe": (lambda v: _is_int(v) and v >= 0, "a whole number >= 0 (0: the server's default)"),
        "ef": (lambda v: _is_int(v) and v >= 0, "a whole number >= 0 (0: the server's default; HNSW)"),
        "repeats": (lambda v: _is_int(v) and v >= 0, "a whole number >= 0 (timed searches per probe)"),
    },
    "evaluate": {
        "pairs": (lambda v: isinstance(v, str), "a file path"),
        "graded": (lambda v: isinstance(v, str), "a file path"),
        "qrels": (lambda v: isinstance(v, str), "a file path"),
        "repeats": (lambda v: _is_int(v) and v >= 1, "a whole number >= 1 (model loads and encodes timed)"),
    },
    "output": {"dir": (lambda v: isinstance(v, str), "a folder path")},
    # [baselines.bm25]: the BM25 baseline's setting (harness.baselines.Bm25Settings)
    "baselines.bm25": {
        "k1": (lambda v: _is_number(v) and v >= 0, "a number >= 0 (term frequency saturation; 0.9 in Anserini)"),
        "b": (lambda v: _is_number(v) and 0 <= v <= 1, "a number from 0 to 1 (length normalisation; 0.4)"),
        "stemmer": (_is_stemmer, 'a PyStemmer algorithm ("porter", "english", ...) or "none"'),
        "stopwords": (lambda v: v in ("en", "none"), '"en" (Lucene\'s English stop words) or "none"'),
        "method": (
            lambda v: v in ("lucene", "robertson", "atire", "bm25l", "bm25+"),
            "one of lucene, robertson, atire, bm25l, bm25+ (bm25s's variants)",
        ),
    },
}
# Sections written as [parent.child] tables; the parent holds nothing else.
NESTED = ("baselines",)


@dataclass
class Experiment:
    corpus: Path | None = None
    probes: Path | None = None
    models: list[str] = field(default_factory=list)
    uri: str | None = None
    nlist: int | None = None
    index: str | None = None
    full_text: bool | None = None
    top_k: int | None = None
    nprobe: int | None = None
    ef: int | None = None
    repeats: int | None = None
    pairs: Path | None = None
    graded: Path | None = None
    qrels: Path | None = None
    evaluate_repeats: int | None = None
    output: Path | None = None
    bm25: dict[str, Any] = field(default_factory=dict)  # [baselines.bm25]
    source: Path | None = None

    def defaults_for(self, command: str) -> dict[str, Any]:
        """What this file sets for one command's options (by parameter name); None values omitted."""
        probes = self.probes or (default_probe_file(self.corpus) if self.corpus else None)
        ingest = {
            "corpus": self.corpus,
            "model": self.models or None,
            "uri": self.uri,
            "nlist": self.nlist,
            "index": self.index,
            "full_text": self.full_text,
        }
        search = {"probes": probes, "top_k": self.top_k, "nprobe": self.nprobe, "ef": self.ef, "uri": self.uri}
        judged = {"pairs": self.pairs, "graded": self.graded, "qrels": self.qrels}
        # [output] dir is the results folder runs are kept under; --output names one folder.
        results = {"results": self.output}
        per_command: dict[str, dict[str, Any]] = {
            "ingest": ingest,
            "query": {**search, "repeats": self.repeats, **results},
            "evaluate": {**search, **judged, "repeats": self.evaluate_repeats, **results},
            # compare reads what ingest, query and evaluate read; the study's repeats have their own name
            "compare": {
                **ingest,
                **search,
                **judged,
                "repeats": self.repeats,
                "cost_repeats": self.evaluate_repeats,
                **results,
            },
            "align": {
                "probes": probes,
                "qrels": self.qrels,
                "top_k": self.top_k,
                "nprobe": self.nprobe,
                "uri": self.uri,
            },
            "collections": {"uri": self.uri},
            "runs": results,
            "report": results,
        }
        return {k: v for k, v in per_command.get(command, {}).items() if v is not None}


def _path(base: Path, value: str | None) -> Path | None:
    if not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def _flattened(path: Path, data: dict) -> dict:
    """``[baselines.bm25]`` as the section ``baselines.bm25``."""
    flat = {}
    for section, values in data.items():
        if section in NESTED and isinstance(values, dict):
            for child, child_values in values.items():
                if f"{section}.{child}" not in SCHEMA:
                    known = ", ".join(s for s in SCHEMA if s.startswith(f"{section}."))
                    raise HarnessError(f"experiment file {path}: unknown section [{section}.{child}] (known: {known})")
                flat[f"{section}.{child}"] = child_values
        else:
            flat[section] = values
    return flat


def _checked(path: Path, data: dict) -> dict[str, dict[str, Any]]:
    data = _flattened(path, data)
    for section, values in data.items():
        if section not in SCHEMA:
            raise HarnessError(f"experiment file {path}: unknown section [{section}] (known: {', '.join(SCHEMA)})")
        if not isinstance(values, dict):
            raise HarnessError(f"experiment file {path}: [{section}] must be a table of keys")
        for key, value in values.items():
            if key not in SCHEMA[section]:
                raise HarnessError(
                    f"experiment file {path}: unknown key {key!r} in [{section}] (known: {', '.join(SCHEMA[section])})"
                )
            check, expected = SCHEMA[section][key]
            if not check(value):
                raise HarnessError(f"experiment file {path}: [{section}] {key} = {value!r}: expected {expected}")
    return {section: data.get(section, {}) for section in SCHEMA}


def load_experiment(path: str | Path | None = None) -> Experiment:
    """Read FILE, or ./harness.toml if it exists, else built-in defaults."""
    if path is None:
        candidate = Path.cwd() / CONFIG_NAME
        if not candidate.exists():
            return Experiment()
        path = candidate
    path = Path(path)
    if not path.is_file():
        raise HarnessError(f"experiment file not found: {path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise HarnessError(f"experiment file {path} is not valid TOML: {exc}") from None
    sections = _checked(path, data)
    base = path.resolve().parent
    corpus, milvus, search, evaluate = sections["corpus"], sections["milvus"], sections["search"], sections["evaluate"]
    uri = milvus.get("uri")
    if uri and uri.endswith(".db"):
        uri = str(_path(base, uri))
    return Experiment(
        corpus=_path(base, corpus.get("path")),
        probes=_path(base, corpus.get("probes")),
        models=list(sections["models"].get("names", [])),
        uri=uri,
        nlist=sections["index"].get("nlist") or None,
        index=(sections["index"].get("type") or "").upper() or None,
        full_text=sections["index"].get("full_text"),
        top_k=search.get("top_k"),
        nprobe=search.get("nprobe") or None,
        ef=search.get("ef") or None,
        repeats=search.get("repeats"),
        pairs=_path(base, evaluate.get("pairs")),
        graded=_path(base, evaluate.get("graded")),
        qrels=_path(base, evaluate.get("qrels")),
        evaluate_repeats=evaluate.get("repeats"),
        output=_path(base, sections["output"].get("dir")),
        bm25=dict(sections["baselines.bm25"]),
        source=path,
    )
