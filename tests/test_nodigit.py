"""The drawn not-digits, the digit gate's plumbing, and what predict_digit/predict_folder read or refuse; the gates are
hand-set Keras models (conftest.ink_gate) with known scores: how well the trained gate works, notebook 08 measures."""

from __future__ import annotations

from helpers import models as course_models
from helpers import nodigit
from helpers.nodigit import Gate, load_gate, not_digits, prepare, save_gate, threshold_for
from helpers.predict import NoDigitError, choose_gate, predict_digit, predict_folder
from helpers.preprocess import render_digit, to_mnist

import itertools
import json
import os
import re

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

from conftest import classifier, ink_gate

THREE = render_digit(3)


def test_not_digits_are_fixed_by_their_seed_take_turns_by_kind_refuse_what_they_cannot_draw_and_reach_the_model(capfd):
    first, kinds = not_digits(80, seed=5)
    assert kinds == list(nodigit.KINDS) * 20 and all(im.size == (nodigit.SIDE,) * 2 and im.mode == "L" for im in first)
    assert [im.tobytes() for im in first[:8]] == [im.tobytes() for im in not_digits(8, seed=5)[0]], "same seed"
    assert [im.tobytes() for im in first[:8]] != [im.tobytes() for im in not_digits(8, seed=6)[0]], "another seed"
    assert all(p.min() < 100 < np.median(p) for p in map(np.asarray, first))  # dark ink, light paper
    inputs, refused = prepare([*first, THREE, Image.new("L", (50, 50), 255), np.zeros((2, 2))])  # a blank, a speck
    assert inputs.shape == (83, 28, 28) and refused[:80].sum() <= 2, "nearly every drawing passes the preprocessing"
    assert list(refused[80:]) == [False, True, True] and np.all(inputs[refused] == 0)
    assert np.all(inputs[~refused].max(axis=(1, 2)) == 1.0), "each picture passed is scaled to ink 1.0"
    train, test = (not_digits(40, seed=3, fonts=fonts, kinds=["letter"])[0] for fonts in ("train", "test"))
    assert not any(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(train, test, strict=True))
    assert capfd.readouterr().err == "", "Matplotlib's font lookup must not warn (the fonts without bold)"
    assert not set(nodigit.LETTERS) & set("OoDQIlJjZzSsBbGgq"), "letters a reader takes for digits are left out"
    assert not set(nodigit.LETTERS) & set("LTVXYtvxyCcUufrhn"), "and letters of one or two strokes, or lone arcs"
    assert not_digits(0, seed=0) == ([], []) and len(not_digits(np.int64(2), seed=0)[0]) == 2
    bad = [(4, {"fonts": "mine"}, "fonts must be one of"), (-5, {}, r"whole number from 0 to 100,000, not -5")]
    bad += [(4, {"kinds": ["letter", "circle"]}, r"unknown kinds \['circle'\]"), (4, {"kinds": []}, "unknown kinds")]
    bad += [(n, {}, "n is how many pictures to draw") for n in (nodigit.MAX_NOT_DIGITS + 1, 2.5, True)]
    for n, options, message in bad:
        with pytest.raises(ValueError, match=message):
            not_digits(n, seed=0, **options)


def straight_bands(ys: np.ndarray, xs: np.ndarray, band: float) -> int:
    """How many straight bands ``band`` wide cover 97% of the pixels (ys, xs), greedily; 3: more than two."""
    if len(xs) > 3000:  # noise: a sample of its pixels says as much
        ys, xs = np.stack([ys, xs])[:, np.random.default_rng(0).choice(len(xs), 3000, replace=False)]
    angles = np.deg2rad(np.arange(0, 180, 2))
    rho = xs[:, None] * np.cos(angles) + ys[:, None] * np.sin(angles)  # each pixel's offset along each direction
    left = np.ones(len(xs), bool)
    for k in (1, 2):
        best = (-1, 0, 0.0)  # (pixels in the band, direction, where the band starts)
        for a in range(len(angles)):
            r = np.sort(rho[left, a])
            counts = np.searchsorted(r, r + band, side="right") - np.arange(len(r))
            best = max(best, (int(counts.max()), a, float(r[np.argmax(counts)])))
        _, a, start = best
        left &= ~((rho[:, a] >= start) & (rho[:, a] <= start + band))
        if left.sum() <= (1 - 0.97) * len(xs):
            return k
    return 3


