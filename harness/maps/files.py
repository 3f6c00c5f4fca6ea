"""The map file: one ``.npz`` holding a map's arrays (``array_NAME``) and a JSON header string
(``header``) with its kind, both spaces (model alias, weights fingerprint, dimension), the
training size, the seed, the held-out figures and the format version. ``numpy.load(path)``
reads it without pickle, so anyone can recompute a figure from it."""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.maps.kinds import KINDS, MapError, SpaceMap

FORMAT = "harness-map"
FORMAT_VERSION = 1
HEADER_KEY = "header"


@dataclass(frozen=True)
class Space:
    """One side of a map: the model (alias, fingerprint, spec) and its dimension."""

    alias: str
    fingerprint: str
    dimension: int
    spec: str = ""
    collection: str = ""

    def describe(self) -> str:
        return f"{self.alias} (fingerprint {self.fingerprint or 'unknown'}, {self.dimension}-d)"


@dataclass(frozen=True)
class MapHeader:
    """What a map file says about itself: the kind, both spaces, how and on what it was fitted."""

    kind: str
    source: Space  # the new model, whose vectors the map takes
    target: Space  # the old collection's model, whose space it maps into
    train_rows: int
    seed: int
    params: dict = field(default_factory=dict)
    heldout: dict = field(default_factory=dict)  # figures on rows never used in fitting
    harness_version: str = ""
    created: str = ""
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, default=_plain)

    @classmethod
    def from_json(cls, raw: str, path: str | Path) -> "MapHeader":
        try:
            data = json.loads(raw)
            if data.get("format") != FORMAT:
                raise ValueError("its header names no harness map format")
            if int(data.get("format_version", 0)) > FORMAT_VERSION:
                raise MapError(
                    f"map file {path} has format version {data['format_version']}, newer than this harness reads "
                    f"({FORMAT_VERSION}): upgrade harness"
                )
            data["source"], data["target"] = _space(data["source"]), _space(data["target"])
            for name in ("params", "heldout"):
                if not isinstance(data.get(name, {}), dict):
                    raise ValueError(f"its {name} are not a mapping")
            for name in ("train_rows", "seed"):
                if not _whole(data.get(name)):
                    raise ValueError(f"its {name} is not a whole number")
            return cls(**data)
        except MapError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise MapError(f"{path} is not a harness map file: {str(exc) or type(exc).__name__}") from None


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _space(data: Any) -> Space:
    """One side of a header, its fields of the right types (a dimension given as "16" is not one)."""
    if not isinstance(data, dict):
        raise ValueError("a space of its header is not a mapping")
    space = Space(**data)
    if not _whole(space.dimension) or space.dimension < 1:
        raise ValueError(f"dimension {space.dimension!r} is not a whole number >= 1")
    if not all(isinstance(v, str) for v in (space.alias, space.fingerprint, space.spec, space.collection)):
        raise ValueError("a model name or fingerprint of its header is not text")
    return space


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


@dataclass
class MapFile:
    """A map with its header, as saved and loaded."""

    map: SpaceMap
    header: MapHeader
    path: Path | None = None

    @property
    def label(self) -> str:
        return f"map {self.path}" if self.path else f"the {self.header.kind} map"

    def apply(self, x: np.ndarray) -> np.ndarray:
        return self.map(x)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        if path.suffix != ".npz":
            raise MapError(f"a map file ends in .npz: {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, Any] = {f"array_{name}": value for name, value in self.map.arrays.items()}
        arrays[HEADER_KEY] = np.array(self.header.to_json())
        with open(path, "wb") as handle:
            np.savez(handle, **arrays)
        self.path = path
        return path

    def record(self) -> dict:
        """What a manifest records about the map: its file, the file's sha256, its header."""
        digest = hashlib.sha256(self.path.read_bytes()).hexdigest() if self.path and self.path.is_file() else ""
        return {"path": str(self.path or ""), "sha256": digest, **json.loads(self.header.to_json())}

    def check_source(self, alias: str, fingerprint: str, dimension: int) -> None:
        """Refuse a probe model the map was not fitted for (fingerprint or dimension)."""
        source = self.header.source
        if dimension != source.dimension or (fingerprint and source.fingerprint and fingerprint != source.fingerprint):
            given = Space(alias, fingerprint, dimension)
            raise MapError(
                f"{self.label} takes vectors of {source.describe()}, but the probe model is {given.describe()}"
            )

    def check_target(self, collection: str, alias: str, fingerprint: str, dimension: int | None) -> None:
        """Refuse a collection the map does not map into (fingerprint or dimension)."""
        target = self.header.target
        wrong_print = bool(fingerprint and target.fingerprint and fingerprint != target.fingerprint)
        if dimension != target.dimension or wrong_print:
            given = Space(alias, fingerprint, dimension or 0)
            raise MapError(
                f"{self.label} maps into {target.describe()}, but collection {collection} holds vectors of "
                f"{given.describe()}"
            )


def load_map(path: str | Path) -> MapFile:
    """A map file written by :meth:`MapFile.save`; anything else is one error line."""
    path = Path(path)
    if not path.is_file():
        raise MapError(f"map file not found: {path}")
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("a single array, not an archive")
        with data:
            contents = {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error):  # a truncated archive among them
        raise MapError(f"{path} is not a harness map file (not a numpy .npz archive)") from None
    if HEADER_KEY not in contents:
        raise MapError(f"{path} is not a harness map file (no header)")
    header = MapHeader.from_json(str(contents[HEADER_KEY]), path)
    if header.kind not in KINDS:
        raise MapError(f"{path} is not a harness map file: unknown kind {header.kind!r}")
    arrays = {name.removeprefix("array_"): value for name, value in contents.items() if name.startswith("array_")}
    try:
        if any(value.dtype.kind not in "biuf" for value in arrays.values()):
            raise ValueError("an array that does not hold numbers")
        space_map = KINDS[header.kind](arrays, header.params)
        probe = np.zeros((1, header.source.dimension), dtype=np.float32)
        out = space_map(probe)
    except (KeyError, ValueError, TypeError, IndexError, MapError) as exc:
        raise MapError(f"{path} is not a harness map file: its arrays do not fit its header ({exc})") from None
    if out.shape != (1, header.target.dimension):
        raise MapError(
            f"{path} is not a harness map file: it maps into {out.shape[1]}-d, its header says "
            f"{header.target.dimension}-d"
        )
    return MapFile(space_map, header, path)
