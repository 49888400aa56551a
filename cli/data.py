"""`spacehpo data synth | convert | check`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _data_synth(args: argparse.Namespace) -> None:
    from spacehpo.data.synth import SynthConfig, generate

    config = SynthConfig(
        n_train=args.n_train, n_val=args.n_val, size=args.size, seed=args.seed, format=args.format
    )
    counts = generate(args.out, config)
    print(
        f"wrote {counts['train']} train + {counts['val']} val images ({config.format}) to {args.out}"
    )


def _data_convert(args: argparse.Namespace) -> None:
    from spacehpo.data.spark import convert

    counts = convert(args.spark_root, args.out)
    print(
        "converted "
        + ", ".join(f"{n} {split}" for split, n in counts.items())
        + f" images to {args.out}"
    )


def _data_check(args: argparse.Namespace) -> None:
    from spacehpo.data.report import check_and_summarise

    problems, summary = check_and_summarise(args.root)
    print(summary)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        raise SystemExit(2)


def add_command(name: str, parser: argparse.ArgumentParser) -> None:
    data = parser.add_subparsers(dest="data_cmd", required=True)
    p = data.add_parser("synth", help="write a SPARK-like synthetic dataset")
    p.add_argument("--out", type=Path, required=True, help="new output folder")
    p.add_argument("--n-train", type=int, default=660, help="training images")
    p.add_argument("--n-val", type=int, default=220, help="validation images")
    p.add_argument("--size", type=int, default=128, help="image side in pixels (SPARK: 1024)")
    p.add_argument("--seed", type=int, default=0, help="the same seed writes the same dataset")
    p.add_argument(
        "--format",
        choices=["yolo", "spark"],
        default="yolo",
        help="YOLO layout or the SPARK release format",
    )
    p.set_defaults(func=_data_synth)
    p = data.add_parser("convert", help="SPARK 2022 Stream 1 release -> YOLO layout")
    p.add_argument(
        "--spark-root",
        type=Path,
        required=True,
        help="folder with train.csv + train/ (and val.csv + val/)",
    )
    p.add_argument("--out", type=Path, required=True, help="new output folder")
    p.set_defaults(func=_data_convert)
    p = data.add_parser("check", help="validate a YOLO dataset and summarise it")
    p.add_argument("root", type=Path, help="dataset folder with data.yaml")
    p.set_defaults(func=_data_check)
