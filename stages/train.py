"""DVC stage train: InceptionResNetV2 on the train split's face crops (the 2020 recipe).

Reads data/split.csv and data/faces/, writes models/model.keras, beside it
models/preprocessing.json (how check must prepare a video) and
models/training.json (the data it saw, its initial weights, the epochs run
and why training stopped, the validation metrics, the library versions),
DVCLive's per-epoch metrics under dvclive/train/, and plots/accuracy.png and plots/loss.png.
Every epoch is checkpointed to models/checkpoint: a run interrupted (a killed
job, a preempted machine) goes on from its last complete epoch when run again
with the same parameters, code and data. With several GPUs it trains on all
of them (MirroredStrategy, batch_size being the global batch). With TF_CONFIG
set, it is one worker of a cluster of hosts (MultiWorkerMirroredStrategy): the
chief writes all of the above and resumes from its checkpoint, giving the
others its weights; the others write nothing (docs/training.md).
With init_model it starts from that trained model's weights (checked by the
inputs stage: data/inputs/parent.json), trains on the videos its parent did
not train on, mixes `replay` of the parent's training videos found in the data
into each epoch, records the parent in training.json (so the card says what
the model was built on) and lists its own videos by content in
models/videos.csv, for a model fine-tuned from it in turn. With
source_weights, each epoch draws the new videos by source in those shares.
"""
import argparse
import contextlib
import platform
import sys

import numpy as np

from deepfake_dvc.backbones import BACKBONES  # noqa: F401  (checks backbone, img_size, weights)
from deepfake_dvc.crops_file import count_crops, faces_path
from deepfake_dvc.files import read_record, write_json
from deepfake_dvc.labels import LABEL_INDEX
from deepfake_dvc.lineage import check_unchanged, lineage, training_videos
from deepfake_dvc.log import log
from deepfake_dvc.params import (
    FACE_KEYS,
    FRAME_KEYS,
    Preprocessing,
    read_params,
    read_settings,
    run_stage,
)
from deepfake_dvc.paths import (
    CHECKPOINT,
    FACE_SETTINGS,
    MANIFEST,
    MODEL,
    PARENT_RECORD,
    PLOTS_DIR,
    PREPROCESSING,
    SPLIT,
    TRAIN_LIVE,
    TRAINING,
    VIDEOS,
)
from deepfake_dvc.tables import VIDEOS_COLUMNS, read_table, write_table

AUGMENTATIONS = ("flip", "jpeg", "brightness", "contrast", "blur", "noise", "downscale",
                 "blocking")  # the augment_ keys, in the order augmenter takes them
PARAMS = ("data_dir", "train_seed", "backbone", "weights", "tune", "img_size", "dropout",
          "bn_momentum", "lr", "lr_decay", "batch_size", "epochs", "target_accuracy",
          "keep_epoch", "class_weight", *(f"augment_{kind}" for kind in AUGMENTATIONS),
          "mixed_precision", "jit_compile", "init_model", "replay", "source_weights")


