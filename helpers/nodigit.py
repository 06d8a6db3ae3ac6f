"""Pictures that are not digits, and the course's check that answers "no digit" (notebook 08).

A classifier trained on MNIST has ten answers and gives one of them to anything: a letter, noise,
a scribble. ``not_digits`` draws such pictures with Pillow and numpy (letters in the fonts that
Matplotlib ships, salt-and-pepper and blotchy noise, random pen strokes, simple shapes), each as
a picture on paper like the sample images, so that they reach a model through the same
``to_mnist`` steps as a real picture. Things a person would read as a digit are left out on
purpose: a ring is a 0, one straight stroke a 1, an angle of two strokes a 7, an S a 5. So there are
no circles, no pictures made of one or two straight strokes (a scribble is a pen path that crosses
itself at least twice; every shape stays whole inside the picture) and no letters that look like
a digit or are made of two straight strokes (tests/test_nodigit.py checks a sample of each kind).

The check itself, the *digit gate*, is a small network trained in notebook 08 to tell MNIST digits
from these pictures; once notebook 08 has saved it, ``predict_digit`` asks it first, whichever
classifier it is given (``helpers.predict``; nothing here trains it behind a notebook's back).
"""

from __future__ import annotations

from helpers import models
from helpers.files import write_atomic
from helpers.preprocess import to_mnist

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from matplotlib import font_manager
from PIL import Image, ImageDraw, ImageFont

KINDS = ("letter", "noise", "scribble", "shape")
# Letters a reader would not take for a digit: no O, D, Q, I, l, J, Z, S, B, G, b, d, g, p, q..., no letter
# of one or two straight strokes or of two stems (L, T, V, X, Y, h, n: a 1, a 7, a 4, an 11), no lone arc (C, U:
# an open 0), no f, r, t, y.
LETTERS = "AEFHKMNPRWaekmw"
# Fonts that come with Matplotlib: the gate learns on the first group; the held-out group tests it.
FONTS = {
    "train": ("DejaVu Sans", "DejaVu Serif", "DejaVu Sans Mono"),
    "test": ("STIXGeneral", "cmr10", "cmss10"),
}
SIDE = 96  # pictures are SIDE×SIDE pixels, dark ink on light paper
MAX_NOT_DIGITS = 100_000  # not_digits draws at most this many pictures in one call (the gate learns from 10,000)


def _font(family: str, size: int, bold: bool) -> ImageFont.FreeTypeFont:
    bold = bold and family.startswith("DejaVu")  # the other fonts Matplotlib ships have no bold
    prop = font_manager.FontProperties(family=family, weight="bold" if bold else "normal")
    return ImageFont.truetype(font_manager.findfont(prop, fallback_to_default=False), size)


def _letter(draw: ImageDraw.ImageDraw, rng: np.random.Generator, fonts: Sequence[str], ink: int) -> None:
    font = _font(str(rng.choice(fonts)), int(rng.integers(40, 80)), bool(rng.random() < 0.3))
    centre = (SIDE / 2 + rng.uniform(-10, 10), SIDE / 2 + rng.uniform(-10, 10))
    draw.text(centre, str(rng.choice(list(LETTERS))), font=font, fill=ink, anchor="mm")


def _noise(img: Image.Image, rng: np.random.Generator, ink: int, paper: int) -> Image.Image:
    if rng.random() < 0.5:  # salt and pepper: a share of the pixels inked at random
        mask = rng.random((SIDE, SIDE)) < rng.uniform(0.05, 0.4)
    else:  # blotches: smoothed random values, thresholded
        from scipy import ndimage

        field = ndimage.gaussian_filter(rng.normal(size=(SIDE, SIDE)), rng.uniform(1.5, 5))
        mask = field > np.quantile(field, rng.uniform(0.6, 0.9))
    return Image.fromarray(np.where(mask, ink, paper).astype(np.uint8))


MIN_CROSSINGS = 2  # a scribble crosses itself at least this often: no stroke, angle, loop (0) or 8
MAX_TWO_DIRECTIONS = 0.7  # and at most this share of its path runs in any two directions: no X, no V
MIN_SEGMENT = 0.2  # and each straight piece is at least this share of its box's diagonal: no knot beside a stroke


