"""Option types shared by the commands of cli.py and study_cli.py."""

from pathlib import Path
from typing import Annotated, Optional

import typer

ConfigOpt = Annotated[Optional[Path], typer.Option("--config", help="Experiment TOML file (default: ./harness.toml if present).")]
UriOpt = Annotated[
    Optional[str],
    typer.Option("--uri", help="Milvus Lite file (*.db) or server URI (http[s]://host:port). Env: MILVUS_URI. Default: harness.db."),
]
TokenOpt = Annotated[
    Optional[str],
    typer.Option("--token", help="Server token (user:password or API key). Prefer the MILVUS_TOKEN environment variable."),
]
DeviceOpt = Annotated[
    str, typer.Option("--device", help="auto, cpu, cuda, cuda:N, or a comma-separated list (one encoding process per device).")
]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Do not read or write the embedding cache.")]


def split_names(values: Optional[list[str]]) -> list[str]:
    """Repeated and comma-separated option values as one list."""
    return [name.strip() for value in values or [] for name in value.split(",") if name.strip()]
