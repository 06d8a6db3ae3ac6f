"""Any picture of a digit becomes an MNIST-style input: formats, arrays, refusals, sizes, prediction."""

from __future__ import annotations

import helpers  # noqa: F401  (quiet TensorFlow before keras is imported)
from helpers import preprocess
from helpers.predict import predict_digit, predict_folder
from helpers.preprocess import PRINTED_FONTS, load_image, render_digit, to_mnist

import importlib.util
import os
import re
import subprocess
import sys
import textwrap
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from matplotlib import font_manager
from PIL import Image, ImageDraw, ImageFile, ImageFont, ImageOps
from scipy import ndimage

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "notebooks" / "images"
FONT = font_manager.findfont("DejaVu Sans")
SAMPLES = sorted(p for p in IMAGES.iterdir() if p.suffix in (".png", ".jpg") and p.name != "blank.png")


def digit_image(digit: str = "3", size=(120, 140), mode: str = "L", ink=0, paper=255, centre=None) -> Image.Image:
    """A digit in DejaVu Sans, dark on light unless told otherwise."""
    img = Image.new(mode, size, paper)
    font = ImageFont.truetype(FONT, int(min(size) * 0.8))
    ImageDraw.Draw(img).text(centre or (size[0] / 2, size[1] / 2), digit, font=font, fill=ink, anchor="mm")
    return img


REFERENCE = digit_image()  # black "3" on white, 120×140
REF = to_mnist(REFERENCE)


def assert_mnist_like(x: np.ndarray) -> None:
    """28×28 float32 in [0, 1], brightest pixel 1, centre of mass at (14, 14), digit 20 px tall or wide."""
    assert x.shape == (28, 28) and x.dtype == np.float32
    assert x.min() >= 0 and x.max() == 1.0
    assert np.allclose(ndimage.center_of_mass(x), (14, 14), atol=1.0)
    rows, cols = np.flatnonzero(x.any(axis=1)), np.flatnonzero(x.any(axis=0))
    assert 19 <= max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) <= 20


def assert_same_digit(x: np.ndarray, reference: np.ndarray = REF, tol: float = 0.02) -> None:
    assert_mnist_like(x)
    assert np.abs(x - reference).mean() < tol, f"mean difference {np.abs(x - reference).mean():.3f}"


def test_clean_png_becomes_mnist_like(tmp_path):
    REFERENCE.save(tmp_path / "3.png")
    x = to_mnist(tmp_path / "3.png")
    assert_mnist_like(x)
    assert np.array_equal(x, REF)
    assert np.array_equal(to_mnist(str(tmp_path / "3.png")), REF)  # str paths too


def test_return_steps_shows_every_step():
    x, steps = to_mnist(REFERENCE, return_steps=True)
    assert list(steps) == [
        "grayscale",
        "ink is bright",
        "contrast",
        "thresholded",
        "cropped",
        "strokes thickened",
        "scaled to 20×20",
        "centred 28×28",
    ]
    assert all(step.ndim == 2 for step in steps.values())
    assert steps["grayscale"].shape == (140, 120) and steps["grayscale"][0, 0] == 1.0  # white paper
    assert steps["ink is bright"][0, 0] == 0.0  # ... inverted to black
    assert max(steps["scaled to 20×20"].shape) == 20
    assert np.array_equal(steps["centred 28×28"], x)


def test_scaling_to_20_pixels_puts_no_gray_on_the_paper():
    """Gray only at a stroke's edge: Lanczos's ringing left faint values two and more pixels from the ink."""
    ell = np.zeros((100, 100), np.float32)
    ell[:, :20], ell[80:, :] = 1, 1  # an L: two bars 4 pixels thick once scaled by 0.2
    three = to_mnist(IMAGES / "3_serif_gray_on_white_offcentre.png", return_steps=True)[1]["strokes thickened"]
    for picture in [ell, three]:
        small = preprocess._scale_to_box(picture)
        far_from_ink = ndimage.distance_transform_edt(small < 0.5) >= 2
        assert max(small.shape) == 20 and far_from_ink.any()
        assert not small[far_from_ink].any(), "gray pixels two or more pixels away from the strokes"


