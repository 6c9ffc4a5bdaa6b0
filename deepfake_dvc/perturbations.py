"""What a video goes through on its way to a fact-checker, as conditions to test a model under:
re-encoded (real H.264), shrunk, pixelated, blurred, noisy, JPEG-compressed, desaturated,
darkened or blotted with blocks, each at a level. `perturbations` in params.yaml lists them
as kind:level (h264:35, blur:2) or names a grid of them (deeperforensics).

A frame condition changes each decoded frame before it is shrunk to frame_max_side, sampled
frames only (the same as changing every frame, as none looks at its neighbours); a video
condition (h264) re-encodes the whole file, since its damage depends on the other frames.
Random conditions (noise, blockwise) draw from a stream keyed by the video and the frame, so
a run is byte-identical to the last.
"""
import dataclasses
import hashlib
import subprocess
from pathlib import Path

import cv2
import numpy as np

from deepfake_dvc.errors import MachineError, SkipInput
from deepfake_dvc.params import Registry, add_cross_rule, between, integer, number

KINDS = Registry("perturbation kind")


@dataclasses.dataclass(frozen=True)
class Kind:
    """A kind of condition: its level's rule (between(...)), what the level means, and
    apply(frame, level, rng) for a frame condition or None for h264 (the whole video)."""
    rule: tuple
    level_means: str
    apply: object = None


def kind(name, rule, level_means):
    """Register the decorated apply(frame, level, rng) as the frame condition name."""
    def register(apply):
        KINDS.add(name, Kind(rule, level_means, apply))
        return apply
    return register


KINDS.add("h264", Kind(between(integer, 0, 51), "x264's constant rate factor (23 its default; "
                       "higher: smaller and worse)"))


@kind("downscale", between(number, 0.05, 1, closed="right"), "the frames' new size, a "
      "fraction of the old (kept small, as a re-upload at a lower resolution)")
def downscale(frame, level, rng):
    height, width = frame.shape[:2]
    size = (max(1, round(width * level)), max(1, round(height * level)))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


@kind("pixelate", between(number, 1, 16), "shrunk by this factor, then enlarged back "
      "(DeeperForensics' 'JPEG' level)")
def pixelate(frame, level, rng):
    height, width = frame.shape[:2]
    small = cv2.resize(frame, (max(1, int(width / level)), max(1, int(height / level))),
                       interpolation=cv2.INTER_LINEAR)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


@kind("blur", between(number, 0, 20, closed="right"), "the Gaussian's sigma in pixels")
def blur(frame, level, rng):
    return cv2.GaussianBlur(frame, (0, 0), level)


@kind("noise", between(number, 0, 255, closed="right"), "the Gaussian noise's standard "
      "deviation in pixel levels (0..255), on each colour channel")
def noise(frame, level, rng):
    noisy = frame + level * rng.standard_normal(frame.shape, dtype=np.float32)
    return np.clip(noisy + 0.5, 0, 255).astype(np.uint8)


@kind("jpeg", between(integer, 1, 100), "the JPEG quality each frame is re-compressed at")
def jpeg(frame, level, rng):
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, level])
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


@kind("saturation", between(number, 0, 1), "the colour (chroma) kept: 1 all, 0 none")
def saturation(frame, level, rng):
    ycrcb = cv2.cvtColor(frame, cv2.COLOR_BGR2YCrCb)
    chroma = ycrcb[..., 1:]  # 128 + (c - 128) * level, rounded
    ycrcb[..., 1:] = cv2.convertScaleAbs(chroma, alpha=level, beta=128 * (1 - level))
    return cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2BGR)


@kind("contrast", between(number, 0, 1), "every pixel multiplied by it (DeeperForensics' "
      "colour contrast: 1 unchanged, lower darker and flatter)")
def contrast(frame, level, rng):
    return (frame.astype(np.float32) * level).astype(np.uint8)


BLOCK = 8  # px: the side of a blockwise condition's grey squares


@kind("blockwise", between(integer, 0, 1000), "grey 8-px squares dropped at random, per "
      "256 px of the frame's short side (DeeperForensics' block-wise distortion)")
