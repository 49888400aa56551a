"""The `spacehpo` command: the one place that turns flags into configuration dataclasses.

Errors a user can cause arrive here as one exception type per layer and leave as one line on
stderr with exit code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from spacehpo.data.errors import DataError
from spacehpo.model.config import TrainConfig
from spacehpo.model.errors import ModelError

USER_ERRORS: tuple[type[Exception], ...] = (DataError, ModelError)

TRAIN_FLAG_HELP = {
    "lr": "AdamW learning rate",
    "weight_decay": "AdamW weight decay",
    "sigma": "width of the centre Gaussian target, in grid cells",
    "k": "k-factor: weight of positive centre cells",
    "box_weight": "weight of the box loss",
    "centre_weight": "weight of the centre loss",
    "epochs": "training epochs",
    "batch_size": "images per step",
    "image_size": "square input side in pixels (multiple of 32)",
    "seed": "random seed (init and shuffling)",
    "device": "cpu, cuda or cuda:N",
    "schedule": "constant or cosine",
    "warmup_epochs": "linear warmup length for the cosine schedule",
    "pretrained": "none, imagenet (torchvision weights) or a state dict file",
    "num_threads": "torch CPU threads (0: default)",
}


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


def _data_commands(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="create, convert and check datasets").add_subparsers(
        dest="data_cmd", required=True
    )
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


def add_train_flags(p: argparse.ArgumentParser, names: tuple[str, ...] = tuple(TRAIN_FLAG_HELP)) -> None:
    defaults = TrainConfig()
    for name in names:
        help_text, value = TRAIN_FLAG_HELP[name], getattr(defaults, name)
        p.add_argument(
            f"--{name.replace('_', '-')}",
            type=type(value),
            default=value,
            help=f"{help_text} (default {value})",
        )
    p.add_argument(
        "--amp",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="bf16 autocast (default: on for CUDA)",
    )
    p.add_argument("--compile", action="store_true", help="torch.compile the model")


def train_config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The one place where training flags become a TrainConfig."""
    cfg = TrainConfig(
        **{name: getattr(args, name) for name in TRAIN_FLAG_HELP},
        amp=args.amp,
        compile=args.compile,
    )
    if cfg.image_size % 32 or cfg.image_size < 64:
        raise DataError(f"--image-size {cfg.image_size}: must be a multiple of 32, at least 64")
    if cfg.schedule not in ("constant", "cosine"):
        raise DataError(f"--schedule {cfg.schedule!r}: must be constant or cosine")
    return cfg


def _train(args: argparse.Namespace) -> None:
    from spacehpo.model.commands import run_train

    run_train(train_config_from_args(args), args.data, args.out)


def _evaluate(args: argparse.Namespace) -> None:
    from spacehpo.model.commands import run_evaluate

    run_evaluate(
        args.checkpoint,
        args.data,
        args.split,
        args.out or args.checkpoint.parent / f"eval-{args.split}",
        args.device,
    )


def _predict(args: argparse.Namespace) -> None:
    from spacehpo.model.commands import run_predict

    run_predict(args.checkpoint, args.images, args.out, args.labels, args.device)


def _model_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train the detector once")
    p.add_argument("--data", type=Path, required=True, help="YOLO dataset folder")
    p.add_argument("--out", type=Path, required=True, help="run folder (resumes from its last.pt)")
    add_train_flags(p)
    p.set_defaults(func=_train)
    p = sub.add_parser(
        "evaluate", help="metrics, confusion matrix and per-image CSV of a checkpoint"
    )
    p.add_argument(
        "--checkpoint", type=Path, required=True, help="best.pt, last.pt or an exported model.pt"
    )
    p.add_argument("--data", type=Path, required=True, help="YOLO dataset folder")
    p.add_argument("--split", default="val", choices=["train", "val"], help="split to evaluate")
    p.add_argument("--out", type=Path, help="output folder (default: beside the checkpoint)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.set_defaults(func=_evaluate)
    p = sub.add_parser("predict", help="SPARK submission CSV and overlay pictures for images")
    p.add_argument(
        "--checkpoint", type=Path, required=True, help="best.pt, last.pt or an exported model.pt"
    )
    p.add_argument("--images", type=Path, required=True, help="an image or a folder of images")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--labels", type=Path, help="SPARK labels CSV: also draw the true boxes")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.set_defaults(func=_predict)


COMMAND_GROUPS: list[Callable[[argparse._SubParsersAction], None]] = [
    _data_commands,
    _model_commands,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spacehpo", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    for add in COMMAND_GROUPS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except USER_ERRORS as err:
        print(f"spacehpo: error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        print("spacehpo: interrupted", file=sys.stderr)
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
