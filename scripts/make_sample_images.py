"""Render the sample pictures of digits in notebooks/images/ (deterministic: same files every run).

    python scripts/make_sample_images.py            # writes notebooks/images/
    python scripts/make_sample_images.py --out DIR  # somewhere else

Each file name starts with the true digit and says how the picture differs from MNIST:
font or hand-drawn stroke, colours, size, position and file format. ``blank.png`` has no digit.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from matplotlib import font_manager
from PIL import Image, ImageDraw, ImageFont

OUT = Path(__file__).resolve().parent.parent / "notebooks" / "images"
SEED = 2024


def arc(cx: float, cy: float, rx: float, ry: float, start: float, stop: float, n: int = 24) -> list:
    """Points on an ellipse, angles in degrees clockwise from 3 o'clock (y points down)."""
    angles = np.radians(np.linspace(start, stop, n))
    return list(zip(cx + rx * np.cos(angles), cy + ry * np.sin(angles), strict=True))


# Hand-drawn digits as pen strokes in a unit box (x right, y down, 0..1).
STROKES = {
    0: [arc(0.5, 0.5, 0.42, 0.5, -100, 265, 40)],
    1: [[(0.25, 0.2), (0.6, 0.0), (0.6, 1.0)]],
    2: [arc(0.5, 0.28, 0.4, 0.28, 190, 380) + [(0.08, 1.0), (0.95, 1.0)]],
    3: [arc(0.5, 0.25, 0.38, 0.25, 200, 450) + arc(0.5, 0.73, 0.42, 0.27, 270, 490)],
    4: [[(0.65, 0.0), (0.05, 0.68), (0.95, 0.68)], [(0.72, 0.3), (0.72, 1.0)]],
    5: [[(0.85, 0.0), (0.22, 0.0), (0.15, 0.45)] + arc(0.48, 0.68, 0.4, 0.32, 235, 510)],
    6: [[(0.75, 0.0), (0.4, 0.2), (0.12, 0.62)] + arc(0.5, 0.72, 0.38, 0.28, 180, 540)],
    7: [[(0.05, 0.0), (0.95, 0.0), (0.4, 1.0)]],
    8: [arc(0.5, 0.24, 0.3, 0.24, 90, 450), arc(0.5, 0.73, 0.38, 0.27, -90, 270)],
    9: [arc(0.5, 0.3, 0.4, 0.3, 0, 360) + [(0.78, 1.0)]],
}


def _wobbly(points: list, rng: np.random.Generator, wobble: float) -> list:
    """Resample a polyline densely and bend it a little, as a hand would."""
    pts = np.array(points, dtype=float)
    seg = np.hypot(*np.diff(pts, axis=0).T)
    t = np.concatenate([[0], np.cumsum(seg)]) / max(seg.sum(), 1e-9)
    s = np.linspace(0, 1, 120)
    dense = np.stack([np.interp(s, t, pts[:, 0]), np.interp(s, t, pts[:, 1])], axis=1)
    for axis in (0, 1):
        freq, phase = rng.uniform(0.5, 2.0, 2), rng.uniform(0, 2 * np.pi, 2)
        dense[:, axis] += wobble * (
            np.sin(2 * np.pi * freq[0] * s + phase[0]) + 0.5 * np.sin(2 * np.pi * freq[1] * 2 * s + phase[1])
        )
    return [tuple(p) for p in dense]


def draw_stroke_digit(img: Image.Image, digit: int, box: tuple, ink, width: int, rng: np.random.Generator) -> None:
    """Draw ``digit`` with a round pen in ``box`` = (left, top, digit width, digit height)."""
    left, top, w, h = box
    draw = ImageDraw.Draw(img)
    for stroke in STROKES[digit]:
        pts = [(left + x * w, top + y * h) for x, y in _wobbly(stroke, rng, 0.015)]
        draw.line(pts, fill=ink, width=width, joint="curve")
        for x, y in (pts[0], pts[-1]):  # round pen ends
            draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=ink)


