"""optuna-dashboard under gunicorn: each worker process opens the storage itself, after the fork,
and serves the real dashboard API."""

import json
import wsgiref.util
from pathlib import Path

from spacehpo.hpo.reports.dashboard_gunicorn import DashboardApplication
from spacehpo.hpo.reports.dashboard_options import DashboardOptions

from tests.hpo.engine_fixtures import fake_study


def test_each_gunicorn_worker_builds_its_own_app(tmp_path: Path) -> None:
    handle, _ = fake_study(tmp_path)
    handle.close()
    options = DashboardOptions("gunicorn", port=9000, workers=3)
    app = DashboardApplication(f"journal:{tmp_path / 'j.log'}", str(tmp_path / "a"), options)
    assert (app.cfg.workers, app.cfg.bind, app.cfg.preload_app) == (3, ["127.0.0.1:9000"], False)
    environ = {"PATH_INFO": "/api/studies"}
    wsgiref.util.setup_testing_defaults(environ)
    statuses: list[str] = []
    body = b"".join(app.wsgi()(environ, lambda status, *_: statuses.append(status)))
    assert statuses == ["200 OK"]
    assert [s["study_name"] for s in json.loads(body)["study_summaries"]] == ["s"]
    app.cfg.worker_exit(None, None)
