"""The recorded table replay runs on: every configuration's per-epoch curves, for every repeat.

Tabular benchmarks (HPOBench, LCBench) record each configuration's learning curves once and then
replay any search strategy on them. A finished full-grid study is that record: `table_from_study`
reads it, `write_table` keeps it as a CSV that outlives the storage, and `read_table` checks a
CSV strictly, since a missing row would silently bias every plan replayed on it.

The CSV: `# key: value` header lines, then one row per configuration, repeat and epoch:
`config,<param>...,repeat,epoch,class_acc,centre_acc,iou,spark_score`.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import optuna
from optuna.trial import TrialState
from spacehpo.hpo.core.curves import CURVES, Curves, curves_of
from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.core.plans import latest_attempts
from spacehpo.hpo.core.record import records, study_trials
from spacehpo.hpo.core.space import ParamValue, same_params
from spacehpo.hpo.engine.study import StudySpec
from spacehpo.model.metrics import OBJECTIVES, TIE_BREAK, rank_epoch

MAGIC = "# spacehpo replay table"
KEYS = ("objective", "plan", "epochs", "repeats", "source")
Outcome = tuple[float, float | None]  # a trial's value and tie-break: its best epoch's


@dataclass(frozen=True)
class Table:
    """`values[config][repeat]` is that run's curves, one value per epoch from epoch 1."""

    objective: str
    epochs: int
    repeats: int
    params: tuple[str, ...]
    configs: tuple[dict[str, ParamValue], ...]
    values: tuple[tuple[dict[str, list[float]], ...], ...]
    plan: str = ""
    source: str = ""
    notes: tuple[str, ...] = field(default=(), compare=False)  # other header lines, kept as is

    @cached_property
    def outcomes(self) -> list[list[Outcome]]:
        """Each run's value and tie-break as a trial would report them: its best epoch's."""
        return [[best_epoch(run, self.objective) for run in runs] for runs in self.values]

    @cached_property
    def curves(self) -> list[list[Curves]]:
        return [[Curves.from_lists(run) for run in runs] for runs in self.values]

    @cached_property
    def _index(self) -> dict[tuple, int]:
        return {tuple(c[p] for p in self.params): i for i, c in enumerate(self.configs)}

    def config_of(self, params: dict[str, ParamValue]) -> int | None:
        """The recorded configuration with these params (floats as equal as a round trip)."""
        if set(params) != set(self.params):
            return None
        found = self._index.get(tuple(params[p] for p in self.params))
        if found is None:
            found = next((i for i, c in enumerate(self.configs) if same_params(c, params)), None)
        return found


def best_epoch(run: dict[str, list[float]], objective: str) -> Outcome:
    """The ranking rule's best epoch (`rank_epoch`); a NaN tie-break counts as missing."""
    rows = [
        {m: v for m in CURVES if not math.isnan(v := run[m][e])} for e in range(len(run[objective]))
    ]
    best = max(rows, key=lambda row: rank_epoch(row, objective))
    return best[objective], best.get(TIE_BREAK[objective])


def table_from_study(study: optuna.Study, spec: StudySpec) -> Table:
    """The study's recorded curves; a study that is not a finished full grid is refused, since
    a missing or pruned run has no full curve to replay."""
    name, plan = study.study_name, spec.plan
    stage = plan.stages[0]
    if not plan.is_full_grid:
        raise HpoError(
            f"study {name!r} is not a full grid: replay needs one stage sweeping every "
            f"parameter, and plan {plan.name!r} has {len(plan.stages)} stage(s)"
        )
    points = stage.points({})
    latest = latest_attempts(records(study, spec.objective))
    frozen = {t.number: t for t in study_trials(study)}
    values = []
    for p in range(len(points)):
        runs = []
        for r in range(spec.repeats):
            record = latest.get((0, p, r))
            if record is None or record.state != TrialState.COMPLETE:
                state = record.state.name if record else "not run"
                raise HpoError(
                    f"study {name!r} is not a finished full grid: point {p} repeat {r} is "
                    f"{state} (record it with --pruner none and let every trial finish)"
                )
            runs.append(_curves(frozen[record.number], spec, name, p, r))
        values.append(tuple(runs))
    return Table(
        spec.objective,
        spec.epochs,
        spec.repeats,
        tuple(plan.space),
        tuple(points),
        tuple(values),
        plan.name,
        f"study {name}",
    )


def _curves(t: optuna.trial.FrozenTrial, spec: StudySpec, name: str, p: int, r: int) -> dict:
    lists = curves_of(t).lists()
    if len(lists[spec.objective]) != spec.epochs:
        raise HpoError(
            f"study {name!r}: point {p} repeat {r} (trial {t.number}) has "
            f"{len(lists[spec.objective])} of {spec.epochs} epochs of {spec.objective}"
        )
    return {m: v if len(v) == spec.epochs else [math.nan] * spec.epochs for m, v in lists.items()}


def export_table(study: optuna.Study, spec: StudySpec, path: Path) -> Table:
    table = table_from_study(study, spec)
    write_table(table, path)
    return table


def write_table(table: Table, path: Path) -> None:
    """Floats as repr, so a table read back is the same table to the last bit."""
    header = [MAGIC, *(f"# {k}: {getattr(table, k)}" for k in KEYS), *table.notes]
    with open(path, "w", newline="") as f:
        f.write("\n".join(header) + "\n")
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["config", *table.params, "repeat", "epoch", *CURVES])
        for c, (params, runs) in enumerate(zip(table.configs, table.values, strict=True)):
            for r, run in enumerate(runs):
                for e in range(table.epochs):
                    metrics = [repr(float(run[m][e])) for m in CURVES]
                    out.writerow([c, *(params[p] for p in table.params), r, e + 1, *metrics])


