"""Training input: what the pipeline delivers, against the model's appetite and the old way.

    python bench/train_input.py [--videos 16] [--crops 8] [--face-size 96] [--img-size 75]
    python bench/train_input.py --face-size 299 --img-size 299   # the 2020 recipe's sizes

Writes face-crop files as detect_faces does (JPEG at quality 95, read in place
and decoded by TensorFlow's ops), and the same crops as raw pixels read through
tf.numpy_function (the format and reader before compact crops). Measured in one
run, in images per second:

  pipeline alone   one epoch of deepfake_dvc.model.crop_dataset (reading, decoding,
                   shuffling, flips, resizing, preprocess_input), no model;
  old pipeline     the same over raw crops read by np.load in tf.numpy_function;
  model            one training epoch on the images already preprocessed in memory;
  fed pipeline     one training epoch fed by crop_dataset.

Targets: the pipeline alone >= 3 x the model's rate (the input never bounds
training); the fed pipeline >= 0.9 x the in-memory rate.
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from deepfake_dvc.crops_file import load_crops, save_faces  # noqa: E402
from deepfake_dvc.faces import crop_face  # noqa: E402
from tests.synth import face_frame  # noqa: E402


def face_crops(n, face_size, rng):
    """n crops of the face photo, each framed a little differently."""
    crops = []
    for _ in range(n):
        frame, box = face_frame(480, 360, int(rng.integers(150, 220)))
        jitter = rng.normal(0, 6, 4)
        crops.append(crop_face(frame, np.add(box, jitter), 1.3, face_size))
    return np.array(crops)


def write_crop_files(folder, videos, crops, face_size, rng):
    """(encoded paths, raw paths): one crops file per video, as detect_faces writes them,
    and the same crops as raw pixels (the old format)."""
    (folder / "raw").mkdir(parents=True)
    for v in range(videos):
        faces = dict(crops=face_crops(crops, face_size, rng), frame_indices=np.arange(crops))
        save_faces(f"v{v}", faces, "jpg", 95, folder)
        np.savez(folder / "raw" / f"v{v}.npz", **faces)
    return ([folder / f"v{v}.npz" for v in range(videos)],
            [folder / "raw" / f"v{v}.npz" for v in range(videos)])


def old_dataset(paths, labels, batch_size):
    """The reader before compact crops: raw crops loaded by np.load in tf.numpy_function."""
    import tensorflow as tf

    face_size = np.load(paths[0])["crops"].shape[1]

    def video_crops(path, label):
        crops = tf.numpy_function(lambda p: np.load(p.decode())["crops"], [path], tf.uint8)
        crops.set_shape((None, face_size, face_size, 3))
        return tf.data.Dataset.from_tensor_slices((crops, tf.fill(tf.shape(crops)[:1], label)))

    ds = tf.data.Dataset.from_tensor_slices((list(map(str, paths)), np.asarray(labels, np.int32)))
    ds = ds.shuffle(len(paths), seed=0).interleave(
        video_crops, cycle_length=4, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.shuffle(2048, seed=0).map(lambda x, y: (tf.image.flip_left_right(x), y))
    return ds.batch(batch_size).map(lambda x, y: (tf.cast(x, tf.float32), y),
                                    num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def iterated_per_second(dataset, n_images):
    """Images per second of one pass over dataset (after one warm-up pass)."""
    for _ in dataset:
        pass
    start = time.perf_counter()
    for _ in dataset:
        pass
    return n_images / (time.perf_counter() - start)


def fitted_per_second(model, data, n_images, **fit):
    """One timed epoch of model.fit; returns images per second."""
    start = time.perf_counter()
    model.fit(data, epochs=1, verbose=0, shuffle=False, **fit)
    return n_images / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=16)
    parser.add_argument("--crops", type=int, default=8, help="crops per video")
    parser.add_argument("--face-size", type=int, default=96)
    parser.add_argument("--img-size", type=int, default=75)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()

    import keras

    from deepfake_dvc.model import build_model
    from deepfake_dvc.training import augmenter, crop_dataset, learning_rate

    rng = np.random.default_rng(0)
    paths, raw_paths = write_crop_files(Path(tempfile.mkdtemp(prefix="bench_input_")),
                                        args.videos, args.crops, args.face_size, rng)
    labels = [v % 2 for v in range(args.videos)]
    n = args.videos * args.crops
    pipeline = crop_dataset(paths, labels, args.batch_size, seed=0,
                            augment=augmenter(True, 0, 0.0, 0.0))
    alone = iterated_per_second(pipeline, n)
    old = iterated_per_second(old_dataset(raw_paths, labels, args.batch_size), n)

    crops = np.concatenate([load_crops(p) for p in paths])
    images = crops.astype(np.float32)  # the model resizes and normalises them
    crop_labels = np.repeat(labels, args.crops)
    model = build_model(args.img_size)
    model.compile(keras.optimizers.Adam(learning_rate(1e-4, 0.0)),
                  "sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=False)
    start = time.perf_counter()
    model.fit(images, crop_labels, batch_size=args.batch_size, epochs=1, verbose=0)
    print(f"warm-up epoch (builds the training function): {time.perf_counter() - start:.1f} s")
    rates = {}
    for _ in range(2):  # alternate, so drift on a shared machine hits both alike
        rates.setdefault("fed", []).append(fitted_per_second(model, pipeline, n))
        rates.setdefault("memory", []).append(fitted_per_second(
            model, images, n, y=crop_labels, batch_size=args.batch_size))
    fed, memory = max(rates["fed"]), max(rates["memory"])

    encoded = sum(p.stat().st_size for p in paths) / args.videos
    raw = sum(p.stat().st_size for p in raw_paths) / args.videos
    print(f"{n} crops of {args.face_size} px -> {args.img_size} px, batch {args.batch_size}; "
          f"crops file per video: {encoded / 1e3:.0f} kB encoded, {raw / 1e3:.0f} kB raw")
    print(f"pipeline alone (read in place, TF decode): {alone:8.1f} images/s")
    print(f"old pipeline alone (raw, numpy_function):  {old:8.1f} images/s")
    print(f"model training, in-memory images:          {memory:8.1f} images/s")
    print(f"model training fed by the pipeline:        {fed:8.1f} images/s")
    print(f"pipeline alone / model: {alone / memory:.1f} (target >= 3); "
          f"fed / in-memory: {fed / memory:.3f} (target >= 0.9); "
          f"pipeline / old pipeline: {alone / old:.2f}")


if __name__ == "__main__":
    main()
