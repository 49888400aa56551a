"""One SPARK-like synthetic frame: procedural spacecraft and debris on a dark star field.

Each class is a recipe of flat parts (bodies, solar panels, dishes, booms) in object-local units.
An image poses one object (rotation, foreshortening, scale, lighting) so that its box follows a
real SPARK label drawn from `label_stats.csv`, cut by the border as often as the real ones are.
Pairs of classes share parts on purpose (cube + panels, tube + panel), so telling them apart
takes more than a colour histogram and the hyperparameters show in the accuracy.
"""

from __future__ import annotations

import io
import math
from importlib import resources

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from spacehpo.data.classes import CLASS_NAMES

GOLD, SILVER, WHITE, PANEL, DARK = (
    (200, 165, 70),
    (175, 178, 188),
    (225, 225, 220),
    (35, 50, 120),
    (90, 90, 95),
)

# A part is (kind, colour, geometry); "rect" = (cx, cy, w, h), "disc" = (cx, cy, r),
# "poly" = flat list of x, y. Object-local units: the object spans about [-1, 1].
RECIPES: dict[str, list[tuple]] = {
    "proba_2": [
        ("rect", SILVER, (0, 0, 0.5, 0.5)),
        ("panel", PANEL, (-0.62, 0, 0.7, 0.45)),
        ("panel", PANEL, (0.62, 0, 0.7, 0.45)),
        ("rect", GOLD, (0, 0.32, 0.2, 0.14)),
    ],
    "cheops": [
        ("poly", SILVER, (-0.3, -0.5, 0.3, -0.5, 0.45, 0, 0.3, 0.5, -0.3, 0.5, -0.45, 0)),
        ("rect", WHITE, (0, -0.75, 0.36, 0.5)),
        ("panel", PANEL, (0.7, 0.1, 0.35, 1.3)),
    ],
    "debris": [],  # irregular fragments, drawn by _debris_parts
    "double_star": [
        ("rect", GOLD, (0, 0, 0.9, 0.6)),
        ("boom", DARK, (-1.0, 0, 1.0, 0, 0.05)),
        ("boom", DARK, (0, -0.9, 0, 0.9, 0.05)),
        ("disc", WHITE, (0, 0, 0.12)),
    ],
    "earth_observation_sat_1": [
        ("rect", GOLD, (0, 0, 0.9, 0.35)),
        ("panel", PANEL, (0, 0.6, 0.5, 0.8)),
        ("disc", WHITE, (0.5, -0.25, 0.12)),
    ],
    "lisa_pathfinder": [
        (
            "poly",
            GOLD,
            tuple(
                v
                for a in range(8)
                for v in (
                    0.9 * math.cos(a * math.pi / 4 + 0.39),
                    0.55 * math.sin(a * math.pi / 4 + 0.39),
                )
            ),
        ),
        ("disc", SILVER, (0, 0, 0.25)),
    ],
    "proba_3_csc": [
        ("rect", GOLD, (0, 0, 0.55, 0.55)),
        ("panel", PANEL, (0.58, 0, 0.55, 0.55)),
        ("panel", PANEL, (-0.58, 0, 0.55, 0.55)),
    ],
    "proba_3_ocs": [
        ("disc", WHITE, (0, 0, 0.85)),
        ("rect", GOLD, (0, 0, 0.35, 0.35)),
        ("disc", DARK, (0, 0, 0.12)),
    ],
    "smart_1": [
        ("rect", GOLD, (0, 0, 0.4, 0.4)),
        ("panel", PANEL, (-0.72, 0, 1.0, 0.3)),
        ("panel", PANEL, (0.72, 0, 1.0, 0.3)),
        ("boom", DARK, (-0.2, 0, 0.2, 0, 0.05)),
    ],
    "soho": [
        ("rect", WHITE, (0, 0, 0.5, 0.7)),
        ("panel", PANEL, (-0.6, 0.15, 0.65, 0.4)),
        ("panel", PANEL, (0.6, 0.15, 0.65, 0.4)),
        ("disc", SILVER, (0, -0.5, 0.25)),
    ],
    "xmm_newton": [
        ("rect", SILVER, (0, 0.1, 0.32, 1.5)),
        ("rect", GOLD, (0, -0.75, 0.5, 0.3)),
        ("panel", PANEL, (0.35, -0.75, 0.35, 0.25)),
    ],
}


def load_label_statistics() -> np.ndarray:
    """The shipped sample of real SPARK labels: rows `class, cx, cy, w, h` (normalised)."""
    text = resources.files("spacehpo.data").joinpath("label_stats.csv").read_text()
    return np.loadtxt(io.StringIO(text), delimiter=",", skiprows=1)


def _debris_parts(rng: np.random.Generator) -> list[tuple]:
    parts = []
    for _ in range(rng.integers(1, 4)):
        n = int(rng.integers(4, 8))
        ang = np.sort(rng.uniform(0, 2 * np.pi, n))
        rad = rng.uniform(0.25, 0.7, n)
        ox, oy = rng.uniform(-0.45, 0.45, 2)
        grey = tuple(int(v) for v in rng.integers(70, 200) * np.array([1, 0.95, 0.9]))
        parts.append(
            (
                "poly",
                grey,
                tuple(
                    v
                    for a, r in zip(ang, rad, strict=True)
                    for v in (ox + r * np.cos(a), oy + r * np.sin(a))
                ),
            )
        )
    return parts