def reads_as_a_digit(picture) -> bool:
    """Of the ink the preprocessing keeps: one or two straight strokes of a thin pen (1, 7, L, +, 11), or a ring (0)."""
    cropped = to_mnist(picture, return_steps=True)[1]["cropped"] > 0
    ink = np.pad(ndimage.zoom(cropped, 80 / max(cropped.shape), order=0), 20)  # scaled to 80 pixels, with a margin
    depth = ndimage.distance_transform_edt(np.pad(ink, 1))[1:-1, 1:-1]  # the pen's width, as to_mnist's _thicken's
    pen = 2 * float(np.median(depth[(depth > 0) & (depth >= ndimage.maximum_filter(depth, size=3))]))
    ys, xs = np.nonzero(ink)
    if pen <= max(np.ptp(ys), np.ptp(xs)) / 3 and straight_bands(ys, xs, pen + 2) <= 2:
        return True  # bands as wide as the pen cover 97% of the ink, and the pen is thin beside the picture
    holes = (filled := ndimage.binary_fill_holes(ink)) & ~ink
    if ndimage.label(ink, structure=np.ones((3, 3)))[1] != 1 or ndimage.label(holes)[1] != 1:
        return False
    ys, xs = np.nonzero(filled)  # a ring: one piece of ink around one large hole, filled close to an ellipse
    centre, cov = np.array([ys.mean(), xs.mean()]), np.cov(np.stack([ys, xs]).astype(float))
    offsets = np.stack(np.mgrid[: ink.shape[0], : ink.shape[1]], axis=-1) - centre
    ellipse = np.einsum("...i,ij,...j->...", offsets, np.linalg.inv(cov), offsets) <= 4  # same moments
    return holes.sum() >= 0.2 * filled.sum() and (ellipse & filled).sum() / (ellipse | filled).sum() >= 0.9


def drawn(*shapes: tuple[str, tuple], width: int = 6) -> Image.Image:
    """A 96×96 picture drawn by hand: (method of ImageDraw, its coordinates) for each part."""
    img = Image.new("L", (96, 96), 240)
    for method, xy in shapes:
        options = {"joint": "curve", "fill": 20} if method == "line" else {"outline": 20}
        getattr(ImageDraw.Draw(img), method)(xy, width=width, **options)
    return img


SPOKES = [(38 * np.cos(a), 38 * np.sin(a)) for a in (0.3, 1.35, 2.4)]
MEASURED = {  # what the old generator drew (True: a person reads a digit), and other pictures (False)
    "a bar at the edge (a 1)": (True, drawn(("line", [(4, 35), (4, 92)]), width=8)),
    "a slanted stroke (a 1)": (True, drawn(("line", [(50, 10), (35, 85)]))),
    "an angle (a 7)": (True, drawn(("line", [(20, 15), (75, 15), (35, 85)]))),
    "a cross (a +)": (True, drawn(("line", [(48, 10), (48, 86)]), ("line", [(10, 48), (86, 48)]))),
    "an ellipse (a 0)": (True, drawn(("ellipse", (25, 8, 70, 88)))),
    "a hexagon (a 0)": (True, drawn(("polygon", [(48, 8), (78, 28), (78, 68), (48, 88), (18, 68), (18, 28)]))),
    "an asterisk": (False, drawn(*[("line", [(48 - dx, 48 - dy), (48 + dx, 48 + dy)]) for dx, dy in SPOKES])),
    "a filled square": (False, drawn(("rectangle", (20, 20, 76, 76)), width=28)),
    "a triangle": (False, drawn(("polygon", [(48, 10), (86, 80), (10, 80)]))),
    "a grid": (False, drawn(*[("line", xy) for k in (35, 61) for xy in ([(k, 10), (k, 86)], [(10, k), (86, k)])])),
}


