"""The demo videos: matplotlib's public-domain photo of Grace Hopper filmed like footage (a
background, smooth camera motion, changing light, sensor noise, mp4v), and each fake the
same footage with the face self-blended frame by frame (blend.py)."""
import dataclasses
from pathlib import Path

import cv2
import matplotlib
import numpy as np
import pandas as pd

from deepfake_dvc.blend import random_blend, self_blend
from deepfake_dvc.errors import DataError
from deepfake_dvc.files import atomic_path
from deepfake_dvc.paths import DEMO_DIR

FACE_PHOTO = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"


PHOTO_FACE_BOX = (161, 137, 376, 352)  # dlib HOG's box on the photo (left, top, right, bottom)


FPS = 25


FOURCC = "mp4v"


def load_photo():
    """The face photo (BGR) shipped with matplotlib."""
    photo = cv2.imread(str(FACE_PHOTO))
    if photo is None:
        raise DataError(f"cannot read the demo face photo {FACE_PHOTO} "
                        f"(is matplotlib installed whole?)")
    return photo


def background(rng, width, height):
    """A float BGR backdrop: a two-colour gradient under a soft, blotchy texture."""
    colours = rng.uniform(30, 220, (2, 3)).astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    along = xs * np.cos(angle) + ys * np.sin(angle)
    ramp = ((along - along.min()) / np.ptp(along))[..., None]
    texture = cv2.resize(rng.uniform(-1, 1, (5, 8, 3)).astype(np.float32), (width, height),
                         interpolation=cv2.INTER_CUBIC)
    return colours[0] + ramp * (colours[1] - colours[0]) + texture * rng.uniform(10, 40)


def feathered_alpha(height, width, feather):
    """1 inside, fading to 0 over `feather` pixels at each edge."""
    xs = np.minimum(np.arange(width), np.arange(width)[::-1])
    ys = np.minimum(np.arange(height), np.arange(height)[::-1])
    return np.clip(np.minimum(ys[:, None], xs[None, :]) / feather, 0, 1).astype(np.float32)


def build_scene(rng, photo, face_height, size):
    """(float BGR scene of `size`, face box in it): the photo, maybe mirrored, on a backdrop.

    The photo is scaled so its face box is face_height tall and placed with its
    face near the scene's centre.
    """
    width, height = size
    left, top, right, bottom = PHOTO_FACE_BOX
    if rng.random() < 0.5:
        photo = photo[:, ::-1]
        left, right = photo.shape[1] - right, photo.shape[1] - left
    scale = face_height / (bottom - top)
    photo = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    alpha = feathered_alpha(*photo.shape[:2], feather=0.08 * min(photo.shape[:2]))
    centre = np.array([width, height]) * [rng.uniform(0.42, 0.58), rng.uniform(0.4, 0.5)]
    offset = centre - scale * np.array([(left + right) / 2, (top + bottom) / 2])
    move = np.float32([[1, 0, offset[0]], [0, 1, offset[1]]])
    placed = cv2.warpAffine(photo.astype(np.float32), move, size)
    alpha = cv2.warpAffine(alpha, move, size)[..., None]
    scene = (background(rng, width, height) * (1 - alpha) + placed * alpha).astype(np.float32)
    half = face_height / 2
    return scene, (centre[0] - half, centre[1] - half, centre[0] + half, centre[1] + half)


def ease(n):
    """n steps from 0 to 1 that start and stop smoothly."""
    t = np.linspace(0, 1, n) if n > 1 else np.zeros(1)
    return t * t * (3 - 2 * t)


def wobble(rng, n, amplitude):
    """Handheld shake: two slow sines with random frequencies and phases."""
    t = np.arange(n) / FPS
    return sum(amplitude / 2 * np.sin(2 * np.pi * (rng.uniform(0.3, 1.5) * t + rng.random()))
               for _ in range(2))


def camera_path(rng, n, size, face_centre):
    """n scene-to-frame affine matrices: a smooth pan, zoom and slight roll, plus shake."""
    width, height = size
    u = ease(n)
    reach = np.array([0.11 * width, 0.07 * height])
    start, end = (np.array(face_centre) + rng.uniform(-1, 1, 2) * reach for _ in range(2))
    centres = start + u[:, None] * (end - start)
    centres += np.stack([wobble(rng, n, 3.0), wobble(rng, n, 3.0)], axis=1)
    zooms = 1 + u * rng.uniform(-0.08, 0.1)
    rolls = np.radians(rng.uniform(-3, 3) + u * rng.uniform(-3, 3) + wobble(rng, n, 0.5))
    matrices = []
    for (cx, cy), zoom, roll in zip(centres, zooms, rolls):
        rotate = zoom * np.array([[np.cos(roll), -np.sin(roll)], [np.sin(roll), np.cos(roll)]])
        offset = np.array([width / 2, height / 2]) - rotate @ [cx, cy]
        matrices.append(np.hstack([rotate, offset[:, None]]).astype(np.float32))
    return matrices


