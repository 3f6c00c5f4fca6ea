"""The command line's entry: ``app`` registers every command module; ``main()`` is the entry point
that maps every error a user can cause to one line and an exit code.

Nothing imports this package: command modules import only :mod:`harness.cli.common` and
the library, so the arrows run one way.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

import typer

from harness.cli.align import align
from harness.cli.compare import compare
from harness.cli.info import cache, collections, models
from harness.cli.ingest import ingest
from harness.cli.query import query
from harness.cli.runs import runs
from harness.cli.study import evaluate, report
from harness.errors import HarnessError

app = typer.Typer(
    help="Compare sentence-embedding models through Milvus: ingest a corpus once per model, "
    "probe every collection, compare.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for command in (ingest, query, collections, models, cache, evaluate, report, align, compare, runs):
    app.command()(command)

INTERRUPTED = 130
TERMINATED = 143  # 128 + SIGTERM, as a shell reports a process ended by it


class _Signals:
    terminated = False


def _on_sigterm(signum, frame) -> None:
    # Unwound as Ctrl-C is: partial folders removed, the collection left marked incomplete.
    _Signals.terminated = True
    raise KeyboardInterrupt


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM handled as Ctrl-C while the block runs (main thread only; the handler before is put back)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def configure_process() -> None:
    """Process-wide settings for a CLI run, made once here rather than by library code."""
    # gRPC's C core logs keepalive chatter straight to stderr; read when grpc first loads.
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if "transformers" in sys.modules:  # already imported (a notebook, a test): the variables came too late
        from transformers.utils import logging as transformers_logging

        transformers_logging.set_verbosity_error()
        transformers_logging.disable_progress_bar()
    # Libraries log tracebacks for failures the harness reports as one line; pymilvus
    # re-configures its loggers when imported, and a global disable survives that.
    logging.disable(logging.CRITICAL)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code: 0 done, 1 error, 2 usage error, 130 interrupted
    (Ctrl-C), 143 terminated (SIGTERM, under :func:`main`)."""
    _Signals.terminated = False
    try:
        code = app(args=argv, prog_name="harness", standalone_mode=False)
    except typer.TyperException as exc:
        # Usage errors print as click prints them (usage line, hint, one error line); with
        # no arguments at all the help is already on screen.
        if type(exc).__name__ != "NoArgsIsHelpError":
            exc.show()  # type: ignore[attr-defined]
        return exc.exit_code
    except (KeyboardInterrupt, typer.Abort):
        code = INTERRUPTED
    except typer.Exit as exc:
        code = exc.exit_code
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        from pymilvus.exceptions import MilvusException

        if isinstance(exc, MilvusException):
            print(f"error: Milvus: {getattr(exc, 'message', exc)}", file=sys.stderr)
            return 1
        raise
    if code == INTERRUPTED and _Signals.terminated:
        print("terminated", file=sys.stderr)
        return TERMINATED
    if code == INTERRUPTED:
        print("interrupted", file=sys.stderr)
        return INTERRUPTED
    return code if isinstance(code, int) else 0


def main() -> None:
    configure_process()
    with sigterm_as_interrupt():
        code = run()
    sys.exit(code)


if __name__ == "__main__":
    main()
