"""Where checkpoints and pictures live: an Optuna artifact store every host can reach.

A plain path (shared by all workers, e.g. NFS) gives a FileSystemArtifactStore; `s3://BUCKET`
gives Boto3ArtifactStore (credentials and endpoint from the usual AWS variables).
"""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

from optuna.artifacts import Boto3ArtifactStore, FileSystemArtifactStore
from optuna.artifacts.exceptions import ArtifactNotFound
from spacehpo.storage.errors import StorageError

ArtifactStore = FileSystemArtifactStore | Boto3ArtifactStore


def open_artifact_store(location: str) -> ArtifactStore:
    if location.startswith("s3://"):
        bucket = location.removeprefix("s3://").strip("/")
        if not bucket or "/" in bucket:
            raise StorageError(f"artifact store {location!r}: use s3://BUCKET (no prefix)")
        return Boto3ArtifactStore(bucket)
    path = Path(location)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StorageError(f"artifact store {path}: cannot create it ({err.strerror})") from None
    return FileSystemArtifactStore(path)


def put_file(store: ArtifactStore, artifact_id: str, path: Path) -> None:
    with path.open("rb") as f:
        store.write(artifact_id, f)


def get_file(store: ArtifactStore, artifact_id: str, path: Path) -> bool:
    """Download to `path`; False when the store has no such artifact."""
    try:
        with store.open_reader(artifact_id) as src, path.open("wb") as dst:
            shutil.copyfileobj(src, dst)
    except (ArtifactNotFound, FileNotFoundError):
        path.unlink(missing_ok=True)
        return False
    return True


def remove_quietly(store: ArtifactStore, artifact_id: str) -> None:
    with contextlib.suppress(ArtifactNotFound, FileNotFoundError):
        store.remove(artifact_id)


def write_text(store: ArtifactStore, artifact_id: str, text: str) -> None:
    store.write(artifact_id, io.BytesIO(text.encode()))


def read_text(store: ArtifactStore, artifact_id: str) -> str | None:
    """None when the store has no such artifact."""
    try:
        with store.open_reader(artifact_id) as f:
            return f.read().decode()
    except (ArtifactNotFound, FileNotFoundError):
        return None
