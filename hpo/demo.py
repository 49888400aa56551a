"""`spacehpo demo` (what `make demo` runs): synthetic data -> staged study on the embedded journal
storage with 2 CPU worker processes -> status table -> the best trial exported. Re-running it
continues the same study. `--compare` also runs the full grid on tinier data and writes the report.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from spacehpo.data.synth import SynthConfig, generate
from spacehpo.data.yolo import fingerprint
from spacehpo.hpo.compare import compare
from spacehpo.hpo.export import export_trial
from spacehpo.hpo.notes import write_note
from spacehpo.hpo.plans import Plan, full_plan, staged_plan
from spacehpo.hpo.status import status_text
from spacehpo.hpo.study import StudySpec, create, load
from spacehpo.hpo.trainable import DETECTOR
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
    pruner: str = "median",
    trainable: str = DETECTOR,
    tpe: int = 0,
) -> str:
    """Create (or find, when re-run) a study of `plan` on `data` at the given scale."""
    handle = open_storage(storage)
    settings = {
        "epochs": scale.epochs,
        "batch_size": 16,
        "image_size": scale.size,
        "seed": 0,
        "data": str(data.resolve()),
    }
    spec = StudySpec(
        plan,
        settings,
        fingerprint(data),
        pruner,
        trainable,
        str(artifacts.resolve()),
        tpe=[{"n": tpe, "seed": 0}] if tpe else [],
    )
    study, created = create(handle, name, spec)
    if created:
        write_note(study, spec)
    handle.close()
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
            "spacehpo.hpo.cli",
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
    start = time.perf_counter()
    storage, name = _study(out, "demo-staged", "staged", STAGED)
    print(
        f"== staged study {name!r}: 22 trials, 2 CPU workers ({STAGED.size} px, {STAGED.n_train} train images, {STAGED.epochs} epochs)"
    )
    run_workers(name, storage)
    handle = open_storage(storage)
    study, spec = load(handle, name)
    print("\n" + status_text(study, spec, handle.display))
    target = out / "best"
    n = 1
    while target.exists():
        n += 1
        target = out / f"best-{n}"
    trial = export_trial(study, spec, None, target)
    print(
        f"\nbest trial #{trial.number} exported to {target} (model.pt, config.json, confusion.png, overlays.png)"
    )
    if with_compare:
        names = []
        for plan in ("staged", "full"):
            _, cname = _study(out, f"compare-{plan}", plan, COMPARE)
            print(
                f"\n== {cname}: {COMPARE.size} px, {COMPARE.n_train} train images, {COMPARE.epochs} epochs"
            )
            run_workers(cname, storage)
            names.append(cname)
        print("\n" + compare([load(handle, n) for n in names], out / "compare.html"))
    handle.close()
    print(f"\ndemo finished in {(time.perf_counter() - start) / 60:.1f} min. Next:")
    print(
        f"  spacehpo dashboard --storage {storage}        # watch the study at http://127.0.0.1:8080"
    )
    print(
        f"  spacehpo predict --checkpoint {target / 'model.pt'} --images IMAGES --out predictions"
    )
