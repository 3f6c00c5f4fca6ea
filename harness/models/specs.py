"""Model specs: a local folder, an alias of a packaged offline model, or a Hugging Face
name, optionally named (``NAME=SPEC``) and optionally a variant (``SPEC@onnx``, see
:mod:`harness.models.variants`). Resolving a spec loads nothing."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlparse

from harness.errors import ModelError
from harness.models.packaged import PACKAGED_MODELS, PackagedModel, packaged_folder
from harness.models.variants import Variant, parse_variant, split_variant
from harness.records import ModelRecord

# Computed by the harness itself (harness.models.hashing); not a sentence-transformers model.
BUILTIN_MODELS = ("hashing",)

INSTALL_HINT = "pip install 'harness[models]' for the packaged offline models (harness models lists them)"


@dataclass(frozen=True)
class ModelRef:
    """Where a model spec points (a folder on disk or a Hugging Face name), how it is run
    (its variant), and the prompts the user chose (None: the model's own)."""

    spec: str
    alias: str
    path: Path | None
    hub_id: str | None
    packaged: PackagedModel | None = None
    variant: Variant = field(default_factory=Variant)
    query_prompt: str | None = None
    document_prompt: str | None = None
    max_seq_length: int | None = None  # tokens read per text (None: the model's own limit)

    @property
    def builtin(self) -> bool:
        """A model the harness computes itself (the hashing baseline): no folder, no hub."""
        return self.path is None and not self.hub_id

    @property
    def source(self) -> str:
        if self.path:
            return str(self.path)
        return f"hf:{self.hub_id}" if self.hub_id else f"builtin:{self.spec}"

    @property
    def key(self) -> str:
        """What tells two loaded models apart: the weights, the variant and the prompts."""
        return (
            f"{self.source}@{self.variant.label}|{self.query_prompt!r}|{self.document_prompt!r}|{self.max_seq_length}"
        )


def with_prompts(ref: ModelRef, query: str | None = None, document: str | None = None) -> ModelRef:
    """The ref with the user's prompts, where given (None keeps what the ref has)."""
    return replace(
        ref,
        query_prompt=ref.query_prompt if query is None else query,
        document_prompt=ref.document_prompt if document is None else document,
    )


def _packaged_by_name(name: str) -> PackagedModel | None:
    lowered = name.lower()
    for model in PACKAGED_MODELS:
        if lowered in {model.alias.lower(), model.hub_id.lower(), model.package.lower(), model.pip_name.lower()}:
            return model
    return None


def model_alias(spec: str) -> str:
    """Short name of a spec: the packaged alias, else the last path component; a variant's
    alias is its base's with the canonical variant label (``all-MiniLM-L6-v2@onnx``)."""
    base, variant = split_variant(spec)
    if not variant.is_base:
        return f"{model_alias(base)}@{variant.label}"
    packaged = _packaged_by_name(spec)
    if packaged:
        return packaged.alias
    return Path(spec.rstrip("/\\")).name or spec


def resolve_model(spec: str) -> ModelRef:
    """A spec, optionally named: ``NAME=SPEC`` sets the alias (and so the collection name);
    ``SPEC@VARIANT`` runs the model another way, as its own model."""
    spec = spec.strip()
    name, sep, rest = spec.partition("=")
    if sep and name and rest and "/" not in name and os.sep not in name and "@" not in name:
        ref = resolve_model(rest)
        return replace(ref, alias=name.strip())
    if not spec:
        raise ModelError("empty model name")
    base, variant = split_variant(spec)
    if not variant.is_base:
        ref = resolve_model(base)
        if ref.path is None and variant.backend != "torch":
            raise ModelError(
                f"@{variant.backend_label} is built from a local model folder, and {base!r} is a Hugging Face name: "
                f"download it to a folder (huggingface-cli download {ref.hub_id} --local-dir DIR) and use DIR@"
                f"{variant.label}"
            )
        return replace(ref, spec=spec, alias=f"{ref.alias}@{variant.label}", variant=variant)
    local = Path(spec).expanduser()
    if local.is_dir():
        return ModelRef(spec, model_alias(str(local.resolve())), local.resolve(), None)
    packaged = _packaged_by_name(spec)
    if packaged:
        folder = packaged_folder(packaged)
        if folder:
            return ModelRef(spec, packaged.alias, folder, None, packaged)
        if not packaged.hub_id:
            raise ModelError(f"model {spec!r} is not installed: {packaged.install_command} (or {INSTALL_HINT})")
        return ModelRef(spec, packaged.alias, None, packaged.hub_id, packaged)
    if spec.lower() in BUILTIN_MODELS:
        return ModelRef(spec.lower(), spec.lower(), None, None)
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


def check_hub(ref: ModelRef) -> None:
    # Without this check an offline load retries for over a minute before failing.
    if _hub_cached(ref.hub_id or "") or _hub_reachable():
        return
    hint = ref.packaged.install_command if ref.packaged else INSTALL_HINT
    raise ModelError(
        f"cannot download model {ref.hub_id!r}: the Hugging Face hub is unreachable and the model is not cached; "
        f"use a local model folder, or {hint}"
    )


def ref_for_record(model: ModelRecord) -> ModelRef:
    """The model that built a collection: its recorded folder if still there, else its spec;
    run as recorded (variant) with the prompts recorded at ingest."""
    if model.source and not model.source.startswith("hf:") and Path(model.source).is_dir():
        ref = ModelRef(model.spec or model.source, model.alias or model_alias(model.source), Path(model.source), None)
        ref = replace(ref, variant=parse_variant(model.variant) if model.variant else Variant())
    else:
        ref = resolve_model(model.spec or model.alias)
    # the length it read documents to: the model's own unless the ingest changed it
    return replace(with_prompts(ref, model.query_prompt, model.document_prompt), max_seq_length=model.max_seq_length)
