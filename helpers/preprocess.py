"""Turn any picture of a handwritten digit into an MNIST-style 28×28 input (``helpers.predict`` asks a model).

MNIST digits are white ink (1.0) on black (0.0), 28×28 pixels, the digit scaled to fit a
20×20 box (keeping its aspect ratio) and shifted so that its centre of mass is at the
centre of the frame, pixel (14, 14) as ``scipy.ndimage.center_of_mass`` counts
(row, column). A photo or a drawing is not like that: ``to_mnist`` makes it so, one small
step at a time, and ``to_mnist(image, return_steps=True)`` shows every step.
"""

from __future__ import annotations

import operator
import stat
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from scipy import ndimage

FRAME = 28  # MNIST images are 28×28 pixels...
BOX = 20  # ...the digit fits a 20×20 box...
CENTRE = 14.0  # ...with its centre of mass at pixel (14, 14): MNIST's measured mean is (13.99, 14.01)
MAX_SIDE = 1024  # larger pictures are shrunk before any full-size float or gray copy exists (files: by Pillow)
MIN_SIDE = 8  # smaller pictures cannot hold a recognisable digit
INK_THRESHOLD = 0.2  # after the contrast step, anything fainter than 20 % of the strongest ink is paper
MIN_CONTRAST = 0.08  # ink must differ from the paper by 8 % of black-to-white, or there is no ink
SPECK_FRACTION = 0.05  # ink blobs smaller than 5 % of the largest blob are dust, not digit
MIN_INK_PIXELS = 3  # a digit needs at least this many ink pixels...
MIN_INK_FRACTION = 0.001  # ...and at least 0.1 % of the picture
STROKE = 0.12  # MNIST strokes are ~2.4 px wide in the 20 px box; thinner strokes are thickened to that
PATTERNS = ("*.png", "*.jpg", "*.jpeg")
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601, as Pillow's convert("L")
_FULL_SCALE = {np.dtype(np.bool_): 1, np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}  # white, by dtype


class NoDigitError(ValueError):
    """The picture holds no digit to read: no ink at all, or (asked by the digit gate) not a digit."""


def _no_digit(reason: str, hint: str = "Is there a dark digit on light paper (or the reverse)?") -> NoDigitError:
    return NoDigitError(f"no digit found: {reason}. {hint}")


# ------------------------------------------------------------------------- loading


def _standard_mode(img: Image.Image) -> Image.Image:
    """Convert any Pillow mode to L, LA, RGB, RGBA, I (16-bit values) or F."""
    if img.mode in ("L", "LA", "RGB", "RGBA", "I", "F"):
        return img
    if img.mode.startswith("I;16"):
        return img.convert("I")
    if img.mode == "1":
        return img.convert("L")
    has_alpha = "A" in img.mode or "a" in img.mode or "transparency" in img.info  # LA, PA, RGBa, P + transparency
    return img.convert("RGBA" if has_alpha else "RGB")  # palette, CMYK, YCbCr, LAB, HSV...


def _shrink(img: Image.Image) -> Image.Image:
    """Reduce ``img`` to at most MAX_SIDE pixels on its long side (antialiased, aspect kept)."""
    if max(img.size) <= MAX_SIDE:
        return img
    scale = MAX_SIDE / max(img.size)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)


def _pil_to_array(img: Image.Image, name: str, opened_here: bool) -> np.ndarray:
    """Decode a Pillow image into a small float32 array (H, W) or (H, W, C) in [0, 1]."""
    try:
        if opened_here and img.format == "JPEG":
            img.draft(None, (MAX_SIDE, MAX_SIDE))  # let the decoder skip detail we would throw away
        img.load()  # truncated files fail here (ImageFile.LOAD_TRUNCATED_IMAGES stays False)
        img = ImageOps.exif_transpose(_shrink(_standard_mode(img)))
    except Image.DecompressionBombError as exc:
        raise ValueError(f"{name} is too large to be a digit ({exc}). Crop or shrink it first.") from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error) as exc:
        raise ValueError(f"could not read {name} as an image: {exc}. Is it a PNG/JPEG file, and complete?") from None
    if img.mode == "I":  # 16-bit grayscale (PNG "I;16")
        return np.clip(np.asarray(img, dtype=np.float32) / 65535, 0, 1)
    return _array_to_float(np.asarray(img), name)


