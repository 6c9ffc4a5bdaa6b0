"""Reading videos: sampling their frames, and storing frames compactly."""
import errno
import os
import stat
from pathlib import Path

import cv2
import numpy as np

from stages.codec import pack, unpack
from stages.common import SkipInput, atomic_path


# ---- decoding only the frames we need ------------------------------------------

def sample_indices(frame_count, k):
    """k frame indices spread evenly over the video: the centres of k equal parts."""
    if frame_count <= k:
        return list(range(frame_count))
    return sorted(set(((np.arange(k) + 0.5) * frame_count / k).astype(int).tolist()))


def shrink(frame, max_side):
    """The frame with its long side at most max_side (never enlarged)."""
    scale = max_side / max(frame.shape[:2])
    if scale >= 1:
        return frame
    return cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def video_info(cap):
    """fps, frame count, width, height and duration that the container reports."""
    fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    return dict(fps=round(fps, 3), frame_count=count,
                width=int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                height=int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                duration=round(count / fps, 3) if fps > 0 else 0.0)


def open_video(path):
    """An OpenCV capture with one decoding thread (the stages run one video per core)."""
    return cv2.VideoCapture(str(path), cv2.CAP_ANY, [cv2.CAP_PROP_N_THREADS, 1])


def _count_by_grabbing(path):
    cap = open_video(path)
    count = 0
    while cap.grab():
        count += 1
    cap.release()
    return count


def _grab_sampled(path, wanted, max_side):
    """(indices, frames, frames grabbed): grab up to the last wanted frame, retrieve the wanted."""
    cap = open_video(path)
    indices, frames, grabbed = [], [], 0
    try:
        while grabbed <= max(wanted) and cap.grab():
            if grabbed in wanted:
                ok, frame = cap.retrieve()
                if ok:
                    indices.append(grabbed)
                    frames.append(shrink(frame, max_side))
            grabbed += 1
    finally:
        cap.release()
    return indices, frames, grabbed


def file_problem(path):
    """Why path is not a non-empty regular file (a video can only be one of those), or None."""
    try:
        info = os.stat(path)
    except OSError as e:
        if e.errno == errno.ELOOP:
            return "a symbolic link loop, not a video file"
        return "a broken symbolic link (its target does not exist)" if os.path.islink(path) \
            else "file not found"
    if stat.S_ISDIR(info.st_mode):
        return "a directory, not a video file"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (a device, pipe or socket)"
    return "empty file (0 bytes)" if info.st_size == 0 else None


def read_sampled_frames(path, k, max_side):
    """(indices, BGR frames, info) for k evenly spread frames of one video.

    Every frame up to the last one needed is grabbed (demuxed and decoded
    without conversion); only the sampled ones are retrieved and resized.
    A container that over-reports its length is sampled again over the
    frames it really has. Raises SkipInput with a short reason when the file
    is not a usable video.
    """
    path = Path(path)
    problem = file_problem(path)
    if problem:
        raise SkipInput(problem)
    cap = open_video(path)
    try:
        if not cap.isOpened():
            raise SkipInput("not a readable video (unknown format, no video stream, or corrupt)")
        info = video_info(cap)
    finally:
        cap.release()
    if info["frame_count"] <= 0:
        info["frame_count"] = _count_by_grabbing(path)
    wanted = set(sample_indices(info["frame_count"], k))
    if not wanted:
        raise SkipInput("no video frames (audio-only or corrupt)")
    indices, frames, grabbed = _grab_sampled(path, wanted, max_side)
    if 0 < grabbed <= max(wanted):
        info.update(frame_count=grabbed,
                    duration=round(grabbed / info["fps"], 3) if info["fps"] > 0 else 0.0)
        indices, frames, _ = _grab_sampled(path, set(sample_indices(grabbed, k)), max_side)
    if not frames:
        raise SkipInput("no frame could be decoded (truncated or corrupt)")
    return np.array(indices, dtype=np.int64), frames, info


# ---- storing frames: one file per video ----------------------------------------

def save_frames(path, indices, frames, fmt, quality):
    """Write one .npz holding a video's compressed frames; return its size in bytes."""
    offsets, data = pack(frames, fmt, quality)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, indices=indices, offsets=offsets, data=data)
    return Path(path).stat().st_size


def load_frames(path):
    """(indices, BGR frames) from a file written by save_frames."""
    with np.load(path) as z:
        return z["indices"], unpack(z["offsets"], z["data"])
