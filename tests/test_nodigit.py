"""The drawn not-digits, the digit gate's plumbing, and the "no digit" answer of predict_digit/predict_folder.

The gates here are real Keras models with weights set by hand, so their scores are known: how
well the course's trained gate separates digits from not-digits is measured (and asserted) in
notebook 08.
"""

from __future__ import annotations

from helpers import models as course_models
from helpers import nodigit
from helpers.nodigit import Gate, load_gate, not_digits, prepare, save_gate, threshold_for
from helpers.predict import NoDigitError, choose_gate, predict_digit, predict_folder
from helpers.preprocess import to_mnist

import json
import re

import keras
import numpy as np
import pytest
from matplotlib import font_manager
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage


def ink_gate(weight: float, bias: float, threshold: float = 0.5) -> Gate:
    """A gate whose score is sigmoid(weight × total ink + bias): set by hand, so tests know it."""
    model = keras.Sequential(
        [keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(1, activation="sigmoid")]
    )
    model.layers[-1].set_weights([np.full((784, 1), weight, np.float32), np.array([bias], np.float32)])
    return Gate(model, threshold)


@pytest.fixture(scope="module")
def classifier():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")]
    )


def three(size=(120, 140), ink=0) -> Image.Image:
    img = Image.new("L", size, 255)
    font = ImageFont.truetype(font_manager.findfont("DejaVu Sans"), 100)
    ImageDraw.Draw(img).text((size[0] / 2, size[1] / 2), "3", font=font, fill=ink, anchor="mm")
    return img


# ------------------------------------------------------------------ the drawings


def test_not_digits_are_fixed_by_their_seed_and_take_turns_by_kind():
    first, kinds = not_digits(12, seed=5)
    again, _ = not_digits(12, seed=5)
    other, _ = not_digits(12, seed=6)
    assert kinds == list(nodigit.KINDS) * 3
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(first, other, strict=True))
    assert all(im.size == (nodigit.SIDE, nodigit.SIDE) and im.mode == "L" for im in first)


def test_every_drawing_has_ink_on_paper_and_reaches_the_model():
    images, _ = not_digits(80, seed=7)
    inputs, refused = prepare(images)
    assert inputs.shape == (80, 28, 28) and inputs.dtype == np.float32
    assert refused.sum() <= 2, "nearly every drawing must pass the preprocessing: they all have ink"
    assert all(np.asarray(im).min() < 100 < np.median(np.asarray(im)) for im in images)  # dark ink, light paper
    assert np.all(inputs[~refused].max(axis=(1, 2)) == 1.0) and np.all(inputs[refused] == 0)


def test_letters_use_the_chosen_group_of_fonts(capfd):
    train, _ = not_digits(40, seed=3, fonts="train", kinds=["letter"])
    test, _ = not_digits(40, seed=3, fonts="test", kinds=["letter"])
    assert not any(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(train, test, strict=True))
    assert capfd.readouterr().err == "", "Matplotlib's font lookup must not warn (the fonts without bold)"
    assert not set(nodigit.LETTERS) & set("OoDQIlJjZzSsBbGgq"), "letters a reader takes for digits are left out"
    assert not set(nodigit.LETTERS) & set("LTVXYtvxyCcUufrhn"), "and letters of one or two strokes, or lone arcs"


# ------------------------------------------------------------------ no drawing reads as a digit

# Measured on the ink that reaches the model (after to_mnist's thresholding), not on how it was drawn:
# a picture is "strokes" (a 1, a 7, an L, a +, an 11) when at most two straight bands, each as wide as
# the pen, cover 97% of its ink and the pen is thin beside the picture; a "ring" (a 0) when it is one
# piece of ink around one large hole, and the hole filled in is close to an ellipse.


def ink_of(picture) -> np.ndarray:
    """The ink that the preprocessing keeps (faint pixels and specks removed), scaled to 80 pixels, with a margin."""
    cropped = to_mnist(picture, return_steps=True)[1]["cropped"] > 0
    return np.pad(ndimage.zoom(cropped, 80 / max(cropped.shape), order=0), 20)


