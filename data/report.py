"""The summary `spacehpo data check` prints: counts per class and split, box size statistics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from spacehpo.data.yolo import Problem, check_dataset, read_names


def check_and_summarise(root: Path) -> tuple[list[Problem], str]:
    splits, problems = check_dataset(root)
    names = read_names(root)
    width = max(len(n) for n in names)
    lines = [f"{'class':<{width}}  " + "  ".join(f"{s:>6}" for s in splits)]
    for cls, name in enumerate(names):
        counts = [int((split.labels[:, 0] == cls).sum()) for split in splits.values()]
        lines.append(f"{name:<{width}}  " + "  ".join(f"{c:>6}" for c in counts))
    lines.append(f"{'total':<{width}}  " + "  ".join(f"{len(s):>6}" for s in splits.values()))
    for split in splits.values():
        if len(split):
            w, h = split.labels[:, 3], split.labels[:, 4]
            q = np.percentile(np.sqrt(w * h), [5, 50, 95])
            lines.append(
                f"{split.name}: box side (sqrt w*h, fraction of image) p5 {q[0]:.3f}  "
                f"median {q[1]:.3f}  p95 {q[2]:.3f}"
            )
    verdict = f"{len(problems)} problem(s)" if problems else "OK"
    lines.append(f"{root}: {verdict}")
    return problems, "\n".join(lines)
