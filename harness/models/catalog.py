"""What `harness models` shows: the packaged offline models, read from their files without loading."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from harness.models.packaged import PACKAGED_MODELS, packaged_folder
from harness.models.variants import available_variants


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _safetensors_parameters(path: Path) -> int:
    with open(path, "rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(length))
    total = 0
    for name, entry in header.items():
        if name != "__metadata__":
            count = 1
            for size in entry["shape"]:
                count *= size
            total += count
    return total


def folder_metadata(folder: Path) -> dict:
    """Dimension and parameter count read from a sentence-transformers folder's files."""
    dimension = None
    pooling = sorted(folder.glob("*Pooling*/config.json"))
    if pooling:
        dimension = json.loads(pooling[0].read_text()).get("word_embedding_dimension")
    dense = sorted(folder.glob("*Dense*/config.json"))
    if dense:
        dimension = json.loads(dense[-1].read_text()).get("out_features", dimension)
    parameters = sum(_safetensors_parameters(p) for p in folder.rglob("*.safetensors"))
    return {"dimension": dimension, "parameters": parameters or None, "size_bytes": folder_size(folder)}


def list_packaged_models() -> list[dict]:
    rows = []
    for model in PACKAGED_MODELS:
        folder = packaged_folder(model, assemble=False)  # listing never assembles a split model
        volumes = model.archive.installed_volumes() if model.archive is not None and folder is None else None
        row = {
            "alias": model.alias,
            "installed": folder is not None or volumes is not None,
            "dimension": model.dimension,
            "parameters": model.parameters,
            "size_mb": None,
            "pip": "make mpnet" if model.archive is not None else model.pip_name,
            "description": model.description,
            "path": str(folder) if folder else ("assembled on first use" if volumes else ""),
            "variants": ", ".join(available_variants(folder)) if folder else "",
        }
        if folder:
            meta = folder_metadata(folder)
            row["dimension"] = meta["dimension"] or model.dimension
            row["parameters"] = meta["parameters"] or model.parameters
            row["size_mb"] = round(meta["size_bytes"] / 1e6, 1)
        rows.append(row)
    return rows