def pen_width(ink: np.ndarray) -> float:
    """Twice the median depth of the strokes' middles: the width of the pen, as in to_mnist's _thicken."""
    depth = ndimage.distance_transform_edt(np.pad(ink, 1))[1:-1, 1:-1]
    ridge = (depth > 0) & (depth >= ndimage.maximum_filter(depth, size=3))
    return 2 * float(np.median(depth[ridge]))


def straight_bands(ink: np.ndarray, most: int = 2, cover: float = 0.97) -> int:
    """How many straight bands as wide as the pen cover ``cover`` of the ink, greedily (most + 1: more)."""
    ys, xs = np.nonzero(ink)
    if len(xs) > 3000:  # noise: a sample of its pixels says as much
        keep = np.random.default_rng(0).choice(len(xs), 3000, replace=False)
        ys, xs = ys[keep], xs[keep]
    band = pen_width(ink) + 2
    angles = np.deg2rad(np.arange(0, 180, 2))
    rho = xs[:, None] * np.cos(angles) + ys[:, None] * np.sin(angles)  # each pixel's offset along each direction
    left = np.ones(len(xs), bool)
    for k in range(1, most + 1):
        best = (-1, 0, 0.0)  # (pixels in the band, direction, where the band starts)
        for a in range(len(angles)):
            r = np.sort(rho[left, a])
            counts = np.searchsorted(r, r + band, side="right") - np.arange(len(r))
            i = int(np.argmax(counts))
            best = max(best, (int(counts[i]), a, float(r[i])))
        _, a, start = best
        left &= ~((rho[:, a] >= start) & (rho[:, a] <= start + band))
        if left.sum() <= (1 - cover) * len(xs):
            return k
    return most + 1


def is_strokes(ink: np.ndarray) -> bool:
    """One or two straight strokes or bars (a 1, a 7, an L, a +, an 11): thin bands cover the ink."""
    ys, xs = np.nonzero(ink)
    return pen_width(ink) <= max(np.ptp(ys), np.ptp(xs)) / 3 and straight_bands(ink) <= 2


def is_ring(ink: np.ndarray) -> bool:
    """A lone ring (a 0): one piece of ink around one large hole, its outline close to an ellipse."""
    if ndimage.label(ink, structure=np.ones((3, 3)))[1] != 1:
        return False
    filled = ndimage.binary_fill_holes(ink)
    holes = filled & ~ink
    if ndimage.label(holes)[1] != 1 or holes.sum() < 0.2 * filled.sum():
        return False
    ys, xs = np.nonzero(filled)
    centre, cov = np.array([ys.mean(), xs.mean()]), np.cov(np.stack([ys, xs]).astype(float))
    offsets = np.stack(np.mgrid[: ink.shape[0], : ink.shape[1]], axis=-1) - centre
    ellipse = np.einsum("...i,ij,...j->...", offsets, np.linalg.inv(cov), offsets) <= 4  # same moments
    return (ellipse & filled).sum() / (ellipse | filled).sum() >= 0.9


def drawn(*shapes: tuple[str, tuple], width: int = 6) -> Image.Image:
    """A 96×96 picture drawn by hand: (method of ImageDraw, its coordinates) for each part."""
    img = Image.new("L", (96, 96), 240)
    pen = ImageDraw.Draw(img)
    for method, xy in shapes:
        if method == "line":
            pen.line(xy, fill=20, width=width, joint="curve")
        else:
            getattr(pen, method)(xy, outline=20, width=width)
    return img


