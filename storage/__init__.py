"""Optuna storages, storage-level locks, liveness, retries and artifact stores."""

from spacehpo.storage.backends import StorageHandle, open_storage
from spacehpo.storage.errors import StorageError

__all__ = ["StorageError", "StorageHandle", "open_storage"]