def blockwise(frame, level, rng):
    frame = frame.copy()
    height, width = frame.shape[:2]
    for _ in range(level * max(1, min(height, width) // 256)):
        y, x = rng.integers(0, max(1, height - BLOCK)), rng.integers(0, max(1, width - BLOCK))
        frame[y:y + BLOCK, x:x + BLOCK] = 128
    return frame


# DeeperForensics-1.0's grid: its seven distortions at five levels each, in its units
# translated to ours (noise: variance of [0, 1] pixels as a standard deviation of 0..255;
# blur: kernel k as sigma k / 6; its 'JPEG' is a shrink-and-enlarge by 2..6: pixelate).
GRIDS = {"deeperforensics": [
    *(f"saturation:{v}" for v in (0.4, 0.3, 0.2, 0.1, 0.0)),
    *(f"contrast:{v}" for v in (0.85, 0.725, 0.6, 0.475, 0.35)),
    *(f"blockwise:{v}" for v in (16, 32, 48, 64, 80)),
    *(f"noise:{round(255 * v ** 0.5, 1)}" for v in (0.001, 0.002, 0.005, 0.01, 0.05)),
    *(f"blur:{round(k / 6, 2)}" for k in (7, 9, 13, 17, 21)),
    *(f"pixelate:{v}" for v in (2, 3, 4, 5, 6)),
    *(f"h264:{v}" for v in (30, 32, 35, 38, 40)),
]}


@dataclasses.dataclass(frozen=True)
class Condition:
    """One condition: a registered kind at a level; name is how params.yaml writes it."""
    name: str
    kind: str
    level: object

    def frame_transform(self, video):
        """transform(frame, index) for read_sampled_frames, its random draws keyed by video
        (a name) and the frame's index; None for a video condition."""
        apply = KINDS[self.kind].apply
        if apply is None:
            return None
        key = int.from_bytes(hashlib.sha256(f"{self.name}|{video}".encode()).digest()[:8], "big")
        return lambda frame, index: apply(frame, self.level, np.random.default_rng([key, index]))


def parse(name):
    """The Condition that kind:level names; ValueError saying what is wrong with it."""
    kind_name, colon, level_text = str(name).partition(":")
    if kind_name not in KINDS:
        raise ValueError(f"'{name}': unknown kind '{kind_name}' (kinds: {', '.join(KINDS)}; "
                         f"grids: {', '.join(GRIDS)})")
    convert, valid, hint = KINDS[kind_name].rule
    try:
        level = convert(level_text)
        ok = bool(colon) and valid(level)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"'{name}': {kind_name}'s level is {KINDS[kind_name].level_means}: "
                         f"{hint}, as in {kind_name}:<level>")
    return Condition(str(name), kind_name, level)


def conditions(entry):
    """The Conditions one entry of perturbations stands for: a grid's, or its own."""
    return [parse(name) for name in GRIDS.get(entry, [entry])]


def invalid_entry(entries):
    """Why the first unusable entry of perturbations is so, or None when all are usable."""
    for entry in entries:
        try:
            conditions(entry)
        except ValueError as e:
            return str(e)
    return None


add_cross_rule(["perturbations"], "perturbations",
               lambda values: (invalid_entry(values["perturbations"]) is None,
                               invalid_entry(values["perturbations"])))


MACHINE_FAULTS = ("No space left on device", "Permission denied", "Read-only file system",
                  "Disk quota exceeded")  # ffmpeg's words for a write the machine refused


def reencoded(path, condition, folder):
    """The video at path re-encoded as condition (h264) says, into folder: real H.264 by the
    ffmpeg that imageio-ffmpeg ships, every frame kept (no frame-rate change), one thread
    (the stage runs a video per core). Raises SkipInput when ffmpeg cannot encode it."""
    import imageio_ffmpeg
    out = Path(folder) / "reencoded.mp4"
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y",
               "-i", str(path), "-map", "0:v:0", "-an", "-c:v", "libx264",
               "-crf", str(condition.level), "-preset", "veryfast", "-threads", "1",
               "-pix_fmt", "yuv420p", "-vf", "crop=trunc(iw/2)*2:trunc(ih/2)*2",
               "-fps_mode", "passthrough", str(out)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        if any(fault in done.stderr for fault in MACHINE_FAULTS):
            raise MachineError(f"cannot write '{out}': {last} (a fault of this machine, not "
                               f"of the input: free space or fix permissions, then run again)")
        raise SkipInput(f"{condition.name}: ffmpeg could not re-encode it ({last})")
    return out
