"""ONNX variants (``MODEL@onnx``, ``MODEL@onnx-qint8`` on ONNX Runtime, ``MODEL@openvino`` on
OpenVINO), built by the harness itself.

sentence-transformers' own ONNX backend and export helpers go through optimum-onnx, which
requires transformers<4.58: they cannot run beside transformers 5. So the transformer is
exported with ``torch.onnx.export`` (TorchScript exporter, opset 17, dynamic batch and
length, eager attention), quantised with ONNX Runtime's ``quantize_dynamic`` (int8
weights, per channel, symmetric: per tensor loses far more), and run by ONNX Runtime on
the CPU, or compiled from the same file by OpenVINO's own runtime (the ``openvino`` package:
sentence-transformers' OpenVINO backend goes through optimum-intel, which requires
transformers<5.6). The folder's tokenizer, pooling and normalisation are reproduced here in numpy
from its modules; a layout this cannot reproduce is refused.

Loading a built variant imports neither torch nor transformers (the tokenizer is the
``tokenizers`` library's, the weights fingerprint is remembered): loads take a fraction of
a second. torch is imported only to export.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from harness.errors import ModelError
from harness.models.base import Role
from harness.models.catalog import folder_size
from harness.models.encoding import Encoding, encoding_for
from harness.models.loading import base_fingerprint, check_truncation, describe_model
from harness.models.specs import ModelRef
from harness.models.variants import (
    Variant,
    build_artefact,
    onnx_layout_problem,
    quiet_warnings,
    variant_fingerprint,
)
from harness.records import ModelRecord, Progress, ProgressFn, Truncation

MODEL_FILE = "model.onnx"
META_FILE = "harness-onnx.json"
POOLING_MODES = ("cls", "max", "mean", "mean_sqrt_len_tokens")
OPSET = 17


# --- building the artefact -----------------------------------------------------------------------


def _pipeline(ref: ModelRef, model: Any) -> dict:
    """What the ONNX encoder must reproduce, read from the loaded sentence-transformers model;
    a ModelError names what it cannot reproduce."""
    names = [type(module).__name__ for module in model]
    transformer, pooling = model[0], model[1] if len(model) > 1 else None
    problem = onnx_layout_problem(ref.path) if ref.path else "it is not a local folder"
    modes = getattr(pooling, "pooling_mode", None)
    modes = (modes,) if isinstance(modes, str) else tuple(modes or ())
    if problem is None and names[:2] != ["Transformer", "Pooling"]:
        problem = f"its modules are {' + '.join(names)}"
    elif problem is None and not set(modes) <= set(POOLING_MODES):
        problem = f"its pooling is {', '.join(modes)} (supported: {', '.join(POOLING_MODES)})"
    elif problem is None and not getattr(pooling, "include_prompt", True):
        problem = "its pooling leaves the prompt tokens out"
    elif problem is None and set(getattr(transformer, "modality_config", {"text": 1})) != {"text"}:
        problem = "it reads more than text"
    elif problem is None and any(getattr(transformer, a, None) for a in ("query_length", "document_length")):
        problem = "it truncates queries and documents to different lengths"
    tokenizer: Any = getattr(transformer, "tokenizer", None)
    if problem is None and getattr(tokenizer, "backend_tokenizer", None) is None:
        problem = "its tokenizer has no tokenizer.json (fast tokenizer)"
    if problem:
        raise ModelError(f"@onnx cannot reproduce {ref.spec}: {problem}")
    return {
        "pooling": list(modes),
        "self_normalized": "Normalize" in names,
        "max_seq_length": int(model.max_seq_length),
        "do_lower_case": bool(getattr(transformer, "do_lower_case", False)),
        "pad_token": tokenizer.pad_token,
        "pad_id": int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0),
        "pad_type_id": int(getattr(tokenizer, "pad_token_type_id", 0) or 0),
        "prompts": dict(getattr(model, "prompts", {}) or {}),
        "similarity": getattr(model, "similarity_fn_name", None) or "cosine",
        "dimension": int(model.get_embedding_dimension()),
        "parameters": int(sum(p.numel() for p in model.parameters())),
    }


def export_onnx(ref: ModelRef, model: Any, staged: Path, trust_remote_code: bool, progress: ProgressFn | None) -> None:
    """Export the base folder's transformer to ``staged/model.onnx`` with what the encoder needs."""
    import torch
    from transformers import AutoModel

    from harness.models.static import transformer_folder

    assert ref.path is not None
    pipeline = _pipeline(ref, model)
    stage = f"{ref.alias}: exporting to ONNX (once; cached)"
    if progress:
        progress(Progress(stage, 0, 1))
    tokenizer = model[0].tokenizer
    started = time.perf_counter()
    hf = AutoModel.from_pretrained(
        str(transformer_folder(ref.path)), attn_implementation="eager", trust_remote_code=trust_remote_code
    ).eval()
    accepted = set(inspect.signature(hf.forward).parameters)
    inputs = [name for name in tokenizer.model_input_names if name in accepted]

    class Wrapper(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *tensors):
            return self.inner(**dict(zip(inputs, tensors))).last_hidden_state

    ids = torch.ones(2, 8, dtype=torch.long)
    sample = tuple(torch.zeros_like(ids) if name == "token_type_ids" else ids for name in inputs)
    axes = {0: "batch", 1: "sequence"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer warnings
        torch.onnx.export(
            Wrapper(hf),
            sample,
            str(staged / MODEL_FILE),
            dynamo=False,
            opset_version=OPSET,
            input_names=inputs,
            output_names=["last_hidden_state"],
            dynamic_axes={name: axes for name in [*inputs, "last_hidden_state"]},
        )
    tokenizer.backend_tokenizer.save(str(staged / "tokenizer.json"))
    meta = {**pipeline, "inputs": inputs, "base": str(ref.path), "export_s": round(time.perf_counter() - started, 1)}
    (staged / META_FILE).write_text(json.dumps(meta, indent=2))
    if progress:
        progress(Progress(stage, 1, 1))


def quantise_onnx(source: Path, staged: Path, alias: str, progress: ProgressFn | None) -> None:
    """int8 weights per output channel, symmetric (ONNX Runtime's dynamic quantisation;
    the settings of optimum's avx512_vnni/arm64 presets). Activations are quantised at run time."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    stage = f"{alias}: quantising to int8 (once; cached)"
    if progress:
        progress(Progress(stage, 0, 1))
    started = time.perf_counter()
    with quiet_warnings():
        quantize_dynamic(
            str(source / MODEL_FILE),
            str(staged / MODEL_FILE),
            per_channel=True,
            reduce_range=False,
            weight_type=QuantType.QInt8,
            extra_options={"WeightSymmetric": True, "ActivationSymmetric": False},
        )
    for name in ("tokenizer.json",):
        shutil.copy2(source / name, staged / name)
    meta = json.loads((source / META_FILE).read_text())
    meta["quantise_s"] = round(time.perf_counter() - started, 1)
    (staged / META_FILE).write_text(json.dumps(meta, indent=2))
    if progress:
        progress(Progress(stage, 1, 1))


def onnx_artefact(
    ref: ModelRef, trust_remote_code: bool = False, progress: ProgressFn | None = None
) -> tuple[str, Path]:
    """(base fingerprint, artefact folder), exporting and quantising on first use."""
    base, model = base_fingerprint(ref, trust_remote_code)

    def export(staged: Path) -> None:
        nonlocal model
        if model is None:
            from harness.models.loading import open_folder

            model = open_folder(str(ref.path), "cpu", trust_remote_code, True, ref.spec)
        export_onnx(ref, model, staged, trust_remote_code, progress)

    plain = build_artefact(base, Variant("onnx"), export)
    if not ref.variant.quantization:
        return base, plain
    return base, build_artefact(
        base, Variant("onnx", "qint8"), lambda staged: quantise_onnx(plain, staged, ref.alias, progress)
    )


# --- encoding ----------------------------------------------------------------------------------------


def _threads() -> int | None:
    """HARNESS_ONNX_THREADS, the threads of either runtime (None: the runtime's own choice)."""
    threads = os.environ.get("HARNESS_ONNX_THREADS")
    return int(threads) if threads and threads.isdigit() else None


def _session(path: Path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # No busy-waiting between operators: the insert thread and Milvus Lite share the cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    threads = _threads()
    if threads:
        options.intra_op_num_threads = threads
    # Explicit: onnxruntime 1.32 lists AzureExecutionProvider first.
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OpenVinoSession:
    """An ONNX file compiled by OpenVINO for the CPU, run as ONNX Runtime's session is."""

    def __init__(self, path: Path):
        import openvino as ov

        threads = _threads()
        # f32 said outright: on a CPU with bf16 (AVX-512 BF16, AMX) the CPU plugin otherwise
        # computes in bf16, and the vectors are no longer torch's.
        config: dict[str, Any] = {"INFERENCE_PRECISION_HINT": "f32"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        self.compiled = ov.Core().compile_model(str(path), "CPU", config)
        self.request = self.compiled.create_infer_request()

    def run(self, _outputs, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        result = self.request.infer(feed)
        return [np.asarray(result[self.compiled.output(0)])]


def _tokenizers(folder: Path, meta: dict):
    from tokenizers import Tokenizer

    # The saved tokenizer.json may pad and truncate to fixed lengths: set what ST does.
    untruncated = Tokenizer.from_file(str(folder / "tokenizer.json"))
    untruncated.no_padding()
    untruncated.no_truncation()
    batched = Tokenizer.from_file(str(folder / "tokenizer.json"))
    batched.no_padding()
    batched.enable_truncation(max_length=meta["max_seq_length"], strategy="longest_first", direction="right")
    batched.enable_padding(pad_id=meta["pad_id"], pad_type_id=meta["pad_type_id"], pad_token=meta["pad_token"])
    return batched, untruncated


def pool(hidden: np.ndarray, mask: np.ndarray, modes: Sequence[str]) -> np.ndarray:
    """sentence-transformers' Pooling on right-padded token vectors, modes concatenated in order."""
    weights = mask[..., None].astype(np.float32)
    counts = np.clip(weights.sum(axis=1), 1e-9, None)
    parts = []
    for mode in modes:
        if mode == "cls":
            parts.append(hidden[:, 0])
        elif mode == "max":
            parts.append(np.where(weights > 0, hidden, -1e9).max(axis=1))
        elif mode == "mean":
            parts.append((hidden * weights).sum(axis=1) / counts)
        else:  # mean_sqrt_len_tokens
            parts.append((hidden * weights).sum(axis=1) / np.sqrt(counts))
    return np.concatenate(parts, axis=1)


@dataclass
class OnnxEmbedder:
    """An :class:`~harness.models.base.Embedder` on an ONNX file: ONNX Runtime's session, or
    OpenVINO's (CPU)."""

    ref: ModelRef
    session: Any
    tokenizer: Any
    untruncated: Any
    meta: dict
    dimension: int
    fingerprint: str
    base_fingerprint: str
    load_seconds: float
    size_bytes: int
    encoding: Encoding = field(default_factory=Encoding)
    device: str = "cpu"

    @property
    def alias(self) -> str:
        return self.ref.alias

    @property
    def parameters(self) -> int:
        return int(self.meta["parameters"])

    @property
    def max_seq_length(self) -> int | None:
        return int(self.meta["max_seq_length"])

    @property
    def cache_key(self) -> str:
        return self.fingerprint + self.encoding.key_suffix

    def _texts(self, texts: Sequence[str], role: Role) -> list[str]:
        prompt = self.encoding.prompt(role)
        out = [prompt + t for t in texts]
        return [t.lower() for t in out] if self.meta.get("do_lower_case") else out

    def encode(self, texts: Sequence[str], batch_size: int = 64, role: Role = "document") -> np.ndarray:
        """Batches of similar length (longest first, as sentence-transformers does), so little padding."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        prepared = self._texts(texts, role)
        order = np.argsort([-len(t) for t in prepared], kind="stable")
        out = np.empty((len(prepared), int(self.meta["dimension"])), dtype=np.float32)
        inputs = self.meta["inputs"]
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            encoded = self.tokenizer.encode_batch([prepared[i] for i in rows])
            arrays = {
                "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
            }
            hidden = self.session.run(None, {name: arrays[name] for name in inputs})[0]
            out[rows] = pool(hidden, arrays["attention_mask"], self.meta["pooling"])
        return self.encoding.finish(out)

    def truncation(self, texts: Sequence[str]) -> Truncation:
        limit = self.max_seq_length or 0
        prepared = self._texts(texts, "document")
        long_texts = [t for t in prepared if limit and len(t) + 2 > limit]  # a token covers a character or more
        if not long_texts:
            return Truncation(len(texts))
        return Truncation.of(len(texts), [len(e.ids) for e in self.untruncated.encode_batch(long_texts)], limit)

    def describe(self) -> ModelRecord:
        return describe_model(self)

    def close(self) -> None:
        pass


def load_onnx(ref: ModelRef, trust_remote_code: bool = False, progress: ProgressFn | None = None) -> OnnxEmbedder:
    base, folder = onnx_artefact(ref, trust_remote_code, progress)
    on_openvino = ref.variant.backend == "openvino"
    # Imported once per process: not this model's load time.
    import tokenizers  # noqa: F401

    if on_openvino:
        import openvino  # noqa: F401
    else:
        import onnxruntime  # noqa: F401

    started = time.perf_counter()
    meta = json.loads((folder / META_FILE).read_text())
    session = OpenVinoSession(folder / MODEL_FILE) if on_openvino else _session(folder / MODEL_FILE)
    tokenizer, untruncated = _tokenizers(folder, meta)
    check_truncation(ref, int(meta["dimension"]))
    encoding = encoding_for(
        meta["similarity"],
        meta["self_normalized"],
        meta["prompts"],
        ref.query_prompt,
        ref.document_prompt,
        ref.variant.dim,
    )
    return OnnxEmbedder(
        ref=ref,
        session=session,
        tokenizer=tokenizer,
        untruncated=untruncated,
        meta=meta,
        dimension=ref.variant.dim or int(meta["dimension"]),
        fingerprint=variant_fingerprint(base, ref.variant),
        base_fingerprint=base,
        load_seconds=time.perf_counter() - started,
        size_bytes=folder_size(folder),
        encoding=encoding,
    )
