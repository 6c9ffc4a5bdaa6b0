"""Training throughput through the real input pipeline against in-memory arrays.

    python bench/train_input.py [--videos 16] [--crops 8] [--img-size 75]

Writes crop files like detect_faces does, then trains the same compiled model
for one epoch fed by stages.model.crop_dataset (file reading, shuffling,
augmentation, resizing, preprocess_input, prefetch) and for one epoch fed by
the same images already preprocessed in memory. Prints images/s for both and
their ratio (target: the pipeline delivers >= 0.9 of the in-memory rate).
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def write_crop_files(folder, videos, crops, face_size, rng):
    """Random uint8 crop files, one per video, in detect_faces' format."""
    paths = []
    for v in range(videos):
        path = folder / f"v{v}.npz"
        np.savez(path, crops=rng.integers(0, 256, (crops, face_size, face_size, 3), np.uint8),
                 frame_indices=np.arange(crops))
        paths.append(path)
    return paths


def images_per_second(model, data, n_images, **fit):
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

    from stages.model import augmenter, build_model, crop_dataset, learning_rate, prepare_images

    rng = np.random.default_rng(0)
    paths = write_crop_files(Path(tempfile.mkdtemp(prefix="bench_input_")), args.videos,
                             args.crops, args.face_size, rng)
    labels = [v % 2 for v in range(args.videos)]
    n = args.videos * args.crops
    pipeline = crop_dataset(paths, labels, args.img_size, args.batch_size, seed=0,
                            augment=augmenter(True, 0, 0.0, 0.0))
    crops = np.concatenate([np.load(p)["crops"] for p in paths])
    images = np.asarray(prepare_images(crops, args.img_size))
    crop_labels = np.repeat(labels, args.crops)

    model = build_model(args.img_size)
    model.compile(keras.optimizers.Adam(learning_rate(1e-4, 0.0)),
                  "sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=False)
    start = time.perf_counter()
    model.fit(images, crop_labels, batch_size=args.batch_size, epochs=1, verbose=0)
    print(f"warm-up epoch (builds the training function): {time.perf_counter() - start:.1f} s")

    rates = {}
    for round_ in range(2):  # alternate, so drift on a shared machine hits both alike
        rates.setdefault("pipeline", []).append(images_per_second(model, pipeline, n))
        rates.setdefault("memory", []).append(images_per_second(
            model, images, n, y=crop_labels, batch_size=args.batch_size))
    pipe, mem = max(rates["pipeline"]), max(rates["memory"])
    print(f"{n} images of {args.face_size} px crops -> {args.img_size} px, batch {args.batch_size}")
    print(f"input pipeline (files, shuffle, flip, resize, preprocess): {pipe:6.2f} images/s")
    print(f"in-memory preprocessed arrays:                             {mem:6.2f} images/s")
    print(f"pipeline / in-memory: {pipe / mem:.3f} (target >= 0.9)")


if __name__ == "__main__":
    main()
