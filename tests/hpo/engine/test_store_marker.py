"""The store marker, because a host whose folder merely looks like the shared artifact store
must be told apart from the store the study was created with."""

from pathlib import Path

import pytest
from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.engine.store_marker import check_store, mark_store, marker_id
from spacehpo.storage.artifacts import open_artifact_store


def test_store_marker_tells_stores_apart(tmp_path: Path) -> None:
    store = open_artifact_store(str(tmp_path / "a"))
    store_id = mark_store(store, "s")
    check_store(store, "s", store_id, "a")
    mark_store(store, "s")  # another study of the same name took this store over
    with pytest.raises(HpoError, match="another study"):
        check_store(store, "s", store_id, "a")
    assert (tmp_path / "a" / marker_id("s")).exists()


def test_a_look_alike_store_without_the_marker_is_refused_naming_the_fix(tmp_path: Path) -> None:
    local = open_artifact_store(str(tmp_path / "local"))  # exists, but is not the shared store
    with pytest.raises(HpoError, match=r"marker spacehpo-store-s\.marker is missing") as err:
        check_store(
            local, "s", mark_store(open_artifact_store(str(tmp_path / "shared")), "s"), "/x"
        )
    assert "artifact store /x" in str(err.value) and "--artifacts PATH" in str(err.value)
