"""`spacehpo dashboard` flags: checked before anything starts, and kept intact when the command
restarts itself to move the storage URL out of its command line."""

from pathlib import Path

import pytest
from spacehpo.cli.main import build_parser
from spacehpo.cli.user import dashboard_flags, dashboard_options_from_args
from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.reports.dashboard import banner
from spacehpo.hpo.reports.dashboard_options import DashboardOptions

from tests.conftest import assert_one_line_error, run_cli


def _options(*flags: str) -> DashboardOptions:
    return dashboard_options_from_args(build_parser().parse_args(["dashboard", *flags]))


def test_flags_become_options_and_survive_the_restart() -> None:
    assert _options() == DashboardOptions("builtin", "127.0.0.1", 8080, 1, None)
    assert _options("--server", "gunicorn").workers == 2
    options = _options("--server", "gunicorn", "--workers", "4", "--host", "::1", "--port", "9000",
                       "--artifacts", "s3://bucket")  # fmt: skip
    assert _options(*dashboard_flags(options)) == options
    assert options.url == "http://[::1]:9000/"
    line = banner(options, "postgresql+psycopg2://u:***@db/s", "s3://bucket")
    assert "gunicorn, 4 workers" in line and "u:***@db" in line and line.endswith("Ctrl-C stops it")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--server", "uwsgi"], "--server uwsgi: use one of builtin, gunicorn"),
        (["--server", "gunicorn", "--workers", "0"], "--workers 0: must be 1 or more"),
        (["--workers", "3"], "--workers 3: the builtin server is one process"),
        (["--port", "70000"], "--port 70000: must be 1 to 65535"),
    ],
)
def test_bad_flags_are_refused(flags: list[str], message: str) -> None:
    with pytest.raises(HpoError, match=message):
        _options(*flags)


def test_a_bad_flag_is_one_line_before_any_storage_opens(tmp_path: Path) -> None:
    journal = tmp_path / "j.log"
    r = run_cli("dashboard", "--storage", f"journal:{journal}", "--server", "uwsgi")
    assert_one_line_error(r, "--server uwsgi")
    assert not journal.exists()