def _crossings(points: np.ndarray) -> int:
    """How many times the pen path through ``points`` crosses itself (pairs of segments that intersect)."""
    a, b = points[:-1], points[1:]

    def side(p, q, r):  # which side of the line p→q the point r is on (+1, -1, or 0 on it)
        (px, py), (qx, qy), (rx, ry) = p.T, q.T, r.T
        return np.sign((qx - px) * (ry - py) - (qy - py) * (rx - px))

    def apart(i, j):  # the ends of segment j lie on either side of segment i
        return side(a[i], b[i], a[j]) * side(a[i], b[i], b[j]) < 0

    i, j = np.triu_indices(len(a), k=2)  # segments that do not share an end
    return int((apart(i, j) & apart(j, i)).sum())


def _two_directions_share(points: np.ndarray) -> float:
    """The largest share of the path's length that runs within 15° of some two directions (1.0: an X, a V)."""
    steps = np.diff(points, axis=0)
    lengths = np.hypot(steps[:, 0], steps[:, 1])
    angles = np.arctan2(steps[:, 1], steps[:, 0]) % np.pi
    gap = np.abs(angles[:, None] - angles[None, :])
    near = np.minimum(gap, np.pi - gap) <= np.radians(15)  # near[k, m]: segment m runs along segment k
    both = near[:, None, :] | near[None, :, :]  # along segment k or along segment l
    return float((both @ lengths).max() / lengths.sum())


def _tangle(rng: np.random.Generator, margin: float) -> np.ndarray:
    """A pen path through 6 to 10 random points that crosses itself and turns: a scribble, never a digit.

    It crosses itself at least ``MIN_CROSSINGS`` times, runs in many directions (at most
    ``MAX_TWO_DIRECTIONS`` of its length along any two) and has no short pieces (each at least
    ``MIN_SEGMENT`` of the box's diagonal), so its crossings spread over the whole scribble. It is
    stretched to fill a box at least 40 pixels a side, placed whole inside the picture: never a thin
    line, never cut by the picture's edge.
    """
    while True:
        points = rng.uniform(0, 1, (int(rng.integers(6, 11)), 2))
        width = rng.uniform(40, 80)
        size = np.clip([width, width * rng.uniform(0.6, 1.6)], 40, SIDE - 2 * margin)
        corner = rng.uniform(margin, SIDE - margin - size)
        low, high = points.min(axis=0), points.max(axis=0)
        path = corner + (points - low) / (high - low) * size
        shortest = np.hypot(*np.diff(path, axis=0).T).min() / np.hypot(*size)
        crossings, along_two = _crossings(path), _two_directions_share(path)
        if crossings >= MIN_CROSSINGS and along_two <= MAX_TWO_DIRECTIONS and shortest >= MIN_SEGMENT:
            return path


def _scribble(draw: ImageDraw.ImageDraw, rng: np.random.Generator, ink: int) -> None:
    width = int(rng.integers(3, 9))
    for _ in range(int(rng.integers(1, 3))):  # one or two tangles
        path = _tangle(rng, margin=width / 2 + 2)
        draw.line([tuple(p) for p in path], fill=ink, width=width, joint="curve")


SHAPES = ("rectangle", "triangle", "star", "asterisk", "grid")  # no circle (a 0), no cross of two strokes


def _shape(draw: ImageDraw.ImageDraw, rng: np.random.Generator, ink: int) -> None:
    width = int(rng.integers(3, 9))
    for _ in range(int(rng.integers(1, 3))):
        kind = rng.choice(SHAPES)
        r = rng.uniform(15, 40)
        margin = r + width / 2 + 2  # the whole shape inside the picture: an edge would cut it into strokes
        cx, cy = rng.uniform(margin, SIDE - margin, 2)
        fill = ink if rng.random() < 0.3 else None
        if kind == "rectangle":  # as tall as 0.6 to 1 times its width: a box or a brick, never a bar
            w, h = r, r * rng.uniform(0.6, 1.0)
            draw.rectangle((cx - w, cy - h, cx + w, cy + h), outline=ink, fill=fill, width=width)
        elif kind in ("triangle", "star"):
            n = 3 if kind == "triangle" else 10
            angles = rng.uniform(0, 2 * np.pi) + np.arange(n) * 2 * np.pi / n
            radii = r * (np.where(np.arange(n) % 2, 0.45, 1.0) if kind == "star" else 1.0)
            corners = zip(angles, np.broadcast_to(radii, n), strict=True)
            points = [(cx + a * np.cos(t), cy + a * np.sin(t)) for t, a in corners]
            draw.polygon(points, outline=ink, fill=fill, width=width)
        elif kind == "asterisk":  # three or four strokes through one point
            n = int(rng.integers(3, 5))
            for a in rng.uniform(0, np.pi) + np.arange(n) * np.pi / n:
                dx, dy = r * np.cos(a), r * np.sin(a)
                draw.line((cx - dx, cy - dy, cx + dx, cy + dy), fill=ink, width=width)
        else:  # a grid of lines: hatching, a noughts-and-crosses board
            for k in (-1, 1):
                draw.line((cx + k * r / 3, cy - r, cx + k * r / 3, cy + r), fill=ink, width=width)
                draw.line((cx - r, cy + k * r / 3, cx + r, cy + k * r / 3), fill=ink, width=width)


