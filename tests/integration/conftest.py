"""Everything here starts real worker processes or stops a real server: the slow set."""

from collections.abc import Iterator

import pytest

from tests.pg_server import PrivateServer


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in item.path.parts:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def private_pg() -> Iterator[PrivateServer]:
    """A PostgreSQL server of this test's own, for tests that stop or restart one."""
    server = PrivateServer()
    try:
        server.start()
        yield server
    finally:
        server.close()
