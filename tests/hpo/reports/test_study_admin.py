"""`study list` and `study delete` on a real journal storage."""

from pathlib import Path

from spacehpo.hpo.engine.claim import claim
from spacehpo.hpo.reports.study_admin import delete_study, list_studies
from spacehpo.storage.artifacts import put_file

from tests.hpo.engine_fixtures import FAKE_SPEC, fake_study


def test_list_then_delete_removes_the_studys_artifacts(tmp_path: Path) -> None:
    handle, study = fake_study(tmp_path)
    trial = claim(study, handle, FAKE_SPEC, "w", lambda _: None).trial
    (tmp_path / "ck").write_text("x")
    store_dir = tmp_path / "artifacts"
    from spacehpo.storage.artifacts import open_artifact_store

    put_file(open_artifact_store(str(store_dir)), "ckpt-a", tmp_path / "ck")
    trial.set_user_attr("checkpoint", {"artifact": "ckpt-a", "epoch": 1})
    assert [r["study"] for r in list_studies(handle)] == ["s"]
    assert list_studies(handle)[0]["running"] == 1
    assert delete_study(handle, "s") == 1
    assert list_studies(handle) == [] and not [p for p in store_dir.iterdir() if p.is_file()]
