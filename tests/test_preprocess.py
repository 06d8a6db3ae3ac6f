"""Any picture of a digit becomes an MNIST-style input: formats, arrays, refusals, sizes, shifts, samples."""

from __future__ import annotations

from helpers import preprocess
from helpers.preprocess import PRINTED_FONTS, load_image, render_digit, to_mnist

import importlib.util
import os
import re
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFile, ImageOps
from scipy import ndimage

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "notebooks" / "images"
SAMPLES = sorted(p for p in IMAGES.iterdir() if p.suffix in (".png", ".jpg") and p.name != "blank.png")
REFERENCE = render_digit(5)  # a black "5" on white, 200×200
A = np.asarray(REFERENCE)
REF = to_mnist(REFERENCE)
(TURNED := Image.Exif())[0x0112] = 6  # "rotate 90° clockwise to display", as phones write it


def coloured(mode: str, ink, paper) -> Image.Image:
    """The reference "5" in ``ink`` on ``paper``, in a Pillow mode."""
    return Image.composite(*(Image.new(mode, REFERENCE.size, c) for c in (ink, paper)), ImageOps.invert(REFERENCE))


def saved(path: Path, image: Image.Image, **options) -> Path:
    return image.save(path, **options) or path  # save() returns None


def assert_mnist_like(x: np.ndarray) -> None:
    """28×28 float32 in [0, 1], brightest pixel 1, centre of mass at (14, 14), digit 20 px tall or wide."""
    assert x.shape == (28, 28) and x.dtype == np.float32 and x.min() >= 0 and x.max() == 1.0
    assert np.allclose(ndimage.center_of_mass(x), (14, 14), atol=1.0)
    rows, cols = np.flatnonzero(x.any(axis=1)), np.flatnonzero(x.any(axis=0))
    assert 19 <= max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) <= 20


