"""The dashboard's artifact store, because checkpoints and pictures show in its trial pages only
when it serves the store the studies recorded."""

from pathlib import Path

from spacehpo.hpo.reports.dashboard import artifact_location

from tests.hpo.engine_fixtures import fake_study


def test_dashboard_serves_the_store_the_studies_recorded(tmp_path: Path) -> None:
    handle, _ = fake_study(tmp_path)
    assert artifact_location(handle, None) == str(tmp_path / "artifacts")
    assert artifact_location(handle, "/elsewhere") == "/elsewhere"
