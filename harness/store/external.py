"""Collections the harness did not build: the sidecar file that describes one, and attaching
it to a store so that query, evaluate and align read it like their own (and never write).

A sidecar is a small JSON object::

    {"collection": "products", "model": "all-MiniLM-L6-v2",
     "id_field": "pk", "text_field": "body", "vector_field": "embedding",
     "group_field": null, "alias": "prod-minilm", "fingerprint": ""}

``collection`` and ``model`` (the spec of the model that made the vectors) are required; the
field names default to the harness's own (id, text, vector, group; a null group field: no
groups). The id field must be the INT64 primary key; the text field a VARCHAR; the vector
field a FLOAT_VECTOR.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Sequence

from harness.errors import StoreError
from harness.records import ExternalCollection, FieldNames
from harness.store.base import VectorStore

KEYS = {
    "collection": "the collection's name",
    "model": "the spec of the model that made its vectors",
    "id_field": "the INT64 primary key field",
    "text_field": "the VARCHAR field holding the text",
    "vector_field": "the FLOAT_VECTOR field",
    "group_field": "a VARCHAR field grouping rows, or null",
    "alias": "a short name for the model",
    "fingerprint": "the model's weights fingerprint, when known",
}
REQUIRED = ("collection", "model")


def read_sidecar(path: str | Path) -> ExternalCollection:
    """The sidecar at ``path``; a missing file, bad JSON, an unknown key or a wrong type is one line."""
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"collection sidecar not found: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StoreError(f"collection sidecar {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise StoreError(f"collection sidecar {path} must hold one JSON object")
    for key, value in data.items():
        if key not in KEYS:
            raise StoreError(f"collection sidecar {path}: unknown key {key!r} (known: {', '.join(KEYS)})")
        if value is not None and not isinstance(value, str):
            raise StoreError(f"collection sidecar {path}: {key} must be a string ({KEYS[key]})")
    for key in REQUIRED:
        if not data.get(key):
            raise StoreError(f"collection sidecar {path}: {key} is required ({KEYS[key]})")
    defaults = FieldNames()
    fields = FieldNames(
        id=data.get("id_field") or defaults.id,
        text=data.get("text_field") or defaults.text,
        vector=data.get("vector_field") or defaults.vector,
        group=data.get("group_field") if "group_field" in data else defaults.group,
    )
    return ExternalCollection(
        collection=data["collection"],
        model=data["model"],
        fields=fields,
        alias=data.get("alias") or "",
        fingerprint=data.get("fingerprint") or "",
        sidecar=str(path),
    )


def attach_sidecars(store: VectorStore, sidecars: Iterable[str | Path | ExternalCollection]) -> list[str]:
    """Read and attach each sidecar; returns the collection names, in order."""
    names = []
    for item in sidecars:
        external = item if isinstance(item, ExternalCollection) else read_sidecar(item)
        store.attach(external)
        names.append(external.collection)
    return names


def collections_to_use(store: VectorStore, given: Sequence[str] | None, attached: Sequence[str]) -> list[str]:
    """The collections a command runs on: those given, else every harness collection and every
    attached one."""
    if given:
        return list(given)
    return [*store.harness_collections(), *[name for name in attached if name not in store.harness_collections()]]


def check_fields(name: str, schema: dict[str, dict], fields: FieldNames, named: str) -> int:
    """The vector dimension of a collection the harness did not build, once its fields fit."""
    from pymilvus import DataType

    wanted = [
        (fields.id, "id", DataType.INT64),
        (fields.text, "text", DataType.VARCHAR),
        (fields.vector, "vector", DataType.FLOAT_VECTOR),
        *([(fields.group, "group", DataType.VARCHAR)] if fields.group else []),
    ]
    for field_name, role, kind in wanted:
        field = schema.get(field_name)
        if field is None:
            raise StoreError(
                f"collection {name!r} has no {role} field {field_name!r} ({named}; its fields: {', '.join(schema)})"
            )
        if field.get("type") != kind:
            raise StoreError(
                f"{role} field {field_name!r} of collection {name!r} is {getattr(field.get('type'), 'name', '?')}, "
                f"the harness reads {kind.name} ({named})"
            )
    if not schema[fields.id].get("is_primary"):
        raise StoreError(f"id field {fields.id!r} of collection {name!r} is not its primary key ({named})")
    return int(schema[fields.vector]["params"]["dim"])
