"""Tiny test videos: a real face photo pasted at known places, written with cv2.VideoWriter."""
from pathlib import Path

import cv2
import numpy as np

from deepfake_dvc.crops_file import crops_file_bytes, faces_path
from deepfake_dvc.demo import FACE_PHOTO, PHOTO_FACE_BOX
from deepfake_dvc.files import write_bytes_atomic


def face_frame(width, height, face_height=None, center=None, shade=90):
    """(BGR frame, face box) with the photo scaled so its face box is face_height tall.

    With face_height None the frame has no face and the box is None.
    """
    frame = np.full((height, width, 3), shade, np.uint8)
    if face_height is None:
        return frame, None
    return frame, paste_face(frame, face_height, center or (width // 2, height // 2))


def paste_face(frame, face_height, center):
    """Paste the photo into frame (in place), face box face_height tall at center; the box."""
    height, width = frame.shape[:2]
    photo = cv2.imread(str(FACE_PHOTO))
    scale = face_height / (PHOTO_FACE_BOX[3] - PHOTO_FACE_BOX[1])
    photo = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    cx, cy = center
    x0 = int(round(cx - (PHOTO_FACE_BOX[0] + PHOTO_FACE_BOX[2]) / 2 * scale))
    y0 = int(round(cy - (PHOTO_FACE_BOX[1] + PHOTO_FACE_BOX[3]) / 2 * scale))
    ph, pw = photo.shape[:2]
    fx0, fy0, fx1, fy1 = max(x0, 0), max(y0, 0), min(x0 + pw, width), min(y0 + ph, height)
    frame[fy0:fy1, fx0:fx1] = photo[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0]
    return tuple(np.array(PHOTO_FACE_BOX) * scale + [x0, y0, x0, y0])


def dim_room(frame, face_height, seed=0):
    """frame as a dim room films it: darkened (gamma 1.8, 30 % gain), smeared by the
    camera's low-light noise reduction (a blur of face_height / 22) and grainy.

    dlib's HOG finds no face in it; MTCNN does.
    """
    rng = np.random.default_rng(seed)
    dark = (frame.astype(np.float32) / 255) ** 1.8 * 255 * 0.3
    dark = cv2.GaussianBlur(dark, (0, 0), face_height / 22) + rng.normal(0, 2, frame.shape)
    return np.clip(dark, 0, 255).astype(np.uint8)


def write_video(path, frames, fps=10, fourcc="mp4v"):
    """Write BGR frames to path with OpenCV's encoder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    assert writer.isOpened(), f"cannot write {path}"
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def face_video(path, n_frames=6, width=320, height=240, face_height=100, **kw):
    """A video of n_frames with the face drifting a little; returns the path."""
    frames = [face_frame(width, height, face_height,
                         (width // 2 + 2 * i, height // 2), shade=80 + i)[0]
              for i in range(n_frames)]
    return write_video(path, frames, **kw)


def outside_box(shape, box):
    """A boolean mask of the pixels wholly outside box (left, top, right, bottom)."""
    left, top, right, bottom = box
    mask = np.ones(shape[:2], bool)
    mask[max(int(np.floor(top)), 0):max(int(np.ceil(bottom)), 0),
         max(int(np.floor(left)), 0):max(int(np.ceil(right)), 0)] = False
    return mask


def save_faces(video_id, faces, fmt, quality, folder):
    """Write one video's crops file into folder, as detect_faces' process does."""
    write_bytes_atomic(faces_path(video_id, folder), crops_file_bytes(faces, fmt, quality))
