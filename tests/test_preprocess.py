"""Any picture of a digit becomes an MNIST-style input: formats, arrays, refusals, sizes, shifts, prediction."""

from __future__ import annotations

from helpers import preprocess
from helpers.predict import predict_digit, predict_folder
from helpers.preprocess import PRINTED_FONTS, load_image, render_digit, to_mnist

import importlib.util
import os
import re
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFile, ImageOps
from scipy import ndimage

from conftest import classifier

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "notebooks" / "images"
SAMPLES = sorted(p for p in IMAGES.iterdir() if p.suffix in (".png", ".jpg") and p.name != "blank.png")
REFERENCE = render_digit(5)  # a black "5" on white, 200×200
A = np.asarray(REFERENCE)
REF = to_mnist(REFERENCE)
TURNED = Image.Exif()
TURNED[0x0112] = 6  # "rotate 90° clockwise to display", as phones write it


def coloured(mode: str, ink, paper) -> Image.Image:
    """The reference "5" in ``ink`` on ``paper``, in a Pillow mode."""
    size = REFERENCE.size
    return Image.composite(Image.new(mode, size, ink), Image.new(mode, size, paper), ImageOps.invert(REFERENCE))


def saved(path: Path, image: Image.Image, **options) -> Path:
    image.save(path, **options)
    return path


def assert_mnist_like(x: np.ndarray) -> None:
    """28×28 float32 in [0, 1], brightest pixel 1, centre of mass at (14, 14), digit 20 px tall or wide."""
    assert x.shape == (28, 28) and x.dtype == np.float32 and x.min() >= 0 and x.max() == 1.0
    assert np.allclose(ndimage.center_of_mass(x), (14, 14), atol=1.0)
    rows, cols = np.flatnonzero(x.any(axis=1)), np.flatnonzero(x.any(axis=0))
    assert 19 <= max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) <= 20


def assert_same_digit(x: np.ndarray, tol: float = 0.01) -> None:
    assert_mnist_like(x)
    assert np.abs(x - REF).mean() < tol, f"mean difference {np.abs(x - REF).mean():.3f}"


def test_a_file_goes_through_every_step(tmp_path):
    REFERENCE.save(tmp_path / "5.png")
    assert_mnist_like(REF)
    assert np.array_equal(to_mnist(tmp_path / "5.png"), REF) and np.array_equal(to_mnist(str(tmp_path / "5.png")), REF)
    x, steps = to_mnist(REFERENCE, return_steps=True)
    names = ["grayscale", "ink is bright", "contrast", "thresholded", "cropped", "strokes thickened"]
    assert list(steps) == [*names, "scaled to 20×20", "centred 28×28"]  # notebook 06 shows these names
    assert steps["grayscale"].shape == (200, 200) and steps["grayscale"][0, 0] == 1.0  # white paper...
    assert steps["ink is bright"][0, 0] == 0.0  # ...inverted to black
    assert max(steps["scaled to 20×20"].shape) == 20 and np.array_equal(steps["centred 28×28"], x)


def test_scaling_to_20_pixels_puts_no_gray_on_the_paper():
    """Gray only at a stroke's edge: Lanczos's ringing left faint values two and more pixels from the ink."""
    ell = np.zeros((100, 100), np.float32)
    ell[:, :20], ell[80:, :] = 1, 1  # an L: two bars 4 pixels thick once scaled by 0.2
    three = to_mnist(IMAGES / "3_serif_gray_on_white_offcentre.png", return_steps=True)[1]["strokes thickened"]
    for picture in [ell, three]:
        small = preprocess._scale_to_box(picture)
        far_from_ink = ndimage.distance_transform_edt(small < 0.5) >= 2
        assert max(small.shape) == 20 and far_from_ink.any() and not small[far_from_ink].any()


