"""DVC stage train: InceptionResNetV2 on the train split's face crops (the 2020 recipe).

Reads data/split.csv and data/faces/, writes models/model.keras, beside it
models/preprocessing.json (how check must prepare a video), DVCLive's
per-epoch metrics under dvclive/, and plots/accuracy.png and plots/loss.png.
"""
import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn.utils.class_weight import compute_class_weight

from stages.common import (
    FACE_SETTINGS,
    FACES_DIR,
    LABEL_INDEX,
    MODEL,
    PLOTS_DIR,
    PREPROCESSING,
    SPLIT,
    fail,
    is_int,
    is_number,
    load_params,
    new_figure,
    param,
    read_json,
    read_table,
    save_figure,
    write_json,
)

CLASS_WEIGHTS = ("balanced", "none")


def valid_weights(value):
    """imagenet, none, or the path of an existing weights file."""
    return value in ("imagenet", "none") or (isinstance(value, str) and Path(value).is_file())


def read_params():
    """The parameters this stage reads, validated before any work."""
    p = load_params()
    return dict(
        seed=param(p, "seed", is_int, "use an integer"),
        weights=param(p, "weights", valid_weights,
                      "use imagenet, none, or the path of an existing weights file"),
        img_size=param(p, "img_size", lambda v: is_int(v, 75),
                       "use an integer >= 75 (InceptionResNetV2's smallest input)"),
        dropout=param(p, "dropout", lambda v: is_number(v, 0) and v < 1, "use a number in [0, 1)"),
        bn_momentum=param(p, "bn_momentum", lambda v: is_number(v, 0) and v < 1,
                          "use a number in [0, 1)"),
        lr=param(p, "lr", lambda v: is_number(v) and v > 0, "use a number > 0"),
        lr_decay=param(p, "lr_decay", lambda v: is_number(v, 0), "use a number >= 0"),
        batch_size=param(p, "batch_size", lambda v: is_int(v, 1), "use an integer >= 1"),
        epochs=param(p, "epochs", lambda v: is_int(v, 1), "use an integer >= 1"),
        target_accuracy=param(p, "target_accuracy", lambda v: is_number(v) and 0 < v <= 1,
                              "use a number in (0, 1]"),
        class_weight=param(p, "class_weight", lambda v: v in CLASS_WEIGHTS,
                           f"use one of {CLASS_WEIGHTS}"),
        augment_flip=param(p, "augment_flip", lambda v: isinstance(v, bool), "use true or false"),
        augment_jpeg=param(p, "augment_jpeg", lambda v: v == 0 or is_int(v, 10, 100),
                           "use 0 (off) or the lowest JPEG quality, 10..100"),
        augment_brightness=param(p, "augment_brightness", lambda v: is_number(v, 0, 0.5),
                                 "use 0..0.5"),
        augment_contrast=param(p, "augment_contrast", lambda v: is_number(v, 0, 0.9), "use 0..0.9"),
    )


def class_weights(labels, mode):
    """Keras class_weight for unbalanced data (scikit-learn's 'balanced'), or None."""
    if mode == "none":
        return None
    classes = np.unique(labels)
    weights = compute_class_weight("balanced", classes=classes, y=labels)
    return {int(c): float(w) for c, w in zip(classes, weights)}


def curve_png(history, metric, path):
    """The 2020 work's plot: a metric per epoch, train vs validation."""
    fig, ax = new_figure(6, 4)
    epochs = range(1, len(history[metric]) + 1)
    ax.plot(epochs, history[metric], "o-", label="train")
    if f"val_{metric}" in history:
        ax.plot(epochs, history[f"val_{metric}"], "o-", label="validation")
    ax.set(xlabel="epoch", ylabel=metric, title=f"model {metric}")
    ax.legend()
    save_figure(fig, path)


def main(argv=None):
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = read_params()

    split = read_table(SPLIT)
    train, val = (split[split["split"] == s] for s in ("train", "val"))
    files = {s: [FACES_DIR / f"{i}.npz" for i in part["id"]] for s, part in
             (("train", train), ("val", val))}
    labels = {s: part["label"].map(LABEL_INDEX).tolist() for s, part in
              (("train", train), ("val", val))}

    # TensorFlow loads only now, after the parameters passed (its import takes seconds).
    import keras
    import tensorflow as tf
    from dvclive.keras import DVCLiveCallback

    from dvclive import Live
    from stages.model import (
        StopAtAccuracy,
        augmenter,
        build_model,
        count_crops,
        crop_dataset,
        learning_rate,
        save_model,
    )

    keras.utils.set_random_seed(params["seed"])
    tf.config.experimental.enable_op_determinism()
    augment = augmenter(params["augment_flip"], params["augment_jpeg"],
                        params["augment_brightness"], params["augment_contrast"])
    train_ds = crop_dataset(files["train"], labels["train"], params["img_size"],
                            params["batch_size"], seed=params["seed"], augment=augment)
    val_ds = crop_dataset(files["val"], labels["val"], params["img_size"], params["batch_size"])
    crop_labels = np.repeat(labels["train"], [count_crops(f) for f in files["train"]])

    try:
        model = build_model(params["img_size"], params["weights"], params["dropout"],
                            params["bn_momentum"])
    except Exception as e:  # Keras raises a bare Exception when a download fails
        fail(f"could not load weights '{params['weights']}' ({e}); without internet set "
             f"weights: none, or the path of a weights file, in params.yaml")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate(params["lr"], params["lr_decay"])),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=False)  # XLA takes minutes to compile this model on a CPU

    with Live("dvclive", dvcyaml=None, save_dvc_exp=False) as live:
        history = model.fit(train_ds, validation_data=val_ds, epochs=params["epochs"],
                            class_weight=class_weights(crop_labels, params["class_weight"]),
                            callbacks=[DVCLiveCallback(live=live),
                                       StopAtAccuracy(params["target_accuracy"])],
                            shuffle=False, verbose=2)  # crop_dataset shuffles

    save_model(model, MODEL)
    write_json(PREPROCESSING, {**read_json(FACE_SETTINGS), "img_size": params["img_size"]})
    for metric in ("accuracy", "loss"):
        curve_png(history.history, metric, PLOTS_DIR / f"{metric}.png")
    print(f"train: {len(history.history['loss'])} epochs on {len(crop_labels)} crops of "
          f"{len(train)} videos -> {MODEL}", file=sys.stderr)


if __name__ == "__main__":
    main()