def test_a_file_goes_through_every_step_wherever_the_digit_is_and_what_is_no_picture_is_refused(tmp_path, monkeypatch):
    REFERENCE.save(tmp_path / "5.png")
    assert_mnist_like(REF)
    assert np.array_equal(to_mnist(tmp_path / "5.png"), REF) and np.array_equal(to_mnist(str(tmp_path / "5.png")), REF)
    x, steps = to_mnist(REFERENCE, return_steps=True)
    names = ["grayscale", "ink is bright", "contrast", "thresholded", "cropped", "strokes thickened"]
    assert list(steps) == [*names, "scaled to 20×20", "centred 28×28"]  # notebook 06 shows these names
    assert steps["grayscale"].shape == (200, 200) and steps["grayscale"][0, 0] == 1.0  # white paper...
    assert steps["ink is bright"][0, 0] == 0.0  # ...inverted to black
    assert max(steps["scaled to 20×20"].shape) == 20 and np.array_equal(steps["centred 28×28"], x)
    near, far = np.full((2, 600, 600), 255, np.uint8)  # the "5" at opposite corners of a large canvas
    near[10:210, 20:220], far[380:580, 390:590] = A, A
    assert np.array_equal(to_mnist(near), REF) and np.array_equal(to_mnist(far), REF)
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (200, 200), dtype=np.uint8))
    for s in (".png", ".jpg"):  # truncated files
        (tmp_path / f"half{s}").write_bytes((raw := saved(tmp_path / f"a{s}", noise).read_bytes())[: len(raw) // 2])
    REFERENCE.resize((600, 700)).save(tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)  # 420,000 pixels is more than twice that
    (tmp_path / "x.png").write_text("not a picture\n")
    for link, target in [("dangling", "gone"), ("loop_a", "loop_b"), ("loop_b", "loop_a"), ("good_link", "5")]:
        (tmp_path / f"{link}.png").symlink_to(tmp_path / f"{target}.png")
    for name, error, message in [
        ("x.png", ValueError, r"could not read x\.png as an image: .* Is it a PNG/JPEG file"),
        ("half.png", ValueError, r"could not read half\.png as an image"),
        ("half.jpg", ValueError, r"could not read half\.jpg as an image"),
        ("bomb.png", ValueError, r"bomb\.png is too large"),
        ("missing.png", FileNotFoundError, r"no file .*missing\.png"),
        ("", ValueError, "is a folder"),
        ("dangling.png", FileNotFoundError, r"dangling\.png is a symbolic link to .*gone\.png'?, which does not"),
        ("loop_a.png", FileNotFoundError, r"loop_a\.png is a symbolic link .* loop"),
    ]:
        with pytest.raises(error, match=message):
            load_image(tmp_path / name)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    assert np.array_equal(load_image(tmp_path / "good_link.png"), load_image(tmp_path / "5.png"))
    os.mkfifo(tmp_path / "pipe.png")  # opening it would wait for a writer that never comes: try it in a child
    code = f"from helpers.preprocess import load_image; load_image({str(tmp_path / 'pipe.png')!r})"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "pipe.png is a named pipe (FIFO), not a file" in done.stderr, "it hung, or read the pipe"


def test_scaling_to_20_pixels_puts_no_gray_on_the_paper_and_thin_pen_strokes_are_thickened_to_mnist_width():
    """Gray only at a stroke's edge (Lanczos's ringing left faint values 2+ pixels from the ink); 3 px pens thicken."""
    ell = np.zeros((100, 100), np.float32)
    ell[:, :20], ell[80:, :] = 1, 1  # an L: two bars 4 pixels thick once scaled by 0.2
    three = to_mnist(IMAGES / "3_serif_gray_on_white_offcentre.png", return_steps=True)[1]["strokes thickened"]
    for picture in [ell, three]:
        small = preprocess._scale_to_box(picture)
        far_from_ink = ndimage.distance_transform_edt(small < 0.5) >= 2
        assert max(small.shape) == 20 and far_from_ink.any() and not small[far_from_ink].any()
    ImageDraw.Draw(img := Image.new("L", (400, 400), 255)).line([(120, 80), (280, 80), (180, 330)], fill=0, width=3)
    assert_mnist_like(x := to_mnist(img))
    assert 50 < (x > 0.5).sum() < 150  # MNIST digits have ~95 such pixels; a 3 px pen line alone gives ~20


PICTURES = {  # name -> function(folder) giving a path, a Pillow image or an array that holds the reference "5"
    "inverted": lambda d: ImageOps.invert(REFERENCE),
    "coloured": lambda d: coloured("RGB", (30, 60, 200), (250, 220, 60)),
    "rgba-transparent": lambda d: coloured("RGBA", (20, 20, 20, 255), (0, 0, 0, 0)),
    "rgba-white-ink-transparent": lambda d: coloured("RGBA", (255, 255, 255, 255), (255, 255, 255, 0)),
    "la-transparent": lambda d: coloured("LA", (0, 255), (0, 0)),
    "palette-transparent.png": lambda d: saved(d / "a.png", REFERENCE.convert("P"), transparency=255),
    "16-bit.png": lambda d: saved(d / "a.png", Image.fromarray(A.astype(np.uint16) * 257)),
    "jpeg": lambda d: saved(d / "a.jpg", REFERENCE, quality=40),
    "1-bit.png": lambda d: saved(d / "a.png", REFERENCE.convert("1", dither=Image.Dither.NONE)),
    "exif-turned.png": lambda d: saved(d / "a.png", REFERENCE.transpose(Image.Transpose.ROTATE_90), exif=TURNED),
    "HW1": lambda d: A[..., None],
    "bool": lambda d: A > 127,
    "float-0-1": lambda d: A.astype(np.float32) / 255,
    "float64-0-255": lambda d: A.astype(np.float64),
    "uint16": lambda d: A.astype(np.uint16) * 257,
    "int64-0-255": lambda d: A.astype(np.int64),
}


@pytest.mark.parametrize("kind", PICTURES)
def test_every_format_and_array_gives_the_same_digit(tmp_path, kind):
    gray = load_image(picture := PICTURES[kind](tmp_path))
    assert gray.ndim == 2 and gray.dtype == np.float32 and gray.min() >= 0 and gray.max() <= 1
    assert_mnist_like(x := to_mnist(picture))
    assert np.abs(x - REF).mean() < 0.01, f"mean difference {np.abs(x - REF).mean():.3f}"


BAD_INPUTS = {
    "two-channels": (np.zeros((28, 28, 2)), r"shape \(28, 28, 2\).*expected"),
    "complex": (np.zeros((28, 28), dtype=complex), "dtype complex128"),
    "empty": (np.zeros((0, 28)), "empty array"),
    "nan": (np.where(A > 0, np.nan, 0.0), "NaN"),
    "negative": (A / 255 - 0.5, "from -0.5"),
    "int-above-255": (A.astype(np.int64) * 2, "expected 0-255"),
    "1x1": (np.zeros((1, 1), dtype=np.uint8), "image is 1×1 pixels, too small to hold a digit; use at least 8×8"),
    "blank-white": (np.full((50, 50), 255, dtype=np.uint8), "no digit found: the picture is uniform"),
    "two-specks": (np.where(np.isin(np.arange(4096).reshape(64, 64), [700, 3000]), 0, 255), "only 2 ink pixels"),
    "a list": ([[0, 1], [1, 0]], "not list"),
}


@pytest.mark.parametrize(("array", "message"), BAD_INPUTS.values(), ids=list(BAD_INPUTS))
def test_what_is_no_picture_of_a_digit_is_refused_saying_why(array, message):
    with pytest.raises(TypeError if isinstance(array, list) else ValueError, match=message):
        to_mnist(array)


BIG = np.kron(A, np.ones((20, 20), np.uint8))  # 4000×4000: averaged over blocks of 4×4 pixels, A 5× larger
HUGE = {"gray": lambda: BIG, "bool": lambda: BIG > 127, "float": lambda: BIG.astype(np.float32) / 255}
HUGE["rgba"] = lambda: np.dstack([BIG, BIG, BIG, np.full_like(BIG, 255)])


@pytest.mark.parametrize("kind", [*HUGE, ".png", ".jpg"])
def test_a_huge_picture_is_shrunk_before_any_float_copy(tmp_path, kind):
    """An array is averaged over blocks of pixels; a file (8000×8000) is shrunk as Pillow reads it."""
    source = HUGE[kind]() if kind in HUGE else tmp_path / f"huge{kind}"
    if kind not in HUGE:
        img = Image.new("L", (8000, 8000), 255)
        ImageDraw.Draw(img).line([(2500, 2000), (5500, 2000), (3500, 6000)], fill=0, width=400)  # a "7"
        img.save(source, **({"compress_level": 1} if kind == ".png" else {}))
        del img
    tracemalloc.start()
    try:
        gray = load_image(source)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40e6, f"{peak / 1e6:.0f} MB of arrays (one float32 channel: 64 MB as an array, 256 MB as a file)"
    if kind not in HUGE:
        assert max(gray.shape) == preprocess.MAX_SIDE
        assert_mnist_like(to_mnist(gray))
    else:
        assert np.allclose(gray, np.kron((A > 127) if kind == "bool" else A / 255, np.ones((5, 5))), atol=1e-6)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_shift_images_moves_whole_pixels_and_fills_with_black(dtype):
    images = (np.random.default_rng(0).random((3, 5, 6)) * 254 + 1).astype(dtype)
    padded = np.pad(images, ((0, 0), (4, 4), (4, 4)))  # black all around: a shift shows a window of it
    for top, left in np.ndindex(9, 9):
        moved = preprocess.shift_images(images, down=4 - top, right=4 - left)
        assert moved.dtype == dtype and moved.tobytes() == padded[:, top : top + 5, left : left + 6].tobytes()
    assert images.min() >= 1  # the input is untouched
    with pytest.raises(ValueError, match=r"moves a \(5, 6\) image out of the frame"):
        preprocess.shift_images(images, down=5)
    with pytest.raises(ValueError, match="expected a batch of images"):
        preprocess.shift_images(images[0], down=1)
    with pytest.raises(TypeError):
        preprocess.shift_images(images, down=0.5)  # whole pixels only


def test_the_samples_go_through_and_are_made_by_their_script_and_render_digit_prints_every_font(tmp_path, capfd):
    pictures = [np.asarray(render_digit(7, family, weight)) for family, weight in PRINTED_FONTS]
    assert all(p.shape == (200, 200) and p.dtype == np.uint8 and p.min() < 50 and p.max() == 255 for p in pictures)
    assert len({p.tobytes() for p in pictures}) == len(PRINTED_FONTS), "each font draws its own 7"
    assert capfd.readouterr().err == "", "every font resolves without a fallback warning"
    assert not np.allclose(to_mnist(render_digit(7)), to_mnist(render_digit(7, angle=90)))
    assert np.array_equal(np.asarray(render_digit("H")), np.asarray(render_digit("H")))  # any character, repeatable
    for path in SAMPLES:
        assert re.fullmatch(r"[0-9]_[a-z0-9_]+\.(png|jpg)", path.name), "names start with the true digit 0-9"
        assert_mnist_like(to_mnist(path))
    assert {int(p.name[0]) for p in SAMPLES} == set(range(10))
    assert all(p.stat().st_size < 20_000 for p in IMAGES.iterdir())
    assert all(p.name in (IMAGES / "README.md").read_text() for p in [*SAMPLES, IMAGES / "blank.png"])
    with pytest.raises(ValueError, match="no digit found"):
        to_mnist(IMAGES / "blank.png")
    spec = importlib.util.spec_from_file_location("make_sample_images", ROOT / "scripts" / "make_sample_images.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    first = {p.name: p.read_bytes() for p in script.make_all(tmp_path / "a")}
    assert first == {p.name: p.read_bytes() for p in script.make_all(tmp_path / "b")}  # deterministic
    assert set(first) == {p.name for p in IMAGES.iterdir() if p.suffix in (".png", ".jpg")}
