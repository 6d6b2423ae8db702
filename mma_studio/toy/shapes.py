"""Captioned images of coloured shapes: the whole world of the toy CLIP `mma-tiny`/`shapes`.

Shapes are drawn as signed distance fields in numpy, for a whole batch at once, so anti-aliased
images come out at thousands per second without any drawing library. Everything is a pure
function of a `numpy.random.Generator`, so a seed fixes every pixel.

A fixed set of colour-shape combinations (`HELD_OUT`) never appears in pretraining: the
captions of those combinations are made of words the model knows, in pairings it has never
seen, which is what measures compositional zero-shot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Nominal colours in RGB, 0..1. Names are single words the CLIP tokenizer knows.
COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (0.88, 0.10, 0.10),
    "orange": (0.96, 0.52, 0.08),
    "yellow": (0.94, 0.86, 0.12),
    "green": (0.16, 0.66, 0.20),
    "blue": (0.12, 0.27, 0.86),
    "purple": (0.52, 0.16, 0.70),
    "pink": (0.98, 0.50, 0.76),
    "brown": (0.44, 0.26, 0.10),
    "white": (0.96, 0.96, 0.96),
    "black": (0.06, 0.06, 0.06),
}
COLOUR_NAMES: tuple[str, ...] = tuple(COLOURS)
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star", "cross", "ring", "heart", "moon")

# One combination per shape, each colour at most once: every word stays seen in other pairings.
HELD_OUT: tuple[tuple[str, str], ...] = (
    ("red", "star"),
    ("orange", "ring"),
    ("yellow", "square"),
    ("green", "heart"),
    ("blue", "triangle"),
    ("purple", "moon"),
    ("pink", "circle"),
    ("white", "cross"),
)
ALL_COMBOS: tuple[tuple[str, str], ...] = tuple((c, s) for c in COLOUR_NAMES for s in SHAPES)
SEEN_COMBOS: tuple[tuple[str, str], ...] = tuple(k for k in ALL_COMBOS if k not in HELD_OUT)

TEMPLATE = "a photo of a {}."
OUTLINE_WIDTH = 1.2  # pixels of a 32-pixel image


def class_name(colour: str, shape: str) -> str:
    """The readable class name, as the prompt template receives it: "red circle"."""
    return f"{colour} {shape}"


def caption(colour: str, shape: str) -> str:
    """The pretraining caption, identical to the engine's default prompt for the class."""
    return TEMPLATE.format(class_name(colour, shape))


@dataclass(frozen=True)
class Batch:
    """Rendered images (B, H, W, 3) float32 in [0, 1] and their combination indices."""

    images: np.ndarray
    colour: np.ndarray  # (B,) index into COLOUR_NAMES
    shape: np.ndarray  # (B,) index into SHAPES

    def combos(self) -> list[tuple[str, str]]:
        return [(COLOUR_NAMES[c], SHAPES[s]) for c, s in zip(self.colour, self.shape)]

    def to_uint8(self) -> np.ndarray:
        return np.clip(np.rint(self.images * 255.0), 0, 255).astype(np.uint8)


