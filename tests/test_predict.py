"""predict_digit and predict_folder: the answer names its model and gate, and a gate is asked only if given or saved.

The models and gates are real Keras models with weights set by hand, so their answers are known.
How well the course's trained gate works is measured in notebook 08.
"""

from __future__ import annotations

from helpers import models as course_models
from helpers import predict
from helpers.nodigit import GATE_FILE, save_gate
from helpers.predict import NoDigitError, Reading, choose_gate, predict_digit, predict_folder
from helpers.preprocess import render_digit

import copy
import pickle

import pytest

from conftest import classifier, ink_gate


@pytest.fixture
def models_dir(tmp_path, monkeypatch):
    """An empty models/ folder."""
    monkeypatch.setattr(course_models, "MODELS_DIR", tmp_path)
    return tmp_path


def test_the_answer_unpacks_to_digit_and_probabilities_and_names_who_answered(models_dir):
    model = classifier()
    reading = predict_digit(model, render_digit(3), gate=False)
    digit, probabilities = reading  # as notebooks 06-08 unpack it
    assert isinstance(reading, Reading) and isinstance(reading, tuple) and len(reading) == 2
    assert type(digit) is int and digit == int(probabilities.argmax()) and probabilities.shape == (10,)
    assert (reading.digit, reading.model, reading.gate) == (digit, "reader", None)
    assert "model='reader'" in repr(reading) and "gate=None" in repr(reading)
    for again in (copy.copy(reading), pickle.loads(pickle.dumps(reading))):
        assert again.model == "reader" and again.gate is None and again.digit == digit


def test_without_a_saved_gate_no_gate_is_asked_and_none_is_trained(models_dir):
    model = classifier()
    assert choose_gate() == (None, None) and choose_gate(False) == (None, None)
    assert predict_digit(model, render_digit(3)).gate is None  # the default: the saved gate, and there is none
    assert predict_folder(model, models_dir).empty
    render_digit(3).save(models_dir / "three.png")
    table = predict_folder(model, models_dir)
    assert table["gate"].isna().all() and table["model"].tolist() == ["reader"] and table["error"].isna().all()
    with pytest.raises(FileNotFoundError, match=r"no digit gate has been saved.*Run notebook 08 first"):
        predict_digit(model, render_digit(3), gate=True)
    assert "no digit gate has been saved" in predict_folder(model, models_dir, gate=True)["error"][0]
    assert sorted(p.name for p in models_dir.iterdir()) == ["three.png"], "nothing was saved"


def test_a_saved_gate_is_asked_by_default_and_named(models_dir):
    model = classifier()
    save_gate(ink_gate(0.0, -3.0), models_dir / GATE_FILE)  # refuses everything: 0.05 < 0.5
    with pytest.raises(
        NoDigitError, match=r"the digit gate gives it 0\.05.*\(gate: gate\.keras, saved by notebook 08\)"
    ):
        predict_digit(model, render_digit(3))
    assert predict_digit(model, render_digit(3), gate=False).gate is None  # 06's way: the model alone
    save_gate(ink_gate(0.0, 3.0), models_dir / GATE_FILE)  # saved again: loaded again, accepts everything
    reading = predict_digit(model, render_digit(3))
    assert reading.gate == predict.SAVED_GATE == "gate.keras, saved by notebook 08"
    assert predict_digit(model, render_digit(3), gate=True).gate == predict.SAVED_GATE
    render_digit(3).save(models_dir / "three.png")
    assert predict_folder(model, models_dir)["gate"].tolist() == [predict.SAVED_GATE]


def test_a_gate_given_is_asked_and_named(models_dir):
    model = classifier("cnn")
    reading = predict_digit(model, render_digit(3), gate=ink_gate(0.0, 3.0, name="my_gate"))
    assert (reading.model, reading.gate) == ("cnn", "'my_gate', passed in")
    with pytest.raises(NoDigitError, match=r"\(gate: 'my_gate', passed in\)"):
        predict_digit(model, render_digit(3), gate=ink_gate(0.0, -3.0, name="my_gate"))
    with pytest.raises(TypeError, match=r"gate must be True, False or a helpers\.nodigit\.Gate"):
        predict_digit(model, render_digit(3), gate="strict")
