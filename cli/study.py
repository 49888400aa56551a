"""`spacehpo study create | extend | status | list | delete`."""

from __future__ import annotations

import argparse
from pathlib import Path

import optuna
from spacehpo.cli.flags import add_train_flags, parse_set, storage_flag
from spacehpo.cli.output import format_flag
from spacehpo.cli.study_status import list_command, status_command
from spacehpo.data.yolo import check_labels, fingerprint, read_names
from spacehpo.hpo.core import tpe
from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.core.named_plans import resolve_plan
from spacehpo.hpo.core.ranking import top_points
from spacehpo.hpo.core.record import records
from spacehpo.hpo.engine.notes import write_note
from spacehpo.hpo.engine.study import (
    DEFAULT_ARTIFACTS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_PRUNER,
    RepeatTop,
    StudySpec,
    TpeExtension,
    check_name,
    create,
    load,
    save_spec,
)
from spacehpo.hpo.engine.trainable import DATA, DETECTOR
from spacehpo.hpo.reports.study_admin import delete_study
from spacehpo.model.config import RUN_SETTINGS
from spacehpo.storage.backends import open_storage


def study_spec_from_args(args: argparse.Namespace) -> StudySpec:
    """The one place where `study create` flags become a StudySpec (which checks itself)."""
    check_name(args.name)
    settings: dict[str, object] = {name: getattr(args, name) for name in RUN_SETTINGS}
    settings.update(parse_set(args.set))
    fp = ""
    if args.data is not None:
        read_names(args.data)
        problems = check_labels(args.data)
        if problems:
            more = f" (and {len(problems) - 1} more; see `spacehpo data check`)"
            raise HpoError(f"{problems[0]}{more if len(problems) > 1 else ''}")
        settings[DATA] = str(args.data.resolve())
        fp = fingerprint(args.data)
    plan = resolve_plan(args.plan, args.reuse_repeats)
    artifacts = args.artifacts or str(Path(DEFAULT_ARTIFACTS).resolve())
    tensorboard = args.tensorboard or ""
    if tensorboard and "://" not in tensorboard:
        tensorboard = str(Path(tensorboard).resolve())
    spec = StudySpec(
        plan, settings, fp, args.pruner, args.trainable, artifacts, args.max_retries,
        tensorboard=tensorboard, repeats=args.repeats,
    )  # fmt: skip
    if spec.trainable == DETECTOR:
        spec.train_config().check_files()
    return spec


def _create(args: argparse.Namespace) -> None:
    spec = study_spec_from_args(args)
    with open_storage(args.storage, create=True) as handle:
        study, created = handle.retrier.call(
            lambda: create(handle, args.name, spec), "creating the study"
        )
        if not created:
            print(
                f"study {args.name!r} already exists in {handle.display} with the same plan "
                "and data: nothing to do"
            )
            return
        write_note(study, spec)
        print(
            f"created study {args.name!r} in {handle.display}: plan {spec.plan.name} "
            f"({spec.plan.size} points), artifacts in {spec.artifacts}"
        )


def _extension(
    args: argparse.Namespace, study: optuna.Study, spec: StudySpec
) -> TpeExtension | RepeatTop:
    if args.tpe is not None:
        return TpeExtension(args.tpe, args.seed)
    if args.repeat_top < 1:
        raise HpoError(f"--repeat-top {args.repeat_top}: must be at least 1")
    if args.repeats is None or args.repeats <= spec.repeats:
        raise HpoError(f"--repeat-top needs --repeats K above the study's {spec.repeats}")
    top = top_points(records(study, spec.objective), args.repeat_top, tpe.stage(spec.plan))
    if not top:
        raise HpoError(f"study {args.name!r} has no complete plan point to repeat yet")
    return RepeatTop(top, args.repeats)


