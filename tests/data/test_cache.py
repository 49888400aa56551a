import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from spacehpo.data.cache import decode, open_split
from spacehpo.data.synth import SynthConfig, generate
from spacehpo.data.yolo import fingerprint

from tests.conftest import REPO

OPEN = (
    "import sys; from pathlib import Path; from spacehpo.data.cache import open_split; "
    "open_split(Path(sys.argv[1]), 'train', int(sys.argv[2]), Path(sys.argv[3]), progress=False)"
)


def _spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", OPEN, *args],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_cache_matches_direct_decode(tiny_dataset: Path, tmp_path: Path) -> None:
    split = open_split(tiny_dataset, "train", 32, tmp_path, progress=False)
    first = sorted((tiny_dataset / "images" / "train").iterdir())[0]
    assert split.stems[0] == first.stem
    assert np.array_equal(split.images[0], decode(first, 32))
    assert split.images.shape == (44, 32, 32, 3) and split.labels.shape == (44, 5)


def test_two_processes_build_once(tiny_dataset: Path, tmp_path: Path) -> None:
    procs = [_spawn(str(tiny_dataset), "48", str(tmp_path)) for _ in range(2)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    entries = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert len(entries) == 1 and not list(tmp_path.glob("*.tmp-*"))
    # built once: the entry's files were written once, not replaced by the second process
    meta = entries[0] / "meta.json"
    before = meta.stat().st_mtime_ns
    open_split(tiny_dataset, "train", 48, tmp_path, progress=False)
    assert meta.stat().st_mtime_ns == before


def _children(pid: int) -> list[int]:
    """Live processes whose parent is `pid`, from /proc (field 4 of stat is the parent)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.slow  # 600 images, so the kill lands while the pool decodes
def test_killed_build_leaves_nothing(tmp_path: Path) -> None:
    data = tmp_path / "ds"
    generate(data, SynthConfig(n_train=600, n_val=2, size=256, seed=0), progress=False)
    cache = tmp_path / "cache"
    proc = _spawn(str(data), "200", str(cache))
    deadline = time.time() + 30
    while not list(cache.glob("*.tmp-*")) and time.time() < deadline:
        time.sleep(0.02)
    while not _children(proc.pid) and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.05)  # the pool starts its processes together
    decoders = _children(proc.pid)
    assert decoders  # 600 images: a pool decodes them
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in decoders) and time.time() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in decoders if Path(f"/proc/{pid}").exists()]  # no orphan left
    assert not [p for p in cache.iterdir() if p.is_dir() and ".tmp-" not in p.name]
    split = open_split(data, "train", 200, cache, progress=False)  # the next user builds it whole
    assert len(split) == 600 and split.images[-1].any()
    assert not list(cache.glob("*.tmp-*"))


def test_a_known_fingerprint_is_not_recomputed(tiny_dataset: Path, tmp_path: Path) -> None:
    root = tmp_path / "ds"
    shutil.copytree(tiny_dataset, root)
    built = open_split(root, "train", 32, tmp_path / "cache", progress=False)
    known = fingerprint(root)
    (root / "data.yaml").unlink()  # hashing the dataset now fails: only the given value can work
    with pytest.raises(FileNotFoundError):
        open_split(root, "train", 32, tmp_path / "cache", progress=False)
    reopened = open_split(root, "train", 32, tmp_path / "cache", progress=False, fingerprint=known)
    assert reopened.stems == built.stems and np.array_equal(reopened.images, built.images)