def not_digits(n: int, seed: int, fonts: str = "train", kinds: Sequence[str] = KINDS) -> tuple[list, list[str]]:
    """Draw ``n`` pictures that are not digits, the kinds in turn: (list of PIL images, list of kinds).

    ``seed`` fixes every picture; use different seeds for the pictures a model learns from and the
    ones it is measured on. ``fonts``: "train" or "test", the group of Matplotlib fonts for letters.
    ``n`` is a whole number from 0 to ``MAX_NOT_DIGITS`` (100,000).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 0 <= n <= MAX_NOT_DIGITS:
        raise ValueError(f"n is how many pictures to draw: a whole number from 0 to {MAX_NOT_DIGITS:,}, not {n!r}")
    if fonts not in FONTS:
        raise ValueError(f"fonts must be one of {sorted(FONTS)}, not {fonts!r}")
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise ValueError(f"unknown kinds {unknown}: choose from {KINDS}")
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        paper, ink = int(rng.integers(200, 256)), int(rng.integers(0, 90))
        img = Image.new("L", (SIDE, SIDE), paper)
        draw = ImageDraw.Draw(img)
        if kind == "letter":
            _letter(draw, rng, FONTS[fonts], ink)
        elif kind == "noise":
            img = _noise(img, rng, ink, paper)
        elif kind == "scribble":
            _scribble(draw, rng, ink)
        else:
            _shape(draw, rng, ink)
        images.append(img)
        labels.append(kind)
    return images, labels


# ------------------------------------------------------------------------ the gate

# Notebook 08's three draws of not-digits, one per split, each from its own seed: (how many, seed, fonts).
# The gate learns from the "train" draw (beside the 50,000 training digits); the test draw uses fonts it never saw.
DRAWS = {
    "train": (10_000, 1, "train"),
    "validation": (2_000, 2, "train"),
    "test": (2_000, 3, "test"),
}
VAL_DIGITS_REJECTED = 0.005  # the operating point: the gate may refuse 0.5% of the validation digits
GATE_FILE = "gate.keras"  # in helpers.models.MODELS_DIR, its threshold beside it in gate.json


@dataclass
class Gate:
    """A digit gate: a model giving P(digit) for 28×28 inputs, and the threshold below which it says "no digit"."""

    model: keras.Model
    threshold: float

    def scores(self, x: np.ndarray) -> np.ndarray:
        """P(digit) for a batch of MNIST-style inputs (N, 28, 28), as a 1-D array."""
        x = np.asarray(x, dtype=np.float32)
        scores = np.asarray(self.model.predict(x, verbose=0), dtype=np.float64)
        if scores.size != len(x):
            raise ValueError(
                f"the gate's model gave shape {scores.shape} for {len(x)} pictures; a digit gate gives one number "
                "per picture, P(digit), like helpers.models.build_gate() (is it a 10-class model?)"
            )
        return scores.reshape(len(x))

    def accepts(self, x: np.ndarray) -> np.ndarray:
        """True where the gate takes the input for a digit."""
        return self.scores(x) >= self.threshold


def prepare(images: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """Run ``to_mnist`` on each picture: (inputs (N, 28, 28), refused (N,) bool).

    ``refused`` is True where the preprocessing itself raised "no digit found" (its input is then
    all zeros): such a picture never reaches a model.
    """
    inputs, refused = np.zeros((len(images), 28, 28), np.float32), np.zeros(len(images), bool)
    for i, image in enumerate(images):
        try:
            inputs[i] = to_mnist(image)
        except ValueError:
            refused[i] = True
    return inputs, refused


def gate_training_set(
    x_train: np.ndarray, not_digit_inputs: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict[int, float]]:
    """The gate's training data: the training digits (label 1) and the not-digits (label 0), shuffled.

    ``not_digit_inputs`` are the drawn not-digits after ``prepare`` (notebook 08 draws them with
    ``DRAWS["train"]``). Returns ``(x, y, class_weight)``: the weights make both classes count
    equally in the loss, although there are five times more digits.
    """
    not_digit_inputs = np.asarray(not_digit_inputs, np.float32)
    if not_digit_inputs.ndim != 3 or not_digit_inputs.shape[1:] != (28, 28) or not len(not_digit_inputs):
        raise ValueError(
            f"not_digit_inputs has shape {not_digit_inputs.shape}: give the prepared not-digits, "
            "prepare(not_digits(...)[0])[0], an array of shape (N, 28, 28) with N > 0"
        )
    n = len(not_digit_inputs)
    x = np.concatenate([np.asarray(x_train, np.float32), not_digit_inputs])
    y = np.concatenate([np.ones(len(x_train), np.float32), np.zeros(n, np.float32)])
    order = np.random.default_rng(DRAWS["train"][1]).permutation(len(x))  # shuffled with the draw's seed
    class_weight = {0: len(x) / (2 * n), 1: len(x) / (2 * len(x_train))}
    return x[order], y[order], class_weight


def threshold_for(digit_scores: np.ndarray, rejected: float = VAL_DIGITS_REJECTED) -> float:
    """The score below which the share ``rejected`` of these digits falls (choose it on validation digits)."""
    if not 0 <= rejected < 1:
        raise ValueError(f"rejected is a share of the digits between 0 and 1, not {rejected}")
    scores = np.asarray(digit_scores, dtype=np.float64)
    if scores.size == 0:
        raise ValueError("no digit scores to choose a threshold from: give gate.scores(...) of the validation digits")
    return float(np.quantile(scores, rejected))


def _paths(path: str | os.PathLike | None) -> tuple[Path, Path]:
    model_path = Path(path) if path is not None else models.MODELS_DIR / GATE_FILE  # read at each call
    return model_path, model_path.with_suffix(".json")


def _is_threshold(value) -> bool:
    """True for a real number from 0 to 1, not a bool (NaN and infinities fail the range): a gate's threshold."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1