def _divisor(arr: np.ndarray, name: str) -> int:
    """What ``arr``'s values are divided by to lie in [0, 1] (1, 255 or 65535), refusing odd values; copies nothing."""
    if arr.dtype in _FULL_SCALE:
        return _FULL_SCALE[arr.dtype]
    low, high = arr.min(), arr.max()  # a NaN anywhere makes them NaN
    if np.issubdtype(arr.dtype, np.integer):
        if low < 0 or high > 255:
            raise ValueError(
                f"{name} has integers from {low} to {high}: expected 0-255 (use dtype uint16 for 0-65535)."
            )
        return 255
    if not (np.isfinite(low) and np.isfinite(high)):
        kind = "NaN" if np.isnan(low) or np.isnan(high) else "inf"
        raise ValueError(f"{name} contains {kind} values: expected pixel values 0-1 or 0-255.")
    if low < 0 or high > 255:
        raise ValueError(
            f"{name} has values from {float(low):g} to {float(high):g}: expected 0-1 or 0-255 "
            "(negative values and values above 255 are not pixel values)."
        )
    return 255 if high > 1 else 1


def _array_to_float(arr: np.ndarray, name: str = "the array") -> np.ndarray:
    """Scale a uint8, uint16, bool, integer (0-255) or float array to float32 in [0, 1], refusing odd values."""
    divisor = _divisor(arr, name)
    if arr.dtype.kind == "f":
        return (arr / divisor).astype(np.float32)
    return arr.astype(np.float32) / divisor