def main(argv=None):
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = read_params(PARAMS)

    split = read_table(SPLIT)
    parent = read_record(PARENT_RECORD)
    check_unchanged(parent)
    crop_settings = read_settings(FACE_SETTINGS, FRAME_KEYS + FACE_KEYS)
    new, pool, train = training_videos(split, read_table(MANIFEST, ("sha256",)), parent,
                                       params["replay"])  # pool: the parent's, at hand
    val = split[split["split"] == "val"]
    files = {s: [faces_path(i) for i in part["id"]] for s, part in
             (("train", train), ("val", val))}
    labels = {s: part["label"].map(LABEL_INDEX).tolist() for s, part in
              (("train", train), ("val", val))}
    crop_labels = np.repeat(labels["train"], [count_crops(f) for f in files["train"]])

    # TensorFlow loads only now, after the parameters passed (its import takes seconds).
    from deepfake_dvc.tensorflow_import import import_tensorflow
    tf = import_tensorflow(cluster=True)  # with TF_CONFIG: a worker of that cluster
    import keras
    from dvclive.keras import DVCLiveCallback

    from deepfake_dvc.checkpoint import Checkpoint, stage_fingerprint
    from deepfake_dvc.cluster import chiefs_numbers, is_chief, peers_watched, resumed
    from deepfake_dvc.model import save_model
    from deepfake_dvc.training import (
        EpochProgress,
        KeepBestEpoch,
        StopAtAccuracy,
        augmenter,
        class_weights,
        compiled_model,
        crop_dataset,
        curve_png,
        data_summary,
        epoch_draws,
        float32_copy,
        replay,
        target_reached,
        training_strategy,
        training_summary,
    )
    from dvclive import Live

    draws, steps = epoch_draws(new, train.iloc[len(new):], params)
    keras.utils.set_random_seed(params["train_seed"])
    tf.config.experimental.enable_op_determinism()
    strategy = training_strategy()
    chief = is_chief(strategy)  # the others of a cluster write nothing
    if params["mixed_precision"]:
        keras.mixed_precision.set_global_policy("mixed_float16")
    keeper = KeepBestEpoch() if params["keep_epoch"] == "best" and chief else None
    checkpoint = Checkpoint(CHECKPOINT, stage_fingerprint("train", params), keeper) \
        if chief else None
    model, first, history = resumed(strategy, lambda: compiled_model(params), checkpoint)
    last = first if target_reached(history, params["target_accuracy"]) else params["epochs"]
    first, last = chiefs_numbers(strategy, [first, last])  # the others run the chief's epochs
    if first:
        log.info(f"train: resuming after epoch {first} of {params['epochs']} from {CHECKPOINT} "
                 f"(an interrupted run with the same parameters, code and data)")

    augment = augmenter(*(params[f"augment_{kind}"] for kind in AUGMENTATIONS))
    train_ds = crop_dataset(files["train"], labels["train"], params["batch_size"],
                            seed=params["train_seed"], augment=augment, epochs=range(first, last),
                            draws=draws, steps=steps)
    val_ds = crop_dataset(files["val"], labels["val"], params["batch_size"])
    with Live(str(TRAIN_LIVE), dvcyaml=None, save_dvc_exp=False) if chief \
            else contextlib.nullcontext() as live:
        if chief:
            replay(live, history)
        if first < last:
            log.info(f"train: {len(crop_labels)} crops of {len(train)} videos, {steps} batches "
                     f"an epoch; building the training step first (a minute or two on a CPU)")
            writers = [DVCLiveCallback(live=live), *([keeper] if keeper else []),
                       checkpoint] if chief else []  # keeper before checkpoint, which records it
            with peers_watched(strategy):
                model.fit(train_ds, validation_data=val_ds, initial_epoch=first, epochs=last,
                          steps_per_epoch=steps,
                          class_weight=class_weights(crop_labels, params["class_weight"]),
                          callbacks=[EpochProgress(params["epochs"], steps),
                                     *([StopAtAccuracy(params["target_accuracy"])]
                                       if params["target_accuracy"] != "none" else []),
                                     *writers],
                          shuffle=False,  # crop_dataset shuffles
                          verbose=0)
        elif keeper:
            keeper.on_train_end()  # the best epoch's weights, as fit would have put back
    if not chief:
        log.info(f"train: this worker's part done (task {strategy.cluster_resolver.task_type} "
                 f"{strategy.cluster_resolver.task_id}); the chief writes the model")
        return

    kept = (keeper and keeper.epoch) or len(history["loss"])  # keeper put its weights back
    if params["mixed_precision"] or strategy.num_replicas_in_sync > 1:
        model = float32_copy(model, params)
    save_model(model, MODEL)
    Preprocessing(**crop_settings, img_size=params["img_size"]).save(PREPROCESSING)
    manifest = read_table(MANIFEST, ("sha256",)).set_index("path")["sha256"]
    write_table(VIDEOS, split.assign(sha256=split["path"].map(manifest).fillna("")),
                VIDEOS_COLUMNS)
    data = data_summary(split.drop(index=pool.index), params["data_dir"])  # train: the new
    write_json(TRAINING, dict(
        data=data if params["init_model"] == "none" else dict(
            data, replay=dict(share=params["replay"], videos=len(pool),
                              per_epoch=round(params["replay"] * len(pool)))),
        training=training_summary(params, history, kept, model),
        versions=dict(python=platform.python_version(), tensorflow=tf.__version__,
                      keras=keras.__version__, numpy=np.__version__),
        **({"parent": lineage(parent)} if params["init_model"] != "none" else {})))
    for metric in ("accuracy", "loss"):
        curve_png(history, metric, kept, PLOTS_DIR / f"{metric}.png")
    checkpoint.finish()
    log.info(f"train: {len(history['loss'])} epochs on {len(crop_labels)} crops of "
             f"{len(train)} videos, epoch {kept} kept ({params['keep_epoch']}) -> {MODEL}")


if __name__ == "__main__":
    sys.exit(run_stage(main))
