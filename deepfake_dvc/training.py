"""Training the detector: the compiled model, the input pipeline over the crop files, the
learning-rate schedule, the devices, the callbacks that report progress, keep the best epoch
and stop early, and the record of what was trained (training.json, the learning curves).
(The resumable checkpoint is checkpoint.py.)"""
import sys
import time
from pathlib import Path

from deepfake_dvc.tensorflow_import import import_tensorflow

tf = import_tensorflow()  # before keras, which imports it too

import keras  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.utils.class_weight import compute_class_weight  # noqa: E402
from tqdm import tqdm  # noqa: E402

from deepfake_dvc import cluster  # noqa: E402
from deepfake_dvc.crops_file import count_crops, crop_byte_ranges, faces_path  # noqa: E402
from deepfake_dvc.figures import new_figure, save_figure  # noqa: E402
from deepfake_dvc.labels import LABEL_INDEX, SELF_BLENDED  # noqa: E402
from deepfake_dvc.log import log, showing_progress  # noqa: E402
from deepfake_dvc.paths import DEMO_DIR, source_name  # noqa: E402
from deepfake_dvc.splitting import source_counts  # noqa: E402

EPOCH_SEEDS = 1_000_003  # an epoch's seed: seed * EPOCH_SEEDS + epoch (distinct for any epochs)


VIDEOS_AT_ONCE = 16      # crop_dataset reads this many videos' crops in turn


def distribution(gpus):
    """MirroredStrategy over the devices when there are several (batch_size is then the global
    batch, split between them), else TensorFlow's default: one device."""
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy([d.name for d in gpus])
    return tf.distribute.get_strategy()


def training_strategy():
    """train's strategy: the cluster's, when import_tensorflow(cluster=True) started one over
    the hosts TF_CONFIG names, else distribution over this host's GPUs."""
    return cluster.started or distribution(tf.config.list_logical_devices("GPU"))


def learning_rate(lr, lr_decay):
    """Classic Keras decay: lr / (1 + lr_decay * step); constant when lr_decay is 0."""
    return keras.optimizers.schedules.InverseTimeDecay(lr, decay_steps=1, decay_rate=lr_decay)


class StopAtAccuracy(keras.callbacks.Callback):
    """Stop training once training accuracy reaches target (0.997 in the 2020 recipe)."""

    def __init__(self, target):
        super().__init__()
        self.target = target

    def on_epoch_end(self, epoch, logs=None):
        if (logs or {}).get("accuracy", 0.0) >= self.target:
            self.model.stop_training = True


class EpochProgress(keras.callbacks.Callback):
    """Training's progress in the stages' voice: a bar over each epoch's batches (when bars
    are shown) and one line per epoch with its metrics and seconds."""

    def __init__(self, epochs, steps):
        super().__init__()
        self.epochs, self.steps, self.bar, self.start = epochs, steps, None, None

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()
        self.bar = tqdm(total=self.steps, desc=f"train: epoch {epoch + 1}/{self.epochs}",
                        unit="batch", file=sys.stderr, leave=False,
                        disable=not showing_progress())

    def on_train_batch_end(self, batch, logs=None):
        self.bar.set_postfix({k: f"{v:.3f}" for k, v in (logs or {}).items()}, refresh=False)
        self.bar.update(1)

    def on_epoch_end(self, epoch, logs=None):
        self.bar.close()
        logs = logs or {}
        shown = ", ".join(f"{k} {logs[k]:.4f}" for k in ("accuracy", "loss", "val_accuracy",
                                                         "val_loss") if k in logs)
        log.info(f"train: epoch {epoch + 1}/{self.epochs}: {shown} "
                 f"({time.perf_counter() - self.start:.0f} s)")


class KeepBestEpoch(keras.callbacks.Callback):
    """Remember the weights of the epoch with the lowest validation loss, and put them back
    when training ends; `epoch` is that epoch (counted from 1)."""

    def __init__(self):
        super().__init__()
        self.best, self.epoch, self.weights = np.inf, None, None

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("val_loss", np.inf)
        if loss < self.best:
            self.best, self.epoch, self.weights = loss, epoch + 1, self.model.get_weights()

    def on_train_end(self, logs=None):
        if self.weights is not None:
            self.model.set_weights(self.weights)


def decode_crop(encoded):
    """One stored crop's bytes as uint8 RGB: JPEG with libjpeg's accurate integer DCT, as
    OpenCV decodes it (the same pixels that evaluate and check see), or PNG."""
    return tf.cond(tf.strings.substr(encoded, 0, 2) == b"\xff\xd8",
                   lambda: tf.io.decode_jpeg(encoded, channels=3, dct_method="INTEGER_ACCURATE"),
                   lambda: tf.io.decode_png(encoded, channels=3))


