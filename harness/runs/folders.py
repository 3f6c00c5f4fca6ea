"""Runs that are kept: each query, evaluate and compare run writes its own folder under the
results root, and a ``latest`` pointer names the newest.

Layout under the results root (``[output] dir``, else ``harness-results``)::

    runs/20250101T120000Z-compare-demo/   one run: UTC start time, kind, the --name
        run.json                          kind, name, times, settings, collections, models
        query/                            hits.csv, overlap.csv, ... (query and compare runs)
        study/                            the study's tables, plots and study.json (evaluate, compare)
        report.html                       the HTML report (evaluate, compare)
    latest -> runs/20250101T120000Z-compare-demo   (a text file naming it where links are not possible)
    report.html                           a copy of the newest run's report

A run folder is written under a hidden name and renamed when complete, never over another
run (:class:`harness.files.FreshFolder`), so a folder with a visible name is always whole.
What changed between two runs is in :mod:`harness.runs.diff`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from harness import __version__
from harness.errors import HarnessError
from harness.files import FreshFolder, output_folder, remove_dead_partials, replace_copy
from harness.records import IndexSpec

DEFAULT_ROOT = Path("harness-results")
RUNS = "runs"
LATEST = "latest"
RUN_FILE = "run.json"
REPORT = "report.html"
QUERY, STUDY = "query", "study"
KINDS = ("query", "evaluate", "compare")
SCHEMA = 1
RUN_FILES = (f"{QUERY}/", f"{STUDY}/", REPORT, RUN_FILE)  # what a run folder holds, for --output DIR
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def check_name(name: str) -> str:
    """A run name as it goes into the folder name: blanks become ``-``; anything but letters,
    digits, ``.``, ``-`` and ``_`` is refused (a name is never a path)."""
    cleaned = re.sub(r"\s+", "-", name.strip())
    if not _NAME.fullmatch(cleaned):
        raise HarnessError(
            f"--name {name!r}: use letters, digits, '.', '-' and '_' (at most 64, starting with a letter or digit)"
        )
    return cleaned


@dataclass(frozen=True)
class RunParts:
    """Where a run's (or a plain output folder's) parts are; None: it has no such part."""

    path: Path
    query: Path | None = None
    study: Path | None = None
    report: Path | None = None
    record: dict = field(default_factory=dict)  # run.json; empty for a plain --output folder


def _is_query(folder: Path) -> bool:
    return (folder / "overlap.csv").is_file()


def _is_study(folder: Path) -> bool:
    return (folder / "study.json").is_file()


def run_parts(path: str | Path) -> RunParts:
    """The parts of a run folder, or of a folder written by ``query --output`` or
    ``evaluate --output`` (a study or a query folder alone)."""
    path = Path(path)
    if (path / RUN_FILE).is_file():
        record = _read_record(path)
        return RunParts(
            path,
            query=path / QUERY if _is_query(path / QUERY) else None,
            study=path / STUDY if _is_study(path / STUDY) else None,
            report=path / REPORT if (path / REPORT).is_file() else None,
            record=record,
        )
    if _is_study(path):
        report = path / REPORT
        return RunParts(path, study=path, report=report if report.is_file() else None)
    if _is_query(path):
        return RunParts(path, query=path)
    raise HarnessError(f"{path} is not a harness run, study or query folder (no run.json, study.json or overlap.csv)")


def query_folder(path: str | Path) -> Path:
    """The query output inside a run folder, or the folder itself (``query --output``)."""
    parts = run_parts(path)
    if parts.query is None:
        raise HarnessError(f"{path} holds no query output (no overlap.csv): run harness query first")
    return parts.query


def study_folder(path: str | Path) -> Path:
    """The study inside a run folder, or the folder itself (``evaluate --output``)."""
    parts = run_parts(path)
    if parts.study is None:
        raise HarnessError(f"{path} holds no study (no study.json): run harness evaluate first")
    return parts.study


def _read_record(path: Path) -> dict:
    try:
        record = json.loads((path / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HarnessError(f"{path / RUN_FILE} is not readable ({exc})") from None
    if not isinstance(record, dict) or record.get("kind") not in KINDS:
        raise HarnessError(f"{path / RUN_FILE} is not a harness run record")
    return record


# --- listing and finding runs --------------------------------------------------------------------


def check_root(root: str | Path) -> Path:
    """The results folder, refused in one line when it is a file (or holds a file named runs)."""
    for path in (Path(root), Path(root) / RUNS):
        if path.exists() and not path.is_dir():
            raise HarnessError(f"results folder {path} is a file, not a folder: choose another --results")
    return Path(root)


def list_runs(root: str | Path = DEFAULT_ROOT) -> list[RunParts]:
    """Every complete run under ROOT/runs, newest first (folders being written are hidden)."""
    folder = check_root(root) / RUNS
    found = []
    if folder.is_dir():
        for path in folder.iterdir():
            if path.name.startswith(".") or not (path / RUN_FILE).is_file():
                continue
            try:
                found.append(run_parts(path))
            except HarnessError:
                continue  # a damaged record: not a run to list or pick
    return sorted(found, key=lambda r: (str(r.record.get("created", "")), r.path.name), reverse=True)


def latest_run(root: str | Path = DEFAULT_ROOT) -> RunParts | None:
    """The run the ``latest`` pointer names (the newest run when the pointer is gone)."""
    pointer = check_root(root) / LATEST
    try:  # a damaged pointer (binary, a NUL byte) reads as a missing one: the newest run
        linked = pointer.is_symlink()
        target = pointer.resolve() if linked else Path(root) / pointer.read_text(encoding="utf-8").strip()
        if (linked or pointer.is_file()) and (target / RUN_FILE).is_file():
            return run_parts(target)
    except (HarnessError, OSError, ValueError):
        pass
    runs = list_runs(root)
    return runs[0] if runs else None


def latest_with(root: str | Path, part: str, uri: str | None = None) -> RunParts | None:
    """The newest run with a query (``part="query"``) or study part, from the same Milvus when
    ``uri`` is given (a run of another database would describe other collections)."""
    for run in list_runs(root):
        if getattr(run, part) is not None and (uri is None or run.record.get("uri") == uri):
            return run
    return None


def find_run(root: str | Path, ref: str | Path, part: str | None = None) -> RunParts:
    """A run by ``latest``, folder path, folder name (id), a unique start of one, or --name
    (the newest of that name). A results folder (one holding ``runs/``) stands for its newest
    run, with a ``part`` ("query" or "study") when one is asked for."""
    root = Path(root)
    text = str(ref)
    folder = Path(ref)
    if text == LATEST or ((folder / RUNS).is_dir() and not (folder / RUN_FILE).is_file()):
        base = root if text == LATEST else folder
        found = latest_with(base, part) if part else latest_run(base)
        if found is None:
            what = {"query": "query or compare", "study": "evaluate or compare"}.get(
                part or "", "query, evaluate or compare"
            )
            raise HarnessError(f"no {part + ' ' if part else ''}runs under {base / RUNS} yet: run harness {what}")
        return found
    if folder.is_dir():
        return run_parts(ref)
    if (root / RUNS / text).is_dir():
        return run_parts(root / RUNS / text)
    runs = list_runs(root)
    named = [r for r in runs if r.record.get("name") == text]
    if named:
        return named[0]
    started = [r for r in runs if r.path.name.startswith(text)]
    if len(started) == 1:
        return started[0]
    raise HarnessError(f"no run {text!r} under {root / RUNS}: harness runs lists them")


def prune(root: str | Path, keep: int) -> list[Path]:
    """Delete all but the newest KEEP runs (never the one ``latest`` names); returns what went."""
    if keep < 1:
        raise HarnessError("--prune N keeps the newest N runs: N must be at least 1")
    runs = list_runs(root)
    latest = latest_run(root)
    removed = []
    for run in runs[keep:]:
        if latest is not None and run.path.resolve() == latest.path.resolve():
            continue
        shutil.rmtree(run.path)
        removed.append(run.path)
    if (Path(root) / RUNS).is_dir():
        remove_dead_partials(Path(root) / RUNS)
    return removed


# --- what a run records -----------------------------------------------------------------------------


def _json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def manifests(parts: RunParts) -> tuple[dict, dict]:
    """The query manifest and the study manifest of a run (empty where it has no such part)."""
    query = _json(parts.query / "manifest.json") if parts.query else {}
    study = _json(parts.study / "study.json").get("manifest", {}) if parts.study else {}
    return query, study if isinstance(study, dict) else {}


def _probes_label(probes: list) -> str | None:
    if not probes:
        return None
    digest = hashlib.sha256("\n".join(str(p.get("text", "")) for p in probes if isinstance(p, dict)).encode())
    return f"{len(probes)} probes (sha256 {digest.hexdigest()[:12]})"


def models_of(manifest: dict) -> dict[str, dict]:
    """Collection (or model, in a study without collections) -> its model record."""
    found = {name: dict(summary.get("model") or {}) for name, summary in (manifest.get("collections") or {}).items()}
    found.update({name: dict(record) for name, record in (manifest.get("models_compared") or {}).items()})
    return found


def key_settings(query: dict, study: dict) -> dict[str, Any]:
    """The settings that decide a run's figures, flat and comparable between two runs."""
    out: dict[str, Any] = {}
    if query:
        search = query.get("search") or {}
        for key in ("top_k", "nprobe", "ef", "repeats", "exact"):
            out[f"query {key}"] = search.get(key)
        out["query probe_model"] = query.get("probe_model")
        out["query probes"] = _probes_label(query.get("probes") or [])
        out["query baselines"] = ", ".join(sorted(query.get("baselines") or {})) or None
    if study:
        parameters = study.get("parameters") or {}
        for key in ("top_k", "nprobe", "ef", "repeats", "seed"):
            out[f"study {key}"] = parameters.get(key)
        out["study baselines"] = ", ".join(parameters.get("baselines") or []) or None
        out["study measures"] = ", ".join(study.get("measures") or []) or None
        for key, value in (study.get("inputs") or {}).items():
            out[f"study {key}"] = value
    for manifest in (query, study):
        for name, summary in (manifest.get("collections") or {}).items():
            out[f"index {name}"] = IndexSpec.from_dict(summary.get("index")).describe()
            corpus = summary.get("corpus") or {}
            out[f"corpus {name}"] = f"{corpus.get('path', '?')} (sha256 {str(corpus.get('sha256', ''))[:12]})"
    return out