def test_thin_pen_strokes_are_thickened_to_mnist_width():
    img = Image.new("L", (400, 400), 255)
    ImageDraw.Draw(img).line([(120, 80), (280, 80), (180, 330)], fill=0, width=3)
    x = to_mnist(img)
    assert_mnist_like(x)
    assert 50 < (x > 0.5).sum() < 150  # MNIST digits have ~95 such pixels; a 3 px pen line alone gives ~20


def test_polarity_white_on_black_equals_black_on_white():
    assert_same_digit(to_mnist(ImageOps.invert(REFERENCE)), tol=1e-3)  # equal up to float rounding


def test_coloured_ink_on_coloured_paper():
    assert_same_digit(to_mnist(digit_image(mode="RGB", ink=(30, 60, 200), paper=(250, 220, 60))))


def _save(img: Image.Image, path: Path, **kwargs) -> Path:
    img.save(path, **kwargs)
    return path


FILE_FORMATS = {  # name -> function(tmp_path) writing a file in that format, holding the reference "3"
    "rgba-transparent": lambda d: _save(
        digit_image(mode="RGBA", ink=(20, 20, 20, 255), paper=(0, 0, 0, 0)), d / "a.png"
    ),
    "rgba-white-ink-transparent": lambda d: _save(
        digit_image(mode="RGBA", ink=(255, 255, 255, 255), paper=(255, 255, 255, 0)), d / "a.png"
    ),
    "la-transparent": lambda d: _save(digit_image(mode="LA", ink=(0, 255), paper=(255, 0)), d / "a.png"),
    "palette-transparent": lambda d: _save(REFERENCE.convert("P"), d / "a.png", transparency=255),
    "16-bit": lambda d: _save(Image.fromarray(np.asarray(REFERENCE).astype(np.uint16) * 257), d / "a.png"),
    "jpeg": lambda d: _save(REFERENCE, d / "a.jpg", quality=40),
    "1-bit": lambda d: _save(REFERENCE.convert("1", dither=Image.Dither.NONE), d / "a.png"),
    "cmyk-jpeg": lambda d: _save(REFERENCE.convert("RGB").convert("CMYK"), d / "a.jpg", quality=95),
}


@pytest.mark.parametrize("fmt", FILE_FORMATS)
def test_file_formats(tmp_path, fmt):
    path = FILE_FORMATS[fmt](tmp_path)
    if fmt == "16-bit":
        with Image.open(path) as img:
            assert img.mode in ("I;16", "I")
    gray = load_image(path)
    assert gray.ndim == 2 and gray.dtype == np.float32 and gray.min() >= 0 and gray.max() <= 1
    assert_same_digit(to_mnist(path), tol=0.03 if fmt in ("jpeg", "1-bit") else 0.01)


def test_exif_orientation_is_applied(tmp_path):
    upright = digit_image("7")
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display", as phones write it
    upright.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "7.png", exif=exif)
    assert np.array_equal(load_image(tmp_path / "7.png"), np.asarray(upright, dtype=np.float32) / 255)


A = np.asarray(REFERENCE)
ARRAYS = {
    "uint8": A,
    "HW1": A[..., None],
    "HW3": np.stack([A] * 3, axis=-1),
    "HW4": np.dstack([A, A, A, np.full_like(A, 255)]),
    "bool": A > 127,
    "float-0-1": A.astype(np.float32) / 255,
    "float64-0-255": A.astype(np.float64),
    "uint16": A.astype(np.uint16) * 257,
    "int64-0-255": A.astype(np.int64),
}