def test_thin_pen_strokes_are_thickened_to_mnist_width():
    img = Image.new("L", (400, 400), 255)
    ImageDraw.Draw(img).line([(120, 80), (280, 80), (180, 330)], fill=0, width=3)
    x = to_mnist(img)
    assert_mnist_like(x)
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
    "cmyk.jpg": lambda d: saved(d / "a.jpg", REFERENCE.convert("CMYK"), quality=95),
    "exif-turned.png": lambda d: saved(d / "a.png", REFERENCE.transpose(Image.Transpose.ROTATE_90), exif=TURNED),
    "uint8": lambda d: A,
    "HW1": lambda d: A[..., None],
    "HW3": lambda d: np.stack([A] * 3, axis=-1),
    "HW4": lambda d: np.dstack([A, A, A, np.full_like(A, 255)]),
    "bool": lambda d: A > 127,
    "float-0-1": lambda d: A.astype(np.float32) / 255,
    "float64-0-255": lambda d: A.astype(np.float64),
    "uint16": lambda d: A.astype(np.uint16) * 257,
    "int64-0-255": lambda d: A.astype(np.int64),
}


@pytest.mark.parametrize("kind", PICTURES)
def test_every_format_and_array_gives_the_same_digit(tmp_path, kind):
    picture = PICTURES[kind](tmp_path)
    gray = load_image(picture)
    assert gray.ndim == 2 and gray.dtype == np.float32 and gray.min() >= 0 and gray.max() <= 1
    assert_same_digit(to_mnist(picture))


BAD_INPUTS = {
    "1-D": (np.zeros(100), r"shape \(100,\)"),
    "two-channels": (np.zeros((28, 28, 2)), r"shape \(28, 28, 2\).*expected"),
    "complex": (np.zeros((28, 28), dtype=complex), "dtype complex128"),
    "string": (np.full((28, 28), "a"), "dtype <U1"),
    "empty": (np.zeros((0, 28)), "empty array"),
    "nan": (np.where(A > 0, np.nan, 0.0), "NaN"),
    "inf": (np.where(A > 0, np.inf, 0.0), "inf"),
    "negative": (A / 255 - 0.5, "from -0.5"),
    "above-255": (A * 2.0, "above 255"),
    "int-above-255": (A.astype(np.int64) * 2, "expected 0-255"),
    "1x1": (np.zeros((1, 1), dtype=np.uint8), "image is 1×1 pixels, too small to hold a digit; use at least 8×8"),
    "blank-white": (np.full((50, 50), 255, dtype=np.uint8), "no digit found: the picture is uniform"),
    "faint-noise": (np.random.default_rng(0).uniform(0.5, 0.52, (64, 64)), "no digit found"),
    "two-specks": (np.where(np.isin(np.arange(4096).reshape(64, 64), [700, 3000]), 0, 255), "only 2 ink pixels"),
    "a list": ([[0, 1], [1, 0]], "not list"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_what_is_no_picture_of_a_digit_is_refused_saying_why(case):
    array, message = BAD_INPUTS[case]
    with pytest.raises(TypeError if case == "a list" else ValueError, match=message):
        to_mnist(array)


def test_files_that_are_no_picture_are_refused_saying_what_they_are(tmp_path):
    (tmp_path / "x.png").write_text("not a picture\n")
    with pytest.raises(ValueError, match=r"could not read x\.png as an image: .* Is it a PNG/JPEG file"):
        load_image(tmp_path / "x.png")
    with pytest.raises(FileNotFoundError, match=r"no file .*missing\.png"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(ValueError, match="is a folder"):
        load_image(tmp_path)
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
    os.mkfifo(tmp_path / "pipe.png")  # opening it would wait for a writer that never comes
    refusals = []
    reader = threading.Thread(target=lambda: refusals.append(error_of(tmp_path / "pipe.png")), daemon=True)
    reader.start()
    reader.join(timeout=20)
    assert refusals and "pipe.png is a named pipe (FIFO), not a file" in refusals[0], "it hung, or read the pipe"


def error_of(path: Path) -> str:
    try:
        load_image(path)
    except ValueError as exc:
        return str(exc)
    return "no error"


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_a_truncated_file_is_refused(tmp_path, suffix):
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (200, 200), dtype=np.uint8)).save(tmp_path / f"a{suffix}")
    raw = (tmp_path / f"a{suffix}").read_bytes()
    (tmp_path / f"half{suffix}").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=rf"could not read half\{suffix} as an image"):
        load_image(tmp_path / f"half{suffix}")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_a_decompression_bomb_is_a_clear_error(tmp_path, monkeypatch):
    REFERENCE.resize((600, 700)).save(tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)  # 420,000 pixels is more than twice that
    with pytest.raises(ValueError, match=r"bomb\.png is too large"):
        load_image(tmp_path / "bomb.png")


