"""Opening a Milvus: a Milvus Lite folder in this process, or a server over gRPC.

Everything that depends on which of the two it is lives here, and reaches the rest of the
harness as :class:`~harness.store.base.Capabilities`.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from harness.errors import StoreError
from harness.store.base import LITE_INDEX_TYPES, Capabilities

DEFAULT_URI = "harness.db"

# pymilvus pings every 10 s; Lite's in-process gRPC server allows one ping per 5 minutes
# without data and answers more with GOAWAY, which fails a long call (an index build over
# a million rows) and makes pymilvus retry it. Local calls need no keepalive.
LITE_GRPC_OPTIONS = {"grpc.keepalive_time_ms": 3_600_000, "grpc.keepalive_permit_without_calls": False}


def is_lite_uri(uri: str) -> bool:
    return uri.endswith(".db")


def redact_uri(uri: str) -> str:
    """The URI without any credentials (https://user:pass@host -> https://host)."""
    if "://" in uri and "@" in uri.split("://", 1)[1]:
        scheme, rest = uri.split("://", 1)
        return f"{scheme}://{rest.split('@', 1)[1]}"
    return uri


def lite_segment_rows() -> int:
    try:
        from milvus_lite.constants import MAX_SEGMENT_ROWS

        return int(MAX_SEGMENT_ROWS)
    except (ImportError, AttributeError, ValueError):
        return 100_000


def capabilities(uri: str) -> Capabilities:
    if is_lite_uri(uri):
        return Capabilities(
            backend="milvus-lite",
            embedded=True,
            segment_rows=lite_segment_rows(),
            prometheus=False,
            index_types=LITE_INDEX_TYPES,
        )
    return Capabilities(backend="milvus-server", embedded=False, segment_rows=None, prometheus=True)


def first_line(exc: BaseException | None) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return str(message).strip().splitlines()[0]


@contextmanager
def milvus_errors(action: str, uri: str) -> Iterator[None]:
    """Milvus's exceptions as one-line StoreErrors naming the action and the (redacted) URI."""
    from pymilvus.exceptions import MilvusException

    try:
        yield
    except MilvusException as exc:
        raise StoreError(f"Milvus at {redact_uri(uri)}: {action} failed: {first_line(exc)}") from None


def _lite_locked(path: Path) -> bool:
    lock = path / "LOCK"
    if not lock.exists():
        return False
    try:
        import fcntl
    except ImportError:
        return False
    with open(lock, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def open_client(uri: str, token: str, timeout: float, retries: int):
    """A pymilvus MilvusClient for a Lite file or a server, with one-line errors."""
    if is_lite_uri(uri):
        return _open_lite(uri)
    from pymilvus import MilvusClient
    from pymilvus.exceptions import MilvusException

    last = None
    for attempt in range(max(1, retries)):
        try:
            return MilvusClient(uri=uri, token=token, timeout=timeout)
        except MilvusException as exc:
            last = exc
            if "auth" in first_line(exc).lower() or "permission" in first_line(exc).lower():
                break
            time.sleep(min(2.0, 0.5 * (attempt + 1)))
    raise StoreError(f"cannot reach Milvus at {redact_uri(uri)}: {first_line(last)}")


def _open_lite(uri: str):
    from pymilvus import MilvusClient
    from pymilvus.exceptions import MilvusException

    path = Path(uri).expanduser().resolve()
    if not path.parent.is_dir():
        raise StoreError(f"cannot create Milvus Lite database {uri}: folder {path.parent} does not exist")
    if path.exists() and not path.is_dir():
        raise StoreError(f"{uri} exists and is not a Milvus Lite database (expected a folder)")
    try:
        return MilvusClient(str(path), grpc_options=LITE_GRPC_OPTIONS)
    except MilvusException as exc:
        if _lite_locked(path):
            raise StoreError(
                f"Milvus Lite database {uri} is in use by another process "
                "(Lite allows one process at a time): stop it, or use a Milvus server (--uri http://...)"
            ) from None
        raise StoreError(f"cannot open Milvus Lite database {uri}: {first_line(exc)}") from None
    except ImportError:
        raise StoreError("Milvus Lite is not installed: pip install milvus-lite") from None


def release_lite(uri: str) -> None:
    """Release a Lite database's file lock now, not at interpreter exit."""
    try:
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(str(Path(uri).expanduser().resolve()))
    except Exception:
        pass
