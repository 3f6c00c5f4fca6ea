"""The experiment file (TOML): defaults for ingest and query that a user can copy and edit."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import HarnessError

CONFIG_NAME = "harness.toml"


@dataclass
class Experiment:
    corpus: Path | None = None
    probes: Path | None = None
    models: list[str] = field(default_factory=list)
    uri: str | None = None
    nlist: int | None = None
    top_k: int = 10
    nprobe: int | None = None
    repeats: int = 3
    output: Path | None = None
    source: Path | None = None


def _path(base: Path, value: str | None) -> Path | None:
    if not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


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
    base = path.resolve().parent
    corpus, models = data.get("corpus", {}), data.get("models", {})
    milvus, index = data.get("milvus", {}), data.get("index", {})
    search, output = data.get("search", {}), data.get("output", {})
    uri = milvus.get("uri")
    if uri and uri.endswith(".db"):
        uri = str(_path(base, uri))
    try:
        return Experiment(
            corpus=_path(base, corpus.get("path")),
            probes=_path(base, corpus.get("probes")),
            models=[str(m) for m in models.get("names", [])],
            uri=uri,
            nlist=int(index.get("nlist") or 0) or None,
            top_k=int(search.get("top_k", 10)),
            nprobe=int(search.get("nprobe") or 0) or None,
            repeats=int(search.get("repeats", 3)),
            output=_path(base, output.get("dir")),
            source=path,
        )
    except (TypeError, ValueError) as exc:
        raise HarnessError(f"experiment file {path}: {exc}") from None
