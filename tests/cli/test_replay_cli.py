"""`spacehpo replay` as users run it: on a table file or a finished full-grid study, its table,
words and HTML; `--export-table`; and one line with exit code 2 for what it cannot replay."""

import json
from pathlib import Path

import pytest
from spacehpo.cli.main import main
from spacehpo.hpo.engine.worker import WorkerConfig, run_worker
from spacehpo.hpo.replay.table import read_table, write_table

from tests.conftest import run_cli
from tests.hpo.replay_tables import create_here, synthetic_table

GRID = """name = "grid4"
[[stage]]
grid = { lr = [3e-4, 1e-4], weight_decay = [1e-4, 1e-5], sigma = [0.5], k = [8], box_weight = [5] }
"""


@pytest.fixture
def table_file(tmp_path: Path) -> Path:
    path = tmp_path / "table.csv"
    write_table(synthetic_table(repeats=3, epochs=3, noise=0.01), path)
    return path


def _create(url: str, root: Path, name: str, *extra: str) -> None:
    create_here(url, root, name, "none", "--set", "epochs=2", *extra)


def _fails(capsys: pytest.CaptureFixture, *args: str) -> str:
    """Exit code 2 and exactly one line on stderr, no traceback."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as stopped:
        main(list(args))
    assert stopped.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("spacehpo: error:"), err
    return err[0]


def test_replay_of_a_table_prints_the_table_the_words_and_writes_the_html(
    table_file: Path, tmp_path: Path
) -> None:
    html = tmp_path / "replay.html"
    r = run_cli(
        "replay",
        str(table_file),
        "--plans",
        "staged,full,random:22",
        "--seeds",
        "4",
        "--out",
        str(html),
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:3] == ["plan", "epochs", "cost"]
    assert [line.split()[0] for line in lines[2:5]] == ["staged", "full", "random:22"]
    assert (
        "within noise: " in r.stdout and "staged (its most frequent pick): the staged" in r.stdout
    )
    assert "cheapest plan within the noise" in r.stdout or "no plan came within" in r.stdout
    assert f"report {html}" in r.stdout
    page = html.read_text()
    assert "plotly" in page and "staged" in page and "<table>" in page


def test_json_carries_the_numbers_and_words_go_to_stderr(
    table_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    main(
        [
            "replay",
            str(table_file),
            "--plans",
            "staged,full",
            "--seeds",
            "3",
            "--out",
            str(tmp_path / "r.html"),
            "-f",
            "json",
        ]
    )
    out = capsys.readouterr()
    data = json.loads(out.out)
    assert [p["plan"] for p in data["plans"]] == ["staged", "full"]
    assert data["plans"][1]["cost"] == 1.0 and data["objective"] == "class_acc"
    assert "report " in out.err


@pytest.mark.slow  # a real worker runs the grid
def test_export_table_of_a_finished_full_grid_replays(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    url = f"journal:{tmp_path / 'journal.log'}"
    (tmp_path / "grid4.toml").write_text(GRID)
    _create(
        url,
        tmp_path,
        "grid",
        "--plan",
        str(tmp_path / "grid4.toml"),
        "--repeats",
        "2",
        "--set",
        "noise=0.02",
    )
    run_worker(WorkerConfig("grid", url, poll_s=0.05))
    csv = tmp_path / "grid.csv"
    main(["replay", "--export-table", "grid", str(csv), "--storage", url])
    table = read_table(csv)
    assert (len(table.configs), table.repeats, table.epochs) == (4, 2, 2)
    assert "# source: study grid" in csv.read_text()
    main(
        [
            "replay",
            str(csv),
            "--plans",
            "full,random:2",
            "--seeds",
            "2",
            "--out",
            str(tmp_path / "r.html"),
        ]
    )
    main(
        [
            "replay",
            "grid",
            "--storage",
            url,
            "--plans",
            "full",
            "--seeds",
            "2",
            "--out",
            str(tmp_path / "r.html"),
        ]
    )
    assert capsys.readouterr().out.count("full (its most frequent pick)") == 2


def test_what_replay_cannot_use_is_one_line(
    tmp_path: Path, table_file: Path, capsys: pytest.CaptureFixture
) -> None:
    url = f"journal:{tmp_path / 'journal.log'}"
    _create(url, tmp_path, "staged")
    assert "is not a full grid" in _fails(capsys, "replay", "staged", "--storage", url)
    (tmp_path / "grid4.toml").write_text(GRID)
    _create(url, tmp_path, "grid", "--plan", str(tmp_path / "grid4.toml"))
    line = _fails(capsys, "replay", "--export-table", "grid", "t.csv", "--storage", url)
    assert "is not a finished full grid: point 0 repeat 0 is not run" in line
    line = _fails(capsys, "replay", str(table_file), "--plans", "staged,stagged")
    assert "unknown plan 'stagged'" in line
    assert "--jobs 0: must be at least 1" in _fails(
        capsys, "replay", str(table_file), "--jobs", "0"
    )
    lines = table_file.read_text().splitlines()
    table_file.write_text("\n".join(ln for ln in lines if not ln.startswith("3,")) + "\n")
    assert "config 3 repeat 0 epoch 1 is missing" in _fails(capsys, "replay", str(table_file))
    assert "no study 'nope'" in _fails(capsys, "replay", "nope", "--storage", url)