def face_box_in_frame(matrix, scene_box):
    """The scene's face box as the camera sees it: moved and scaled with the face."""
    left, top, right, bottom = scene_box
    cx, cy = matrix[:, :2] @ [(left + right) / 2, (top + bottom) / 2] + matrix[:, 2]
    half = (right - left) / 2 * np.sqrt(abs(np.linalg.det(matrix[:, :2])))
    return (cx - half, cy - half, cx + half, cy + half)


def lighting(rng, n, size):
    """n float BGR multipliers: exposure and colour drifting, a side light turning."""
    width, height = size
    u = ease(n)[:, None]
    exposure = rng.uniform(0.8, 1.15, 2)
    tints = rng.uniform(0.94, 1.06, (2, 3))
    gains = (exposure[0] + u * np.diff(exposure)) * (tints[0] + u * (tints[1] - tints[0]))
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    xs, ys = (xs - width / 2) / (width / 2), (ys - height / 2) / (width / 2)
    strength = np.float32(rng.uniform(0.05, 0.2))
    angles = rng.uniform(0, 2 * np.pi) + rng.uniform(-0.6, 0.6) * u[:, 0]
    for gain, angle in zip(gains.astype(np.float32), angles.astype(np.float32)):
        side_light = 1 + strength * (xs * np.cos(angle) + ys * np.sin(angle))
        yield side_light[..., None] * gain


def to_pixels(image):
    """A float image as uint8, rounded and clipped."""
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def clip_frames(index, params):
    """Yield (real frame, fake frame, face box) for demo clip `index`, before encoding.

    Both frames are BGR uint8 of the same footage; the fake's face is
    self-blended, and both get the same sensor noise.
    """
    size = (params["demo_width"], params["demo_height"])
    n = params["demo_frames"]
    seeds = np.random.SeedSequence([params["demo_seed"], index]).spawn(4)
    scene_rng, light_rng, blend_rng, noise_rng = (np.random.default_rng(s) for s in seeds)
    scene_size = (int(size[0] * 1.4), int(size[1] * 1.4))
    face_height = scene_rng.uniform(0.38, 0.46) * size[1]
    scene, scene_box = build_scene(scene_rng, load_photo(), face_height, scene_size)
    face_centre = ((scene_box[0] + scene_box[2]) / 2, (scene_box[1] + scene_box[3]) / 2)
    cameras = camera_path(scene_rng, n, size, face_centre)
    lights = lighting(light_rng, n, size)
    noise_level = scene_rng.uniform(1.5, 4.0)
    blend = dataclasses.replace(random_blend(blend_rng), opacity=1.0)  # no faint fakes
    for camera, light in zip(cameras, lights):
        filmed = cv2.warpAffine(scene, camera, size, flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REFLECT101)
        real = to_pixels(filmed * light)
        box = face_box_in_frame(camera, scene_box)
        fake = self_blend(real, box, blend)
        noise = noise_rng.standard_normal(real.shape, dtype=np.float32) * noise_level
        yield to_pixels(real + noise), to_pixels(fake + noise), box


def clip_name(index):
    """The file name that real and fake clip `index` share."""
    return f"clip_{index:02d}.mp4"


def open_writer(path, size):
    """An OpenCV mp4v writer for path, or stop with the reason."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*FOURCC), FPS, size)
    if not writer.isOpened():
        raise DataError(f"OpenCV cannot write {FOURCC} video to {path} "
                        f"(no FFmpeg in this OpenCV build?)")
    return writer


def make_clip(job):
    """Write real and fake clip `index` (each under a temporary name until complete)."""
    index, params = job
    size = (params["demo_width"], params["demo_height"])
    with atomic_path(DEMO_DIR / "real" / clip_name(index)) as real_tmp, \
            atomic_path(DEMO_DIR / "fake" / clip_name(index)) as fake_tmp:
        writers = open_writer(real_tmp, size), open_writer(fake_tmp, size)
        try:
            for real, fake, _ in clip_frames(index, params):
                writers[0].write(real)
                writers[1].write(fake)
        finally:
            for writer in writers:
                writer.release()


def labels_table(count):
    """labels.csv's rows: each fake in the group of the real clip it was made from."""
    reals = [f"real/{clip_name(i)}" for i in range(count)]
    fakes = [f"fake/{clip_name(i)}" for i in range(count)]
    return pd.DataFrame(dict(path=reals + fakes, label=["real"] * count + ["fake"] * count,
                             group=reals + reals))