@pytest.mark.parametrize("kind", ARRAYS)
def test_arrays(kind):
    tol = 0.03 if kind == "bool" else 1e-5
    assert_same_digit(to_mnist(ARRAYS[kind]), tol=tol)


def test_float_0_255_reads_like_uint8():
    assert np.array_equal(load_image(A.astype(np.float32)), load_image(A))
    assert np.array_equal(to_mnist(A.astype(np.float32)), to_mnist(A))


BAD_INPUTS = {
    "1-D": (np.zeros(100), r"shape \(100,\)"),
    "4-D": (np.zeros((2, 28, 28, 1)), r"shape \(2, 28, 28, 1\)"),
    "two-channels": (np.zeros((28, 28, 2)), r"shape \(28, 28, 2\).*expected"),
    "complex": (np.zeros((28, 28), dtype=complex), "dtype complex128"),
    "object": (np.full((28, 28), None, dtype=object), "dtype object"),
    "string": (np.full((28, 28), "a"), "dtype <U1"),
    "empty": (np.zeros((0, 28)), "empty array"),
    "nan": (np.where(A > 0, np.nan, 0.0), "NaN"),
    "inf": (np.where(A > 0, np.inf, 0.0), "inf"),
    "negative": (A / 255 - 0.5, "from -0.5"),
    "above-255": (A * 2.0, "above 255"),
    "int-above-255": (A.astype(np.int64) * 2, "expected 0-255"),
    "1x1": (np.zeros((1, 1), dtype=np.uint8), "image is 1×1 pixels, too small to hold a digit"),
    "5x200": (np.zeros((5, 200), dtype=np.uint8), "image is 200×5 pixels"),
    "blank-white": (np.full((50, 50), 255, dtype=np.uint8), "no digit found"),
    "blank-black": (np.zeros((50, 50), dtype=np.uint8), "no digit found"),
    "uniform-gray": (np.full((50, 50), 0.5), "no digit found"),
    "faint-noise": (np.random.default_rng(0).uniform(0.5, 0.52, (64, 64)), "no digit found"),
    "two-specks": (
        np.where(np.isin(np.arange(64 * 64).reshape(64, 64), [700, 3000]), 0, 255).astype(np.uint8),
        "no digit found",
    ),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_arrays_are_refused_with_a_clear_message(case):
    array, message = BAD_INPUTS[case]
    with pytest.raises(ValueError, match=message):
        to_mnist(array)


def test_other_types_are_refused():
    with pytest.raises(TypeError, match="not list"):
        load_image([[0, 1], [1, 0]])


def test_tiny_png_is_too_small(tmp_path):
    Image.new("L", (1, 1), 0).save(tmp_path / "dot.png")
    with pytest.raises(ValueError, match="image is 1×1 pixels, too small to hold a digit; use at least 8×8"):
        to_mnist(tmp_path / "dot.png")


@pytest.mark.parametrize("colour", [0, 255, 128])
def test_blank_png_has_no_digit(tmp_path, colour):
    Image.new("RGB", (100, 100), (colour,) * 3).save(tmp_path / "blank.png")
    with pytest.raises(ValueError, match="no digit found"):
        to_mnist(tmp_path / "blank.png")


def test_text_file_named_png(tmp_path):
    (tmp_path / "x.png").write_text("not a picture\n")
    message = r"could not read x\.png as an image: .* Is it a PNG/JPEG file, and complete\?"
    with pytest.raises(ValueError, match=message):
        load_image(tmp_path / "x.png")


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_truncated_file(tmp_path, suffix):
    noisy = Image.fromarray(np.random.default_rng(0).integers(0, 256, (200, 200), dtype=np.uint8))
    noisy.save(tmp_path / f"whole{suffix}")
    raw = (tmp_path / f"whole{suffix}").read_bytes()
    (tmp_path / f"half{suffix}").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=rf"could not read half\{suffix} as an image"):
        load_image(tmp_path / f"half{suffix}")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_missing_path_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no file .*missing\.png"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(ValueError, match="is a folder"):
        load_image(tmp_path)


