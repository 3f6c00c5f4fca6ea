"""The sentence-transformers implementation of :class:`~harness.models.base.Embedder`.

torch and sentence-transformers are imported only when a model is loaded.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from harness.errors import ModelError
from harness.models.base import Embedder, Role
from harness.models.hashing import HashingEmbedder
from harness.models.specs import ModelRef, check_hub, resolve_model
from harness.records import ModelRecord

DEVICES = ("auto", "cpu", "cuda")


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
class SentenceTransformerEmbedder:
    """A loaded sentence-transformers model with what the harness records about it."""

    ref: ModelRef
    model: Any  # SentenceTransformer
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

    @property
    def cache_key(self) -> str:
        return f"{self.fingerprint}-fp16" if self.half else self.fingerprint

    def encode(self, texts: Sequence[str], batch_size: int = 64, role: Role = "document") -> np.ndarray:
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

    def describe(self) -> ModelRecord:
        return ModelRecord(
            alias=self.alias,
            spec=self.ref.spec,
            source=self.ref.source,
            fingerprint=self.fingerprint,
            dimension=self.dimension,
            parameters=self.parameters,
            max_seq_length=self.max_seq_length,
        )


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
    """The model a spec names, loaded: the built-in hashing encoder, else sentence-transformers."""
    ref = spec if isinstance(spec, ModelRef) else resolve_model(spec)
    if ref.builtin:
        return HashingEmbedder(ref)
    devices = _resolve_devices(device)
    torch_device = devices[0]
    if ref.hub_id:
        check_hub(ref)
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
    return SentenceTransformerEmbedder(
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
