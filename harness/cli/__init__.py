"""The command line: :mod:`harness.cli.entry` registers every command module in ``app`` and
maps every error a user can cause to one line and an exit code in ``main()``; this face hands
its names on. Nothing imports this package: command modules import only
:mod:`harness.cli.common` and the library, so the arrows run one way."""

from harness.cli.entry import INTERRUPTED, TERMINATED, app, configure_process, main, run, sigterm_as_interrupt

__all__ = ["INTERRUPTED", "TERMINATED", "app", "configure_process", "main", "run", "sigterm_as_interrupt"]