def test_a_fifo_named_png_is_refused_at_once(tmp_path):
    """Opening a named pipe waits for a writer that never comes: it must be refused before any read."""
    os.mkfifo(tmp_path / "pipe.png")
    outcome = []
    reader = threading.Thread(target=lambda: outcome.append(_error_of(load_image, tmp_path / "pipe.png")), daemon=True)
    reader.start()
    reader.join(timeout=20)
    assert not reader.is_alive(), "load_image hung on a FIFO"
    assert isinstance(outcome[0], ValueError) and "pipe.png is a named pipe (FIFO), not a file" in str(outcome[0])


def _error_of(function, *args) -> Exception | None:
    try:
        function(*args)
    except Exception as exc:  # the test inspects whatever was raised
        return exc
    return None


def test_broken_and_looping_links_say_what_they_are(tmp_path):
    (tmp_path / "dangling.png").symlink_to(tmp_path / "gone.png")
    (tmp_path / "loop_a.png").symlink_to(tmp_path / "loop_b.png")
    (tmp_path / "loop_b.png").symlink_to(tmp_path / "loop_a.png")
    with pytest.raises(FileNotFoundError, match=r"dangling\.png is a symbolic link to .*gone\.png'?, which does not"):
        load_image(tmp_path / "dangling.png")
    with pytest.raises(FileNotFoundError, match=r"loop_a\.png is a symbolic link .* loop"):
        load_image(tmp_path / "loop_a.png")
    REFERENCE.save(tmp_path / "real.png")
    (tmp_path / "good_link.png").symlink_to(tmp_path / "real.png")
    assert np.array_equal(load_image(tmp_path / "good_link.png"), load_image(tmp_path / "real.png"))


@pytest.mark.parametrize("kind", ["gray", "rgb", "rgba", "one channel", "bool"])
def test_huge_8_bit_array_is_shrunk_before_any_float_array(kind):
    side = 8000
    ink = np.zeros((side, side), dtype=bool)
    ink[2000:2400, 2500:5500] = ink[2000:6000, 5100:5500] = True  # a "7" of bars
    gray = np.where(ink, np.uint8(0), np.uint8(255))  # dark ink on white paper
    big = {
        "gray": gray,
        "rgb": np.repeat(gray[:, :, None], 3, axis=2),
        "rgba": np.dstack([gray, gray, gray, np.full_like(gray, 255)]),
        "one channel": gray[:, :, None],
        "bool": ~ink,
    }[kind]
    del gray, ink
    tracemalloc.start()
    try:
        small = load_image(big)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert small.shape == (1000, 1000) and small.dtype == np.float32  # 8000 / 8: blocks of 8×8 pixels averaged
    assert peak < 40e6, f"{peak / 1e6:.0f} MB of arrays ({side}×{side} as float32 would be {side**2 * 4 / 1e6:.0f} MB)"
    assert small.min() == 0.0 and small.max() == 1.0  # dark ink, white paper, as given
    assert_mnist_like(to_mnist(small))


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_huge_image_is_shrunk_before_any_float_array(tmp_path, suffix):
    img = Image.new("L", (8000, 8000), 255)
    ImageDraw.Draw(img).line([(2500, 2000), (5500, 2000), (3500, 6000)], fill=0, width=400)  # a "7"
    img.save(tmp_path / f"huge{suffix}", **({"compress_level": 1} if suffix == ".png" else {}))
    del img
    tracemalloc.start()
    try:
        gray = load_image(tmp_path / f"huge{suffix}")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert max(gray.shape) == preprocess.MAX_SIDE
    assert peak < 40e6, f"{peak / 1e6:.0f} MB of arrays (8000×8000 as float32 would be 256 MB)"
    assert_mnist_like(to_mnist(tmp_path / f"huge{suffix}"))