def test_the_measure_tells_pictures_that_read_as_digits():
    measured = {name: reads_as_a_digit(picture) for name, (_, picture) in MEASURED.items()}
    assert measured == {name: expected for name, (expected, _) in MEASURED.items()}


@pytest.mark.parametrize("kind", [*nodigit.KINDS, *nodigit.FONTS])
def test_no_drawing_reads_as_a_digit(kind):
    """300 of each kind in the test fonts, and each letter in every font of both groups, small and large."""
    images = dict(enumerate(not_digits(300, seed=11, fonts="test", kinds=[kind])[0])) if kind in nodigit.KINDS else {}
    for family, size, char in itertools.product(nodigit.FONTS.get(kind, ()), (40, 79), nodigit.LETTERS):
        font, images[char, family, size] = nodigit._font(family, size, bold=False), Image.new("L", (96, 96), 240)
        ImageDraw.Draw(images[char, family, size]).text((48, 48), char, font=font, fill=20, anchor="mm")
    assert [name for name, image in images.items() if reads_as_a_digit(image)] == []


def test_a_scribble_crosses_itself_and_turns():
    seven = np.array([[0.0, 0], [1, 0], [0.3, 1]])
    hourglass = np.array([[0.0, 0], [1, 1], [0, 1], [1, 0]])  # a Z with a slanted middle: one crossing
    x_and_back = np.array([[0.0, 0], [1, 1], [0.5, 0.5], [1, 0], [0, 1], [0.99, 0.02]])  # an X, drawn twice
    assert nodigit._crossings(seven) == 0 and nodigit._two_directions_share(seven) == 1.0
    assert nodigit._crossings(hourglass) == 1
    assert nodigit._crossings(x_and_back) >= 2 and nodigit._two_directions_share(x_and_back) > 0.95
    for path in (nodigit._tangle(np.random.default_rng(seed), margin=6.0) for seed in range(200)):
        assert nodigit._crossings(path) >= nodigit.MIN_CROSSINGS, "it crosses itself"
        assert nodigit._two_directions_share(path) <= nodigit.MAX_TWO_DIRECTIONS, "it turns"
        box = np.hypot(*np.ptp(path, axis=0))
        assert np.hypot(*np.diff(path, axis=0).T).min() >= nodigit.MIN_SEGMENT * box * 0.999, "no short pieces"
        assert path.min() >= 6 and path.max() <= nodigit.SIDE - 6, "the whole scribble inside the picture"


def test_threshold_for_refuses_that_share_a_gate_scores_by_it_and_its_training_set_weighs_both_classes_alike():
    scores = np.linspace(0, 1, 1001)
    assert (scores < threshold_for(scores, rejected=0.02)).mean() == pytest.approx(0.02, abs=0.002)
    assert threshold_for(scores, 0.0) == 0.0
    for bad in [(scores, 1.0), (scores, -0.1), (scores, 2), ([],), (np.zeros((0, 1)),)]:
        with pytest.raises(ValueError, match="share of the digits between 0 and 1" if bad[1:] else "no digit scores"):
            threshold_for(*bad)
    gate, x = ink_gate(weight=0.0, bias=2.0), np.zeros((3, 28, 28), np.float32)  # sigmoid(2) = 0.88 for every input
    assert gate.scores(x).shape == (3,) and np.allclose(gate.scores(x), 1 / (1 + np.exp(-2.0)))
    assert gate.accepts(x).all() and not Gate(gate.model, 0.9).accepts(x).any()
    digits, drawn = np.full((50, 28, 28), 0.5, np.float32), np.zeros((10, 28, 28), np.float32)
    x, y, class_weight = nodigit.gate_training_set(digits, drawn)
    assert x.shape == (60, 28, 28) and y.sum() == 50 and set(np.unique(x[y == 0])) == {0.0}  # the pictures given
    assert y[:50].sum() < 50, "shuffled: the not-digits are not all at the end"
    assert class_weight[0] * 10 == pytest.approx(class_weight[1] * 50)  # both classes weigh the same in the loss
    with pytest.raises(ValueError, match=r"shape \(0,\): give the prepared not-digits"):
        nodigit.gate_training_set(digits, [])


