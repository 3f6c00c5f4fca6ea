"""Model variants: cheaper ways to run one encoder, written ``MODEL@VARIANT[,VARIANT...]``.

``@onnx`` (ONNX Runtime, fp32), ``@onnx-qint8`` (dynamic int8 weights), ``@openvino``
(OpenVINO on the same ONNX export, fp32), ``@static`` /
``@static-N`` (a model2vec distillation with N PCA dimensions, 256 by default), ``@dim=N``
(Matryoshka truncation, renormalised), ``@fp16`` / ``@bf16`` (GPU only). One backend at
most, one precision at most, and a truncation, in any order: ``@onnx-qint8,dim=256``.

Each variant is its own model: its fingerprint covers the base weights and the variant,
and its exported or distilled artefact is built once into the model cache, keyed by both,
and reused. Standard library only here: nothing loads a model.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from harness.errors import ModelError
from harness.models.packaged import model_cache_dir

STATIC_DIMS = 256  # model2vec's default PCA dimension
READY = ".ready"  # written last into an artefact folder: the folder is complete

# extra -> the modules it installs (what `pip install 'harness[EXTRA]'` brings)
# @openvino runs the @onnx export (made with onnx, quantised with onnxruntime) on OpenVINO.
EXTRAS = {
    "onnx": ("onnxruntime", "onnx"),
    "static": ("model2vec", "skeletoken"),
    "openvino": ("openvino", "onnxruntime", "onnx"),
}
BACKENDS = ("onnx", "onnx-qint8", "static", "openvino")


@dataclass(frozen=True)
class Variant:
    """How a model is run. The default (``Variant()``) is the model itself, through torch."""

    backend: str = "torch"  # torch | onnx | openvino | static
    quantization: str | None = None  # "qint8" with the onnx backend
    precision: str = "fp32"  # fp32 | fp16 | bf16 (torch on a GPU)
    dim: int | None = None  # Matryoshka truncation
    static_dims: int | None = None  # PCA dimension of a static distillation

    @property
    def is_base(self) -> bool:
        return self == Variant()

    @property
    def backend_label(self) -> str:
        if self.backend == "onnx":
            return "onnx-qint8" if self.quantization else "onnx"
        if self.backend == "openvino":
            return "openvino"
        if self.backend == "static":
            return "static" if self.static_dims in (None, STATIC_DIMS) else f"static-{self.static_dims}"
        return ""

    @property
    def label(self) -> str:
        """The canonical spelling (backend, precision, truncation): equal variants, equal labels."""
        parts = [self.backend_label, "" if self.precision == "fp32" else self.precision]
        if self.dim:
            parts.append(f"dim={self.dim}")
        return ",".join(p for p in parts if p)

    @property
    def artefact_label(self) -> str:
        """What the built artefact depends on (truncation and precision are applied at encode time;
        OpenVINO compiles the ONNX export when it loads)."""
        return "onnx" if self.backend == "openvino" else self.backend_label

    @property
    def extra(self) -> str | None:
        return {"onnx": "onnx", "openvino": "openvino", "static": "static"}.get(self.backend)


def parse_variant(text: str) -> Variant:
    """``onnx-qint8,dim=256`` -> Variant; one line naming the problem otherwise."""
    backend, quantization, precision, dim, static_dims = "torch", None, "fp32", None, None
    seen: set[str] = set()
    for raw in text.split(","):
        item = raw.strip().lower()
        if not item:
            raise ModelError(f"empty variant in {text!r}: write MODEL@VARIANT[,VARIANT...], e.g. MODEL@onnx,dim=256")
        kind = _kind(item)
        if kind in seen:
            raise ModelError(f"variant {text!r} names two {kind}s: choose one")
        seen.add(kind)
        if kind == "truncation":
            dim = _number(item.split("=", 1)[1], item)
        elif kind == "precision":
            precision = item
        elif item == "openvino":
            backend = "openvino"
        elif item.startswith("static"):
            backend = "static"
            static_dims = _number(item[len("static-") :], item) if item != "static" else STATIC_DIMS
        else:
            backend, quantization = "onnx", ("qint8" if item == "onnx-qint8" else None)
    if precision != "fp32" and backend != "torch":
        raise ModelError(
            f"variant {text!r}: {precision} applies to the torch model on a GPU, not to the {backend} backend"
        )
    return Variant(backend, quantization, precision, dim, static_dims)


def _kind(item: str) -> str:
    if re.fullmatch(r"dim=\S*", item):
        return "truncation"
    if item in ("fp16", "bf16"):
        return "precision"
    if item in ("onnx", "onnx-qint8", "openvino", "static") or re.fullmatch(r"static-\S+", item):
        return "backend"
    raise ModelError(
        f"unknown variant {item!r}: use onnx, onnx-qint8, static, static-N, dim=N, fp16 or bf16 "
        "(combine with commas: MODEL@onnx-qint8,dim=256)"
    )


def _number(text: str, item: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ModelError(f"variant {item!r}: expected a whole number >= 1 after {item[: len(item) - len(text)]!r}")
    return int(text)


def split_variant(spec: str) -> tuple[str, Variant]:
    """``all-MiniLM-L6-v2@onnx`` -> (``all-MiniLM-L6-v2``, Variant). A spec that is an
    existing folder is never split, so a folder whose name holds "@" still works."""
    if "@" not in spec or Path(spec).expanduser().is_dir():
        return spec, Variant()
    base, _, text = spec.rpartition("@")
    if not base.strip():
        raise ModelError(f"model spec {spec!r} names a variant but no model: write MODEL@VARIANT")
    return base.strip(), parse_variant(text)


def missing_extra(variant: Variant) -> str | None:
    """The one-line refusal when the variant's optional dependencies are not installed."""
    extra = variant.extra
    if extra is None:
        return None
    absent = [module for module in EXTRAS[extra] if importlib.util.find_spec(module) is None]
    if not absent:
        return None
    return (
        f"@{variant.backend_label} needs the [{extra}] extra ({', '.join(absent)} not installed): "
        f"pip install 'harness[{extra}]' (or -c constraints.txt -e '.[{extra}]' in a checkout)"
    )