BIG = np.kron(A, np.ones((20, 20), np.uint8))  # 4000×4000: averaged over blocks of 4×4 pixels, A 5× larger
HUGE = {
    "gray": lambda: BIG,
    "one channel": lambda: BIG[..., None],
    "rgb": lambda: np.stack([BIG] * 3, axis=-1),
    "rgba": lambda: np.dstack([BIG, BIG, BIG, np.full_like(BIG, 255)]),
    "bool": lambda: BIG > 127,
    "float": lambda: BIG.astype(np.float32) / 255,
}


@pytest.mark.parametrize("kind", HUGE)
def test_a_huge_array_is_averaged_over_blocks_of_pixels_before_any_float_copy(kind):
    big = HUGE[kind]()
    tracemalloc.start()
    try:
        gray = load_image(big)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40e6, f"{peak / 1e6:.0f} MB of arrays (a float32 copy of one channel would be 64 MB)"
    assert np.allclose(gray, np.kron((A > 127) if kind == "bool" else A / 255, np.ones((5, 5))), atol=1e-6)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_a_huge_image_file_is_shrunk_before_any_float_array(tmp_path, suffix):
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
    assert_mnist_like(to_mnist(gray))


def shifted_by_slices(images: np.ndarray, down: int, right: int) -> np.ndarray:
    """The reference: how shift_images moved images by slicing before it used scipy.ndimage.shift."""
    out, (height, width) = np.zeros_like(images), images.shape[1:]
    rows, cols = slice(max(down, 0), height + min(down, 0)), slice(max(right, 0), width + min(right, 0))
    out[:, rows, cols] = images[:, max(-down, 0) : height - max(down, 0), max(-right, 0) : width - max(right, 0)]
    return out


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_shift_images_moves_whole_pixels_and_fills_with_black(dtype):
    images = (np.random.default_rng(0).random((3, 5, 6)) * 254 + 1).astype(dtype)
    for down in range(-4, 5):
        for right in range(-4, 5):
            moved = preprocess.shift_images(images, down, right)
            assert moved.dtype == dtype and moved.tobytes() == shifted_by_slices(images, down, right).tobytes()
    assert images.min() >= 1  # the input is untouched
    with pytest.raises(ValueError, match=r"moves a \(5, 6\) image out of the frame"):
        preprocess.shift_images(images, down=5)
    with pytest.raises(ValueError, match="expected a batch of images"):
        preprocess.shift_images(images[0], down=1)
    with pytest.raises(TypeError):
        preprocess.shift_images(images, down=0.5)  # whole pixels only


