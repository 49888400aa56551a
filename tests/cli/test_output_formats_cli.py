"""The real `spacehpo` on a journal file with trials run by a real worker: every machine format
parses, carries the numbers the table shows (the table rounds them), and puts nothing else on
stdout."""

import json
import subprocess
from itertools import takewhile
from pathlib import Path

import pytest
import yaml
from optuna.trial import TrialState
from spacehpo.cli.tables import cell
from spacehpo.hpo.reports.status import STATES, BestTrial, StageRow, StatusReport

from tests.conftest import run_cli, start_workers, wait_all
from tests.hpo.fakes import score
from tests.hpo.studies import create_fake_study

pytestmark = pytest.mark.slow  # two real workers start before the first test: about 5-8 s

# A full grid by its structure (one stage naming every parameter), over a small experiment
FULL_GRID = """name = "small-grid"
[[stage]]
grid = { lr = [1e-4, 3e-4], weight_decay = [1e-4, 1e-5], sigma = [0.5], k = [8], box_weight = [5] }
"""


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A staged study three trials in, and a small full grid, so compare fills every column."""
    root = tmp_path_factory.mktemp("formats")
    url = f"journal:{root / 'journal.log'}"
    (root / "full-small.toml").write_text(FULL_GRID)
    common = ("--set", "epochs=2", "--pruner", "none")
    create_fake_study(url, root, *common, name="staged")
    create_fake_study(url, root, *common, "--plan", str(root / "full-small.toml"), name="full")
    wait_all(
        start_workers(1, "staged", url, root, "--max-trials", "3")
        + start_workers(1, "full", url, root)
    )
    return url


def _ok(*args: str) -> subprocess.CompletedProcess:
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    return r


def _table(lines: list[str]) -> list[list[str]]:
    """The header and rows of the first table in `lines`, cut where the dashes under the header
    start (a header or a cell may hold single spaces)."""
    rule = next(i for i, line in enumerate(lines) if line.startswith("---"))
    dashes = lines[rule]
    starts = [i for i, ch in enumerate(dashes) if ch == "-" and (i == 0 or dashes[i - 1] == " ")]
    bounds = list(zip(starts, [*starts[1:], None], strict=True))
    body = [lines[rule - 1], *takewhile(str.strip, lines[rule + 1 :])]
    return [[line[a:b].strip() for a, b in bounds] for line in body]


def test_status_json_holds_the_numbers_the_table_shows(storage: str) -> None:
    status = ("study", "status", "staged", "--storage", storage)
    shown = _ok(*status, "--format", "table").stdout
    data = json.loads(_ok(*status, "-f", "json").stdout)
    report = StatusReport(**data)  # the JSON keys are the report's fields
    stages = [StageRow(**row) for row in report.stages]
    table = _table(shown.splitlines())
    assert len(table) == 1 + len(stages) and len(stages) == 3
    for row, cells in zip(stages, table[1:], strict=True):
        best = f"#{row.best_trial} {row.best_value:.3f}" if row.best_trial is not None else "-"
        assert cells[:2] == [row.stage, row.name] and cells[-2] == best
        assert cells[2 : 2 + len(STATES)] == [str(row.counts[s.name]) for s in STATES]
    assert stages[0].counts[TrialState.COMPLETE.name] == 3
    top = BestTrial(**report.best)
    assert top.class_acc == score(top.params)[0] == stages[0].best_value  # unrounded
    assert top.centre_acc == score(top.params)[1]
    line = (
        f"best trial #{top.number}: class_acc {top.class_acc:.4f}, centre_acc {top.centre_acc:.4f}"
    )
    assert line in shown and f"{report.remaining} trial(s) to go" in shown
    assert report.mean_trial_s is not None and report.mean_trial_s > 0
    workers = max(1, len(report.running))  # the ETA shares the rest among the running workers
    assert report.eta_s == pytest.approx(report.remaining * report.mean_trial_s / workers)
    assert f"ETA about {report.eta_s / 60:.1f} min" in shown
    assert f"(mean trial {report.mean_trial_s:.0f} s;" in shown


def test_list_yaml_is_the_json_and_the_table_rounds_it(storage: str) -> None:
    loaded = yaml.safe_load(_ok("study", "list", "--storage", storage, "-f", "yaml").stdout)
    assert loaded == json.loads(
        _ok("study", "list", "--storage", storage, "--format", "json").stdout
    )
    table = _table(_ok("study", "list", "--storage", storage).stdout.splitlines())
    assert table[0] == list(loaded[0]) and len(loaded) == 2
    assert table[1:] == [[cell(v) for v in row.values()] for row in loaded]


def test_compare_json_matches_the_table_and_still_writes_the_report(
    storage: str, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    args = ("compare", "staged", "full", "--storage", storage, "--out", str(out))
    r = _ok(*args, "--format", "json")
    rows = json.loads(r.stdout)  # stdout is the data alone
    *verdicts, files = r.stderr.strip().splitlines()  # stdout holds the data only
    assert files == f"report {out}; all trials {out.with_suffix('.csv')}"
    assert verdicts and all(line.startswith("staged: ") for line in verdicts)
    assert out.exists() and out.with_suffix(".csv").exists()
    assert [next(iter(row.values())) for row in rows] == ["staged", "full"]
    assert all(row["spread"] is None and row["repeats"] == 1 for row in rows)  # noise unknown
    assert all(v is not None for row in rows for k, v in row.items() if k != "spread")
    shown = _ok(*args).stdout
    assert f"report {out}; all trials" in shown
    table = _table(shown.splitlines())
    assert table[0] == list(rows[0])
    assert table[1:] == [[cell(v) for v in row.values()] for row in rows]
    assert yaml.safe_load(_ok(*args, "-f", "yaml").stdout) == rows


def test_value_format_prints_the_rows_without_a_header(storage: str, tmp_path: Path) -> None:
    def expected(rows: list[list[object]]) -> list[str]:
        return [" ".join("" if v is None else str(v) for v in row) for row in rows]

    listed = json.loads(_ok("study", "list", "--storage", storage, "-f", "json").stdout)
    shown = _ok("study", "list", "--storage", storage, "-f", "value").stdout
    assert shown.splitlines() == expected([list(r.values()) for r in listed])
    args = ("compare", "staged", "full", "--storage", storage, "--out", str(tmp_path / "r.html"))
    compared = json.loads(_ok(*args, "-f", "json").stdout)
    shown = _ok(*args, "-f", "value").stdout
    assert shown.splitlines() == expected([list(r.values()) for r in compared])
    status = ("study", "status", "staged", "--storage", storage)
    stages = [StageRow(**r) for r in json.loads(_ok(*status, "-f", "json").stdout)["stages"]]
    params = [" ".join(f"{k}={v}" for k, v in s.best_params.items()) for s in stages]
    rows = [
        [
            s.stage,
            s.name,
            *(s.counts[state.name] for state in STATES),
            s.best_trial,
            s.best_value,
            p,
        ]
        for s, p in zip(stages, params, strict=True)
    ]
    assert _ok(*status, "-f", "value").stdout.splitlines() == expected(rows)
