"""The sentence-transformers implementation of :class:`~harness.models.base.Embedder`, and
``load_model``, which also builds and loads a model's variants (ONNX in
:mod:`harness.models.onnx`, static distillations in :mod:`harness.models.static`).

torch and sentence-transformers are imported only when a model is loaded.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import numpy as np

from harness.errors import ModelError
from harness.models.base import Embedder, Role
from harness.models.catalog import folder_size
from harness.models.encoding import Encoding
from harness.models.hashing import HashingEmbedder
from harness.models.loading import (
    base_fingerprint,
    check_truncation,
    describe_model,
    encoding_of,
    import_library,
    open_folder,
    weights_fingerprint,
)
from harness.models.specs import ModelRef, check_hub, resolve_model
from harness.models.variants import (
    Variant,
    build_artefact,
    missing_extra,
    remember_fingerprint,
    variant_fingerprint,
)
from harness.records import ModelRecord, ProgressFn, Truncation

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


# Tokens per batch of a long-text encode: on 2 CPU cores all-MiniLM-L6-v2 encoded 512
# documents of about 250 tokens in 37.7 s and 214 MB above its load in batches of 16, in 46.1 s
# and 500 MB in batches of 64 (the attention scores grow with batch x length^2).
TOKENS_PER_BATCH = 16 * 256


def token_batches(texts: Sequence[str], batch_size: int, limit: int | None) -> dict[int, list[int] | None]:
    """Batch size -> the positions encoded with it: ``batch_size`` for short texts, fewer per
    batch for long ones, so a batch holds about TOKENS_PER_BATCH tokens (a token takes about
    3 characters or more). Short texts only: one group, all positions (None)."""
    cap = limit or 512
    sizes = []
    for text in texts:
        tokens = min(cap, len(text) // 3 + 2)
        size = batch_size
        while size > 1 and size * tokens > TOKENS_PER_BATCH:
            size //= 2
        sizes.append(size)
    if all(size == batch_size for size in sizes):
        return {batch_size: None}
    groups: dict[int, list[int] | None] = {}
    for position, size in enumerate(sizes):
        found = groups.setdefault(size, [])
        assert found is not None
        found.append(position)
    return groups


@dataclass
class SentenceTransformerEmbedder:
    """A loaded sentence-transformers model (torch, or a static distillation) with what the
    harness records about it."""

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
    encoding: Encoding = field(default_factory=Encoding)
    base_fingerprint: str = ""  # a variant's base model
    size_bytes: int | None = None

    @property
    def alias(self) -> str:
        return self.ref.alias

    @property
    def cache_key(self) -> str:
        return (f"{self.fingerprint}-fp16" if self.half else self.fingerprint) + self.encoding.key_suffix

    def encode(self, texts: Sequence[str], batch_size: int = 64, role: Role = "document") -> np.ndarray:
        """float32 (n, dim) vectors: probes as queries, corpus lines as documents, each with
        its prompt; static models' float16 output is cast."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self.pool_devices and self._pool is None:
            self._pool = self.model.start_multi_process_pool(self.pool_devices)
        # encode_query / encode_document also route the input of models with a Router module
        method = self.model.encode_query if role == "query" else self.model.encode_document
        texts = list(texts)
        groups = token_batches(texts, batch_size, self.max_seq_length) if self._pool is None else {batch_size: None}
        parts: list[np.ndarray] = []
        order: list[int] = []
        for size, positions in groups.items():
            chosen = texts if positions is None else [texts[i] for i in positions]
            parts.append(
                method(
                    chosen,
                    prompt=self.encoding.prompt(role),
                    batch_size=size,
                    show_progress_bar=False,
                    convert_to_numpy=True,
                    pool=self._pool,
                )
            )
            order.extend(range(len(texts)) if positions is None else positions)
        vectors = parts[0] if len(parts) == 1 else np.concatenate(parts)[np.argsort(order, kind="stable")]
        return self.encoding.finish(vectors)

    def close(self) -> None:
        """Stop the encoding processes of a multi-device embedder."""
        if self._pool is not None:
            self.model.stop_multi_process_pool(self._pool)
            self._pool = None

    def truncation(self, texts: Sequence[str]) -> Truncation:
        """How many texts (with the document prompt) exceed the model's max sequence length, and
        the share of their tokens cut off."""
        limit = self.max_seq_length
        tokenizer = getattr(self.model, "tokenizer", None)
        if not limit or tokenizer is None or not callable(tokenizer):
            return Truncation(len(texts))
        prompt = self.encoding.prompt("document")
        # A token covers at least one character, so only long texts can overflow.
        long_texts = [prompt + t for t in texts if len(prompt) + len(t) + 2 > limit]
        if not long_texts:
            return Truncation(len(texts))
        ids = tokenizer(long_texts, add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
        return Truncation.of(len(texts), [len(row) for row in ids], limit)

    def describe(self) -> ModelRecord:
        return describe_model(self)


def _finite_length(value) -> int | None:
    """A static model (StaticEmbedding) has no length limit and reports math.inf: None here,
    so that metadata and manifests stay valid JSON."""
    try:
        return int(value) if value and value != float("inf") else None
    except (TypeError, ValueError, OverflowError):
        return None


def _check_precision(variant: Variant, devices: list[str | None]) -> None:
    if variant.precision == "fp32":
        return
    import torch

    if not any(d and d.startswith("cuda") for d in devices) and not (devices == [None] and torch.cuda.is_available()):
        raise ModelError(
            f"@{variant.precision} needs a GPU (--device cuda): on CPU it is slower than fp32 (measured 2-5x here)"
        )


def _load_static(
    ref: ModelRef, torch_device: str | None, trust_remote_code: bool, progress: ProgressFn | None
) -> SentenceTransformerEmbedder:
    from harness.models.static import check_static_dims, distill_static, hidden_size

    assert ref.path is not None
    check_static_dims(ref, hidden_size(ref.path))
    base, _ = base_fingerprint(ref, trust_remote_code)
    folder = build_artefact(
        base, ref.variant, lambda staged: distill_static(ref, staged, torch_device, trust_remote_code, progress)
    )
    import_library()
    started = time.perf_counter()  # the load, not the distillation (a one-off, cached)
    model = open_folder(str(folder), torch_device, False, True, ref.spec)
    dimension = int(model.get_embedding_dimension() or model.encode(["probe"]).shape[1])
    check_truncation(ref, dimension)
    return SentenceTransformerEmbedder(
        ref=ref,
        model=model,
        device=str(model.device),
        dimension=ref.variant.dim or dimension,
        max_seq_length=None,
        fingerprint=variant_fingerprint(base, ref.variant),
        load_seconds=time.perf_counter() - started,
        parameters=sum(p.numel() for p in model.parameters()),
        encoding=encoding_of(ref, model),
        base_fingerprint=base,
        size_bytes=folder_size(folder),
    )


def load_model(
    spec: str | ModelRef,
    device: str = "auto",
    trust_remote_code: bool = False,
    half: bool = False,
    progress: ProgressFn | None = None,
) -> Embedder:
    """Load a model (or build and load one of its variants); ``progress`` hears about exports
    and distillations, which take a while the first time."""
    ref = spec if isinstance(spec, ModelRef) else resolve_model(spec)
    embedder = _load(ref, device, trust_remote_code, half, progress)
    if ref.max_seq_length is not None:
        limit_length(embedder, ref.max_seq_length)
    return embedder


def _load(ref: ModelRef, device: str, trust_remote_code: bool, half: bool, progress: ProgressFn | None) -> Embedder:
    if ref.builtin:
        if not ref.variant.is_base:
            raise ModelError(f"{ref.spec}: the built-in {ref.alias} encoder has no variants")
        return HashingEmbedder(ref)
    problem = missing_extra(ref.variant)
    if problem:
        raise ModelError(problem)
    devices = _resolve_devices(device)
    torch_device = devices[0]
    if ref.variant.backend in ("onnx", "openvino"):
        if any(d and d.startswith("cuda") for d in devices) or len(devices) > 1:
            raise ModelError(
                f"@{ref.variant.backend_label} runs on the CPU (its runtime's CPU provider): use --device cpu"
            )
        from harness.models.onnx import load_onnx

        return load_onnx(ref, trust_remote_code, progress)
    if ref.variant.backend == "static":
        return _load_static(ref, torch_device, trust_remote_code, progress)
    return _load_torch(ref, devices, trust_remote_code, half)


def limit_length(embedder: Embedder, length: int) -> None:
    """Read documents and probes up to ``length`` tokens instead of the model's own maximum
    sequence length (recorded with the collection; part of the embedding cache key). A model
    with no limit (static, hashing) is left as it is."""
    own = embedder.max_seq_length
    if own is None or length == own:
        return
    if length < 1:
        raise ModelError("--max-seq-length must be at least 1")
    from harness.models.onnx import OnnxEmbedder

    if isinstance(embedder, SentenceTransformerEmbedder):
        ceiling = _position_limit(embedder.model)
        if ceiling is not None and length > ceiling:
            raise ModelError(
                f"--max-seq-length {length}: {embedder.alias} reads at most {ceiling} tokens (its position embeddings)"
            )
        embedder.model.max_seq_length = length
        embedder.max_seq_length = length
        embedder.encoding = replace(embedder.encoding, max_length=length)
    elif isinstance(embedder, OnnxEmbedder):
        if length > own:
            raise ModelError(
                f"--max-seq-length {length}: {embedder.alias} was exported to read at most {own} tokens; "
                "use the model itself (without @) for a longer limit"
            )
        embedder.meta["max_seq_length"] = length
        embedder.tokenizer.enable_truncation(max_length=length, strategy="longest_first", direction="right")
        embedder.encoding = replace(embedder.encoding, max_length=length)
    else:
        raise ModelError(f"--max-seq-length: {embedder.alias} cannot change its maximum sequence length")


# Models that number positions from padding_idx + 1: two of their position embeddings are not positions.
OFFSET_POSITIONS = ("roberta", "xlm-roberta", "camembert", "mpnet", "longformer")


def _position_limit(model) -> int | None:
    """The most tokens the model can read: its position embeddings (None: unknown)."""
    try:
        config = model[0].auto_model.config
    except (AttributeError, IndexError, TypeError, KeyError):
        return None
    positions = int(getattr(config, "max_position_embeddings", 0) or 0)
    if not positions:
        return None
    if getattr(config, "model_type", "") in OFFSET_POSITIONS:
        positions -= int(getattr(config, "pad_token_id", 1) or 0) + 1
    return positions


def _load_torch(
    ref: ModelRef, devices: list[str | None], trust_remote_code: bool, half: bool
) -> SentenceTransformerEmbedder:
    if ref.hub_id:
        check_hub(ref)
    _check_precision(ref.variant, devices)
    import_library()
    started = time.perf_counter()
    model = open_folder(
        str(ref.path) if ref.path else str(ref.hub_id), devices[0], trust_remote_code, ref.path is not None, ref.spec
    )
    load_seconds = time.perf_counter() - started
    fingerprint = weights_fingerprint(model)
    if ref.path is not None:
        remember_fingerprint(ref.path, fingerprint)  # its built variants then load without hashing again
    if half:
        if str(model.device) == "cpu":
            raise ModelError("--half needs a GPU (--device cuda); half precision on CPU is slower, not faster")
        model.half()
    if ref.variant.precision != "fp32":
        import torch

        model.to(torch.float16 if ref.variant.precision == "fp16" else torch.bfloat16)
    dimension = model.get_embedding_dimension()
    if not dimension:
        dimension = int(model.encode(["probe"], convert_to_numpy=True).shape[1])
    check_truncation(ref, int(dimension))
    return SentenceTransformerEmbedder(
        ref=ref,
        model=model,
        device=str(model.device),
        dimension=ref.variant.dim or int(dimension),
        max_seq_length=_finite_length(getattr(model, "max_seq_length", None)),
        fingerprint=variant_fingerprint(fingerprint, ref.variant),
        load_seconds=load_seconds,
        parameters=sum(p.numel() for p in model.parameters()),
        half=half,
        pool_devices=[str(d) for d in devices] if len(devices) > 1 else None,
        encoding=encoding_of(ref, model),
        base_fingerprint=fingerprint,
        size_bytes=folder_size(ref.path) if ref.path else None,
    )
