"""Self-blended faces (Shiohara & Yamasaki, CVPR 2022): fakes made from real faces alone.

A face is blended into itself: a copy with slightly changed colour, scale,
position and sharpness is laid over the original under a feathered ellipse
inside the face box. What is left is what face swaps leave: a blending
boundary and a colour and detail mismatch, with no second identity needed.
Shared by make_demo (whole frames) and detect_faces' synthesize_fakes (crops).
"""
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Blend:
    """How one fake changes its face; drawn once per video and kept for every frame."""
    gains: tuple        # colour gain per channel
    offset: float       # brightness shift, in pixel levels
    scale: float        # the copy's size about the face centre
    shift: tuple        # the copy's (x, y) shift, as a fraction of the box side
    sharpen: float      # -1 blurs, 0 keeps, > 0 sharpens the copy
    mask_axes: tuple    # the mask ellipse's (x, y) radii, as a fraction of the half box
    feather: float      # the fraction of the ellipse's radius over which the mask fades out
    opacity: float      # the mask's weight at its centre


def random_blend(rng):
    """A Blend with SBI-like strengths: small enough to look like the same face."""
    return Blend(gains=tuple(rng.uniform(0.9, 1.1, 3)),
                 offset=float(rng.uniform(-12, 12)),
                 scale=float(rng.uniform(0.95, 1.05)),
                 shift=tuple(rng.uniform(-0.03, 0.03, 2)),
                 sharpen=float(rng.choice([-1.0, -0.6, 0.6, 1.0])),
                 mask_axes=(float(rng.uniform(0.8, 0.95)), float(rng.uniform(0.9, 1.0))),
                 feather=float(rng.uniform(0.25, 0.45)),
                 opacity=float(rng.choice([0.6, 0.8, 1.0, 1.0])))


def self_blend(image, box, blend):
    """image (uint8, any channel order) with the face in box blended into itself.

    box is (left, top, right, bottom) in pixels; every pixel outside it is
    returned unchanged.
    """
    left, top, right, bottom = box
    h, w = image.shape[:2]
    x0, y0 = max(int(np.floor(left)), 0), max(int(np.floor(top)), 0)
    x1, y1 = min(int(np.ceil(right)), w), min(int(np.ceil(bottom)), h)
    if x1 <= x0 or y1 <= y0:
        return image.copy()
    original = image[y0:y1, x0:x1].astype(np.float32)
    changed = _changed_copy(image, box, (x0, y0, x1, y1), blend)
    mask = _feathered_ellipse(box, (x0, y0, x1, y1), blend)[..., None] * blend.opacity
    out = image.copy()
    out[y0:y1, x0:x1] = np.clip(np.rint(original + mask * (changed - original)), 0, 255)
    return out


def _changed_copy(image, box, region, blend):
    """The region of a rescaled, shifted, recoloured, re-sharpened copy of image."""
    left, top, right, bottom = box
    x0, y0, x1, y1 = region
    side = max(right - left, bottom - top)
    centre = np.array([(left + right) / 2, (top + bottom) / 2])
    shift = np.array(blend.shift) * side
    # region pixel q comes from image point centre + (q + corner - centre - shift) / scale
    to_source = np.hstack([np.eye(2) / blend.scale,
                           (centre + (np.array([x0, y0]) - centre - shift) / blend.scale)[:, None]])
    copy = cv2.warpAffine(image, to_source, (x1 - x0, y1 - y0),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REFLECT101).astype(np.float32)
    blurred = cv2.GaussianBlur(copy, (0, 0), sigmaX=max(0.6, 0.012 * side))
    copy = copy + blend.sharpen * (copy - blurred)
    return copy * np.float32(blend.gains) + np.float32(blend.offset)


def _feathered_ellipse(box, region, blend):
    """A mask over region: 1 inside the ellipse's core, 0 on and outside the ellipse.

    The ellipse is centred in box and fits inside it, so the mask is 0 outside box.
    """
    left, top, right, bottom = box
    x0, y0, x1, y1 = region
    ax = (right - left) / 2 * blend.mask_axes[0]
    ay = (bottom - top) / 2 * blend.mask_axes[1]
    xs = (np.arange(x0, x1, dtype=np.float32) + 0.5 - (left + right) / 2) / ax
    ys = (np.arange(y0, y1, dtype=np.float32) + 0.5 - (top + bottom) / 2) / ay
    radius = np.sqrt(xs[None, :] ** 2 + ys[:, None] ** 2)
    t = np.clip((1 - radius) / blend.feather, 0, 1)
    return t * t * (3 - 2 * t)
