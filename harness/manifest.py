"""The run manifest written beside every query and study: what ran, on what, with what."""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone

from harness import __version__

PACKAGES = ("pymilvus", "milvus-lite", "sentence-transformers", "torch", "transformers", "numpy", "pandas")


def package_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version(), "harness": __version__}
    for package in PACKAGES:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            pass
    return versions


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class RunManifest:
    """Common to query and study runs; ``details`` holds what only one kind records."""

    uri: str
    backend: str
    collections: dict[str, dict]
    details: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    created: str = field(default_factory=now)
    versions: dict = field(default_factory=package_versions)

    def to_dict(self) -> dict:
        return {
            "created": self.created,
            "versions": self.versions,
            "uri": self.uri,
            "backend": self.backend,
            "collections": self.collections,
            **self.details,
            "notes": self.notes,
        }