def _extend(args: argparse.Namespace) -> None:
    with open_storage(args.storage) as handle:

        def section() -> tuple[StudySpec, TpeExtension | RepeatTop]:
            with handle.lock.hold(args.name):
                study, spec = load(handle, args.name)
                extension = _extension(args, study, spec)
                extended = spec.extend(extension)
                save_spec(study, extended)
                return extended, extension

        spec, extension = handle.retrier.call(section, "extending the study")
    if isinstance(extension, RepeatTop):
        what = f"its {len(extension.points)} best point(s) now run {extension.repeats} times each"
    else:
        what = f"{args.tpe} TPE trial(s) added ({spec.tpe_trials} in all); they run once the plan is done"
    print(f"study {args.name!r}: {what}. Start workers with `spacehpo worker {args.name}`")


def _delete(args: argparse.Namespace) -> None:
    if not args.yes:
        raise HpoError(f"study delete {args.name}: add --yes to delete it and its artifacts")
    with open_storage(args.storage) as handle:
        removed = delete_study(handle, args.name)
        print(f"deleted study {args.name!r} from {handle.display} and {removed} artifact(s)")


def _add_create(study: argparse._SubParsersAction) -> None:
    p = study.add_parser("create", help="create a study that workers fill")
    p.add_argument("name", help="study name (letters, digits, '.', '_', '-')")
    p.add_argument(
        "--plan",
        default="staged",
        help="staged (22 trials), full (108), outlook (30: backbones, centre heads, augmentation, dropout, freezing) or a .toml plan file",
    )
    p.add_argument(
        "--reuse-repeats",
        action="store_true",
        help="reuse earlier results for points that repeat an earlier configuration (staged: 18)",
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="run every plan point K times, each with its own seed (seed + repeat); a point's "
        "value is the mean of its repeats",
    )
    p.add_argument(
        "--pruner",
        default=DEFAULT_PRUNER,
        help=f"none, median, percentile:P or hyperband (default {DEFAULT_PRUNER})",
    )
    p.add_argument("--trainable", default=DETECTOR, help="module:function to tune")
    _add_places(p)
    p.add_argument(
        "--max-retries",
        type=int,
        default=DEFAULT_MAX_RETRIES,
        help="times a trial is resumed after a dead worker or a machine fault",
    )
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="any training setting"
    )
    add_train_flags(p, RUN_SETTINGS)
    p.set_defaults(func=_create)


def _add_places(p: argparse.ArgumentParser) -> None:
    """Where the study's data, trials, artifacts and curves live."""
    p.add_argument("--data", type=Path, help="YOLO dataset (labels checked, fingerprint stored)")
    storage_flag(p)
    p.add_argument(
        "--artifacts",
        help="artifact store every worker reaches: a shared path or s3://BUCKET "
        f"(default ./{DEFAULT_ARTIFACTS})",
    )
    p.add_argument(
        "--tensorboard",
        help="TensorBoard root every worker reaches: a shared path or s3://BUCKET/PREFIX "
        "(default: a tensorboard folder beside the artifacts)",
    )


def add_command(name: str, study: argparse.ArgumentParser) -> None:
    commands = study.add_subparsers(dest="study_cmd", required=True)
    _add_create(commands)
    p = commands.add_parser(
        "extend", help="continue a study with TPE trials, or repeat its best points"
    )
    p.add_argument("name", help="study name")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--tpe", type=int, help="number of TPE trials")
    how.add_argument("--repeat-top", type=int, metavar="N", help="repeat the N best plan points")
    p.add_argument("--seed", type=int, default=0, help="TPE seed")
    p.add_argument(
        "--repeats", type=int, metavar="K", help="with --repeat-top: runs per point in all"
    )
    storage_flag(p)
    p.set_defaults(func=_extend)
    for name, func, text in (
        ("status", status_command, "progress per stage, best trial, running trials, ETA"),
        ("list", list_command, "the studies in a storage"),
    ):
        p = commands.add_parser(name, help=text)
        if name == "status":
            p.add_argument("name", help="study name")
        format_flag(p)
        storage_flag(p)
        p.set_defaults(func=func)
    p = commands.add_parser("delete", help="delete a study and its artifacts")
    p.add_argument("name", help="study name")
    p.add_argument("--yes", action="store_true", help="really delete")
    storage_flag(p)
    p.set_defaults(func=_delete)
