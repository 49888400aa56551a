"""The README and docs/ show commands that work: each `spacehpo ...` parses with the real CLI
parser, each `python -m spacehpo.X` names a module that exists, and the README's Layout names
every package directory."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
import shlex
from pathlib import Path

import pytest
from spacehpo.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```[a-z]*\n(.*?)^```", re.M | re.S)
INLINE = re.compile(r"`((?:spacehpo|python -m spacehpo)\b[^`]*)`")


def _shell_lines(text: str) -> list[str]:
    """Lines of the fenced and indented blocks, continuations joined, comments dropped."""
    blocks = FENCE.findall(text)
    blocks += ["\n".join(m) for m in re.findall(r"((?:^    \S.*\n)+)", text, re.M)]
    lines = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                lines.append(line)
    return lines


def _argv(words: list[str]) -> list[str] | None:
    """The command after any `VAR=value` words: `spacehpo ...`, or the module of `python -m`."""
    while words and re.match(r"^[A-Z_]+=", words[0]):
        words = words[1:]
    cut = next((j for j, w in enumerate(words) if w in {"&&", "|", ";", "&"}), len(words))
    words = words[:cut]
    if words[:1] == ["spacehpo"]:
        return words
    if len(words) > 2 and words[0].endswith("python") and words[1] == "-m":
        return words[2:] if words[2].startswith("spacehpo.") else None
    return None


def _commands(page: Path) -> list[tuple[str, list[str], bool]]:
    """(where, argv, complete) of every command on the page: a code block's commands are
    complete; an inline mention may leave out required arguments."""
    text = page.read_text()
    found = []
    blocks = [(line, True) for line in _shell_lines(text)]
    for line, complete in blocks + [(m, False) for m in INLINE.findall(text)]:
        try:
            argv = _argv(shlex.split(line, comments=True))
        except ValueError:
            continue  # a fragment with a quote in prose, not a command
        if argv and "..." not in argv:
            found.append((f"{page.name}: {line}", argv, complete))
    return found


COMMANDS = [c for page in PAGES for c in _commands(page)]


@pytest.mark.parametrize("where,argv,complete", COMMANDS, ids=[c[0][:90] for c in COMMANDS])
def test_every_documented_command_parses(where: str, argv: list[str], complete: bool) -> None:
    if argv[0].startswith("spacehpo."):  # python -m spacehpo.X: the module exists
        assert importlib.util.find_spec(argv[0].rstrip(".")) is not None, where
        return
    if argv[1:] in ([], ["--help"]) or "--help" in argv:
        return
    errors = io.StringIO()
    with contextlib.redirect_stderr(errors):
        try:
            build_parser().parse_args(argv[1:])
        except SystemExit as exit_:
            if not complete and "arguments are required" in errors.getvalue():
                return  # `spacehpo train` in prose names the command, not a whole run
            pytest.fail(f"{where}\n  does not parse: {errors.getvalue().strip()} ({exit_.code})")


def test_the_pages_show_commands_at_all() -> None:
    """The extraction itself works: each page of the manual that runs things has commands."""
    counts = {p.name: len(_commands(p)) for p in PAGES}
    assert counts["README.md"] >= 15 and counts["deploy.md"] >= 5, counts


def test_the_layout_names_every_package_directory() -> None:
    text = (ROOT / "README.md").read_text()
    layout = text[text.index("## Layout") :].split("```")[1]
    named = set(re.findall(r"^([a-z_/]+)/\s", layout, re.M))
    packages = {
        str(init.parent.relative_to(ROOT))
        for init in ROOT.glob("*/**/__init__.py")
        if not init.is_relative_to(ROOT / "tests") and ".venv" not in init.parts
    }
    assert packages <= named, f"the Layout section omits {sorted(packages - named)}"


def test_a_misspelt_flag_on_a_page_would_be_caught(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("```bash\nSPACEHPO_STORAGE=x spacehpo study create s --no-such-flag\n```\n")
    (where, argv, complete), *_ = _commands(page)
    assert argv == ["spacehpo", "study", "create", "s", "--no-such-flag"] and complete
    with pytest.raises(SystemExit), contextlib.redirect_stderr(io.StringIO()):
        build_parser().parse_args(argv[1:])