def test_huge_array_is_shrunk():
    big = np.kron(A, np.ones((10, 10), dtype=np.uint8))  # 1400×1200
    assert load_image(big).shape == (700, 600)  # blocks of 2×2 pixels averaged: at most MAX_SIDE a side
    assert_same_digit(to_mnist(big), tol=0.03)


MEMORY_PROBE = textwrap.dedent("""
    import resource, sys
    import numpy as np
    from helpers.preprocess import load_image

    def peak():  # this process's peak memory so far; Linux's own count (ru_maxrss there includes the parent's)
        try:
            with open("/proc/self/status") as status:
                return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
        except OSError:  # macOS: no /proc; ru_maxrss counts bytes there
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    side, channels, dtype = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    shape = (side, side) if channels == 1 else (side, side, channels)
    big = np.full(shape, 0.9 * 255 if dtype == "uint8" else 0.9, dtype)  # light paper
    big[side // 4 : side // 2, side // 4 : 3 * side // 4] = 0  # a bar of dark ink
    before = peak()  # the array and the imports
    small = load_image(big)
    print(small.shape, peak() - before)
""")


@pytest.mark.parametrize(
    ("channels", "dtype"), [(3, "uint8"), (1, "float32"), (4, "float32")], ids=["rgb", "float", "rgba-float"]
)
def test_a_huge_array_costs_little_memory_beyond_itself(channels, dtype):
    """Measured as the process's peak memory: it sees Pillow's buffers, which tracemalloc misses, and numpy's.

    4000×4000 pixels; a float32 copy of one channel would be 64 MB (20000×20000 pictures cost 1.2-1.6 GB more before).
    """
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, "4000", str(channels), dtype],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    shape, grown = done.stdout.rsplit(" ", 1)
    assert int(grown) < 50e6, f"load_image needed {int(grown) / 1e6:.0f} MB beyond the array it was given"
    assert shape == "(1000, 1000)"  # blocks of 4×4 pixels averaged: at most MAX_SIDE a side


def test_decompression_bomb_is_a_clear_error(tmp_path, monkeypatch):
    REFERENCE.resize((600, 700)).save(tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)  # 420,000 pixels is more than twice that
    with pytest.raises(ValueError, match=r"bomb\.png is too large"):
        load_image(tmp_path / "bomb.png")


def test_shift_images_moves_whole_pixels_and_fills_with_black():
    images = np.arange(2 * 5 * 6, dtype=np.float32).reshape(2, 5, 6) + 1
    down = preprocess.shift_images(images, down=2)
    assert np.array_equal(down[:, 2:], images[:, :3]) and not down[:, :2].any()
    left_up = preprocess.shift_images(images, down=-1, right=-3)
    assert (
        np.array_equal(left_up[:, :4, :3], images[:, 1:, 3:])
        and not left_up[:, 4:].any()
        and not left_up[:, :, 3:].any()
    )
    assert np.array_equal(preprocess.shift_images(images), images) and images.min() == 1  # the input is untouched
    with pytest.raises(ValueError, match=r"moves a \(5, 6\) image out of the frame"):
        preprocess.shift_images(images, down=5)
    with pytest.raises(ValueError, match="expected a batch of images"):
        preprocess.shift_images(images[0], down=1)


# ------------------------------------------------------------------- prediction


