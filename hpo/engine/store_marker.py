"""Proof that a worker writes to the study's own artifact store, not a look-alike.

A path like /shared/artifacts exists on every host, but only a mount of the shared store holds
the marker `study create` wrote there. Without this check a host with a local folder at that
path would quietly resume every trial from epoch 0 and keep its checkpoints to itself.
"""

from __future__ import annotations

import uuid

from spacehpo.hpo.core.errors import HpoError
from spacehpo.storage.artifacts import ArtifactStore, read_text, write_text


def marker_id(study: str) -> str:
    return f"spacehpo-store-{study}.marker"


def mark_store(store: ArtifactStore, study: str) -> str:
    """Write a new marker; returns the id the study records."""
    store_id = uuid.uuid4().hex
    write_text(store, marker_id(study), store_id)
    return store_id


def check_store(store: ArtifactStore, study: str, store_id: str, location: str) -> None:
    found = read_text(store, marker_id(study))
    if found != store_id:
        what = "is missing" if found is None else "belongs to another study of that name"
        raise HpoError(
            f"artifact store {location}: not study {study!r}'s store (its marker "
            f"{marker_id(study)} {what}); mount the shared store there, or pass this host's "
            "path to it with `spacehpo worker --artifacts PATH`"
        )
