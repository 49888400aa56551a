"""The command table: every command is listed, and a help or usage error loads no heavy library."""

from __future__ import annotations

import subprocess
import sys

import pytest
from spacehpo.cli.main import COMMANDS, build_parser

HEAVY = ("optuna", "sqlalchemy", "torch", "numpy", "plotly")
SHOW_MODULES = "import sys\ntry:\n    main({argv!r})\nfinally:\n    print(sorted(sys.modules))"


def modules_loaded_by(argv: list[str]) -> set[str]:
    """Runs the real entry point in a fresh interpreter and names every module it imported."""
    code = "from spacehpo.cli.main import main\n" + SHOW_MODULES.format(argv=argv)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    return {name.split(".")[0] for name in eval(out.strip().splitlines()[-1])}


@pytest.mark.parametrize("argv", [["--help"], [], ["no-such-command"]])
def test_help_and_usage_errors_load_no_heavy_library(argv: list[str]) -> None:
    assert not set(HEAVY) & modules_loaded_by(argv)


def test_naming_a_command_imports_its_module_and_no_other() -> None:
    code = "import sys\nfrom spacehpo.cli.main import build_parser\nbuild_parser(['data'])\n"
    code += "print(sorted(m for m in sys.modules if m.startswith('spacehpo.cli.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert eval(out) == ["spacehpo.cli.data", "spacehpo.cli.main"]


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_gets_its_flags_from_its_module(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        build_parser([name]).parse_args([name, "--help"])
    usage = capsys.readouterr().out
    assert usage.count("\n  ") > 1, usage  # more than -h alone
