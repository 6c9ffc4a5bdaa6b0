"""A set's crops under perturbations (robust_faces' and robust_eval_faces' work): each video
changed as a condition says, then cropped as the model's preprocessing says, videos in
parallel. A video a condition cannot be applied to is a recorded row and the others go on."""
import tempfile

import cv2

from deepfake_dvc.crops import VideoCropper
from deepfake_dvc.errors import ConfigError, SkipInput
from deepfake_dvc.log import log
from deepfake_dvc.parallel import parallel_map
from deepfake_dvc.paths import robust_folder, video_file
from deepfake_dvc.perturbations import conditions, reencoded
from deepfake_dvc.status import OK, failed
from deepfake_dvc.tables import PERTURBED_FACES_COLUMNS, write_table

_cropper = None  # the workers' cropper (parallel_map's setup)


def crop_perturbed_set(set_name, entry, folder, videos, preprocessing, workers,
                       executor="local"):
    """The listed videos of folder (rows with id, path, label, status; folder: an evaluation
    set's, or data_dir, one folder or several sources: paths.video_file) under each condition
    entry stands for, cropped as the model's preprocessing says, to robust_folder(set_name,
    entry, condition) with their table. A video a condition cannot be applied to is a
    recorded row."""
    try:
        chosen = conditions(entry)
    except ValueError as e:
        raise ConfigError(f"perturbations: {e}") from None
    for condition in chosen:
        out = robust_folder(set_name, entry, condition.name)
        out.mkdir(parents=True, exist_ok=True)
        rows = parallel_map(crop_perturbed, [(v, folder, out, condition) for v in videos],
                            workers, desc=f"robust_faces {set_name} {condition.name}",
                            executor=executor, setup=(start_perturbing, (preprocessing,)))
        write_table(out / "faces.csv", rows, PERTURBED_FACES_COLUMNS)
        log.info(f"robust_faces {set_name} {condition.name}: "
                 f"{sum(r['status'] == OK for r in rows)}/{len(rows)} videos with faces, "
                 f"{sum(r['faces'] for r in rows)} faces -> {out}")


def start_perturbing(preprocessing):
    """A worker's cropper (its models load on first use)."""
    global _cropper
    cv2.setNumThreads(1)
    _cropper = VideoCropper(preprocessing)


def crop_perturbed(job):
    """One video's row under a condition, with its crops file for out as Files."""
    row, folder, out, condition = job
    row = dict(row, frames=0, faces=0)
    if row["status"] != OK:
        return row
    with tempfile.TemporaryDirectory(prefix="deepfake-perturbed-") as scratch:
        try:
            indices, frames = perturbed_frames(video_file(folder, row["path"]), condition,
                                               row["path"], scratch)
        except (SkipInput, cv2.error, OSError) as e:
            log.warning(f"{row['path']}: {e}; skipped")
            return dict(row, status=failed(e))
    return _cropper.cropped(row, indices, frames, out)


def perturbed_frames(path, condition, name, scratch):
    """(indices, frames) of the video at path under condition: sampled from its re-encoded
    copy in scratch (a video condition), or each sampled frame changed (its random draws
    keyed by name)."""
    transform = condition.frame_transform(name)
    if transform is None:
        path = reencoded(path, condition, scratch)
    indices, frames, _ = _cropper.frames(path, transform)
    return indices, frames