def draw_font_digit(img: Image.Image, digit: int, centre: tuple, size: int, ink, family: str) -> None:
    """Draw ``digit`` in one of matplotlib's bundled fonts, centred on ``centre``."""
    font = ImageFont.truetype(font_manager.findfont(family), size)
    ImageDraw.Draw(img).text(centre, str(digit), font=font, fill=ink, anchor="mm")


def paper(size: tuple, level: int, rng: np.random.Generator, grain: float = 4.0) -> Image.Image:
    """Off-white paper: a gray level with a slight grain and a gentle shadow across it."""
    w, h = size
    shade = np.linspace(0, -10, w)[None, :] + rng.normal(0, grain, (h, w))
    return Image.fromarray(np.clip(level + shade, 0, 255).astype(np.uint8))


def make_all(out: Path) -> list[Path]:
    """Render every sample into ``out``; return the paths written."""
    rng = np.random.default_rng(SEED)
    out.mkdir(parents=True, exist_ok=True)
    files = {}

    img = Image.new("L", (120, 120), 255)
    draw_font_digit(img, 0, (60, 62), 96, 0, "DejaVu Serif")
    files["0_serif_black_on_white.png"] = img

    img = Image.new("RGB", (160, 200), (250, 220, 60))
    draw_font_digit(img, 1, (80, 100), 150, (30, 60, 200), "DejaVu Sans")
    files["1_sans_blue_on_yellow.jpg"] = img

    img = Image.new("L", (40, 40), 255)
    draw_stroke_digit(img, 2, (11, 6, 18, 28), 0, 3, rng)
    files["2_stroke_black_on_white_small.png"] = img

    img = Image.new("L", (300, 200), 255)
    draw_font_digit(img, 3, (225, 110), 110, 70, "DejaVu Serif")
    files["3_serif_gray_on_white_offcentre.png"] = img

    img = Image.new("RGBA", (140, 140), (0, 0, 0, 0))
    draw_font_digit(img, 4, (70, 70), 110, (20, 20, 20, 255), "DejaVu Sans Mono")
    files["4_mono_transparent.png"] = img

    img = Image.new("L", (400, 400), 255)
    draw_stroke_digit(img, 4, (140, 90, 150, 230), 0, 5, rng)
    files["4_stroke_thin_pen_large.png"] = img

    img = Image.new("L", (220, 160), 0)
    draw_stroke_digit(img, 5, (25, 30, 55, 95), 255, 9, rng)
    files["5_stroke_white_on_black_offcentre.png"] = img

    img = Image.new("I", (150, 150), 60000)
    draw_font_digit(img, 6, (75, 75), 120, 8000, "DejaVu Sans")
    files["6_sans_16bit.png"] = Image.fromarray(np.asarray(img).astype(np.uint16))

    img = Image.new("RGB", (180, 180), (250, 200, 210))
    draw_stroke_digit(img, 7, (60, 40, 70, 110), (0, 110, 60), 11, rng)
    files["7_stroke_green_on_pink.png"] = img

    img = Image.new("RGB", (48, 48), (40, 40, 40))
    draw_font_digit(img, 7, (24, 25), 40, (235, 235, 235), "DejaVu Sans")
    files["7_sans_white_on_gray_small.jpg"] = img

    img = Image.new("RGB", (160, 160), "white")
    draw_font_digit(img, 8, (80, 82), 130, (120, 40, 20), "STIXGeneral")
    files["8_stix_palette.png"] = img.quantize(colors=8)

    img = paper((260, 260), 235, rng)
    draw_stroke_digit(img, 9, (95, 60, 80, 140), 90, 7, rng)
    files["9_stroke_pencil_on_paper.jpg"] = img

    files["blank.png"] = paper((200, 200), 240, rng, grain=1.0)

    written = []
    for name, img in files.items():
        path = out / name
        if name.endswith(".jpg"):
            img.save(path, quality=80)
        else:
            img.save(path, optimize=True)
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder to write to (default {OUT})")
    args = parser.parse_args()
    for path in make_all(args.out):
        print(f"{path.stat().st_size / 1000:5.1f} kB  {path.name}")


if __name__ == "__main__":
    main()