def describe(parts: RunParts) -> dict[str, Any]:
    """What run.json records beside the kind and times: the Milvus, the collections, the
    models with their fingerprints, and the key settings, all read from the written manifests."""
    query, study = manifests(parts)
    models: dict[str, dict] = {}
    for manifest in (query, study):
        for name, record in models_of(manifest).items():
            models[name] = {
                "collection": name if name in (manifest.get("collections") or {}) else None,
                **{k: record.get(k) for k in ("alias", "spec", "fingerprint", "dimension")},
            }
    uri = study.get("uri") if study else query.get("uri")
    collections = list(dict.fromkeys([*(query.get("collections") or {}), *(study.get("collections") or {})]))
    return {
        "uri": uri,
        "collections": collections,
        "models": list(models.values()),
        "settings": key_settings(query, study),
    }


# --- writing a run ---------------------------------------------------------------------------------


class NewRun:
    """One run's folder: its name is fixed (and checked) when the command starts; the folder
    appears, whole, when the command has written it. With ``output`` the run goes to that
    folder instead, replaced whole, and no pointer moves."""

    def __init__(
        self,
        kind: str,
        root: str | Path | None = None,
        name: str | None = None,
        output: str | Path | None = None,
        settings: dict | None = None,
    ):
        if kind not in KINDS:
            raise HarnessError(f"unknown run kind {kind!r}")
        if name and output is not None:
            raise HarnessError(
                "--name names a run kept under the results folder; --output writes the one folder you give: use one"
            )
        self.kind = kind
        self.root = check_root(root) if root is not None else DEFAULT_ROOT
        self.name = check_name(name) if name else ""
        self.output = Path(output) if output is not None else None
        self.created = datetime.now(timezone.utc)
        self.settings = dict(settings or {})  # what the command was given, beyond the manifests
        self.path: Path | None = None

    @property
    def base_id(self) -> str:
        return f"{self.created:%Y%m%dT%H%M%SZ}-{self.kind}" + (f"-{self.name}" if self.name else "")

    def _record(self, folder: Path) -> None:
        parts = run_parts_unrecorded(folder)
        described = describe(parts)
        record = {
            "schema": SCHEMA,
            "kind": self.kind,
            "name": self.name or None,
            "created": self.created.isoformat(timespec="milliseconds"),
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "harness_version": __version__,
            **described,
            "settings": {**described["settings"], **self.settings},
            "parts": [
                p for p, present in ((QUERY, parts.query), (STUDY, parts.study), (REPORT, parts.report)) if present
            ],
        }
        (folder / RUN_FILE).write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")

    @contextmanager
    def folder(self) -> Iterator[Path]:
        """The folder to write the run's parts into (``query/``, ``study/``, ``report.html``);
        run.json is added and the folder appears under its name when the block ends."""
        if self.output is not None:
            with output_folder(self.output, RUN_FILES) as partial:
                yield partial
                self._record(partial)
            self.path = self.output
            return
        fresh = FreshFolder(self.root / RUNS, self.base_id)
        with fresh:
            yield fresh.partial
            self._record(fresh.partial)
        assert fresh.path is not None
        self.path = fresh.path
        point_latest(self.root, self.path)
        if (self.path / REPORT).is_file():
            replace_copy(self.path / REPORT, self.root / REPORT)


def run_parts_unrecorded(folder: Path) -> RunParts:
    """The parts of a run folder being written (no run.json yet)."""
    return RunParts(
        folder,
        query=folder / QUERY if _is_query(folder / QUERY) else None,
        study=folder / STUDY if _is_study(folder / STUDY) else None,
        report=folder / REPORT if (folder / REPORT).is_file() else None,
    )


def point_latest(root: Path, run: Path) -> None:
    """Make ROOT/latest name RUN, replaced atomically: a relative symbolic link, or where the
    system makes none, a text file holding the run's path relative to ROOT."""
    pointer = root / LATEST
    if pointer.exists() and pointer.is_dir() and not pointer.is_symlink():
        raise HarnessError(f"{pointer} is a folder, not the harness's pointer to the latest run: move it away")
    relative = os.path.relpath(run, root)
    partial = root / f".{LATEST}.partial-{os.getpid()}"
    if partial.is_symlink() or partial.exists():
        partial.unlink()
    try:
        os.symlink(relative, partial, target_is_directory=True)
    except (OSError, NotImplementedError):
        partial.write_text(relative + "\n", encoding="utf-8")
    os.replace(partial, pointer)