def variant_fingerprint(base_fingerprint: str, variant: Variant) -> str:
    """The variant's own fingerprint: the base weights and how they are run."""
    if variant.is_base:
        return base_fingerprint
    return hashlib.sha256(f"{base_fingerprint}|{variant.label}".encode()).hexdigest()[:16]


# --- what a folder supports (read from its files, nothing loaded) ---------------------------------

ONNX_MODULES = {"Transformer", "Pooling", "Normalize"}


def module_types(folder: Path) -> list[str]:
    """The class names of a sentence-transformers folder's modules, in order ([] if unreadable)."""
    try:
        modules = json.loads((folder / "modules.json").read_text())
        return [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
    except (OSError, ValueError, AttributeError):
        return []


def onnx_layout_problem(folder: Path) -> str | None:
    """Why the ONNX backend cannot reproduce this folder's pipeline (None: it can)."""
    types = module_types(folder)
    if not types:
        return "it has no readable modules.json"
    if types[0] != "Transformer" or "Pooling" not in types:
        return f"its modules are {' + '.join(types)}, not Transformer + Pooling (+ Normalize)"
    other = [t for t in types if t not in ONNX_MODULES]
    if other:
        return f"it has {', '.join(other)} after the pooling, which the ONNX backend does not reproduce"
    return None


def gpu_present() -> bool:
    """A cheap look for an NVIDIA GPU, without importing torch."""
    return os.path.exists("/dev/nvidiactl") or os.path.exists("/proc/driver/nvidia/version")


def available_variants(folder: Path | None) -> list[str]:
    """The variant kinds this machine can run for a model folder (for `harness models`)."""
    out = ["dim=N"]
    types = module_types(folder) if folder else []
    if folder is not None and onnx_layout_problem(folder) is None and missing_extra(Variant("onnx")) is None:
        out += ["onnx", "onnx-qint8"]
        if missing_extra(Variant("openvino")) is None:
            out.append("openvino")
    if types[:1] == ["Transformer"] and missing_extra(Variant("static")) is None:
        out.append("static[-N]")
    if gpu_present():
        out += ["fp16", "bf16"]
    return out


def variant_kinds() -> list[dict]:
    """Every variant kind: what it is, what it needs, whether that is here."""

    def extra_state(extra: str) -> str:
        problem = missing_extra(Variant(extra))
        return "installed" if problem is None else f"missing: pip install 'harness[{extra}]'"

    gpu = "a GPU is present" if gpu_present() else "no GPU found: refused on CPU (2-5x slower there)"
    return [
        {
            "variant": "@onnx",
            "what": "ONNX Runtime, fp32 (min cosine vs torch 0.9999999 on Blake)",
            "needs": extra_state("onnx"),
        },
        {"variant": "@onnx-qint8", "what": "ONNX Runtime, int8 weights per channel", "needs": extra_state("onnx")},
        {"variant": "@static, @static-N", "what": "model2vec distillation, N PCA dims", "needs": extra_state("static")},
        {"variant": "@dim=N", "what": "Matryoshka truncation to N dims, renormalised", "needs": "nothing"},
        {"variant": "@fp16, @bf16", "what": "half precision on the GPU", "needs": gpu},
        {
            "variant": "@openvino",
            "what": "OpenVINO (CPU) on the ONNX export, f32 asked for (min cosine vs torch 0.9999999 on Blake)",
            "needs": extra_state("openvino"),
        },
    ]


# --- the artefact cache ---------------------------------------------------------------------------


def artefact_dir(base_fingerprint: str, variant: Variant) -> Path:
    return model_cache_dir() / "variants" / f"{base_fingerprint}-{variant.artefact_label}"


def ready_artefact(base_fingerprint: str, variant: Variant) -> Path | None:
    folder = artefact_dir(base_fingerprint, variant)
    return folder if (folder / READY).is_file() else None


def build_artefact(base_fingerprint: str, variant: Variant, build: Callable[[Path], None]) -> Path:
    """The artefact folder, built by ``build(staging)`` in a temporary folder beside it and
    renamed into place when complete: a killed build leaves no half folder behind."""
    ready = ready_artefact(base_fingerprint, variant)
    if ready:
        return ready
    final = artefact_dir(base_fingerprint, variant)
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))  # same filesystem: atomic rename
    try:
        staged = work / "artefact"
        staged.mkdir()
        build(staged)
        (staged / READY).write_text(base_fingerprint + "\n")
        if final.exists() and not (final / READY).is_file():
            shutil.rmtree(final, ignore_errors=True)  # left half-made by a killed run
        try:
            os.rename(staged, final)
        except OSError:
            if not (final / READY).is_file():  # another process won the race only if it finished
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return final


