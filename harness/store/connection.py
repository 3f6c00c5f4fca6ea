"""Opening a Milvus: a Milvus Lite folder in this process, or a server over gRPC.

Everything that depends on which of the two it is lives here, and reaches the rest of the
harness as :class:`~harness.store.base.Capabilities`.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

from harness.errors import StoreError
from harness.store.base import LITE_INDEX_TYPES, Capabilities

DEFAULT_URI = "harness.db"

# pymilvus pings every 10 s; Lite's in-process gRPC server allows one ping per 5 minutes
# without data and answers more with GOAWAY, which fails a long call (an index build over
# a million rows) and makes pymilvus retry it. Local calls need no keepalive.
LITE_GRPC_OPTIONS = {"grpc.keepalive_time_ms": 3_600_000, "grpc.keepalive_permit_without_calls": False}


def is_lite_uri(uri: str) -> bool:
    return uri.endswith(".db")


SERVER_SCHEMES = ("http", "https", "tcp", "grpc", "grpcs")


def redact_uri(uri: str) -> str:
    """The URI without any credentials (https://user:pass@host -> https://host).

    The credentials end at the LAST "@" of the authority: a password may itself hold "@".
    """
    if "://" not in uri:
        return uri
    scheme, rest = uri.split("://", 1)
    # Everything before the last "@" is taken for credentials, even past a "/", "?" or "#"
    # (a password may hold any of them): a path with an "@" is cut short, a password never shown.
    if "@" in rest:
        rest = rest.rpartition("@")[2]
    return f"{scheme}://{rest}"


def _credentials(uri: str) -> str:
    """What :func:`redact_uri` cuts away (empty when nothing)."""
    rest = uri.split("://", 1)[1] if "://" in uri else ""
    return rest.rpartition("@")[0]


def check_server_uri(uri: str) -> None:
    """A server URI pymilvus can use, or one line saying what is wrong (never the credentials)."""
    shown = redact_uri(uri)
    if any(c in _credentials(uri) for c in "/?#"):
        raise StoreError(
            f"bad Milvus URI {shown}: its credentials hold '/', '?' or '#', which end a URI's host part: "
            "write them percent-encoded (%2F, %3F, %23), or pass them by --token or MILVUS_TOKEN"
        )
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        raise StoreError(f"bad Milvus URI {shown}: the port must be a number from 1 to 65535") from None
    if parts.scheme.lower() not in SERVER_SCHEMES:
        raise StoreError(f"bad Milvus URI {shown}: use a Milvus Lite file (*.db) or http(s)://host:port for a server")
    if not parts.hostname:
        raise StoreError(f"bad Milvus URI {shown}: no host")
    if port == 0:
        raise StoreError(f"bad Milvus URI {shown}: the port must be a number from 1 to 65535")


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


# Where a server's message turns into a Go stack trace or an RPC dump.
_NOISE = re.compile(r"\s*(goroutine \d+|panic:|\[recovered\]|github\.com/|runtime/|<_InactiveRpcError)")


def first_line(exc: BaseException | None, limit: int = 300) -> str:
    """The meaningful first line of an error: no stack trace, no RPC dump, not too long."""
    message = str(getattr(exc, "message", None) or str(exc) or type(exc).__name__).strip()
    line = message.splitlines()[0] if message else type(exc).__name__
    line = _NOISE.split(line, maxsplit=1)[0].strip() or line
    return line if len(line) <= limit else line[: limit - 1] + "…"


def auth_failed(exc: BaseException) -> bool:
    """Whether a connection failed on credentials. pymilvus reports a bad token with the same
    message as a dead server; only the gRPC status of the cause tells them apart."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            break
        code = getattr(seen, "code", None)
        status = code() if callable(code) else None
        if getattr(status, "name", "") in {"UNAUTHENTICATED", "PERMISSION_DENIED"}:
            return True
        text = str(getattr(seen, "message", "") or seen).lower()
        if "auth check failure" in text or "authentication fail" in text or "missing authorization" in text:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


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
    check_server_uri(uri)
    from pymilvus import MilvusClient
    from pymilvus.exceptions import MilvusException

    last = None
    for attempt in range(max(1, retries)):
        try:
            return MilvusClient(uri=uri, token=token, timeout=timeout)
        except MilvusException as exc:
            if auth_failed(exc):
                raise StoreError(
                    f"Milvus at {redact_uri(uri)} refused the credentials: check --token or MILVUS_TOKEN "
                    "(user:password or an API key)"
                ) from None
            last = exc
            time.sleep(min(2.0, 0.5 * (attempt + 1)))
        except ValueError as exc:  # pymilvus's own URI parsing, past the checks above
            raise StoreError(f"bad Milvus URI {redact_uri(uri)}: {first_line(exc)}") from None
    raise StoreError(f"cannot reach Milvus at {redact_uri(uri)}: {first_line(last)}")


def _open_lite(uri: str):
    from pymilvus import MilvusClient
    from pymilvus.exceptions import MilvusException

    if "://" in uri:  # a server URL ending in .db: never read as a path (it may hold credentials)
        raise StoreError(
            f"bad Milvus URI {redact_uri(uri)}: a Milvus Lite database is a file path ending in .db, "
            "a server is http(s)://host:port"
        )
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


FAISS_CLUSTERING_WARNING = b"WARNING clustering "


@contextmanager
def faiss_clustering_quiet() -> Iterator[None]:
    """Drop FAISS's "WARNING clustering N points to K centroids" lines while the block runs.

    Milvus Lite trains IVF lists with FAISS in this process, and FAISS prints that warning
    from C++ straight to file descriptor 2 when a segment has fewer than 39 rows per list:
    noise beside the harness's own note on nlist. Everything else written to fd 2 passes
    through unchanged (a line that might be the warning is held until its end).
    """
    try:
        saved = os.dup(2)
        read, write = os.pipe()
    except OSError:
        yield
        return
    sys.stderr.flush()
    os.dup2(write, 2)
    os.close(write)

    def pump() -> None:
        pending = b""
        while True:
            chunk = os.read(read, 65536)
            if not chunk:
                break
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                if not line.startswith(FAISS_CLUSTERING_WARNING):
                    os.write(saved, line + b"\n")
            if pending and not FAISS_CLUSTERING_WARNING.startswith(pending[: len(FAISS_CLUSTERING_WARNING)]):
                os.write(saved, pending)
                pending = b""
        if pending and not pending.startswith(FAISS_CLUSTERING_WARNING):
            os.write(saved, pending)
        os.close(read)

    thread = threading.Thread(target=pump, name="faiss-stderr-filter", daemon=True)
    thread.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # closes the pipe's last write end: the pump reads to its end
        thread.join(timeout=5)
        os.close(saved)
