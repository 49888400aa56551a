"""`spacehpo study create | extend | status | list | delete`."""

from __future__ import annotations

import argparse
from pathlib import Path

import optuna
from spacehpo.cli.flags import add_train_flags, parse_set, storage_flag
from spacehpo.cli.output import Output, format_flag, show
from spacehpo.cli.tables import table
from spacehpo.data.yolo import check_labels, fingerprint, read_names
from spacehpo.hpo.errors import HpoError
from spacehpo.hpo.notes import write_note
from spacehpo.hpo.plans import resolve_plan
from spacehpo.hpo.ranking import show_spread, top_points
from spacehpo.hpo.record import records
from spacehpo.hpo.space import show_params
from spacehpo.hpo.status import STATES, StatusReport, status_report
from spacehpo.hpo.study import (
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
from spacehpo.hpo.study_admin import delete_study, list_studies
from spacehpo.hpo.trainable import DATA, DETECTOR
from spacehpo.model.config import RUN_SETTINGS
from spacehpo.model.metrics import CLASS_ACC
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
    with open_storage(args.storage) as handle:
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
    top = top_points(records(study, spec.objective), args.repeat_top, len(spec.plan.stages))
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


def _stage_table(report: StatusReport) -> str:
    rows = [
        [
            row.stage,
            row.name,
            *(row.counts[s] for s in STATES),
            f"#{row.best_trial} {row.best_value:.3f}" if row.best_trial is not None else "-",
            show_params(row.best_params),
        ]
        for row in report.stages
    ]
    states = ["waiting", "running", "complete", "pruned", "failed"]
    return table(rows, ["stage", "name", *states, "best", "params"])


def _best_and_running(report: StatusReport) -> list[str]:
    lines = []
    if report.best:
        b = report.best
        params = show_params(b.params)
        centre = b.centre_acc if b.centre_acc is not None else float("nan")
        lines += [
            "",
            f"best trial #{b.number}: class_acc {b.class_acc:.4f}, "
            f"centre_acc {centre:.4f}, {params}",
        ]
        if b.repeats > 1 or b.objective != CLASS_ACC:
            lines.append(
                f"  its configuration: {show_spread(b.objective, b.mean, b.spread, b.repeats)}"
            )
    if report.running:
        rows = [
            [f"#{r.trial}", r.stage, r.epochs, f"{r.elapsed_s:.0f} s" if r.elapsed_s else "-",
             r.best_so_far]
            for r in report.running
        ]  # fmt: skip
        lines += ["", table(rows, ["running", "stage", "epochs", "elapsed", "class_acc so far"])]
    return lines


def _eta(report: StatusReport) -> str:
    if report.finished:
        return "plan finished"
    if report.eta_s is None:
        return f"{report.remaining} trial(s) to go; ETA after the first trial finishes"
    return (
        f"{report.remaining} trial(s) to go; ETA about {report.eta_s / 60:.1f} min with "
        f"{max(1, len(report.running))} worker(s) (mean trial {report.mean_trial_s:.0f} s; "
        "stage barriers can add to it)"
    )


def render_status(report: StatusReport, header: str) -> str:
    lines = [header, "", _stage_table(report), *_best_and_running(report), "", _eta(report)]
    return "\n".join(lines)


def _stage_values(report: StatusReport) -> list[list[object]]:
    """The stage table's columns, unformatted: what `--format value` prints."""
    return [
        [row.stage, row.name, *(row.counts[s] for s in STATES), row.best_trial, row.best_value,
         row.best_params]
        for row in report.stages
    ]  # fmt: skip


def _status(args: argparse.Namespace) -> None:
    with open_storage(args.storage) as handle:
        study, spec = load(handle, args.name)
        report = status_report(study, spec)
        header = (
            f"study {args.name!r} in {handle.display}\nplan {spec.plan.name} "
            f"({spec.plan.size} points{', repeats reused' if spec.plan.reuse_repeats else ''})"
            f"{f' + TPE {spec.tpe_trials}' if spec.tpe else ''}; data "
            f"{spec.settings.get(DATA, '-')} ({spec.fingerprint or 'no fingerprint'}); "
            f"pruner {spec.pruner}"
        )
        show(
            Output(report.to_dict(), _stage_values(report), render_status(report, header)),
            args.format,
        )


def _list(args: argparse.Namespace) -> None:
    with open_storage(args.storage) as handle:
        rows = list_studies(handle)
        values = [list(r.values()) for r in rows]
        text = table(values, list(rows[0])) if rows else f"no studies in {handle.display}"
        show(Output(rows, values, text), args.format)


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
    p.add_argument("--data", type=Path, help="YOLO dataset (labels checked, fingerprint stored)")
    storage_flag(p)
    p.add_argument(
        "--pruner",
        default=DEFAULT_PRUNER,
        help=f"none, median, percentile:P or hyperband (default {DEFAULT_PRUNER})",
    )
    p.add_argument("--trainable", default=DETECTOR, help="module:function to tune")
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
    p.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="run every plan point K times, each with its own seed (seed + repeat); a point's "
        "value is the mean of its repeats",
    )
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


def add_commands(sub: argparse._SubParsersAction) -> None:
    study = sub.add_parser("study", help="create, extend, inspect and delete studies")
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
        ("status", _status, "progress per stage, best trial, running trials, ETA"),
        ("list", _list, "the studies in a storage"),
    ):
        p = commands.add_parser(name, help=text)
        if name == "status":
            p.add_argument("name", help="study name")
        format_flag(p, json_alias=True)
        storage_flag(p)
        p.set_defaults(func=func)
    p = commands.add_parser("delete", help="delete a study and its artifacts")
    p.add_argument("name", help="study name")
    p.add_argument("--yes", action="store_true", help="really delete")
    storage_flag(p)
    p.set_defaults(func=_delete)