READ_AS_DIGITS = {  # what the old generator drew, and what a person reads as a digit
    "a bar at the edge (a 1)": drawn(("line", [(4, 35), (4, 92)]), width=8),
    "a slanted stroke (a 1)": drawn(("line", [(50, 10), (35, 85)])),
    "a filled bar (a 1)": drawn(("rectangle", (40, 10, 55, 85))),
    "an angle (a 7)": drawn(("line", [(20, 15), (75, 15), (35, 85)])),
    "an L": drawn(("line", [(25, 10), (25, 80), (70, 80)])),
    "a cross (a +)": drawn(("line", [(48, 10), (48, 86)]), ("line", [(10, 48), (86, 48)])),
    "two bars (an 11)": drawn(("line", [(30, 10), (30, 86)]), ("line", [(60, 10), (60, 86)])),
    "an ellipse (a 0)": drawn(("ellipse", (25, 8, 70, 88))),
    "a hexagon (a 0)": drawn(("polygon", [(48, 8), (78, 28), (78, 68), (48, 88), (18, 68), (18, 28)])),
}
SPOKES = [(38 * np.cos(a), 38 * np.sin(a)) for a in (0.3, 1.35, 2.4)]
NOT_DIGITS = {
    "an asterisk": drawn(*[("line", [(48 - dx, 48 - dy), (48 + dx, 48 + dy)]) for dx, dy in SPOKES]),
    "a filled square": drawn(("rectangle", (20, 20, 76, 76)), width=28),
    "a triangle": drawn(("polygon", [(48, 10), (86, 80), (10, 80)])),
    "a box": drawn(("rectangle", (10, 25, 86, 70))),
    "a grid": drawn(*[("line", xy) for k in (35, 61) for xy in ([(k, 10), (k, 86)], [(10, k), (86, k)])]),
}


@pytest.mark.parametrize("name", READ_AS_DIGITS)
def test_the_measure_catches_pictures_that_read_as_digits(name):
    ink = ink_of(READ_AS_DIGITS[name])
    assert is_strokes(ink) or is_ring(ink), f"{name} is not caught"


@pytest.mark.parametrize("name", NOT_DIGITS)
def test_the_measure_lets_other_pictures_be(name):
    ink = ink_of(NOT_DIGITS[name])
    assert not is_strokes(ink) and not is_ring(ink), f"{name} is taken for a digit"


@pytest.mark.parametrize("kind", nodigit.KINDS)
def test_no_drawing_is_a_stroke_an_angle_or_a_ring(kind):
    """300 of each kind, in the test fonts: none is one or two straight strokes, or a lone ring."""
    images, _ = not_digits(300, seed=11, fonts="test", kinds=[kind])
    inks = [ink_of(image) for image in images]
    strokes = [i for i, ink in enumerate(inks) if is_strokes(ink)]
    rings = [i for i, ink in enumerate(inks) if is_ring(ink)]
    assert strokes == [] and rings == [], f"{kind}s that read as digits: strokes at {strokes}, rings at {rings}"


@pytest.mark.parametrize("fonts", sorted(nodigit.FONTS))
def test_no_letter_is_a_stroke_an_angle_or_a_ring(fonts):
    """Every letter of LETTERS in every font of the group, small and large."""
    caught = []
    for family in nodigit.FONTS[fonts]:
        for size in (40, 79):
            font = nodigit._font(family, size, bold=False)
            for letter in nodigit.LETTERS:
                img = Image.new("L", (96, 96), 240)
                ImageDraw.Draw(img).text((48, 48), letter, font=font, fill=20, anchor="mm")
                ink = ink_of(img)
                if is_strokes(ink) or is_ring(ink):
                    caught.append(f"{letter} ({family}, {size})")
    assert caught == [], f"letters that read as digits: {caught}"


