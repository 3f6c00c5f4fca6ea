"""Static distillations (``MODEL@static-N``): model2vec's ``distill`` turns a transformer
into a static model (one vector per token, PCA to N dimensions) that sentence-transformers
loads as StaticEmbedding + Normalize. Built once per base model and N, then cached.

model2vec and torch are imported only when a distillation runs.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from harness.errors import ModelError
from harness.models.specs import ModelRef
from harness.models.variants import STATIC_DIMS, module_types, quiet_warnings
from harness.records import Progress, ProgressFn


def transformer_folder(folder: Path) -> Path:
    """Where a sentence-transformers folder keeps its Transformer module (module 0)."""
    try:
        first = json.loads((folder / "modules.json").read_text())[0]
        return folder / str(first.get("path") or "")
    except (OSError, ValueError, IndexError, KeyError, AttributeError):
        return folder


class _Bar:
    """Stands in for model2vec's tqdm bar: forwards its counts to the harness's progress."""

    def __init__(self, progress: ProgressFn | None, stage: str, total: int | None = None, **_):
        self.progress, self.stage, self.total, self.done = progress, stage, total, 0
        self._tell()

    def _tell(self) -> None:
        if self.progress:
            self.progress(Progress(self.stage, self.done, self.total))

    def update(self, n: int = 1) -> None:
        self.done += n
        self._tell()

    def close(self) -> None:
        pass


@contextmanager
def _progress_into(progress: ProgressFn | None, stage: str) -> Iterator[None]:
    from model2vec.distill import inference

    original = inference.tqdm
    inference.tqdm = lambda *args, **kwargs: _Bar(progress, stage, kwargs.get("total"))
    try:
        yield
    finally:
        inference.tqdm = original


def check_static_dims(ref: ModelRef, dimension: int | None) -> None:
    """``@static-N`` above the model's own dimensions is refused, as ``@dim=N`` is (PCA cannot
    make more); plain ``@static`` keeps at most the model's own."""
    wanted = ref.variant.static_dims
    if dimension and wanted and wanted != STATIC_DIMS and wanted > dimension:
        raise ModelError(f"{ref.spec}: static-{wanted} is more than the model's {dimension} dimensions")


def hidden_size(folder: Path) -> int | None:
    """The transformer's width from its config.json (None where it says none)."""
    try:
        config = json.loads((transformer_folder(folder) / "config.json").read_text())
    except (OSError, ValueError):
        return None
    for key in ("hidden_size", "d_model", "dim", "n_embd"):
        if isinstance(config, dict) and isinstance(config.get(key), int):
            return int(config[key])
    return None


def distill_static(
    ref: ModelRef, staged: Path, device: str | None, trust_remote_code: bool, progress: ProgressFn | None
) -> None:
    """Distil ``ref``'s base folder into ``staged`` (about 70 s for all-MiniLM-L6-v2 on 2 cores)."""
    assert ref.path is not None
    if module_types(ref.path)[:1] != ["Transformer"]:
        raise ModelError(f"@{ref.variant.backend_label}: {ref.spec} has no Transformer module to distil")
    check_static_dims(ref, hidden_size(ref.path))
    stage = f"{ref.alias}: distilling (once; cached)"
    if progress:
        progress(Progress(stage, 0, None))
    from model2vec.distill import distill

    started = time.perf_counter()
    try:
        with _progress_into(progress, stage), quiet_warnings():
            model = distill(
                model_name=str(transformer_folder(ref.path)),
                pca_dims=ref.variant.static_dims,
                device=device,
                trust_remote_code=trust_remote_code,
            )
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelError(f"cannot distil {ref.spec}: {str(exc).strip().splitlines()[0]}") from None
    model.save_pretrained(str(staged))
    (staged / "harness-variant.json").write_text(
        json.dumps(
            {"base": str(ref.path), "variant": ref.variant.label, "seconds": round(time.perf_counter() - started, 1)}
        )
    )