def test_predict_folder_reads_every_picture_as_predict_digit_does_and_says_why_one_was_not_read(tmp_path):
    assert issubclass(NoDigitError, ValueError), "callers catching ValueError still catch it"
    with pytest.raises(NoDigitError, match="the picture is uniform"):  # before any gate
        predict_digit(classifier(), np.ones((60, 60)), gate=ink_gate(0.0, 3.0))
    model, dash = classifier(), Image.new("L", (120, 120), 255)
    ImageDraw.Draw(dash).line((20, 60, 100, 60), fill=0, width=4)  # little ink once centred
    for name, im in [("a_seven.JPG", render_digit(7).convert("RGB")), ("b_three.png", THREE), ("c_dash.png", dash)]:
        im.save(tmp_path / name)
    Image.new("L", (40, 40), 255).save(tmp_path / "d_blank.png")
    (tmp_path / "e_broken.png").write_text("oops")
    os.mkfifo(tmp_path / "f_pipe.png")
    (tmp_path / "g_folder.png").mkdir()  # a folder is not a picture and gets no row
    (tmp_path / "notes.txt").write_text("not an image")
    digit, probs = predict_digit(model, tmp_path / "b_three.png", gate=False)
    assert np.allclose(probs, model.predict(to_mnist(THREE)[None], verbose=0)[0]) and digit == int(np.argmax(probs))
    table = predict_folder(model, tmp_path, gate=False)  # the model answers for the dash too
    assert list(table.columns) == ["file", "digit", "confidence", "top3", "error", "model", "gate"]
    assert list(table.file) == ["a_seven.JPG", "b_three.png", "c_dash.png", "d_blank.png", "e_broken.png", "f_pipe.png"]
    assert table.digit[1] == digit and np.isclose(table.confidence[1], probs.max())
    good, bad = table.iloc[:3], table.iloc[3:]
    assert all(type(d) is int for d in good.digit) and good.confidence.between(0, 1).all() and good.error.isna().all()
    assert all(re.fullmatch(r"\d \(\d\.\d\d\), \d \(\d\.\d\d\), \d \(\d\.\d\d\)", t) for t in good.top3)
    assert bad.digit.isna().all() and bad.confidence.isna().all() and "the picture is uniform" in bad.error[3]
    assert "could not read e_broken.png" in bad.error[4] and "named pipe" in bad.error[5]
    assert list(predict_folder(model, tmp_path, pattern=("*.jpg",), gate=False).file) == ["a_seven.JPG"]
    with pytest.raises(FileNotFoundError, match="no folder"):
        predict_folder(model, tmp_path / "nowhere")
    ink = prepare([THREE, dash])[0].sum(axis=(1, 2))  # a gate at the mean ink accepts the three, refuses the dash
    gated = predict_folder(model, tmp_path, gate=ink_gate(1.0, -float(ink.mean()))).set_index("file")
    assert ink[0] > ink[1] and gated.loc["b_three.png", "digit"] == digit and gated.loc["b_three.png", "error"] is None
    assert "the picture is uniform" in gated.loc["d_blank.png", "error"] and gated.loc["c_dash.png", "top3"] == ""
    assert gated.loc["c_dash.png", "digit"] is None and np.isnan(gated.loc["c_dash.png", "confidence"])
    assert gated.loc["c_dash.png", "error"].startswith("no digit found: the digit gate gives it")