def test_a_scribble_crosses_itself_and_turns():
    seven = np.array([[0.0, 0], [1, 0], [0.3, 1]])
    hourglass = np.array([[0.0, 0], [1, 1], [0, 1], [1, 0]])  # a Z with a slanted middle: one crossing
    x_and_back = np.array([[0.0, 0], [1, 1], [0.5, 0.5], [1, 0], [0, 1], [0.99, 0.02]])  # an X, drawn twice
    assert nodigit._crossings(seven) == 0 and nodigit._two_directions_share(seven) == 1.0
    assert nodigit._crossings(hourglass) == 1
    assert nodigit._crossings(x_and_back) >= 2 and nodigit._two_directions_share(x_and_back) > 0.95
    for path in (nodigit._tangle(np.random.default_rng(seed), margin=6.0) for seed in range(200)):
        assert nodigit._crossings(path) >= nodigit.MIN_CROSSINGS
        assert nodigit._two_directions_share(path) <= nodigit.MAX_TWO_DIRECTIONS
        box = np.hypot(*np.ptp(path, axis=0))
        assert np.hypot(*np.diff(path, axis=0).T).min() >= nodigit.MIN_SEGMENT * box * 0.999, "no short pieces"
        assert path.min() >= 6 and path.max() <= nodigit.SIDE - 6, "the whole scribble inside the picture"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"fonts": "mine"}, "fonts must be one of"),
        ({"kinds": ["letter", "circle"]}, r"unknown kinds \['circle'\]"),
        ({"kinds": []}, "unknown kinds"),
    ],
)
def test_not_digits_refuses_unknown_choices(kwargs, message):
    with pytest.raises(ValueError, match=message):
        not_digits(4, seed=0, **kwargs)


def test_not_digits_refuses_a_count_that_is_no_count():
    with pytest.raises(ValueError, match=r"whole number from 0 to 100,000, not -5"):
        not_digits(-5, seed=0)
    for n in (nodigit.MAX_NOT_DIGITS + 1, 10**9, 2.5, True):
        with pytest.raises(ValueError, match="n is how many pictures to draw"):
            not_digits(n, seed=0)
    assert not_digits(0, seed=0) == ([], [])
    assert len(not_digits(np.int64(2), seed=0)[0]) == 2


def test_prepare_marks_what_the_preprocessing_refuses():
    inputs, refused = prepare([three(), Image.new("L", (50, 50), 255), np.zeros((2, 2))])
    assert list(refused) == [False, True, True]
    assert inputs[0].max() == 1.0 and not inputs[1:].any()


# ------------------------------------------------------------------ the threshold


def test_threshold_for_refuses_that_share_of_the_digits():
    scores = np.linspace(0, 1, 1001)
    threshold = threshold_for(scores, rejected=0.02)
    assert (scores < threshold).mean() == pytest.approx(0.02, abs=0.002)
    assert threshold_for(scores, 0.0) == 0.0
    for bad in (1.0, -0.1, 2):
        with pytest.raises(ValueError, match="share of the digits between 0 and 1"):
            threshold_for(scores, bad)
    for empty in ([], np.zeros((0, 1))):
        with pytest.raises(ValueError, match="no digit scores to choose a threshold from"):
            threshold_for(empty)


def test_gate_scores_and_accepts():
    gate = ink_gate(weight=0.0, bias=2.0, threshold=0.5)  # sigmoid(2) = 0.88 for every input
    x = np.zeros((3, 28, 28), np.float32)
    assert np.allclose(gate.scores(x), 1 / (1 + np.exp(-2.0))) and gate.scores(x).shape == (3,)
    assert gate.accepts(x).all() and not Gate(gate.model, 0.9).accepts(x).any()


# ------------------------------------------------------------------ predict_digit and predict_folder


def test_predict_digit_raises_no_digit_when_the_gate_refuses(classifier):
    refusing = ink_gate(weight=0.0, bias=-3.0, threshold=0.5)  # every score 0.05
    with pytest.raises(NoDigitError, match=r"no digit found: the digit gate gives it 0\.05.*under 0\.50") as error:
        predict_digit(classifier, three(), gate=refusing)
    assert isinstance(error.value, ValueError), "callers catching ValueError still catch it"
    digit, probs = predict_digit(classifier, three(), gate=False)
    assert 0 <= digit <= 9 and np.isclose(probs.sum(), 1, atol=1e-5)
    accepting = ink_gate(weight=0.0, bias=3.0, threshold=0.5)
    assert predict_digit(classifier, three(), gate=accepting)[0] == digit


