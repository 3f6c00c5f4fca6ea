"""What every backend needs from the base model: opening its folder with
sentence-transformers, the fingerprint of its weights (remembered per folder, so that a
variant loads without hashing them again), and how its output becomes stored vectors.

torch and sentence-transformers are imported only when a folder is opened.
"""

from __future__ import annotations

import hashlib
from typing import Any

from harness.errors import ModelError
from harness.models.encoding import Encoding, encoding_for
from harness.models.specs import ModelRef
from harness.models.variants import remember_fingerprint, remembered_fingerprint
from harness.records import ModelRecord


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


def import_library() -> None:
    """sentence-transformers (and torch) imported before a load is timed: a process pays the
    import once, so it is not the cost of whichever model happens to load first."""
    import sentence_transformers  # noqa: F401


def open_folder(folder: str, device: str | None, trust_remote_code: bool, local: bool, spec: str):
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(folder, device=device, trust_remote_code=trust_remote_code, local_files_only=local)
    except Exception as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"cannot load model {spec!r}: {first_line}") from None


def self_normalized(model) -> bool:
    return any(type(module).__name__ == "Normalize" for module in model)


def encoding_of(ref: ModelRef, model) -> Encoding:
    return encoding_for(
        getattr(model, "similarity_fn_name", None),
        self_normalized(model),
        getattr(model, "prompts", None),
        ref.query_prompt,
        ref.document_prompt,
        ref.variant.dim,
    )


def base_fingerprint(ref: ModelRef, trust_remote_code: bool = False) -> tuple[str, Any]:
    """The base model's weights fingerprint, and the base model when it had to be loaded
    (None when the fingerprint was remembered for the folder in its present state)."""
    assert ref.path is not None
    known = remembered_fingerprint(ref.path)
    if known:
        return known, None
    model = open_folder(str(ref.path), "cpu", trust_remote_code, True, ref.spec)
    fingerprint = weights_fingerprint(model)
    remember_fingerprint(ref.path, fingerprint)
    return fingerprint, model


def check_truncation(ref: ModelRef, dimension: int) -> None:
    wanted = ref.variant.dim
    if wanted and wanted > dimension:
        raise ModelError(f"{ref.spec}: dim={wanted} is more than the model's {dimension} dimensions")


def describe_model(embedder: Any) -> ModelRecord:
    """The record of any embedder of this package (torch, static or ONNX)."""
    encoding: Encoding = embedder.encoding
    variant = embedder.ref.variant
    return ModelRecord(
        alias=embedder.alias,
        spec=embedder.ref.spec,
        source=embedder.ref.source,
        fingerprint=embedder.fingerprint,
        dimension=embedder.dimension,
        parameters=embedder.parameters,
        max_seq_length=embedder.max_seq_length,
        variant=variant.label,
        base_fingerprint=embedder.base_fingerprint if not variant.is_base else "",
        query_prompt=encoding.query_prompt,
        document_prompt=encoding.document_prompt,
        similarity_fn_name=encoding.similarity,
        normalized=encoding.normalize,
        size_bytes=embedder.size_bytes,
    )
