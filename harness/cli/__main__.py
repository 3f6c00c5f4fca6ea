"""`python -m harness.cli`: the same entry point as the `harness` command."""

from harness.cli import main

main()
