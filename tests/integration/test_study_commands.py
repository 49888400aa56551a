"""`study create` refuses what would fail in every worker (one line, exit 2, no study written);
`study list` and `study delete` (with the study's artifacts)."""

from pathlib import Path

import pytest

from tests.conftest import assert_one_line_error, run_cli, start_workers, wait_all
from tests.hpo.studies import create_fake_study, trials_of

BAD = [
    (["--image-size", "100"], "image_size = 100"),
    (["--set", "epoch=3"], "unknown training setting(s): epoch"),
    (["--set", "lr=abc"], "lr = 'abc'"),
    (["--epochs", "0"], "epochs = 0"),
    (["--epochs", "-3"], "epochs = -3"),
    (["--batch-size", "0"], "batch_size = 0"),
    (["--pretrained", "/nowhere/weights.pt"], "/nowhere/weights.pt"),
    (["--schedule", "linear"], "schedule = 'linear'"),
    (["--schedule", "cosine", "--epochs", "3", "--warmup-epochs", "3"], "warmup_epochs = 3.0"),
    (["--max-retries", "-1"], "--max-retries -1"),
    (["--amp", "--set", "amp=7"], "amp = 7"),
    (["--backbone", "vgg"], "backbone = 'vgg': use resnet18, resnet34"),
]


@pytest.mark.parametrize(("flags", "fragment"), BAD)
def test_create_refuses_settings_that_fail_in_every_worker(
    flags: list[str], fragment: str, tiny_dataset: Path, tmp_path: Path
) -> None:
    storage = f"journal:{tmp_path / 'j.log'}"
    r = run_cli(
        "study", "create", "s", "--storage", storage, "--data", str(tiny_dataset),
        "--artifacts", str(tmp_path / "a"), *flags,
    )  # fmt: skip
    assert_one_line_error(r, fragment)
    assert not (tmp_path / "j.log").exists()  # no half-written study: not even a storage


def test_create_refuses_bad_names_and_bad_labels(tiny_dataset: Path, tmp_path: Path) -> None:
    storage = f"journal:{tmp_path / 'j.log'}"
    r = run_cli("study", "create", "a b;rm", "--storage", storage, "--data", str(tiny_dataset))
    assert_one_line_error(r, "study name 'a b;rm'")
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny_dataset, broken)
    label = sorted((broken / "labels" / "train").iterdir())[0]
    label.write_text("12 0.5 0.5 0.1 0.1\n")
    r = run_cli("study", "create", "s", "--storage", storage, "--data", str(broken))
    assert_one_line_error(r, str(label))
    assert not (tmp_path / "j.log").exists()


def test_list_and_delete_with_artifacts(tmp_path: Path) -> None:
    storage = f"journal:{tmp_path / 'j.log'}"
    create_fake_study(storage, tmp_path, "--set", "epochs=2", "--pruner", "none")
    wait_all(start_workers(1, "s", storage, tmp_path, "--max-trials", "2"))
    listed = run_cli("study", "list", "--storage", storage, "-f", "json")
    assert '"study": "s"' in listed.stdout and '"complete": 2' in listed.stdout
    assert_one_line_error(run_cli("study", "delete", "s", "--storage", storage), "--yes")
    r = run_cli("study", "delete", "s", "--storage", storage, "--yes")
    assert r.returncode == 0 and "deleted study 's'" in r.stdout
    assert not [p for p in (tmp_path / "artifacts").rglob("*") if p.is_file()]
    assert "no studies" in run_cli("study", "list", "--storage", storage).stdout
    again = run_cli("study", "create", "s", "--storage", storage, "--trainable",
                    "tests.hpo.fakes:scored", "--artifacts", str(tmp_path / "artifacts"))  # fmt: skip
    assert again.returncode == 0 and not trials_of(storage)


def test_the_outlook_plan_runs_its_categorical_points_on_the_detector(
    tiny_dataset: Path, tmp_path: Path
) -> None:
    """The first three points of the outlook plan: resnet18 with each centre head, trained by a
    real worker; names travel through the plan, the trial record, status and TrainConfig."""
    storage = f"journal:{tmp_path / 'j.log'}"
    r = run_cli(
        "study", "create", "o", "--plan", "outlook", "--storage", storage,
        "--data", str(tiny_dataset), "--epochs", "2", "--image-size", "64",
        "--batch-size", "22", "--artifacts", str(tmp_path / "a"), "--pruner", "none",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    w = run_cli("worker", "o", "--storage", storage, "--device", "cpu", "--max-trials", "3")
    assert w.returncode == 0, w.stdout + w.stderr
    trials = trials_of(storage, "o")
    assert [(t.params["backbone"], t.params["centre_head"]) for t in trials[:3]] == [
        ("resnet18", head) for head in ("argmax", "offset", "softargmax")
    ]
    assert all(t.state.name == "COMPLETE" for t in trials[:3])
    status = run_cli("study", "status", "o", "--storage", storage).stdout
    assert "backbone x centre_head" in status and "centre_head=" in status