def combo_indices(combos: tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> np.ndarray:
    """(K, 2) array of (colour index, shape index) for a list of (colour, shape) names."""
    return np.array([(COLOUR_NAMES.index(c), SHAPES.index(s)) for c, s in combos], dtype=np.int64)


def sample(
    rng: np.random.Generator,
    n: int,
    combos=SEEN_COMBOS,
    *,
    size: int = 32,
) -> Batch:
    """`n` images of combinations drawn uniformly from `combos`, on the clean pretraining domain."""
    table = combo_indices(combos)
    pick = table[rng.integers(0, len(table), size=n)]
    return render(pick[:, 0], pick[:, 1], rng, size=size)


def render(
    colour: np.ndarray,
    shape: np.ndarray,
    rng: np.random.Generator,
    *,
    size: int = 32,
    scale_range: tuple[float, float] = (0.5, 0.85),
    pixel_noise: float = 0.03,
    outline: float = OUTLINE_WIDTH,
) -> Batch:
    """Draw one shape per image: random size, position, rotation, colour jitter and background.

    Shapes have a dark outline (`outline`, in 32-pixel-image pixels; 0 for none), as in clip
    art: it gives every shape the same edge whatever its fill and background colours, which
    a two-layer ViT learns to read far sooner than colour-pair edges.
    """
    colour = np.asarray(colour, dtype=np.int64)
    shape = np.asarray(shape, dtype=np.int64)
    n = len(colour)
    fg = _jittered_colours(colour, rng)
    bg = _backgrounds(fg, rng, n, size)
    distance = _distance_in_pixels(shape, rng, n, size, scale_range)
    alpha = np.clip(0.5 - distance, 0.0, 1.0)[..., None]
    images = bg * (1.0 - alpha) + fg[:, None, None, :] * alpha
    if outline > 0:
        half_width = 0.5 * outline * size / 32.0
        line = np.clip(half_width + 0.5 - np.abs(distance), 0.0, 1.0)[..., None]
        ink = rng.uniform(0.02, 0.12, (n, 1, 1, 1)).astype(np.float32)
        images = images * (1.0 - line) + ink * line
    noise_scale = rng.uniform(0.0, pixel_noise, (n, 1, 1, 1)).astype(np.float32)
    images += rng.standard_normal(images.shape, dtype=np.float32) * noise_scale
    return Batch(np.clip(images, 0.0, 1.0, out=images), colour, shape)


def _jittered_colours(colour: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    nominal = np.array(list(COLOURS.values()), dtype=np.float32)[colour]
    brightness = rng.uniform(0.88, 1.1, (len(colour), 1)).astype(np.float32)
    jitter = rng.normal(0.0, 0.03, nominal.shape).astype(np.float32)
    return np.clip(nominal * brightness + jitter, 0.0, 1.0)


def _backgrounds(fg: np.ndarray, rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """Muted backgrounds (flat, gradients or blotches) that keep a visible contrast to the shape."""
    base = np.empty((n, 3), dtype=np.float32)
    todo = np.arange(n)
    for _ in range(12):
        grey = rng.uniform(0.05, 0.95, (len(todo), 1))
        tint = rng.uniform(0.0, 1.0, (len(todo), 3))
        saturation = rng.uniform(0.0, 0.55, (len(todo), 1))
        base[todo] = grey * (1.0 - saturation) + tint * saturation
        far = np.linalg.norm(base[todo] - fg[todo], axis=1) > 0.38
        todo = todo[~far]
        if len(todo) == 0:
            break
    if len(todo):  # rare: fall back to the grey opposite the shape's brightness
        base[todo] = 1.0 - fg[todo].mean(axis=1, keepdims=True).round()
    # A 3x3 grid of colours around the base, bilinearly upsampled: amplitude 0 is a flat
    # background, small amplitudes look like gradients, larger ones like blotches.
    amplitude = rng.choice([0.0, 0.08, 0.16], size=(n, 1, 1, 1)).astype(np.float32)
    grid = base[:, None, None, :] + amplitude * rng.uniform(-1.0, 1.0, (n, 3, 3, 3)).astype(np.float32)
    up = _bilinear_matrix(3, size)
    columns = (up @ grid.reshape(n, 3, 9)).reshape(n, size, 3, 3)  # (n, y, j, c)
    bg = up @ columns  # (x, j) @ (n, y, j, c) -> (n, y, x, c)
    return np.clip(bg, 0.0, 1.0).astype(np.float32)


def _bilinear_matrix(k: int, size: int) -> np.ndarray:
    pos = (np.arange(size) + 0.5) / size * (k - 1)
    lo = np.clip(np.floor(pos).astype(int), 0, k - 2)
    frac = pos - lo
    m = np.zeros((size, k), dtype=np.float32)
    m[np.arange(size), lo] = 1.0 - frac
    m[np.arange(size), lo + 1] = frac
    return m


# Rotation range (radians) per shape: round shapes need none; squares and crosses stay upright
# enough not to read as diamonds or saltires.
_ROTATION = {
    "circle": 0.0,
    "square": 0.35,
    "triangle": np.pi,
    "star": np.pi,
    "cross": 0.35,
    "ring": 0.0,
    "heart": 0.5,
    "moon": np.pi,
}


def _distance_in_pixels(
    shape: np.ndarray,
    rng: np.random.Generator,
    n: int,
    size: int,
    scale_range: tuple[float, float],
) -> np.ndarray:
    """Signed distance (n, size, size) from each pixel centre to its image's shape, in pixels.

    Negative inside; `clip(0.5 - distance, 0, 1)` is an anti-aliased coverage.
    """
    scale = rng.uniform(*scale_range, n).astype(np.float32)
    centre = rng.uniform(-1.0, 1.0, (n, 2)).astype(np.float32) * (1.0 - 0.85 * scale)[:, None]
    spread = np.array([_ROTATION[SHAPES[s]] for s in shape], dtype=np.float32)
    angle = rng.uniform(-1.0, 1.0, n).astype(np.float32) * spread
    # Pixel centres in [-1, 1], y pointing up; then into each shape's unit frame.
    axis = (np.arange(size, dtype=np.float32) + 0.5) / size * 2.0 - 1.0
    gx, gy = np.meshgrid(axis, -axis)
    dx = gx[None] - centre[:, 0, None, None]
    dy = gy[None] - centre[:, 1, None, None]
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    ux = (cos * dx + sin * dy) / scale[:, None, None]
    uy = (-sin * dx + cos * dy) / scale[:, None, None]
    dist = np.empty((n, size, size), dtype=np.float32)
    for index, name in enumerate(SHAPES):
        rows = np.nonzero(shape == index)[0]
        if len(rows):
            dist[rows] = _SDF[name](ux[rows], uy[rows])
    pixel = 2.0 / size
    return dist * scale[:, None, None] / pixel


def _polygon_sdf(x: np.ndarray, y: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """Signed distance to a closed polygon (negative inside), after Inigo Quilez's sdPolygon."""
    d = (x - vertices[0, 0]) ** 2 + (y - vertices[0, 1]) ** 2
    sign = np.ones_like(x)
    count = len(vertices)
    for i in range(count):
        vi, vj = vertices[i], vertices[i - 1]
        ex, ey = vj[0] - vi[0], vj[1] - vi[1]
        wx, wy = x - vi[0], y - vi[1]
        t = np.clip((wx * ex + wy * ey) / (ex * ex + ey * ey), 0.0, 1.0)
        bx, by = wx - ex * t, wy - ey * t
        d = np.minimum(d, bx * bx + by * by)
        c1 = y >= vi[1]
        c2 = y < vj[1]
        c3 = ex * wy > ey * wx
        flip = (c1 & c2 & c3) | (~c1 & ~c2 & ~c3)
        sign = np.where(flip, -sign, sign)
    return sign * np.sqrt(d)


def _regular_star(points: int, outer: float, inner: float) -> np.ndarray:
    angles = np.pi / 2 + np.arange(2 * points) * np.pi / points
    radii = np.where(np.arange(2 * points) % 2 == 0, outer, inner)
    return np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1).astype(np.float32)


_TRIANGLE = _regular_star(3, 1.0, 0.5)[::2].copy()  # the outer vertices of a 3-point "star"
_STAR = _regular_star(5, 1.0, 0.42)


def _cross_vertices() -> np.ndarray:
    w, h = 0.3, 0.95
    return np.array(
        [(w, h), (-w, h), (-w, w), (-h, w), (-h, -w), (-w, -w), (-w, -h), (w, -h), (w, -w), (h, -w), (h, w), (w, w)],
        dtype=np.float32,
    )


_CROSS = _cross_vertices()


def _circle(x, y):
    return np.sqrt(x * x + y * y) - 0.85


def _square(x, y):
    qx, qy = np.abs(x) - 0.72, np.abs(y) - 0.72
    outside = np.sqrt(np.maximum(qx, 0.0) ** 2 + np.maximum(qy, 0.0) ** 2)
    return outside + np.minimum(np.maximum(qx, qy), 0.0)


def _ring(x, y):
    return np.abs(np.sqrt(x * x + y * y) - 0.68) - 0.22


def _moon(x, y):
    outer = np.sqrt(x * x + y * y) - 0.9
    bite = np.sqrt((x - 0.45) ** 2 + (y - 0.25) ** 2) - 0.72
    return np.maximum(outer, -bite)


def _heart(x, y):
    """Inigo Quilez's sdHeart, scaled and shifted so the heart sits in the unit disc."""
    px = np.abs(x) * 0.62
    py = y * 0.62 + 0.5
    upper = np.sqrt((px - 0.25) ** 2 + (py - 0.75) ** 2) - np.sqrt(2.0) / 4.0
    m = 0.5 * np.maximum(px + py, 0.0)
    lower = np.sqrt(np.minimum(px**2 + (py - 1.0) ** 2, (px - m) ** 2 + (py - m) ** 2)) * np.sign(px - py)
    return np.where(px + py > 1.0, upper, lower) / 0.62


_SDF = {
    "circle": _circle,
    "square": _square,
    "triangle": lambda x, y: _polygon_sdf(x, y, _TRIANGLE),
    "star": lambda x, y: _polygon_sdf(x, y, _STAR),
    "cross": lambda x, y: _polygon_sdf(x, y, _CROSS),
    "ring": _ring,
    "heart": _heart,
    "moon": _moon,
}