def read_table(path: Path) -> Table:
    """A table file, checked: its header, its columns, its numbers, and every configuration
    with every repeat and epoch. Each problem is one line naming the file and where."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as err:
        raise HpoError(f"{path}: cannot read the table ({err.strerror})") from None
    if not lines or lines[0].strip() != MAGIC:
        raise HpoError(f"{path}:1: not a spacehpo replay table (no {MAGIC!r} line)")
    meta, notes, n = _header(path, lines)
    params, rows = _columns(path, lines, n), _Rows(int(meta["epochs"]), int(meta["repeats"]))
    for i, row in enumerate(csv.reader(lines[n + 1 :]), n + 2):
        if row:
            rows.add(path, i, params, row, meta["objective"])
    configs, values = rows.complete(path)
    return Table(
        meta["objective"],
        rows.epochs,
        rows.repeats,
        params,
        configs,
        values,
        meta.get("plan", ""),
        meta.get("source", ""),
        notes,
    )


def _header(path: Path, lines: list[str]) -> tuple[dict[str, str], tuple[str, ...], int]:
    meta: dict[str, str] = {}
    notes: list[str] = []
    n = 1
    while n < len(lines) and lines[n].startswith("#"):
        key, sep, value = lines[n][1:].partition(":")
        if sep and key.strip() in KEYS:
            meta[key.strip()] = value.strip()
        else:
            notes.append(lines[n])
        n += 1
    if meta.get("objective") not in OBJECTIVES:
        raise HpoError(f"{path}: the header names no objective (one of {', '.join(OBJECTIVES)})")
    for key in ("epochs", "repeats"):
        if not meta.get(key, "").isdigit() or int(meta[key]) < 1:
            raise HpoError(f"{path}: the header's {key!r} must be a positive whole number")
    return meta, tuple(notes), n


def _columns(path: Path, lines: list[str], n: int) -> tuple[str, ...]:
    header = next(csv.reader([lines[n]])) if n < len(lines) else []
    if (
        len(header) < len(CURVES) + 4
        or header[0] != "config"
        or header[-len(CURVES) - 2 :] != ["repeat", "epoch", *CURVES]
    ):
        raise HpoError(
            f"{path}:{n + 1}: want the columns config,<params>,repeat,epoch,{','.join(CURVES)}"
        )
    return tuple(header[1 : -len(CURVES) - 2])


def _param(text: str) -> ParamValue:
    try:
        return float(text)
    except ValueError:
        return text  # a categorical choice, by name


@dataclass
class _Rows:
    """The rows read so far, keyed by (config, repeat, epoch)."""

    epochs: int
    repeats: int
    params: dict[int, dict[str, ParamValue]] = field(default_factory=dict)
    metrics: dict[tuple[int, int, int], dict[str, float]] = field(default_factory=dict)

    def add(
        self, path: Path, i: int, names: tuple[str, ...], row: list[str], objective: str
    ) -> None:
        where = f"{path}:{i}"
        if len(row) != len(names) + len(CURVES) + 3:
            raise HpoError(f"{where}: {len(row)} fields, want {len(names) + len(CURVES) + 3}")
        try:
            c, r, e = int(row[0]), int(row[len(names) + 1]), int(row[len(names) + 2])
            values = [float(v) for v in row[len(names) + 3 :]]
        except ValueError:
            raise HpoError(
                f"{where}: config, repeat and epoch must be whole numbers, the metrics numbers"
            ) from None
        if c < 0 or not 0 <= r < self.repeats or not 1 <= e <= self.epochs:
            raise HpoError(
                f"{where}: config {c} repeat {r} epoch {e} is outside config >= 0, "
                f"repeat 0..{self.repeats - 1}, epoch 1..{self.epochs}"
            )
        metrics = dict(zip(CURVES, values, strict=True))
        if not math.isfinite(metrics[objective]):
            raise HpoError(f"{where}: {objective}, the objective, must be a finite number")
        params = {p: _param(v) for p, v in zip(names, row[1 : len(names) + 1], strict=True)}
        if not same_params(self.params.setdefault(c, params), params):
            raise HpoError(f"{where}: config {c} has other params than on its first row")
        if (c, r, e) in self.metrics:
            raise HpoError(f"{where}: config {c} repeat {r} epoch {e} appears twice")
        self.metrics[(c, r, e)] = metrics

    def complete(self, path: Path) -> tuple[tuple[dict, ...], tuple[tuple[dict, ...], ...]]:
        """Every configuration 0..C-1, each with every repeat and every epoch."""
        if not self.params:
            raise HpoError(f"{path}: the table has no rows")
        for c in range(max(self.params) + 1):
            for r in range(self.repeats):
                for e in range(1, self.epochs + 1):
                    if (c, r, e) not in self.metrics:
                        raise HpoError(f"{path}: config {c} repeat {r} epoch {e} is missing")
        configs = tuple(self.params[c] for c in range(len(self.params)))
        for c, params in enumerate(configs):
            twin = next((d for d in range(c) if same_params(configs[d], params)), None)
            if twin is not None:
                raise HpoError(f"{path}: configs {twin} and {c} have the same params")
        values = tuple(
            tuple(
                {m: [self.metrics[(c, r, e)][m] for e in range(1, self.epochs + 1)] for m in CURVES}
                for r in range(self.repeats)
            )
            for c in range(len(configs))
        )
        return configs, values