def test_a_blank_picture_gets_the_same_error_before_any_gate(classifier):
    with pytest.raises(NoDigitError, match="the picture is uniform"):
        predict_digit(classifier, np.ones((60, 60)), gate=ink_gate(0.0, 3.0))


def test_predict_digit_refuses_a_gate_that_is_not_one(classifier):
    with pytest.raises(TypeError, match=r"gate must be True, False or a helpers\.nodigit\.Gate"):
        predict_digit(classifier, three(), gate="strict")


def test_predict_folder_reports_the_gate_per_file(classifier, tmp_path):
    three(size=(120, 140)).save(tmp_path / "a_big_three.png")  # more ink after to_mnist? measured below
    Image.new("L", (40, 40), 255).save(tmp_path / "b_blank.png")
    img = Image.new("L", (120, 120), 255)
    ImageDraw.Draw(img).line((20, 60, 100, 60), fill=0, width=4)  # a dash: little ink once centred
    img.save(tmp_path / "c_dash.png")
    inputs, _ = prepare([tmp_path / "a_big_three.png", tmp_path / "c_dash.png"])
    ink = inputs.sum(axis=(1, 2))
    assert ink[0] > ink[1]
    gate = ink_gate(weight=1.0, bias=-float(ink.mean()), threshold=0.5)  # accepts the three, refuses the dash
    table = predict_folder(classifier, tmp_path, gate=gate).set_index("file")
    assert type(table.loc["a_big_three.png", "digit"]) is int and table.loc["a_big_three.png", "error"] is None
    assert "the picture is uniform" in table.loc["b_blank.png", "error"]
    dash = table.loc["c_dash.png"]
    assert dash["digit"] is None and np.isnan(dash["confidence"]) and dash["top3"] == ""
    assert dash["error"].startswith("no digit found: the digit gate gives it")
    everyone = predict_folder(classifier, tmp_path, gate=False).set_index("file")
    assert type(everyone.loc["c_dash.png", "digit"]) is int, "gate=False: the model answers for the dash"
    assert everyone.loc["a_big_three.png", "digit"] == table.loc["a_big_three.png", "digit"]


# ------------------------------------------------------------------ saving, loading, the course's gate


def test_save_and_load_keep_the_threshold(tmp_path):
    gate = ink_gate(0.01, -1.0, threshold=0.37)
    path = save_gate(gate, tmp_path / "gate.keras", measured=0.9)
    assert json.loads((tmp_path / "gate.json").read_text()) == {"threshold": 0.37, "measured": 0.9}
    loaded = load_gate(path)
    x = np.random.default_rng(0).random((4, 28, 28)).astype(np.float32)
    assert loaded.threshold == 0.37 and np.allclose(loaded.scores(x), gate.scores(x), atol=1e-6)
    assert not list(tmp_path.glob(".*")), "no temp files left behind"


def test_a_missing_or_damaged_threshold_file_says_what_to_do(tmp_path):
    save_gate(ink_gate(0.0, 0.0), tmp_path / "gate.keras")
    for content in ["", "{}", "[0.5]"]:
        (tmp_path / "gate.json").write_text(content)
        with pytest.raises(ValueError, match=r"gate\.json is missing or damaged.*Run notebook 08 again"):
            load_gate(tmp_path / "gate.keras")
    (tmp_path / "gate.json").unlink()
    with pytest.raises(ValueError, match="missing or damaged"):
        load_gate(tmp_path / "gate.keras")


@pytest.mark.parametrize("value", ["NaN", "-Infinity", "Infinity", "-3", "5", "1.5", "true", "false", '"0.5"', "null"])
def test_a_threshold_that_is_no_share_is_refused(tmp_path, value):
    """NaN, -inf or -3 would let every picture through; true or 5 would refuse every one: neither may load."""
    save_gate(ink_gate(0.0, 0.0), tmp_path / "gate.keras")
    (tmp_path / "gate.json").write_text(f'{{"threshold": {value}}}')
    with pytest.raises(
        ValueError, match=r"gate\.json gives the threshold .*; it must be a number from 0 to 1\. Run notebook 08"
    ):
        load_gate(tmp_path / "gate.keras")


