import csv
from pathlib import Path

import pytest

from tests.conftest import assert_one_line_error, run_cli, start_workers, wait_all
from tests.hpo.fakes import score
from tests.hpo.studies import create_fake_study


@pytest.mark.slow
def test_compare_staged_against_full_grid(tiny_dataset: Path, tmp_path: Path) -> None:
    storage = f"journal:{tmp_path / 'j.log'}"
    for name, plan in (("staged", "staged"), ("full", "full")):
        create_fake_study(
            storage,
            tmp_path,
            "--plan",
            plan,
            "--pruner",
            "none",
            "--set",
            "epochs=2",
            "--data",
            str(tiny_dataset),
            name=name,
        )
        wait_all(start_workers(2, name, storage, tmp_path))
    out = tmp_path / "report.html"
    r = run_cli("compare", "staged", "full", "--storage", storage, "--out", str(out))
    assert r.returncode == 0, r.stderr
    html = out.read_text()
    assert "plotly" in html.lower() and "Parallel coordinates" in html and "Stage winners" in html
    assert "<script src=" not in html  # self-contained: plotly is inlined
    rows = list(csv.DictReader(out.with_suffix(".csv").open()))
    assert len(rows) == 22 + 108 and {r["study"] for r in rows} == {"staged", "full"}
    # the fake's optimum is on the grid and the staged path reaches it: regret 0, rank 1, 44/216 of the cost
    best = max(
        score(dict(lr=lr, weight_decay=wd, sigma=s, k=k, box_weight=b))[0]
        for lr in (1e-4, 3e-4)
        for wd in (1e-4, 1e-5)
        for s in (0.3, 0.5, 0.7)
        for k in (6, 8, 10)
        for b in (3, 5, 8)
    )
    staged_line = next(line for line in r.stdout.splitlines() if line.startswith("staged "))
    assert (
        f"{best:.4f}" in staged_line and "0.204" in staged_line and staged_line.split()[-1] == "1"
    )
    assert " 0.0 " in staged_line or " 0.0000 " in staged_line  # regret


def test_compare_refuses_studies_on_other_data(tiny_dataset: Path, tmp_path: Path) -> None:
    from spacehpo.data.synth import SynthConfig, generate

    other = tmp_path / "other"
    generate(other, SynthConfig(n_train=11, n_val=11, size=64, seed=5), progress=False)
    storage = f"journal:{tmp_path / 'j.log'}"
    create_fake_study(storage, tmp_path, "--data", str(tiny_dataset), name="a")
    create_fake_study(storage, tmp_path, "--data", str(other), name="b")
    assert_one_line_error(
        run_cli("compare", "a", "b", "--storage", storage, "--out", str(tmp_path / "r.html")),
        "different data",
    )
