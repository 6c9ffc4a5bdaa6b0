"""An evaluation set's crops (eval_faces' work): each video cropped as the model's
preprocessing says, videos in parallel; a video whose content is a training video's is not
cropped, and its row names it. A video that cannot be read is a recorded row and the others
go on."""
from pathlib import Path

import cv2

from deepfake_dvc.crops import VideoCropper
from deepfake_dvc.errors import SkipInput
from deepfake_dvc.files import file_digest
from deepfake_dvc.log import log
from deepfake_dvc.parallel import Files, parallel_map
from deepfake_dvc.status import OK, failed
from deepfake_dvc.tables import read_table

_cropper = None  # the workers' cropper and ...
_training = {}  # ... {SHA-256: path} of the training videos (parallel_map's setup)


def training_videos(manifest):
    """{SHA-256: path} of the training data_dir's videos (its manifest)."""
    table = read_table(manifest, ("sha256",))
    return {digest: path for digest, path in zip(table["sha256"], table["path"]) if digest}


def crop_evaluation_videos(videos, folder, out, preprocessing, training, workers,
                           executor="local"):
    """eval_faces' work: the listed videos of folder cropped to out as the model's
    preprocessing says; a video whose content is a training video's ({SHA-256: path}) is not
    cropped and its row names it (same_as). Returns the rows, in order."""
    out.mkdir(parents=True, exist_ok=True)
    return parallel_map(crop_one, [(v, folder, out) for v in videos], workers,
                        desc=f"eval_faces {Path(out).name}", executor=executor,
                        setup=(start_evaluation, (preprocessing, training)))


def start_evaluation(preprocessing, training):
    """A worker's cropper (its models load on first use) and the training videos' digests."""
    global _cropper, _training
    cv2.setNumThreads(1)
    _cropper, _training = VideoCropper(preprocessing), training


def crop_one(job):
    """One evaluation video's row, with its crops file for out as Files; a video whose content is a
    training video's is not cropped, and its row says which (same_as)."""
    row, folder, out = job
    row = dict(row, frames=0, faces=0, same_as="")
    if row["status"] != OK:
        return row
    path = Path(folder) / row["path"]
    try:
        row["same_as"] = _training.get(file_digest(path), "")
        if row["same_as"]:
            return row
        indices, frames, _ = _cropper.frames(path)
    except (SkipInput, cv2.error, OSError) as e:
        log.warning(f"{row['path']}: {e}; skipped")
        return dict(row, status=failed(e))
    done = _cropper.cropped(row, indices, frames, out)
    if not isinstance(done, Files):
        log.warning(f"{row['path']}: no face in any of its {len(frames)} frames; left out")
    return done