def crop_dataset(paths, labels, batch_size, seed=None, augment=None, epochs=range(1),
                 draws=None, steps=None):
    """A tf.data pipeline of (crops, labels) batches over face-crop files: the crops as
    stored (float32 pixels 0..255), which the model resizes and normalises itself.

    Each crop is read in place from its file and decoded by TensorFlow's own
    ops: no Python runs per image. Crops of VIDEOS_AT_ONCE videos are taken in
    turn, so a batch mixes videos. Without a seed: one pass in file order.
    With one: the batches of every epoch in `epochs` in one stream (for fit's
    steps_per_epoch), each epoch's order of videos and of their crops, and
    augment(crop, seed), drawn from stateless streams keyed by (seed, epoch)
    alone, so that a run resumed at epoch k sees what an uninterrupted run saw.
    With draws (video_draws: each epoch's videos, by index, in order), each
    epoch takes its draw's videos instead of every video once, and is `steps`
    batches: its draw's crops cut, or repeated, to that many.
    """
    ranges = [crop_byte_ranges(p) for p in paths]
    starts = tf.constant(np.concatenate([r[0] for r in ranges]), tf.int64)
    lengths = tf.constant(np.concatenate([r[1] for r in ranges]), tf.int64)
    bounds = tf.constant(np.cumsum([0] + [len(r[0]) for r in ranges]), tf.int64)
    files = tf.constant(list(map(str, paths)))
    classes = tf.constant(np.asarray(labels, np.int32))

    def permuted(count, epoch_seed, salt):
        """0..count-1, shuffled by (epoch_seed, salt) unless epoch_seed is None."""
        order = tf.range(count, dtype=tf.int64)
        if epoch_seed is None:
            return order
        return tf.random.experimental.stateless_shuffle(order, tf.stack([epoch_seed, salt]))

    def video_crops(video, epoch_seed):
        contents = tf.io.read_file(files[video])
        first = bounds[video]
        order = first + permuted(bounds[video + 1] - first, epoch_seed, video + 1)

        def crop(index):
            image = decode_crop(tf.strings.substr(contents, starts[index], lengths[index]))
            image.set_shape((None, None, 3))  # square crops, all of one size
            return image, classes[video]

        return tf.data.Dataset.from_tensor_slices(order).map(crop)

    if draws is not None:
        drawn = tf.constant(np.concatenate(draws).astype(np.int64))
        draw_bounds = tf.constant(np.cumsum([0] + [len(d) for d in draws]), tf.int64)

    def epoch_batches(epoch_seed=None, epoch=None):
        videos = permuted(len(paths), epoch_seed, 0) if draws is None \
            else drawn[draw_bounds[epoch]:draw_bounds[epoch + 1]]
        ds = tf.data.Dataset.from_tensor_slices(videos).interleave(
            lambda video: video_crops(video, epoch_seed), cycle_length=VIDEOS_AT_ONCE,
            num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        if augment is not None:
            ds = ds.enumerate().map(
                lambda i, crop_label: (augment(crop_label[0], tf.stack([epoch_seed, i])),
                                       crop_label[1]),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        ds = ds.batch(batch_size)
        return ds if draws is None else ds.repeat().take(steps)

    batches = -(-sum(len(r[0]) for r in ranges) // batch_size) if draws is None else steps
    if seed is None:
        ds = epoch_batches()
    else:
        ds = tf.data.Dataset.range(epochs.start, epochs.stop).flat_map(
            lambda epoch: epoch_batches(seed * EPOCH_SEEDS + epoch, epoch))
        batches *= len(epochs)
    ds = ds.map(lambda x, y: (tf.cast(x, tf.float32), y))
    options = tf.data.Options()  # on a cluster, each worker keeps its share of every batch
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.apply(tf.data.experimental.assert_cardinality(batches)).prefetch(
        tf.data.AUTOTUNE).with_options(options)


def draw_groups(sources, pool, source_weights, replay):
    """[(video indices, videos drawn per epoch)] of a training set whose new videos are
    grouped by source ({name: indices}): each source's share of the new videos' number by
    source_weights (a source not named weighs 1; none: every video once), and replay of the
    pool (the parent's training videos' indices)."""
    new = sum(len(indices) for indices in sources.values())
    weights = {name: 1.0 if source_weights == "none" else source_weights.get(name, 1.0)
               for name, indices in sources.items() if len(indices)}
    groups = [(sources[name], len(sources[name]) if source_weights == "none"
               else round(new * weight / sum(weights.values())))
              for name, weight in weights.items()]
    return groups + ([(pool, round(replay * len(pool)))] if replay and len(pool) else [])


def video_draws(groups, epochs, seed):
    """Each epoch's videos (indices), for crop_dataset: from each group (indices, videos per
    epoch) a fresh draw of that many (without replacement up to the group's size, then with),
    shuffled together by a NumPy generator keyed by (seed, epoch)."""
    draws = []
    for epoch in range(epochs):
        rng = np.random.default_rng([seed, epoch])
        drawn = [rng.choice(np.asarray(indices), size=count, replace=count > len(indices))
                 for indices, count in groups if count]
        draws.append(rng.permutation(np.concatenate(drawn)))
    return draws


def epoch_draws(new, pool, params):
    """video_draws for crop_dataset (None when each epoch takes every video once) and the
    batches of an epoch."""
    crops = np.array([count_crops(faces_path(i)) for i in (*new["id"], *pool["id"])])
    if params["source_weights"] == "none" and pool.empty:
        return None, -(-int(crops.sum()) // params["batch_size"])
    names = new["path"].map(lambda p: source_name(p, params["data_dir"])).to_numpy()
    groups = draw_groups({name: np.flatnonzero(names == name) for name in dict.fromkeys(names)},
                         np.arange(len(new), len(crops)), params["source_weights"],
                         params["replay"])
    per_epoch = sum(count * crops[indices].mean() for indices, count in groups if count)
    return (video_draws(groups, params["epochs"], params["train_seed"]),
            max(1, -(-int(round(per_epoch)) // params["batch_size"])))


def augmenter(flip, jpeg_quality, brightness, contrast, blur=0, noise=0, downscale=0,
              blocking=0):
    """augment(crop, seed) for crop_dataset, or None when every option is off. Besides flips,
    JPEG, brightness and contrast, the damage a re-upload does, each at a level drawn up to
    its maximum: blur (Gaussian sigma, px), noise (standard deviation, pixel levels),
    downscale (shrunk to a scale down to this, then enlarged back) and blocking (8-px blocks
    pulled towards their mean by up to this share, as a coarse H.264 quantiser leaves)."""
    if not (flip or jpeg_quality or brightness or contrast or blur or noise or downscale
            or blocking):
        return None

    def augment(crop, seed):
        seed = tf.cast(seed % 2**31, tf.int32)
        if flip:
            crop = tf.image.stateless_random_flip_left_right(crop, seed)
        if jpeg_quality:
            crop = tf.image.stateless_random_jpeg_quality(crop, jpeg_quality, 100, seed + 1)
        image = tf.cast(crop, tf.float32) / 255.0
        if downscale:
            image = rescaled(image, level(downscale, 1.0, seed + 4))
        if blur:
            image = blurred(image, level(0.0, blur, seed + 5), blur)
        if blocking:
            image = blocked(image, level(0.0, blocking, seed + 6))
        if noise:
            image += tf.random.stateless_normal(tf.shape(image), seed + 7) \
                * level(0.0, noise, seed + 8) / 255.0
        if brightness:
            image = tf.image.stateless_random_brightness(image, brightness, seed + 2)
        if contrast:
            image = tf.image.stateless_random_contrast(image, 1 - contrast, 1 + contrast, seed + 3)
        return tf.cast(tf.clip_by_value(image, 0, 1) * 255.0 + 0.5, tf.uint8)

    return augment


def level(low, high, seed):
    """A level drawn uniformly from [low, high] by the stateless stream of seed (2 ints)."""
    return tf.random.stateless_uniform([], seed, low, high)


def rescaled(image, scale):
    """image (H, W, 3) shrunk by scale and enlarged back to its size."""
    size = tf.shape(image)[:2]
    small = tf.maximum(tf.cast(tf.round(tf.cast(size, tf.float32) * scale), tf.int32), 1)
    return tf.image.resize(tf.image.resize(image, small, antialias=True), size)


def blurred(image, sigma, widest):
    """image (H, W, 3) under a Gaussian of sigma px (a kernel wide enough for widest)."""
    half = int(np.ceil(3 * widest))
    x = tf.range(-half, half + 1, dtype=tf.float32)
    weights = tf.exp(-x * x / (2 * tf.maximum(sigma, 1e-3) ** 2))
    weights /= tf.reduce_sum(weights)
    rows = tf.tile(tf.reshape(weights, (-1, 1, 1, 1)), (1, 1, 3, 1))
    padded = tf.pad(image[None], [[0, 0], [half, half], [half, half], [0, 0]], "SYMMETRIC")
    out = tf.nn.depthwise_conv2d(padded, rows, [1, 1, 1, 1], "VALID")
    out = tf.nn.depthwise_conv2d(out, tf.transpose(rows, (1, 0, 2, 3)), [1, 1, 1, 1], "VALID")
    return out[0]


BLOCK = 8  # px: the side of the blocks blocking averages over


def blocked(image, strength):
    """image (H, W, 3) with each 8-px block pulled towards its mean by strength (0..1)."""
    means = tf.nn.avg_pool2d(image[None], BLOCK, BLOCK, "SAME")
    flat = tf.image.resize(means, tf.shape(image)[:2], method="nearest")[0]
    return image + strength * (flat - image)


def class_weights(labels, mode):
    """Keras class_weight for unbalanced data (scikit-learn's 'balanced'), or None."""
    if mode == "none":
        return None
    classes = np.unique(labels)
    weights = compute_class_weight("balanced", classes=classes, y=labels)
    return {int(c): float(w) for c, w in zip(classes, weights)}


def data_summary(split, data_dir):
    """What the model saw: videos and face crops per split and class (and per source, with
    several), fakes synthesized."""
    split = split.assign(crops=[count_crops(faces_path(i)) for i in split["id"]],
                         synthesized=split["id"].str.endswith(SELF_BLENDED))

    def per_split(count):
        return {s: {label: int(count(split[(split["split"] == s) & (split["label"] == label)]))
                    for label in LABEL_INDEX} for s in ("train", "val", "test")}

    folders = data_dir.values() if isinstance(data_dir, dict) else [data_dir]
    summary = dict(data_dir=data_dir,
                   demo=any(Path(f).resolve() == DEMO_DIR.resolve() for f in folders),
                   videos=per_split(len), crops=per_split(lambda part: part["crops"].sum()),
                   synthesized_fakes={s: int(split[split["split"] == s]["synthesized"].sum())
                                      for s in ("train", "val", "test")})
    if isinstance(data_dir, dict):
        summary["sources"] = source_counts(split, data_dir)
    return summary


def target_reached(history, target):
    """The stop rule: the last epoch's training accuracy reached target_accuracy (never with
    target_accuracy none)."""
    return target != "none" and bool(history) and history["accuracy"][-1] >= target


def training_summary(params, history, kept, model):
    """The backbone, its input, what was trained (and how many parameters), the initial
    weights, epochs run and why training stopped, the epoch kept (counted from 1) and its
    validation metrics."""
    from deepfake_dvc.model import parameter_counts
    epochs_run = len(history["loss"])
    stopped = (f"training accuracy reached target_accuracy {params['target_accuracy']}"
               if target_reached(history, params["target_accuracy"])
               else f"ran all {params['epochs']} epochs")
    parameters, trainable = parameter_counts(model)
    return dict(architecture=f"{params['backbone']}, global average pooling, dropout, 2-way "
                             f"softmax",
                backbone=params["backbone"], weights=params["weights"],
                init_model=params.get("init_model", "none"),
                img_size=params["img_size"], tune=params["tune"], parameters=parameters,
                trainable_parameters=trainable, epochs_run=epochs_run,
                stopped=stopped, keep_epoch=params["keep_epoch"], kept_epoch=kept,
                validation={k[4:]: round(float(v[kept - 1]), 6) for k, v in history.items()
                            if k.startswith("val_")})


def curve_png(history, metric, kept, path):
    """The 2020 work's plot: a metric per epoch, train vs validation, and the epoch kept."""
    fig, ax = new_figure(6, 4)
    epochs = range(1, len(history[metric]) + 1)
    ax.plot(epochs, history[metric], "o-", label="train")
    if f"val_{metric}" in history:
        ax.plot(epochs, history[f"val_{metric}"], "o-", label="validation")
    ax.axvline(kept, color="grey", linestyle=":", label=f"kept: epoch {kept}")
    ax.set(xlabel="epoch", ylabel=metric, title=f"model {metric}")
    ax.legend()
    save_figure(fig, path)


def compiled_model(params):
    """The 2020 model compiled with Adam, its learning-rate decay and its optimizer built; under
    the current distribution strategy and dtype policy. With init_model, it starts from that
    model's weights."""
    import keras

    from deepfake_dvc.model import build_model, load_weights_of
    from deepfake_dvc.training import learning_rate
    model = build_model(params["img_size"], params["weights"], params["dropout"],
                        params["bn_momentum"], params["backbone"], params["tune"])
    if params.get("init_model", "none") != "none":
        load_weights_of(model, params["init_model"])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate(params["lr"], params["lr_decay"])),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=params["jit_compile"])
    model.optimizer.build(model.trainable_variables)
    return model


def float32_copy(model, params):
    """The trained weights in a float32 model on one device: what evaluate and check load."""
    import keras

    from deepfake_dvc.model import build_model
    keras.mixed_precision.set_global_policy("float32")
    copy = build_model(params["img_size"], "none", params["dropout"], params["bn_momentum"],
                       params["backbone"], params["tune"])
    copy.set_weights(model.get_weights())
    return copy


def replay(live, history):
    """Log the epochs a resumed run had already done, as DVCLive's Keras callback did."""
    from dvclive.utils import standardize_metric_name
    for epoch in range(len(history.get("loss", []))):
        for metric, values in history.items():
            live.log_metric(standardize_metric_name(metric, "dvclive.keras"), values[epoch])
        live.next_step()