# --- the base weights' fingerprint, remembered per folder state -------------------------------------

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


def _folder_state(folder: Path) -> str:
    """A digest of the folder's path and its weight files' names, sizes and times."""
    digest = hashlib.sha256(str(folder.resolve()).encode())
    for path in sorted(folder.rglob("*")):
        if path.is_file() and (path.suffix in WEIGHT_SUFFIXES or path.name == "modules.json"):
            stat = path.stat()
            digest.update(f"{path.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:32]


def remembered_fingerprint(folder: Path) -> str | None:
    """The weights fingerprint computed earlier for this folder in this state, if any: a
    variant then loads without torch (the fingerprint hashes the torch weights)."""
    path = model_cache_dir() / "fingerprints" / _folder_state(folder)
    try:
        value = path.read_text().strip()
    except OSError:
        return None
    return value if re.fullmatch(r"[0-9a-f]{16}", value) else None


def remember_fingerprint(folder: Path, fingerprint: str) -> None:
    path = model_cache_dir() / "fingerprints" / _folder_state(folder)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".{path.name}.{os.getpid()}")
        scratch.write_text(fingerprint + "\n")
        os.replace(scratch, path)
    except OSError:
        pass  # a read-only cache only costs the next load the hashing


@contextmanager
def quiet_warnings() -> Iterator[None]:
    """Silence library log warnings while a variant is built (quantisation advice, PCA sizes):
    the harness says what matters itself."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)
