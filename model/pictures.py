"""Pictures for people: the confusion matrix and the training curves (results.png); the
prediction overlays are `overlays.py`."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402


def confusion_png(
    matrix: np.ndarray | list, class_names: tuple[str, ...] | list[str], path: Path, title: str = ""
) -> None:
    matrix = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(8, 7))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(class_names)), class_names, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(class_names)), class_names, fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    for (r, c), n in np.ndenumerate(matrix):
        if n:
            ax.text(
                c,
                r,
                str(n),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if n > matrix.max() / 2 else "black",
            )
    acc = np.trace(matrix) / max(1, matrix.sum())
    ax.set_title(f"{title} class accuracy {acc:.3f}".strip())
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def curves_png(rows: list[dict[str, float]], titles: dict[str, str]) -> bytes:
    """results.png: one small panel per curve against the epoch, as Ultralytics draws them."""
    shown = [name for name in titles if any(name in r for r in rows)]
    columns = 4
    fig, axes = plt.subplots(
        -(-len(shown) // columns), columns, figsize=(12, 2.6 * -(-len(shown) // columns))
    )
    for ax, name in zip(np.ravel(axes), shown, strict=False):
        points = [(r["epoch"], r[name]) for r in rows if name in r]
        ax.plot(*zip(*points, strict=True), marker=".", linewidth=1.5)
        ax.set_title(titles[name], fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in np.ravel(axes)[len(shown) :]:
        ax.axis("off")
    # Fixed margins: tight_layout measures every label and doubles the drawing time, which every
    # trial pays once (0.6 s against 0.3 s on the 2-core reference machine).
    fig.subplots_adjust(left=0.05, right=0.98, bottom=0.1, top=0.9, wspace=0.3, hspace=0.55)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=90)
    plt.close(fig)
    return out.getvalue()
