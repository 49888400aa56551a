"""The artifact store, because checkpoints and models must come back byte for byte and a missing
one must read as missing, not as an error."""

import os
from pathlib import Path

import pytest
from spacehpo.storage.artifacts import get_file, open_artifact_store, put_file, remove_quietly
from spacehpo.storage.errors import StorageError


def test_artifact_round_trip(tmp_path: Path) -> None:
    store = open_artifact_store(str(tmp_path / "artifacts"))
    src = tmp_path / "a.bin"
    src.write_bytes(os.urandom(1000))
    put_file(store, "x.pt", src)
    assert (
        get_file(store, "x.pt", tmp_path / "b.bin")
        and (tmp_path / "b.bin").read_bytes() == src.read_bytes()
    )
    remove_quietly(store, "x.pt")
    remove_quietly(store, "x.pt")
    assert not get_file(store, "x.pt", tmp_path / "c.bin") and not (tmp_path / "c.bin").exists()
    with pytest.raises(StorageError, match="s3://BUCKET"):
        open_artifact_store("s3://bucket/prefix")
