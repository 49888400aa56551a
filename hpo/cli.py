"""The `spacehpo` command: the one place that turns flags into configuration dataclasses.

Errors a user can cause arrive here as one exception type per layer and leave as one line on
stderr with exit code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from spacehpo.data.errors import DataError
from spacehpo.hpo.errors import HpoError
from spacehpo.model.config import RUN_SETTINGS, TrainConfig
from spacehpo.model.errors import ModelError
from spacehpo.storage.errors import StorageError
from spacehpo.storage.urls import redact

if TYPE_CHECKING:
    from spacehpo.hpo.study import StudySpec

USER_ERRORS: tuple[type[Exception], ...] = (DataError, ModelError, HpoError, StorageError)

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


def add_train_flags(
    p: argparse.ArgumentParser, names: tuple[str, ...] = tuple(TRAIN_FLAG_HELP)
) -> None:
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


def _storage_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--storage",
        help="postgresql://USER:PASSWORD@HOST/DB (or SPACEHPO_STORAGE); default: the embedded journal file ./spacehpo-runs/journal.log",
    )


def _parse_set(items: list[str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise HpoError(f"--set {item!r}: use KEY=VALUE")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def study_spec_from_args(args: argparse.Namespace) -> StudySpec:
    """The one place where `study create` flags become a StudySpec."""
    from spacehpo.data.yolo import fingerprint, read_names
    from spacehpo.hpo.plans import resolve_plan
    from spacehpo.hpo.pruning import build_pruner
    from spacehpo.hpo.study import StudySpec
    from spacehpo.hpo.trainable import DETECTOR

    plan = resolve_plan(args.plan, args.reuse_repeats)
    settings: dict[str, object] = {name: getattr(args, name) for name in RUN_SETTINGS}
    settings.update(_parse_set(args.set))
    fp = ""
    if args.data is not None:
        read_names(args.data)  # a clear error now rather than in every worker
        settings["data"] = str(args.data.resolve())
        fp = fingerprint(args.data)
    elif args.trainable == DETECTOR:
        raise HpoError("--data is required for the detector")
    build_pruner(args.pruner, int(settings["epochs"]))  # validate now
    artifacts = args.artifacts or str(Path("spacehpo-runs", "artifacts").resolve())
    return StudySpec(plan, settings, fp, args.pruner, args.trainable, artifacts, args.max_retries)


def _study_create(args: argparse.Namespace) -> None:
    from spacehpo.hpo.notes import write_note
    from spacehpo.hpo.study import create
    from spacehpo.storage.backends import open_storage

    spec = study_spec_from_args(args)
    handle = open_storage(args.storage)
    study, created = create(handle, args.name, spec)
    if created:
        write_note(study, spec)
        print(
            f"created study {args.name!r} in {handle.display}: plan {spec.plan.name} ({spec.plan.size} points), artifacts in {spec.artifacts}"
        )
    else:
        print(
            f"study {args.name!r} already exists in {handle.display} with the same plan and data: nothing to do"
        )
    handle.close()


def _study_extend(args: argparse.Namespace) -> None:
    from spacehpo.hpo.study import ATTR, load
    from spacehpo.storage.backends import open_storage

    if args.tpe < 1:
        raise HpoError("--tpe N: N must be at least 1")
    handle = open_storage(args.storage)
    with handle.lock.hold(args.name):
        study, spec = load(handle, args.name)
        study.set_user_attr(
            ATTR, {**spec.to_dict(), "tpe": [*spec.tpe, {"n": args.tpe, "seed": args.seed}]}
        )
    total = sum(e["n"] for e in spec.tpe) + args.tpe
    print(
        f"study {args.name!r}: {args.tpe} TPE trial(s) added ({total} in all); they run once the plan is done. Start workers with `spacehpo worker {args.name}`"
    )
    handle.close()


def _study_status(args: argparse.Namespace) -> None:
    from spacehpo.hpo.status import status_text
    from spacehpo.hpo.study import load
    from spacehpo.storage.backends import open_storage

    handle = open_storage(args.storage)
    study, spec = load(handle, args.name)
    print(status_text(study, spec, handle.display))
    handle.close()


def _worker(args: argparse.Namespace) -> None:
    from spacehpo.hpo.worker import WorkerConfig, run_worker

    if args.devices and not args.device:
        from spacehpo.hpo.launch import launch

        forwarded = [args.name] + [
            f"--{k}={v}"
            for k, v in (
                ("storage", args.storage),
                ("data", args.data),
                ("trainable", args.trainable),
                ("heartbeat", args.heartbeat),
                ("grace", args.grace),
                ("poll", args.poll),
                ("max-trials", args.max_trials),
            )
            if v is not None
        ]
        raise SystemExit(launch(forwarded, args.devices))
    cfg = WorkerConfig(
        args.name,
        args.storage,
        args.device or "cpu",
        args.data,
        args.trainable,
        args.heartbeat,
        args.grace,
        args.poll,
        args.max_trials,
    )
    run_worker(cfg)


def _hpo_commands(sub: argparse._SubParsersAction) -> None:
    from spacehpo.hpo.trainable import DETECTOR

    study = sub.add_parser("study", help="create, extend and inspect studies").add_subparsers(
        dest="study_cmd", required=True
    )
    p = study.add_parser("create", help="create a study that workers fill")
    p.add_argument("name", help="study name")
    p.add_argument(
        "--plan", default="staged", help="staged (22 trials), full (108) or a .toml plan file"
    )
    p.add_argument(
        "--reuse-repeats",
        action="store_true",
        help="reuse earlier results for points that repeat an earlier configuration (staged: 18 trials)",
    )
    p.add_argument("--data", type=Path, help="YOLO dataset (its fingerprint is stored)")
    _storage_flag(p)
    p.add_argument(
        "--pruner",
        default="median",
        help="none, median, percentile:P or hyperband (default median)",
    )
    p.add_argument(
        "--trainable", default=DETECTOR, help="module:function to tune (default: the detector)"
    )
    p.add_argument(
        "--artifacts",
        help="artifact store every worker reaches: a shared path or s3://BUCKET (default ./spacehpo-runs/artifacts)",
    )
    p.add_argument(
        "--max-retries", type=int, default=3, help="times a trial of a dead worker is resumed"
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra setting for the trainable",
    )
    add_train_flags(p, RUN_SETTINGS)
    p.set_defaults(func=_study_create)
    p = study.add_parser(
        "extend", help="continue a study with TPE trials seeded by its finished trials"
    )
    p.add_argument("name", help="study name")
    p.add_argument("--tpe", type=int, required=True, help="number of TPE trials")
    p.add_argument("--seed", type=int, default=0, help="TPE seed")
    _storage_flag(p)
    p.set_defaults(func=_study_extend)
    p = study.add_parser("status", help="progress per stage, best trial, running trials, ETA")
    p.add_argument("name", help="study name")
    _storage_flag(p)
    p.set_defaults(func=_study_status)

    p = sub.add_parser("worker", help="run trials of a study until its plan is done")
    p.add_argument("name", help="study name")
    _storage_flag(p)
    p.add_argument("--devices", help="one worker process per device: GPU ids 0,1,2,3 or cpu[:N]")
    p.add_argument("--device", help="run one worker in this process on cpu, cuda or cuda:N")
    p.add_argument("--data", help="this host's path to the study's dataset, if it differs")
    p.add_argument("--trainable", help="module:function overriding the study's trainable")
    p.add_argument("--heartbeat", type=float, default=10.0, help="seconds between liveness beats")
    p.add_argument(
        "--grace", type=float, default=60.0, help="seconds of silence after which a trial is stale"
    )
    p.add_argument(
        "--poll", type=float, default=2.0, help="seconds between looks while a stage barrier holds"
    )
    p.add_argument("--max-trials", type=int, help="exit after this many trials")
    p.set_defaults(func=_worker)


def _export(args: argparse.Namespace) -> None:
    from spacehpo.hpo.export import export_trial
    from spacehpo.hpo.study import load
    from spacehpo.storage.backends import open_storage

    handle = open_storage(args.storage)
    study, spec = load(handle, args.name)
    trial = export_trial(study, spec, args.trial, args.out)
    metrics = trial.user_attrs.get("best_metrics", {})
    print(
        f"exported trial {trial.number} of {args.name!r} (class_acc {metrics.get('class_acc', float('nan')):.4f}) to {args.out}: "
        f"model.pt, config.json{', pictures' if (args.out / 'confusion.png').exists() else ''}"
    )
    print(f"  spacehpo predict --checkpoint {args.out / 'model.pt'} --images IMAGES --out OUT")
    handle.close()


def _dashboard(args: argparse.Namespace) -> None:
    from spacehpo.hpo.dashboard import serve
    from spacehpo.storage.backends import open_storage

    serve(open_storage(args.storage), args.host, args.port, args.artifacts)


def _compare(args: argparse.Namespace) -> None:
    from spacehpo.hpo.compare import compare
    from spacehpo.hpo.study import load
    from spacehpo.storage.backends import open_storage

    handle = open_storage(args.storage)
    print(compare([load(handle, name) for name in args.names], args.out))
    handle.close()


def _demo(args: argparse.Namespace) -> None:
    from spacehpo.hpo.demo import run_demo

    run_demo(args.out, args.compare)


def _user_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export", help="a trial's best checkpoint, config and pictures, ready for predict/evaluate"
    )
    p.add_argument("name", help="study name")
    p.add_argument("--trial", type=int, help="trial number (default: the best trial)")
    p.add_argument("--out", type=Path, required=True, help="new output folder")
    _storage_flag(p)
    p.set_defaults(func=_export)
    p = sub.add_parser("dashboard", help="serve optuna-dashboard with the studies' artifacts")
    _storage_flag(p)
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.add_argument("--artifacts", help="artifact store (default: the one the studies recorded)")
    p.set_defaults(func=_dashboard)
    p = sub.add_parser(
        "compare", help="compare studies (staged, full grid, TPE) in one HTML report"
    )
    p.add_argument("names", nargs="+", help="studies on the same data")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("compare.html"),
        help="HTML report (a .csv of all trials is written beside it)",
    )
    _storage_flag(p)
    p.set_defaults(func=_compare)
    p = sub.add_parser(
        "demo", help="synthetic data -> staged study with 2 CPU workers -> status -> best trial"
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("spacehpo-demo"),
        help="demo folder (re-running continues it)",
    )
    p.add_argument(
        "--compare",
        action="store_true",
        help="also run staged and full grid on tiny data and write compare.html",
    )
    p.set_defaults(func=_demo)


COMMAND_GROUPS: list[Callable[[argparse._SubParsersAction], None]] = [
    _data_commands,
    _model_commands,
    _hpo_commands,
    _user_commands,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spacehpo", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    for add in COMMAND_GROUPS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # spacehpo drives Optuna's heartbeat on purpose; the "experimental" notice is noise to users.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    try:
        args.func(args)
    except USER_ERRORS as err:
        print(f"spacehpo: error: {redact(str(err))}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        print("spacehpo: interrupted", file=sys.stderr)
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
