"""Reading videos: decoding only the frames sampled."""
import errno
import os
import stat
from pathlib import Path

# FFmpeg's own lines about a damaged video ("moov atom not found", "header damaged")
# would print beside the stage's one line about it: quiet unless the user sets a level.
# OpenCV reads this when its FFmpeg backend opens its first file, not at import of cv2.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from deepfake_dvc.errors import SkipInput  # noqa: E402

# OpenCV's own lines about it ("[ERROR:0@...] global cap_ffmpeg_impl.hpp ... open Could
# not find decoder", "[ WARN:0@...]") go too, all but fatal ones. OpenCV reads its level,
# OPENCV_LOG_LEVEL, at import of cv2, often before this module: so unless set, it is set here.
if "OPENCV_LOG_LEVEL" not in os.environ:
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_FATAL)


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


def duration(frame_count, fps):
    """Seconds that frame_count frames last at fps (0 when fps is unknown)."""
    return round(frame_count / fps, 3) if fps > 0 else 0.0


def video_info(cap):
    """fps, frame count, width, height and duration that the container reports."""
    fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    return dict(fps=round(fps, 3), frame_count=count,
                width=int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                height=int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                duration=duration(count, fps))


def open_video(path):
    """An FFmpeg capture with one decoding thread (the stages run one video per core).

    Only FFmpeg: OpenCV's fallback readers (image sequences, its own MJPEG AVI
    parser) read no video file that FFmpeg cannot, and the AVI parser prints
    its complaints about a damaged file straight to stderr.
    """
    return cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])


def _grab_sampled(path, wanted, max_side, stop=None, transform=None):
    """(indices, frames, frames grabbed): grab the first stop frames (all of them by
    default, so frames grabbed is the count that decodes), retrieve the wanted (each
    changed by transform(frame, index) first, if given)."""
    cap = open_video(path)
    indices, frames, grabbed = [], [], 0
    try:
        while (stop is None or grabbed < stop) and cap.grab():
            if grabbed in wanted:
                ok, frame = cap.retrieve()
                if ok:
                    indices.append(grabbed)
                    frames.append(shrink(transform(frame, grabbed) if transform else frame,
                                         max_side))
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


def read_sampled_frames(path, k, max_side, transform=None):
    """(indices, BGR frames, info) for k evenly spread frames of one video.

    Frames are grabbed (demuxed and decoded without conversion) to the end of
    the video, which counts them; only the sampled ones are retrieved and
    resized. The last sampled frame is half a part from the end, so counting
    adds 1/(2k) of the video to the decoding. A video whose container reports
    another length (none, too many or too few) is sampled again over the
    frames that decode, and info holds their count. transform(frame, index), if
    given, changes each sampled frame before it is resized (a perturbation). Raises
    SkipInput with a short reason when the file is not a usable video.
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
    reported = info["frame_count"]
    indices, frames, count = _grab_sampled(path, set(sample_indices(reported, k)), max_side,
                                           transform=transform)
    if count != reported:
        info.update(frame_count=count, duration=duration(count, info["fps"]))
        wanted = set(sample_indices(count, k))
        if wanted != set(indices):
            indices, frames, _ = _grab_sampled(path, wanted, max_side, stop=max(wanted) + 1,
                                               transform=transform)
    if not frames:
        raise SkipInput("no frame could be decoded (truncated or corrupt)" if reported or count
                        else "no video frames (audio-only or corrupt)")
    return np.array(indices, dtype=np.int64), frames, info
