"""`spacehpo demo` (what `make demo` runs): synthetic data -> staged study on the embedded journal
storage with 2 CPU worker processes -> status table -> the best trial exported. Re-running it
continues the same study. `--compare` also runs the full grid on tinier data and writes the report.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from spacehpo.cli.study_status import render_status
from spacehpo.cli.user import render_comparison
from spacehpo.data.synth import SynthConfig, generate
from spacehpo.data.yolo import fingerprint
from spacehpo.hpo.core.plans import Plan, full_plan, staged_plan
from spacehpo.hpo.engine.notes import write_note
from spacehpo.hpo.engine.study import DEFAULT_PRUNER, StudySpec, TpeExtension, create, load
from spacehpo.hpo.engine.trainable import DATA, DETECTOR
from spacehpo.hpo.reports.status import status_report
from spacehpo.storage.backends import open_storage


@dataclass(frozen=True)
class DemoScale:
    size: int
    n_train: int
    n_val: int
    epochs: int


# Sized to finish in under 10 minutes on 2 cores while still learning (see the closing notes).
STAGED = DemoScale(size=96, n_train=440, n_val=110, epochs=3)
COMPARE = DemoScale(size=64, n_train=165, n_val=66, epochs=2)


def synthetic_data(out: Path, scale: DemoScale) -> Path:
    data = out / f"data-{scale.size}px-{scale.n_train}"
    if not data.exists():
        generate(data, SynthConfig(scale.n_train, scale.n_val, scale.size, seed=0))
    return data


def prepare_study(
    storage: str,
    data: Path,
    name: str,
    plan: Plan,
    scale: DemoScale,
    artifacts: Path,
    pruner: str = DEFAULT_PRUNER,
    trainable: str = DETECTOR,
    tpe: int = 0,
    repeats: int = 1,
) -> str:
    """Create (or find, when re-run) a study of `plan` on `data` at the given scale."""
    settings = {
        "epochs": scale.epochs,
        "batch_size": 16,
        "image_size": scale.size,
        "seed": 0,
        DATA: str(data.resolve()),
    }
    spec = StudySpec(
        plan,
        settings,
        fingerprint(data),
        pruner,
        trainable,
        str(artifacts.resolve()),
        tpe=(TpeExtension(tpe),) if tpe else (),
        repeats=repeats,
    )
    with open_storage(storage, create=True) as handle:
        study, created = create(handle, name, spec)
        if created:
            write_note(study, spec)
    return name


def _study(out: Path, name: str, plan_name: str, scale: DemoScale) -> tuple[str, str]:
    storage = f"journal:{out / 'journal.log'}"
    plan = staged_plan() if plan_name == "staged" else full_plan()
    return storage, prepare_study(
        storage, synthetic_data(out, scale), name, plan, scale, out / "artifacts"
    )


def run_workers(name: str, storage: str, devices: str = "cpu:2") -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "spacehpo.cli",
            "worker",
            name,
            "--storage",
            storage,
            "--devices",
            devices,
        ],
        check=True,
    )


def run_demo(out: Path, with_compare: bool) -> None:
    from spacehpo.hpo.reports.export import export_trial

    start = time.perf_counter()
    storage, name = _study(out, "demo-staged", "staged", STAGED)
    print(
        f"== staged study {name!r}: 22 trials, 2 CPU workers ({STAGED.size} px, "
        f"{STAGED.n_train} train images, {STAGED.epochs} epochs)"
    )
    run_workers(name, storage)
    with open_storage(storage) as handle:
        study, spec = load(handle, name)
        report = status_report(study, spec)
        print("\n" + render_status(report, f"study {name!r} in {handle.display}"))
        target = _free_folder(out / "best")
        trial = export_trial(study, spec, None, target)
    print(f"\nbest trial #{trial.number} exported to {target} (model.pt, config.json, pictures)")
    if with_compare:
        _compare_demo(out, storage)
    print(f"\ndemo finished in {(time.perf_counter() - start) / 60:.1f} min. Next:")
    print(f"  spacehpo dashboard --storage {storage}   # watch the study at http://127.0.0.1:8080")
    print(
        f"  spacehpo tensorboard {name} --storage {storage}   # its curves at http://127.0.0.1:6006"
    )
    print(
        f"  spacehpo predict --checkpoint {target / 'model.pt'} --images IMAGES --out predictions"
    )


def _free_folder(base: Path) -> Path:
    target, n = base, 1
    while target.exists():
        n += 1
        target = base.with_name(f"{base.name}-{n}")
    return target


def _compare_demo(out: Path, storage: str) -> None:
    from spacehpo.hpo.reports.compare import compare

    names = []
    for plan in ("staged", "full"):
        _, name = _study(out, f"compare-{plan}", plan, COMPARE)
        print(
            f"\n== {name}: {COMPARE.size} px, {COMPARE.n_train} train images, {COMPARE.epochs} epochs"
        )
        run_workers(name, storage)
        names.append(name)
    with open_storage(storage) as handle:
        result = compare([load(handle, n) for n in names], out / "compare.html")
    print("\n" + render_comparison(result))


def _demo(args: argparse.Namespace) -> None:
    run_demo(args.out, args.compare)


def add_command(name: str, p: argparse.ArgumentParser) -> None:
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