def _output_problem(model: keras.Model) -> str | None:
    """Why ``model`` cannot be a gate (it must give one number per picture, P(digit)), or None if it can."""
    shape = getattr(model, "output_shape", None)
    if isinstance(shape, tuple) and all(d == 1 for d in shape[1:]):
        return None
    return f"gives outputs of shape {shape}, but a digit gate gives one number per picture, (None, 1)"


def save_gate(gate: Gate, path: str | os.PathLike | None = None, **measured: float) -> Path:
    """Save the gate's model (``models/gate.keras``) and its threshold (``gate.json``, with ``measured``)."""
    model_path, json_path = _paths(path)
    if not _is_threshold(gate.threshold):
        raise ValueError(f"the gate's threshold is {gate.threshold!r}: it must be a number from 0 to 1")
    if problem := _output_problem(gate.model):
        raise ValueError(f"the gate's model {problem}, like helpers.models.build_gate()")
    models.save_model(gate.model, model_path)
    write_atomic(json_path, json.dumps({"threshold": float(gate.threshold), **measured}, indent=1))
    return model_path


def load_gate(path: str | os.PathLike | None = None) -> Gate:
    """Load a gate saved by ``save_gate`` (the model in safe mode, the threshold from the JSON beside it)."""
    model_path, json_path = _paths(path)
    model = models.load_model(model_path)
    redo = f"Run notebook 08 again, or delete {model_path.name} to have the gate trained again."
    if problem := _output_problem(model):
        raise ValueError(f"{model_path} {problem}: is it another model saved under that name? {redo}")
    try:
        threshold = json.loads(json_path.read_text(encoding="utf-8"))["threshold"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{json_path} is missing or damaged ({exc}): it holds the gate's threshold. {redo}") from None
    if not _is_threshold(threshold):
        raise ValueError(f"{json_path} gives the threshold {threshold!r}; it must be a number from 0 to 1. {redo}")
    return Gate(model, float(threshold))
