import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from spacehpo.data.errors import DataError
from spacehpo.data.yolo import (
    IMAGE_SUFFIXES,
    SPLITS,
    check_dataset,
    check_labels,
    fingerprint,
    load_split,
    parse_label_line,
)

from tests.conftest import run_cli


def _first(root: Path, kind: str) -> Path:
    return sorted((root / kind / "train").iterdir())[0]


def _label(root: Path) -> Path:
    return _first(root, "labels")


DEFECTS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "missing label": (lambda r: (_label(r).unlink(), _first(r, "images"))[1], "missing label"),
    "missing image": (
        lambda r: (_first(r, "images").unlink(), _label(r))[1],
        "label without an image",
    ),
    "wrong field count": (
        lambda r: (_label(r).write_text("3 0.5 0.5 0.1\n"), _label(r))[1],
        ":1: expected 5 fields",
    ),
    "class id out of range": (
        lambda r: (_label(r).write_text("11 0.5 0.5 0.1 0.1\n"), _label(r))[1],
        ":1: class id 11 out of range",
    ),
    "coordinates outside": (
        lambda r: (_label(r).write_text("1 1.5 0.5 0.1 0.1\n"), _label(r))[1],
        ":1: coordinates outside [0, 1]",
    ),
    "NaN": (
        lambda r: (_label(r).write_text("1 nan 0.5 0.1 0.1\n"), _label(r))[1],
        ":1: coordinates must be finite",
    ),
    "zero area": (
        lambda r: (_label(r).write_text("1 0.5 0.5 0.0 0.1\n"), _label(r))[1],
        ":1: zero-area box",
    ),
    "box outside image": (
        lambda r: (_label(r).write_text("1 0.95 0.5 0.3 0.1\n"), _label(r))[1],
        ":1: box extends outside",
    ),
    "two objects": (
        lambda r: (_label(r).write_text("1 0.5 0.5 0.1 0.1\n2 0.2 0.2 0.1 0.1\n"), _label(r))[1],
        ":2: 2 objects, one expected",
    ),
    "empty label": (lambda r: (_label(r).write_text(""), _label(r))[1], "no object (one expected)"),
    "truncated image": (
        lambda r: (
            _first(r, "images").write_bytes(_first(r, "images").read_bytes()[:300]),
            _first(r, "images"),
        )[1],
        "unreadable image",
    ),
    "empty image file": (
        lambda r: (_first(r, "images").write_bytes(b""), _first(r, "images"))[1],
        "unreadable image",
    ),
    "duplicate stem": (
        lambda r: (
            shutil.copy(_first(r, "images"), _first(r, "images").with_suffix(".png")),
            _first(r, "images").with_suffix(".png"),
        )[1],
        "duplicate image stem",
    ),
}


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_check_names_each_defect(tiny_dataset: Path, tmp_path: Path, defect: str) -> None:
    root = tmp_path / "ds"
    shutil.copytree(tiny_dataset, root)
    break_it, fragment = DEFECTS[defect]
    path = break_it(root)
    result = run_cli("data", "check", str(root))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    problems = result.stderr.strip().splitlines()
    assert len(problems) == 1, result.stderr
    assert problems[0].startswith(str(path)) and fragment in problems[0], problems[0]


def test_empty_split_and_missing_yaml(tiny_dataset: Path, tmp_path: Path) -> None:
    root = tmp_path / "ds"
    shutil.copytree(tiny_dataset, root)
    for p in (root / "images" / "val").iterdir():
        p.unlink()
    assert "empty split" in run_cli("data", "check", str(root)).stderr
    (root / "data.yaml").unlink()
    with pytest.raises(DataError, match="data.yaml: missing"):
        load_split(root, "train")


def test_clean_dataset_passes(tiny_dataset: Path) -> None:
    result = run_cli("data", "check", str(tiny_dataset))
    assert (
        result.returncode == 0
        and "OK" in result.stdout
        and "earth_observation_sat_1" in result.stdout
    )


DECODED_ONLY = {"truncated image", "empty image file"}  # defects seen only by decoding


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_label_scan_names_each_defect_it_can_see(
    tiny_dataset: Path, tmp_path: Path, defect: str
) -> None:
    root = tmp_path / "ds"
    shutil.copytree(tiny_dataset, root)
    break_it, fragment = DEFECTS[defect]
    path = break_it(root)
    scanned, checked = check_labels(root), check_dataset(root)[1]
    assert [str(p) for p in checked if str(p).startswith(str(path))], checked
    if defect in DECODED_ONLY:  # the scan never decodes an image: that is what makes it fast
        assert scanned == []
    else:
        assert scanned == checked and fragment in str(scanned[0])


def test_label_scan_reports_dataset_level_defects(tiny_dataset: Path, tmp_path: Path) -> None:
    root = tmp_path / "ds"
    shutil.copytree(tiny_dataset, root)
    assert check_labels(root) == []
    for p in (root / "images" / "val").iterdir():
        p.unlink()
    assert any("empty split" in str(p) for p in check_labels(root))
    (root / "data.yaml").write_text("names: [")
    assert [str(p) for p in check_labels(root)] == [f"{root / 'data.yaml'}:1: not valid YAML"]
    (root / "data.yaml").unlink()
    assert "data.yaml: missing" in str(check_labels(root)[0])


def _documented_fingerprint(root: Path) -> str:
    """The definition, written out serially: name and size of each file, labels whole, images by
    their first and last 64 KiB. Studies store this value, so it must not drift."""
    digest = hashlib.sha256((root / "data.yaml").read_bytes())
    for split in SPLITS:
        for folder, suffixes in (("images", IMAGE_SUFFIXES), ("labels", (".txt",))):
            for path in sorted((root / folder / split).iterdir()):
                if path.suffix.lower() in suffixes:
                    data, size = path.read_bytes(), path.stat().st_size
                    body = data if folder == "labels" else data[:65536] + data[-65536:]
                    digest.update(f"{folder}/{split}/{path.name}:{size}".encode() + body)
    return digest.hexdigest()[:16]


def test_fingerprint_is_the_documented_hash_however_it_reads(
    tiny_dataset: Path, tmp_path: Path
) -> None:
    root = tmp_path / "ds"
    shutil.copytree(tiny_dataset, root)
    large = _first(root, "images")
    Image.effect_noise((512, 512), 60).convert("RGB").save(large, quality=95)
    assert large.stat().st_size > 65536  # both branches: small images count twice, large by ends
    expected = _documented_fingerprint(root)
    serial = fingerprint(root, threads=1)
    threaded = fingerprint(root, threads=3, slow_file_s=0.0)  # as if the disk were slow
    assert serial == threaded == fingerprint(root) == expected


def test_fingerprint_follows_content(tiny_dataset: Path, tmp_path: Path) -> None:
    root = tmp_path / "ds"
    shutil.copytree(tiny_dataset, root)
    assert fingerprint(root) == fingerprint(tiny_dataset)
    _label(root).write_text("0 0.5 0.5 0.2 0.2\n")
    relabelled = fingerprint(root)
    assert relabelled != fingerprint(tiny_dataset)
    image = _first(root, "images")
    with Image.open(image) as im:
        im.load()
    im.save(image, quality=50)  # re-encoded: same name, same pixels to the eye
    assert fingerprint(root) != relabelled


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_label_line_parses_or_says_why(text: str) -> None:
    row, what = parse_label_line(text, 11)
    assert (row is None) != (what is None)
    if row is not None:
        assert 0 <= row[0] < 11 and (row[3:] > 0).all()
