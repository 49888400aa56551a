"""The one exception type of the storage layer; messages never contain a password."""


class StorageError(Exception):
    """A storage URL, lock or artifact store the user can fix."""