@pytest.fixture(scope="module")
def model():
    import keras

    keras.utils.set_random_seed(0)
    layers = [keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")]
    return keras.Sequential(layers)


def test_predict_digit(model, tmp_path):
    REFERENCE.save(tmp_path / "3.png")
    digit, probs = predict_digit(model, tmp_path / "3.png", gate=False)
    assert type(digit) is int and 0 <= digit <= 9
    assert probs.shape == (10,) and np.isclose(probs.sum(), 1, atol=1e-5)
    assert digit == int(np.argmax(probs))
    assert np.allclose(probs, model.predict(REF[None], verbose=0)[0])


def test_predict_folder_one_bad_file_does_not_stop_the_others(model, tmp_path):
    REFERENCE.save(tmp_path / "b_three.png")
    digit_image("7").convert("RGB").save(tmp_path / "a_seven.JPG")
    (tmp_path / "c_broken.png").write_text("oops")
    (tmp_path / "notes.txt").write_text("not an image")
    table = predict_folder(model, tmp_path, gate=False)
    assert list(table.columns) == ["file", "digit", "confidence", "top3", "error", "model", "gate"]
    assert set(table.model) == {model.name} and table.gate.isna().all()  # who read them, and no gate
    assert list(table.file) == ["a_seven.JPG", "b_three.png", "c_broken.png"]
    good, bad = table.iloc[:2], table.iloc[2]
    assert all(type(d) is int and 0 <= d <= 9 for d in good.digit)
    assert good.confidence.between(0, 1).all() and good.error.isna().all()
    assert all(re.fullmatch(r"\d \(\d\.\d\d\), \d \(\d\.\d\d\), \d \(\d\.\d\d\)", t) for t in good.top3)
    assert bad.digit is None and np.isnan(bad.confidence) and "could not read c_broken.png" in bad.error
    assert list(predict_folder(model, tmp_path, pattern=("*.png",), gate=False).file) == ["b_three.png", "c_broken.png"]
    assert list(predict_folder(model, tmp_path, pattern="*.jpg", gate=False).file) == ["a_seven.JPG"]


def test_predict_folder_reports_broken_links_and_fifos(model, tmp_path):
    REFERENCE.save(tmp_path / "a_three.png")
    (tmp_path / "b_dangling.png").symlink_to(tmp_path / "gone.png")
    (tmp_path / "c_loop.png").symlink_to(tmp_path / "c_loop.png")
    os.mkfifo(tmp_path / "d_pipe.png")
    (tmp_path / "e_folder.png").mkdir()  # a folder is not a picture and gets no row
    table = predict_folder(model, tmp_path, gate=False)
    assert list(table.file) == ["a_three.png", "b_dangling.png", "c_loop.png", "d_pipe.png"]
    assert table.error.iloc[0] is None and type(table.digit.iloc[0]) is int
    errors = dict(zip(table.file[1:], table.error[1:], strict=True))
    assert "which does not exist" in errors["b_dangling.png"] and "loop" in errors["c_loop.png"]
    assert "named pipe" in errors["d_pipe.png"]
    assert table.digit.iloc[1:].isna().all() and table.confidence.iloc[1:].isna().all()


def test_predict_folder_missing_folder(model, tmp_path):
    with pytest.raises(FileNotFoundError, match="no folder"):
        predict_folder(model, tmp_path / "nowhere")


# ------------------------------------------------------------- property-based


@st.composite
def stroke_pictures(draw, size=None):
    """A canvas of 16-200 px with 1-4 thick pen strokes kept away from the border, either polarity."""
    width, height = size or (draw(st.integers(16, 200)), draw(st.integers(16, 200)))
    side = min(width, height)
    pen = draw(st.integers(max(2, side // 16), max(2, side // 8)))
    point = st.tuples(st.floats(0.25, 0.75), st.floats(0.25, 0.75))
    strokes = draw(st.lists(st.lists(point, min_size=2, max_size=4), min_size=1, max_size=4))
    dark_on_light = draw(st.booleans())
    img = Image.new("L", (width, height), 255 if dark_on_light else 0)
    for stroke in strokes:
        ImageDraw.Draw(img).line(
            [(x * width, y * height) for x, y in stroke], fill=0 if dark_on_light else 255, width=pen
        )
    return np.asarray(img)


@settings(max_examples=30, deadline=None)
@given(stroke_pictures())
def test_any_picture_with_enough_ink_becomes_a_valid_input(picture):
    assume(np.count_nonzero(picture != picture[0, 0]) >= 0.01 * picture.size)
    x = to_mnist(picture)
    assert x.shape == (28, 28) and x.dtype == np.float32
    assert x.min() >= 0 and x.max() == 1.0
    for axis, com in enumerate(ndimage.center_of_mass(x)):
        ink = np.flatnonzero(x.any(axis=1 - axis))
        # the centre of mass is at 14 (whole-pixel shifts, ± float32 rounding), unless the 20 px box had to stop
        # at the frame's edge
        assert abs(com - 14) <= 0.5 + 1e-5 or ink[0] == 0 or ink[-1] == 27


@settings(max_examples=30, deadline=None)
@given(st.integers(60, 200), st.data())
def test_moving_the_digit_does_not_move_the_result(canvas, data):
    """The same strokes drawn at opposite ends of a canvas give the same centred input (±1 px)."""
    side = canvas // 3
    pattern = data.draw(stroke_pictures(size=(side, side)))
    assume(np.count_nonzero(pattern != pattern[0, 0]) >= 0.002 * canvas**2)
    free = canvas - side - 4  # keep 2 px of paper around the pattern
    near = data.draw(st.tuples(st.integers(2, 2 + free // 3), st.integers(2, 2 + free)))
    far = data.draw(st.tuples(st.integers(2 + 2 * free // 3, 2 + free), st.integers(2, 2 + free)))
    results = []
    for left, top in (near, far):
        canvas_img = np.full((canvas, canvas), pattern[0, 0], dtype=np.uint8)
        canvas_img[top : top + side, left : left + side] = pattern
        results.append(to_mnist(canvas_img))
    a, b = results
    best = min(np.abs(np.roll(a, (dy, dx), axis=(0, 1)) - b).max() for dy in (-1, 0, 1) for dx in (-1, 0, 1))
    assert best < 1e-5, "the digit's position in the picture changed the centred result"


# -------------------------------------------------------------------- samples


def test_sample_images_cover_all_digits_and_stay_small():
    assert {int(p.name[0]) for p in SAMPLES} == set(range(10))
    assert all(p.stat().st_size < 20_000 for p in IMAGES.iterdir())
    readme = (IMAGES / "README.md").read_text()
    assert all(p.name in readme for p in [*SAMPLES, IMAGES / "blank.png"])


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_sample_image_goes_through(path):
    assert re.fullmatch(r"[0-9]_[a-z0-9_]+\.(png|jpg)", path.name), "names start with the true digit 0-9"
    assert_mnist_like(to_mnist(path))


def test_blank_sample_has_no_digit():
    with pytest.raises(ValueError, match="no digit found"):
        to_mnist(IMAGES / "blank.png")


def test_sample_script_is_deterministic(tmp_path):
    spec = importlib.util.spec_from_file_location("make_sample_images", ROOT / "scripts" / "make_sample_images.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    first = {p.name: p.read_bytes() for p in script.make_all(tmp_path / "a")}
    second = {p.name: p.read_bytes() for p in script.make_all(tmp_path / "b")}
    assert first == second
    assert set(first) == {p.name for p in IMAGES.iterdir() if p.suffix in (".png", ".jpg")}


def test_render_digit_prints_in_every_course_font_and_turns(capfd):
    pictures = [np.asarray(render_digit(7, family, weight)) for family, weight in PRINTED_FONTS]
    assert all(p.shape == (200, 200) and p.dtype == np.uint8 and p.min() < 50 and p.max() == 255 for p in pictures)
    assert len({p.tobytes() for p in pictures}) == len(PRINTED_FONTS), "each font draws its own 7"
    assert capfd.readouterr().err == "", "every font resolves without a fallback warning"
    upright, turned = to_mnist(render_digit(7)), to_mnist(render_digit(7, angle=90))
    assert upright.shape == turned.shape == (28, 28) and not np.allclose(upright, turned)
    assert np.array_equal(np.asarray(render_digit("H")), np.asarray(render_digit("H")))  # any character, repeatable