def _shrink_array(arr: np.ndarray) -> np.ndarray:
    """Average a huge array over k×k blocks, a band of k rows at a time: float32 in [0, 1], at most MAX_SIDE a side.

    Only one band's column sums (one float row) exist at a time, never a full-size float or gray copy.
    """
    divisor, k = _divisor(arr, "the array"), -(-max(arr.shape[:2]) // MAX_SIDE)
    starts = np.arange(0, arr.shape[1], k)  # the column blocks; the last may be narrower
    widths = np.diff(np.append(starts, arr.shape[1])).reshape(-1, *[1] * (arr.ndim - 2))
    out = np.empty((-(-arr.shape[0] // k), len(starts), *arr.shape[2:]), np.float32)
    for i, top in enumerate(range(0, arr.shape[0], k)):
        band = arr[top : top + k]
        sums = np.add.reduceat(band.sum(axis=0, dtype=np.float64), starts, axis=0)
        out[i] = sums / (len(band) * widths * divisor)
    return out


def _check_array(arr: np.ndarray) -> None:
    """Refuse array shapes and dtypes that are not a picture, saying what is expected."""
    expected = "expected a grayscale (H, W) or colour (H, W, 1|3|4) array of numbers"
    kind = arr.dtype.kind
    if kind not in "biuf":
        raise ValueError(f"got an array of dtype {arr.dtype}: {expected} (uint8, uint16, bool or float).")
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (1, 3, 4))):
        raise ValueError(f"got an array of shape {arr.shape}: {expected}.")
    if arr.size == 0:
        raise ValueError(f"got an empty array of shape {arr.shape}: {expected}.")


def _to_gray(x: np.ndarray) -> np.ndarray:
    """Collapse colour and transparency into one gray channel; see ``load_image`` for transparency."""
    if x.ndim == 2:
        return x
    channels = x.shape[2]
    gray = x[..., :3] @ _LUMA if channels >= 3 else x[..., 0]
    if channels not in (2, 4):
        return gray
    alpha = x[..., -1]
    opaque = alpha > 0.5
    paper = 1.0 if not opaque.any() or np.median(gray[opaque]) < 0.5 else 0.0  # contrast with the ink
    return alpha * gray + (1 - alpha) * paper


def _check_file(path: Path) -> None:
    """Refuse what is not a regular file, before anything tries to read it (a FIFO would wait forever)."""
    if path.is_symlink() and not path.exists():  # exists() follows the link: dangling, or a loop of links
        raise FileNotFoundError(
            f"{path.name} is a symbolic link to {str(path.readlink())!r}, which does not exist (or the links form a "
            "loop): copy the image itself there, or fix the link."
        )
    if not path.exists():
        raise FileNotFoundError(
            f"no file {str(path)!r}: check the name and the folder (relative paths start at {Path.cwd()})."
        )
    if path.is_dir():
        raise ValueError(f"{path} is a folder: give one image file (or use predict_folder).")
    if not path.is_file():
        mode = path.stat().st_mode
        kind = "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
        raise ValueError(f"{path.name} is {kind}, not a file: save the image to a file and give that.")


def load_image(source: str | Path | Image.Image | np.ndarray) -> np.ndarray:
    """Read a path, a Pillow image or an array as a 2-D float32 grayscale array in [0, 1] (0 = black).

    Colour becomes luminance; a transparent background becomes white if the opaque pixels
    are mostly dark, else black. Arrays may be (H, W) or (H, W, 1|3|4) of dtype uint8
    (0-255), uint16 (0-65535), other integers (0-255), bool or float: floats in [0, 1] are
    used as they are, floats whose maximum is above 1 (up to 255) are read as 0-255.
    Pictures larger than MAX_SIDE pixels are shrunk first (arrays by averaging blocks of pixels, before
    any full-size float or gray copy exists), so memory stays bounded: tens of MB beyond the input at most.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        _check_file(path)
        try:
            img = Image.open(path)
        except Image.DecompressionBombError as exc:
            raise ValueError(f"{path.name} is too large to be a digit ({exc}). Crop or shrink it first.") from None
        except (OSError, SyntaxError, ValueError) as exc:
            raise ValueError(
                f"could not read {path.name} as an image: {exc}. Is it a PNG/JPEG file, and complete?"
            ) from None
        with img:
            x = _pil_to_array(img, path.name, opened_here=True)
    elif isinstance(source, Image.Image):
        x = _pil_to_array(source, "the image", opened_here=False)
    elif isinstance(source, np.ndarray):
        _check_array(source)
        x = _shrink_array(source) if max(source.shape[:2]) > MAX_SIDE else _array_to_float(source)
    else:
        raise TypeError(f"load_image takes a file path, a PIL image or a numpy array, not {type(source).__name__}.")
    return np.clip(_to_gray(x).astype(np.float32), 0, 1)


def shift_images(images: np.ndarray, down: int = 0, right: int = 0) -> np.ndarray:
    """Move every image of a batch (N, H, W) by whole pixels, filling the uncovered edge with 0 (black).

    Negative values move up or left. Pixels pushed over the edge are lost, as on a page whose digit
    was written off-centre. Notebook 07 measures what a shift does to each model.
    """
    images, down, right = np.asarray(images), operator.index(down), operator.index(right)  # whole pixels only
    if images.ndim != 3:
        raise ValueError(f"expected a batch of images (N, height, width), got shape {images.shape}")
    if max(abs(down), abs(right)) >= min(images.shape[1:]):
        raise ValueError(f"a shift of ({down}, {right}) pixels moves a {images.shape[1:]} image out of the frame")
    return ndimage.shift(images, (0, down, right), order=0, mode="constant", cval=0)  # whole pixels: no interpolation


# ------------------------------------------------------------------ printed digits, for probing

# Matplotlib's bundled fonts (family, weight) that notebooks 06 and 07 print the digits 0-9 in.
PRINTED_FONTS = (
    ("DejaVu Sans", "normal"),
    ("DejaVu Sans", "bold"),
    ("DejaVu Serif", "normal"),
    ("DejaVu Sans Mono", "normal"),
    ("STIXGeneral", "normal"),
    ("cmr10", "normal"),
    ("cmss10", "normal"),
    ("cmtt10", "normal"),
)


def render_digit(digit, family: str = "DejaVu Sans", weight: str = "normal", angle: float = 0) -> Image.Image:
    """A digit (or any character) printed in one of Matplotlib's fonts, dark on white, turned by ``angle`` degrees.

    A 200×200 grayscale picture, for probing a model with digits that are not handwritten (notebooks
    06 to 08); ``to_mnist`` prepares it like any other picture.
    """
    from matplotlib import font_manager
    from PIL import ImageDraw, ImageFont

    path = font_manager.findfont(font_manager.FontProperties(family=family, weight=weight))
    page = Image.new("L", (200, 200), 255)
    ImageDraw.Draw(page).text((60, 30), str(digit), fill=0, font=ImageFont.truetype(path, 120))
    return page.rotate(angle, fillcolor=255)


# ------------------------------------------------------------------ the MNIST steps


def _invert_if_paper_is_light(gray: np.ndarray) -> np.ndarray:
    """Invert the picture if its border (the paper) is brighter than mid-gray, so that the ink is bright."""
    return 1 - gray if _paper_level(gray) > 0.5 else gray


def _paper_level(x: np.ndarray) -> float:
    """The paper's brightness: the median of the outermost rows and columns."""
    return float(np.median(np.concatenate([x[0], x[-1], x[:, 0], x[:, -1]])))


def _stretch_contrast(x: np.ndarray) -> np.ndarray:
    """Make the paper 0 and the brightest ink 1."""
    ink = np.clip(x - _paper_level(x), 0, None)
    if ink.max() < MIN_CONTRAST:
        raise _no_digit(f"the picture is uniform (nothing differs from the paper by more than {MIN_CONTRAST:.0%})")
    return ink / ink.max()


def _threshold(x: np.ndarray) -> np.ndarray:
    """Set faint pixels (paper texture, JPEG artefacts) and small specks of dust to 0."""
    ink = x >= INK_THRESHOLD
    blobs, count = ndimage.label(ink, structure=np.ones((3, 3)))
    sizes = np.bincount(blobs.ravel())[1:]
    keep = np.flatnonzero(sizes >= SPECK_FRACTION * sizes.max()) + 1 if count else []
    return np.where(np.isin(blobs, keep), x, 0).astype(np.float32)


def _crop_to_ink(x: np.ndarray) -> np.ndarray:
    """Cut the picture down to the bounding box of its ink."""
    n_ink = int(np.count_nonzero(x))
    if n_ink < max(MIN_INK_PIXELS, MIN_INK_FRACTION * x.size):
        raise _no_digit(
            f"only {n_ink} ink pixels of {x.size} (a digit needs at least "
            f"{MIN_INK_PIXELS} and {MIN_INK_FRACTION:.1%} of the picture)"
        )
    rows, cols = np.flatnonzero(x.any(axis=1)), np.flatnonzero(x.any(axis=0))
    return x[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _thicken(x: np.ndarray) -> np.ndarray:
    """Widen thin strokes (a pen line in a large photo) to MNIST's width, STROKE × the digit's size."""
    depth = ndimage.distance_transform_edt(np.pad(x > 0, 1))[1:-1, 1:-1]  # distance to the paper
    ridge = (depth > 0) & (depth >= ndimage.maximum_filter(depth, size=3))  # the middle of each stroke
    width = 2 * float(np.median(depth[ridge]))
    radius = (STROKE * max(x.shape) - width) / (2 * (1 - STROKE))  # the box grows with the strokes
    if radius < 1:
        return x
    padded = np.pad(x, int(np.ceil(radius)))
    grown = ndimage.distance_transform_edt(padded == 0) <= radius
    return np.maximum(padded, grown.astype(np.float32))


def _scale_to_box(x: np.ndarray) -> np.ndarray:
    """Resize so that the longer side is BOX pixels, keeping the aspect ratio.

    Bilinear: each new pixel is a weighted average of the pixels under it, so it is gray only where
    it is part ink, part paper (a stroke's edge), as in MNIST. Lanczos, sharper, also put faint
    ringing (values of a few percent) on the paper a pixel or two away from the strokes.
    """
    height, width = x.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    scaled = Image.fromarray(x.astype(np.float32)).resize(size, Image.Resampling.BILINEAR)
    return np.clip(np.asarray(scaled, dtype=np.float32), 0, 1)


def _centre_in_frame(x: np.ndarray) -> np.ndarray:
    """Paste into a black FRAME×FRAME image with the centre of mass at (CENTRE, CENTRE), whole pixels."""
    height, width = x.shape
    com_row, com_col = ndimage.center_of_mass(x)
    top = int(np.clip(round(CENTRE - com_row), 0, FRAME - height))  # the box stays inside the frame
    left = int(np.clip(round(CENTRE - com_col), 0, FRAME - width))
    frame = np.zeros((FRAME, FRAME), dtype=np.float32)
    frame[top : top + height, left : left + width] = x
    return frame / frame.max()


def to_mnist(image, *, return_steps: bool = False) -> np.ndarray | tuple[np.ndarray, dict[str, np.ndarray]]:
    """Turn a picture of one digit (path, PIL image or array) into a 28×28 float32 MNIST-style input.

    Steps: grayscale; invert if the paper is light; paper 0 and ink 1; faint pixels and specks
    to 0; crop to the ink; thicken thin strokes; scale to 20 px; centre of mass to (14, 14).
    With ``return_steps=True`` returns ``(result, steps)``: a dict {step name: 2-D array}, in
    order, to show each step. Raises ValueError "no digit found" for a blank or uniform picture.
    """
    steps = {"grayscale": load_image(image)}
    height, width = steps["grayscale"].shape
    if min(height, width) < MIN_SIDE:
        raise ValueError(
            f"image is {width}×{height} pixels, too small to hold a digit; use at least {MIN_SIDE}×{MIN_SIDE}"
        )
    steps["ink is bright"] = _invert_if_paper_is_light(steps["grayscale"])  # the step names show in notebook 06
    steps["contrast"] = _stretch_contrast(steps["ink is bright"])
    steps["thresholded"] = _threshold(steps["contrast"])
    steps["cropped"] = _crop_to_ink(steps["thresholded"])
    steps["strokes thickened"] = _thicken(steps["cropped"])
    steps["scaled to 20×20"] = _scale_to_box(steps["strokes thickened"])
    steps["centred 28×28"] = result = _centre_in_frame(steps["scaled to 20×20"])
    return (result, steps) if return_steps else result