def _outline(kind: str, geom: tuple) -> np.ndarray:
    """Polygon vertices (K, 2) of a part in object units."""
    if kind in ("rect", "panel"):
        cx, cy, w, h = geom
        return np.array(
            [
                [cx - w / 2, cy - h / 2],
                [cx + w / 2, cy - h / 2],
                [cx + w / 2, cy + h / 2],
                [cx - w / 2, cy + h / 2],
            ]
        )
    if kind == "disc":
        cx, cy, r = geom
        a = np.linspace(0, 2 * np.pi, 16, endpoint=False)
        return np.column_stack([cx + r * np.cos(a), cy + r * np.sin(a)])
    if kind == "boom":
        x0, y0, x1, y1, w = geom
        return np.array([[x0, y0 - w / 2], [x1, y1 - w / 2], [x1, y1 + w / 2], [x0, y0 + w / 2]])
    return np.asarray(geom, dtype=np.float64).reshape(-1, 2)


def _full_extent(box: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A real label is the VISIBLE box; where it touches the border, the object continues beyond."""
    cx, cy, w, h = box
    x0, y0, x1, y1 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
    grow = rng.uniform(0.1, 0.6, 4) * np.array([w, h, w, h])
    x0, y0 = x0 - grow[0] * (x0 < 0.01), y0 - grow[1] * (y0 < 0.01)
    x1, y1 = x1 + grow[2] * (x1 > 0.99), y1 + grow[3] * (y1 > 0.99)
    return np.array([x0, y0, x1, y1])


def render(
    cls: int, rng: np.random.Generator, size: int, stats: np.ndarray
) -> tuple[Image.Image, np.ndarray]:
    """One image and the object's visible box as pixel edges `[x0, y0, x1, y1]`.

    The helpers run in a fixed order because they share `rng`: the same seed must keep giving
    the same dataset, which recorded replay tables depend on.
    """
    shapes, scale, centre = _placed_shapes(cls, rng, size, stats)
    img = _backdrop(rng, size)
    mask = _draw_object(img, shapes, scale, centre, rng)
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        return render(cls, rng, size, stats)
    return _camera(img, rng, size), np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])


Shape = tuple[str, tuple[int, int, int], np.ndarray]  # kind, colour, vertices


def _placed_shapes(
    cls: int, rng: np.random.Generator, size: int, stats: np.ndarray
) -> tuple[list[Shape], float, np.ndarray]:
    """The class's parts, turned and squashed, scaled to a box drawn from the real labels."""
    rows = stats[stats[:, 0] == cls]
    target = _full_extent(rows[rng.integers(len(rows)), 1:], rng)
    parts = _debris_parts(rng) if CLASS_NAMES[cls] == "debris" else RECIPES[CLASS_NAMES[cls]]
    theta, squash = rng.uniform(0, 2 * np.pi), rng.uniform(0.45, 1.0)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    shapes = [
        (kind, colour, (_outline(kind, geom) * [squash, 1]) @ rot.T) for kind, colour, geom in parts
    ]
    allv = np.concatenate([v for _, _, v in shapes])
    lo, hi = allv.min(0), allv.max(0)
    scale = (
        min((target[2] - target[0]) / (hi - lo)[0], (target[3] - target[1]) / (hi - lo)[1]) * size
    )
    centre = (target[:2] + target[2:]) / 2 * size - (lo + hi) / 2 * scale
    return shapes, scale, centre


def _backdrop(rng: np.random.Generator, size: int) -> Image.Image:
    img = Image.fromarray(_star_field(rng, size))
    if rng.random() < 0.3:  # an Earth limb behind the object, as in many SPARK frames
        r = size * rng.uniform(0.8, 1.6)
        ex, ey = rng.uniform(-0.5, 1.5) * size, (1 + rng.uniform(0.3, 0.9)) * size
        ImageDraw.Draw(img).ellipse(
            [ex - r, ey - r, ex + r, ey + r],
            fill=tuple(int(v * rng.uniform(0.3, 0.9)) for v in (40, 80, 150)),
        )
    return img


def _draw_object(
    img: Image.Image,
    shapes: list[Shape],
    scale: float,
    centre: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Draws the lit shapes onto `img`; returns the object's mask, whose extent is the box."""
    draw = ImageDraw.Draw(img)
    mask = Image.new("L", img.size)
    mdraw = ImageDraw.Draw(mask)
    light = rng.uniform(0.3, 1.0)
    for kind, colour, verts in shapes:
        shade = light * rng.uniform(0.7, 1.15)
        fill = tuple(int(min(255, c * shade)) for c in colour)
        xy = [tuple(p) for p in verts * scale + centre]
        draw.polygon(xy, fill=fill)
        mdraw.polygon(xy, fill=255)
        if kind == "panel":  # cell lines make panels read as panels, not as blue boxes
            a, b, c = (verts[i] * scale + centre for i in range(3))
            for t in (0.33, 0.66):
                draw.line(
                    [tuple(a + t * (b - a)), tuple(c + t * (b - a) - (b - a))], fill=(15, 20, 50)
                )
    return np.asarray(mask)


def _camera(img: Image.Image, rng: np.random.Generator, size: int) -> Image.Image:
    """Lens blur and sensor noise."""
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.0, 1.0) * size / 128))
    noise = rng.normal(0, rng.uniform(2, 9), (size, size, 1)).astype(np.int16)
    arr = np.asarray(img, dtype=np.int16) + noise
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _star_field(rng: np.random.Generator, size: int) -> np.ndarray:
    img = np.zeros((size, size, 3), dtype=np.uint8)
    n = size * size // 300
    ys, xs = rng.integers(0, size, n), rng.integers(0, size, n)
    img[ys, xs] = rng.integers(40, 255, (n, 1)).astype(np.uint8)
    return img