def test_thresholds_from_0_to_1_load(tmp_path):
    save_gate(ink_gate(0.0, 0.0), tmp_path / "gate.keras")
    for value, expected in [("0", 0.0), ("1", 1.0), ("0.25", 0.25)]:
        (tmp_path / "gate.json").write_text(f'{{"threshold": {value}}}')
        assert load_gate(tmp_path / "gate.keras").threshold == expected
    with pytest.raises(ValueError, match="must be a number from 0 to 1"):
        save_gate(ink_gate(0.0, 0.0, threshold=float("nan")), tmp_path / "gate.keras")


def ten_class_model() -> keras.Model:
    """A digit classifier (ten outputs), as a student might save it under the gate's name."""
    return keras.Sequential(
        [keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")]
    )


def test_a_classifier_saved_as_the_gate_is_refused_when_loaded(tmp_path, monkeypatch, classifier):
    """A 10-class model in models/gate.keras gave a raw reshape error from predict_digit and predict_folder."""
    monkeypatch.setattr(course_models, "MODELS_DIR", tmp_path)
    course_models.save_model(ten_class_model(), tmp_path / "gate.keras")
    (tmp_path / "gate.json").write_text('{"threshold": 0.5}')
    expected = r"gate\.keras gives outputs of shape \(None, 10\), but a digit gate gives one number per picture"
    with pytest.raises(ValueError, match=expected):
        load_gate(tmp_path / "gate.keras")
    three().save(tmp_path / "three.png")
    table = predict_folder(classifier, tmp_path)  # a row per picture, each saying why it was not read
    assert table["file"].tolist() == ["three.png"] and table["digit"].tolist() == [None]
    assert re.search(expected + r".*Run notebook 08 again, or delete gate\.keras", table["error"][0])
    with pytest.raises(ValueError, match=r"the gate's model gives outputs of shape \(None, 10\), but a digit gate"):
        save_gate(Gate(ten_class_model(), 0.5), tmp_path / "other.keras")
    with pytest.raises(ValueError, match=r"gave shape \(1, 10\) for 1 pictures; a digit gate gives one number"):
        predict_digit(classifier, three(), gate=Gate(ten_class_model(), 0.5))  # a gate made by hand


def test_the_saved_gate_reads_an_edited_threshold_file(tmp_path, monkeypatch):
    monkeypatch.setattr(course_models, "MODELS_DIR", tmp_path)
    save_gate(ink_gate(0.0, 0.0, threshold=0.2), tmp_path / "gate.keras")
    assert choose_gate(True)[0].threshold == 0.2
    (tmp_path / "gate.json").write_text('{"threshold": 0.35}')  # gate.keras itself is untouched
    assert choose_gate(True)[0].threshold == 0.35
    (tmp_path / "gate.json").write_text('{"threshold": -1}')
    with pytest.raises(ValueError, match="must be a number from 0 to 1"):
        choose_gate(True)[0]


def test_the_saved_gate_is_loaded_once_and_again_when_it_changes(tmp_path, monkeypatch):
    monkeypatch.setattr(course_models, "MODELS_DIR", tmp_path)
    save_gate(ink_gate(0.0, 0.0, threshold=0.2), tmp_path / "gate.keras")
    first = choose_gate(True)[0]
    assert first.threshold == 0.2 and choose_gate(True)[0] is first  # loaded once
    save_gate(ink_gate(0.0, 0.0, threshold=0.3), tmp_path / "gate.keras")
    assert choose_gate(True)[0].threshold == 0.3  # saved again: loaded again


def test_the_course_gate_architecture():
    gate = course_models.build_gate()
    assert gate.count_params() == 105_537 and gate.output_shape == (None, 1)
    assert gate.layers[-1].get_config()["activation"] == "sigmoid"
