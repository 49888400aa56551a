"""Take the README's pictures from real runs: the dashboard and TensorBoard on a study, and a
compare report.

    .venv/bin/python scripts/screenshots.py --storage journal:spacehpo-demo/journal.log \
        --study demo-staged --compare spacehpo-demo/compare.html --out docs/screenshots
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", required=True)
    parser.add_argument("--study", required=True, help="the study to show (and TensorBoard's)")
    parser.add_argument("--trial", type=int, default=0, help="trial number to show")
    parser.add_argument("--compare", type=Path)
    parser.add_argument("--no-tensorboard", action="store_true", help="skip TensorBoard's shot")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    return parser


def wait_for_port(port: int, timeout_s: float = 60.0) -> None:
    """A server on a slow machine takes seconds to listen; a fixed sleep is either too short or
    wasted."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise SystemExit(f"screenshots: nothing listens on port {port} after {timeout_s:.0f} s")


def main() -> None:
    args = _parser().parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    cli = [sys.executable, "-m", "spacehpo.cli"]
    server = subprocess.Popen([*cli, "dashboard", "--storage", args.storage, "--port", str(port)])
    try:
        wait_for_port(port)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            dashboard_shots(page, args, f"http://127.0.0.1:{port}")
            if args.compare:
                page.goto(args.compare.resolve().as_uri())
                page.wait_for_timeout(3000)
                page.set_viewport_size({"width": 1300, "height": 1150})
                # headline, stage winners, cost curves
                page.screenshot(path=str(args.out / "compare.png"))
            if not args.no_tensorboard:
                tensorboard_shot(page, args)
            browser.close()
    finally:
        server.terminate()
        server.wait()


def dashboard_shots(page: Page, args: argparse.Namespace, root: str) -> None:
    """The study's overview, and one trial's page with its notes and artifacts. The dashboard's
    own API names the study's id (0 first in a journal, 1 in a database)."""
    studies = page.request.get(f"{root}/api/studies").json()["study_summaries"]
    ids = [s["study_id"] for s in studies if s["study_name"] == args.study]
    if not ids:
        raise SystemExit(f"screenshots: no study {args.study!r} in {args.storage}")
    base = f"{root}/dashboard/studies/{ids[0]}"
    page.goto(base)
    page.get_by_text(args.study).first.wait_for(timeout=60_000)
    page.wait_for_timeout(3000)
    page.screenshot(path=str(args.out / "dashboard-study.png"))
    page.goto(f"{base}/trials")
    page.get_by_text(f"Trial {args.trial}").first.wait_for(timeout=60_000)
    page.get_by_text(f"Trial {args.trial}").first.click()
    page.wait_for_timeout(2500)
    page.screenshot(path=str(args.out / "dashboard-trial.png"), full_page=True)


def tensorboard_shot(page: Page, args: argparse.Namespace) -> None:
    """`spacehpo tensorboard STUDY`: every run's train/ and val/ scalars."""
    port = free_port()
    command = [sys.executable, "-m", "spacehpo.cli", "tensorboard", args.study]
    server = subprocess.Popen([*command, "--storage", args.storage, "--port", str(port)])
    try:
        wait_for_port(port)
        page.set_viewport_size({"width": 1500, "height": 1100})
        page.goto(f"http://127.0.0.1:{port}/?pinnedCards=%5B%5D#scalars")
        page.wait_for_timeout(6000)
        page.screenshot(path=str(args.out / "tensorboard.png"))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
