"""Notebook 02's seed baseline in plain Keras, no helpers: what bench.py times the notebooks' path against.

python benchmarks/bare_keras.py '{"data": "mnist.npz", "n_train": null, "seed": 42, "epochs": 6, "batch_size": 128}' \
    out.json

bench.py passes every setting (notebook 02's seed and batch size come from there), so none has a default here.
"""

import json
import sys
import time
from pathlib import Path

import numpy as np

VALIDATION_SIZE = 10_000  # as helpers.training.train_val_split: the last 10,000 training images validate


def split_and_scale(x, y, n_train):
    """``(x_train, y_train), (x_val, y_val)``: the last 10,000 held back, the first ``n_train`` (None: all) to train.

    Pixels scaled to [0, 1].
    """
    x_train, y_train = x[:-VALIDATION_SIZE][:n_train], y[:-VALIDATION_SIZE][:n_train]
    x_val, y_val = x[-VALIDATION_SIZE:], y[-VALIDATION_SIZE:]
    return (x_train.astype("float32") / 255.0, y_train), (x_val.astype("float32") / 255.0, y_val)


def train(data, n_train, seed, epochs, batch_size):
    """Train on ``data`` (an .npz of MNIST as loaded); each epoch's seconds, the test accuracy, the parameters."""
    import keras
    from keras import layers

    with np.load(data) as d:
        (x_train, y_train), (x_val, y_val) = split_and_scale(d["x_train"], d["y_train"], n_train)
        x_test, y_test = d["x_test"].astype("float32") / 255.0, d["y_test"]
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input(shape=(28, 28)), layers.Flatten()])
    for _ in range(2):  # two hidden layers of 512 ReLU units, each followed by dropout
        model.add(layers.Dense(512, activation="relu"))
        model.add(layers.Dropout(0.2))
    model.add(layers.Dense(10, activation="softmax"))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    seconds, start = [], []
    timer = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: start.append(time.perf_counter()),
        on_epoch_end=lambda epoch, logs: seconds.append(time.perf_counter() - start[-1]),
    )
    fit = {"epochs": epochs, "batch_size": batch_size, "validation_data": (x_val, y_val), "verbose": 0}
    model.fit(x_train, y_train, callbacks=[timer], **fit)
    test_accuracy = float(model.evaluate(x_test, y_test, verbose=0)[1])
    return {"epoch_seconds": seconds, "test_accuracy": test_accuracy, "parameters": model.count_params()}


if __name__ == "__main__":
    Path(sys.argv[2]).write_text(json.dumps(train(**json.loads(sys.argv[1]))))
