"""What each backbone costs on this machine, before renting a GPU: its parameters, how many
each `tune` trains, and training and inference images/s at its default input and at a common
small one, each against InceptionResNetV2 (the 2020 backbone) timed in the same run.

    python bench/backbones.py                          # every registered backbone
    python bench/backbones.py --backbones xception,clip_vit_b16 --small 112

Random weights (the speed does not depend on them), the train stage's compiled model (Adam,
float32, no XLA) fed uint8-valued crops as the stored crops are; the first step of each
(tracing the step) is not timed. Training: `--steps` batches of `--batch`; inference: the
same crops through model.predict.
"""
import argparse
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import yaml  # noqa: E402

BASELINE = "inception_resnet_v2"


def valid_size(spec, size):
    """size rounded up to what the backbone takes (its minimum, a multiple of its step)."""
    size = max(size, spec.min_size)
    return math.ceil(size / spec.size_step) * spec.size_step


def trainable_counts(name, spec, size):
    """{tune: trainable parameters}, and the total, of the backbone's model at size."""
    from deepfake_dvc.model import build_model, parameter_counts
    counts = {tune: parameter_counts(build_model(size, backbone=name, tune=tune))
              for tune in spec.tunes}
    return counts["all"][0], {tune: trainable for tune, (_, trainable) in counts.items()}


def images_per_second(name, size, batch, steps):
    """(training, inference) images/s of the backbone's compiled model at size."""
    import keras

    from deepfake_dvc.training import compiled_model
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params.update(backbone=name, img_size=size, weights="none", tune="all",
                  mixed_precision=False, jit_compile=False)
    keras.utils.set_random_seed(0)
    model = compiled_model(params)
    crops = np.random.default_rng(0).integers(0, 256, (batch, 96, 96, 3)).astype(np.float32)
    labels = np.arange(batch) % 2
    model.train_on_batch(crops, labels)  # traces the training step
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(crops, labels)
    training = batch * steps / (time.perf_counter() - start)
    model.predict(crops, batch_size=batch, verbose=0)  # traces the predict step
    start = time.perf_counter()
    for _ in range(steps):
        model.predict(crops, batch_size=batch, verbose=0)
    inference = batch * steps / (time.perf_counter() - start)
    keras.backend.clear_session()
    return training, inference


def counted(n):
    """12.3 M, 4.1 k or 130."""
    return f"{n / 1e6:.1f} M" if n >= 1e6 else f"{n / 1e3:.1f} k" if n >= 1e3 else str(n)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbones", help="comma-separated names (default: all registered)")
    parser.add_argument("--small", type=int, default=112,
                        help="the common small input (rounded up to what each backbone takes)")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()

    from deepfake_dvc.backbones import BACKBONES
    names = args.backbones.split(",") if args.backbones else list(BACKBONES)
    names = [BASELINE] + [name for name in names if name != BASELINE]
    rows = []
    for name in names:
        spec = BACKBONES[name]
        total, trainable = trainable_counts(name, spec, valid_size(spec, args.small))
        speeds = {}
        for which, size in (("default", spec.default_size),
                            ("small", valid_size(spec, args.small))):
            began = time.perf_counter()
            speeds[which] = (size, *images_per_second(name, size, args.batch, args.steps))
            print(f"{name} at {size} px: train {speeds[which][1]:.2f} images/s, inference "
                  f"{speeds[which][2]:.2f} images/s ({time.perf_counter() - began:.0f} s)",
                  file=sys.stderr, flush=True)
        rows.append((name, total, trainable, speeds))

    base = rows[0][3]
    print("\n| backbone | parameters | trainable: all / head / layernorm | input | train "
          "images/s (x IRv2) | inference images/s (x IRv2) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, total, trainable, speeds in rows:
        tunes = " / ".join(counted(trainable[t]) if t in trainable else "-"
                           for t in ("all", "head", "layernorm"))
        for which in ("default", "small"):
            size, train, infer = speeds[which]
            _, base_train, base_infer = base[which]
            print(f"| {name} | {counted(total)} | {tunes} | {size} px ({which}) | "
                  f"{train:.2f} ({train / base_train:.2f}) | {infer:.2f} "
                  f"({infer / base_infer:.2f}) |")


if __name__ == "__main__":
    main()