def test_predict_folder_reads_every_picture_as_predict_digit_does_and_says_why_one_could_not_be_read(tmp_path):
    model = classifier()
    REFERENCE.save(tmp_path / "b_five.png")
    render_digit(7).convert("RGB").save(tmp_path / "a_seven.JPG")
    (tmp_path / "c_broken.png").write_text("oops")
    os.mkfifo(tmp_path / "d_pipe.png")
    (tmp_path / "e_folder.png").mkdir()  # a folder is not a picture and gets no row
    (tmp_path / "notes.txt").write_text("not an image")
    digit, probs = predict_digit(model, tmp_path / "b_five.png", gate=False)
    assert np.allclose(probs, model.predict(REF[None], verbose=0)[0]) and digit == int(np.argmax(probs))
    table = predict_folder(model, tmp_path, gate=False)
    assert list(table.columns) == ["file", "digit", "confidence", "top3", "error", "model", "gate"]
    assert list(table.file) == ["a_seven.JPG", "b_five.png", "c_broken.png", "d_pipe.png"]
    assert set(table.model) == {model.name} and table.gate.isna().all()  # who read them, and no gate
    assert table.digit[1] == digit and np.isclose(table.confidence[1], probs.max())
    good, bad = table.iloc[:2], table.iloc[2:]
    assert all(type(d) is int for d in good.digit) and good.confidence.between(0, 1).all() and good.error.isna().all()
    assert all(re.fullmatch(r"\d \(\d\.\d\d\), \d \(\d\.\d\d\), \d \(\d\.\d\d\)", t) for t in good.top3)
    assert bad.digit.isna().all() and bad.confidence.isna().all()
    assert "could not read c_broken.png" in bad.error[2] and "named pipe" in bad.error[3]
    assert list(predict_folder(model, tmp_path, pattern=("*.jpg",), gate=False).file) == ["a_seven.JPG"]
    with pytest.raises(FileNotFoundError, match="no folder"):
        predict_folder(model, tmp_path / "nowhere")


@st.composite
def stroke_pictures(draw, size=None):
    """A canvas of 16-200 px with 1-4 thick pen strokes kept away from the border, either polarity."""
    width, height = size or (draw(st.integers(16, 200)), draw(st.integers(16, 200)))
    pen = draw(st.integers(max(2, min(width, height) // 16), max(2, min(width, height) // 8)))
    point = st.tuples(st.floats(0.25, 0.75), st.floats(0.25, 0.75))
    strokes = draw(st.lists(st.lists(point, min_size=2, max_size=4), min_size=1, max_size=4))
    paper = draw(st.sampled_from([0, 255]))
    img = Image.new("L", (width, height), paper)
    for stroke in strokes:
        ImageDraw.Draw(img).line([(x * width, y * height) for x, y in stroke], fill=255 - paper, width=pen)
    return np.asarray(img)


@settings(max_examples=30, deadline=None)
@given(stroke_pictures())
def test_any_picture_with_enough_ink_becomes_a_valid_input(picture):
    assume(np.count_nonzero(picture != picture[0, 0]) >= 0.01 * picture.size)
    x = to_mnist(picture)
    assert x.shape == (28, 28) and x.dtype == np.float32 and x.min() >= 0 and x.max() == 1.0
    for axis, com in enumerate(ndimage.center_of_mass(x)):
        ink = np.flatnonzero(x.any(axis=1 - axis))
        # at 14 (whole-pixel shifts, ± float32 rounding), unless the 20 px box had to stop at the frame's edge
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
        picture = np.full((canvas, canvas), pattern[0, 0], dtype=np.uint8)
        picture[top : top + side, left : left + side] = pattern
        results.append(to_mnist(picture))
    a, b = results
    best = min(np.abs(np.roll(a, (dy, dx), axis=(0, 1)) - b).max() for dy in (-1, 0, 1) for dx in (-1, 0, 1))
    assert best < 1e-5, "the digit's position in the picture changed the centred result"


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_sample_image_goes_through(path):
    assert re.fullmatch(r"[0-9]_[a-z0-9_]+\.(png|jpg)", path.name), "names start with the true digit 0-9"
    assert_mnist_like(to_mnist(path))


def test_the_samples_cover_all_digits_stay_small_and_are_made_by_their_script(tmp_path):
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


def test_render_digit_prints_in_every_course_font_and_turns(capfd):
    pictures = [np.asarray(render_digit(7, family, weight)) for family, weight in PRINTED_FONTS]
    assert all(p.shape == (200, 200) and p.dtype == np.uint8 and p.min() < 50 and p.max() == 255 for p in pictures)
    assert len({p.tobytes() for p in pictures}) == len(PRINTED_FONTS), "each font draws its own 7"
    assert capfd.readouterr().err == "", "every font resolves without a fallback warning"
    assert not np.allclose(to_mnist(render_digit(7)), to_mnist(render_digit(7, angle=90)))
    assert np.array_equal(np.asarray(render_digit("H")), np.asarray(render_digit("H")))  # any character, repeatable