def test_a_saved_gate_keeps_its_threshold_reloads_when_it_changes_and_is_refused_if_a_classifier(tmp_path, monkeypatch):
    """A threshold of NaN, -inf or -3 would let every picture through, true or 1.5 refuse every one: none may load."""
    damaged = r"gate\.json is missing or damaged.*Run notebook 08 again"
    no_share = r"gate\.json gives the threshold .*; it must be a number from 0 to 1\. Run notebook 08"
    monkeypatch.setattr(course_models, "MODELS_DIR", tmp_path)
    path = save_gate(gate := ink_gate(0.01, -1.0, threshold=0.37), tmp_path / "gate.keras", measured=0.9)
    assert json.loads((tmp_path / "gate.json").read_text()) == {"threshold": 0.37, "measured": 0.9}
    loaded, x = load_gate(path), np.random.default_rng(0).random((4, 28, 28)).astype(np.float32)
    assert loaded.threshold == 0.37 and np.allclose(loaded.scores(x), gate.scores(x), atol=1e-6)
    assert not list(tmp_path.glob(".*")), "no temp files left behind"
    assert choose_gate(True)[0].threshold == 0.37 and choose_gate(True)[0] is choose_gate(True)[0], "loaded once"
    (tmp_path / "gate.json").write_text('{"threshold": 0.35}')  # gate.keras itself is untouched
    assert choose_gate(True)[0].threshold == 0.35
    save_gate(ink_gate(0.0, 0.0, threshold=0.3), tmp_path / "gate.keras")
    assert choose_gate(True)[0].threshold == 0.3  # saved again: loaded again
    (tmp_path / "gate.json").write_text('{"threshold": -1}')
    with pytest.raises(ValueError, match="must be a number from 0 to 1"):
        choose_gate(True)
    with pytest.raises(ValueError, match="must be a number from 0 to 1"):
        save_gate(ink_gate(0.0, 0.0, threshold=float("nan")), tmp_path / "gate.keras")
    for content in ["0", "1", "", "{}", "[0.5]", "NaN", "-Infinity", "-3", "1.5", "true", '"0.5"', "null", None]:
        if content is None:
            (tmp_path / "gate.json").unlink()
        else:
            (tmp_path / "gate.json").write_text(content if content[:1] in "{[" else f'{{"threshold": {content}}}')
        if content in ("0", "1"):
            assert load_gate(path).threshold == float(content)
            continue
        with pytest.raises(ValueError, match=damaged if content in (None, "", "{}", "[0.5]") else no_share):
            load_gate(path)
    course_models.save_model(classifier(), tmp_path / "gate.keras")  # once gave a raw reshape error when predicting
    (tmp_path / "gate.json").write_text('{"threshold": 0.5}')
    expected = r"gate\.keras gives outputs of shape \(None, 10\), but a digit gate gives one number per picture"
    with pytest.raises(ValueError, match=expected):
        load_gate(tmp_path / "gate.keras")
    THREE.save(tmp_path / "three.png")
    table = predict_folder(classifier(), tmp_path)  # a row per picture, each saying why it was not read
    assert table["file"].tolist() == ["three.png"] and table["digit"].tolist() == [None]
    assert re.search(expected + r".*Run notebook 08 again, or delete gate\.keras", table["error"][0])
    with pytest.raises(ValueError, match=r"the gate's model gives outputs of shape \(None, 10\), but a digit gate"):
        save_gate(Gate(classifier(), 0.5), tmp_path / "other.keras")
    with pytest.raises(ValueError, match=r"gave shape \(1, 10\) for 1 pictures; a digit gate gives one number"):
        predict_digit(classifier(), THREE, gate=Gate(classifier(), 0.5))  # a gate made by hand
