"""Reading videos: frame sampling; the images' storage."""
import os
import struct
import subprocess
import sys

import cv2
import numpy as np
import pytest

import deepfake_dvc.video
from deepfake_dvc.codec import pack, unpack
from deepfake_dvc.errors import SkipInput
from deepfake_dvc.video import read_sampled_frames, sample_indices
from tests.conftest import ROOT
from tests.synth import write_video


def numbered_video(path, n, width=64, height=48):
    """Frame i is a flat grey of level 5 * i, so a frame says its own index."""
    return write_video(path, [np.full((height, width, 3), 5 * i, np.uint8) for i in range(n)],
                       fourcc="MJPG")


def misreported_video(path, n, reported):
    """numbered_video of n frames whose AVI headers say it has reported frames."""
    data = bytearray(numbered_video(path, n).read_bytes())
    # the frame count of the main header, the stream header's length, the OpenDML total
    for chunk, offset in ((b"avih", 16), (b"strh", 32), (b"dmlh", 0)):
        struct.pack_into("<I", data, data.index(chunk) + 8 + offset, reported)
    path.write_bytes(data)
    cap = cv2.VideoCapture(str(path))
    assert cap.get(cv2.CAP_PROP_FRAME_COUNT) == reported, "OpenCV must see the wrong count"
    cap.release()
    return path


def test_sample_indices_are_centres_of_equal_parts():
    assert sample_indices(100, 4) == [12, 37, 62, 87]
    assert sample_indices(3, 8) == [0, 1, 2]
    assert sample_indices(1, 32) == [0]
    assert sample_indices(0, 4) == []


def test_read_sampled_frames_returns_exactly_the_sampled_frames(tmp_path):
    path = numbered_video(tmp_path / "n.avi", 40)
    indices, frames, info = read_sampled_frames(path, 4, 1920)
    assert indices.tolist() == [5, 15, 25, 35]
    levels = [round(float(f.mean()) / 5) for f in frames]
    assert levels == [5, 15, 25, 35]
    assert info["frame_count"] == 40 and info["width"] == 64 and info["fps"] == 10


def test_frames_are_shrunk_to_max_side_never_enlarged(tmp_path):
    big = write_video(tmp_path / "big.mp4", [np.zeros((1080, 1920, 3), np.uint8)] * 2)
    assert read_sampled_frames(big, 2, 640)[1][0].shape == (360, 640, 3)
    assert read_sampled_frames(big, 2, 4000)[1][0].shape == (1080, 1920, 3)


def test_one_frame_video(tmp_path):
    path = numbered_video(tmp_path / "one.avi", 1)
    indices, frames, _ = read_sampled_frames(path, 8, 1920)
    assert indices.tolist() == [0] and len(frames) == 1


@pytest.mark.parametrize("content,reason", [
    (b"", "empty file"),
    (b"this is text, not a video", "not a readable video"),
])
def test_unreadable_files_raise_a_clear_reason(tmp_path, content, reason):
    path = tmp_path / "bad.mp4"
    path.write_bytes(content)
    with pytest.raises(SkipInput, match=reason):
        read_sampled_frames(path, 4, 640)


def test_missing_file(tmp_path):
    with pytest.raises(SkipInput, match="file not found"):
        read_sampled_frames(tmp_path / "nope.mp4", 4, 640)


def test_png_storage_is_lossless_and_jpeg_close():
    images = [np.random.default_rng(i).integers(0, 255, (48, 64, 3), np.uint8) for i in range(3)]
    offsets, data = pack(images, "png", 95)
    assert offsets[-1] == len(data) and len(offsets) == 4
    assert all((a == b).all() for a, b in zip(images, unpack(offsets, data)))
    smooth = [cv2.GaussianBlur(f, (9, 9), 3) for f in images]
    jpeg = unpack(*pack(smooth, "jpg", 95))
    assert all(np.abs(a.astype(int) - b).mean() < 3 for a, b in zip(smooth, jpeg))


def test_over_reported_length_is_sampled_over_the_real_frames(tmp_path, monkeypatch):
    path = numbered_video(tmp_path / "n.avi", 20)
    real_info = deepfake_dvc.video.video_info
    monkeypatch.setattr(deepfake_dvc.video, "video_info", lambda cap: dict(real_info(cap), frame_count=100))
    indices, frames, info = read_sampled_frames(path, 4, 1920)
    assert indices.tolist() == [2, 7, 12, 17] and info["frame_count"] == 20
    assert [round(float(f.mean()) / 5) for f in frames] == [2, 7, 12, 17]


@pytest.mark.parametrize("reported", [0, 2, 9, 11])
def test_a_misreported_length_is_sampled_over_the_frames_that_decode(tmp_path, reported):
    path = misreported_video(tmp_path / "n.avi", 10, reported)
    indices, frames, info = read_sampled_frames(path, 4, 1920)
    assert indices.tolist() == [1, 3, 6, 8]
    assert [round(float(f.mean()) / 5) for f in frames] == [1, 3, 6, 8]
    assert info["frame_count"] == 10 and info["duration"] == 1.0


@pytest.mark.parametrize("reported,k,opened", [
    (10, 4, 2),  # the header, then one pass that samples and counts
    (11, 1, 2),  # over-reported, but the one frame sampled is the same
    (2, 4, 3),   # under-reported: sampled again over the count
])
def test_a_video_is_decoded_again_only_when_its_sample_changes(tmp_path, monkeypatch,
                                                               reported, k, opened):
    path = misreported_video(tmp_path / "n.avi", 10, reported)
    opens = []
    real_open = deepfake_dvc.video.open_video
    monkeypatch.setattr(deepfake_dvc.video, "open_video", lambda p: opens.append(p) or real_open(p))
    read_sampled_frames(path, k, 1920)
    assert len(opens) == opened


LEAK_SCRIPT = """
import sys
from deepfake_dvc.errors import SkipInput
from deepfake_dvc.video import read_sampled_frames
for path in sys.argv[1:]:
    try:
        print(len(read_sampled_frames(path, 4, 640)[1]), "frames")
    except SkipInput as e:
        print(e)
"""


def test_ffmpeg_and_opencv_say_nothing_about_damaged_videos(tmp_path):
    whole = write_video(tmp_path / "whole.mp4", [np.full((48, 64, 3), 9, np.uint8)] * 10)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    header = bytearray(numbered_video(tmp_path / "header.avi", 10).read_bytes())
    header[24:224] = b"\xff" * 200  # the main and stream headers
    (tmp_path / "header.avi").write_bytes(header)
    frames = bytearray(numbered_video(tmp_path / "frames.avi", 10).read_bytes())
    start, end = frames.index(b"movi") + 400, frames.index(b"idx1") - 400
    frames[start:end:97] = bytes(len(range(start, end, 97)))  # holes in the JPEG data
    (tmp_path / "frames.avi").write_bytes(frames)
    paths = [str(truncated), str(tmp_path / "header.avi"), str(tmp_path / "frames.avi")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCV_")}  # the defaults

    def read(**levels):
        return subprocess.run([sys.executable, "-c", LEAK_SCRIPT, *paths], cwd=ROOT,
                              env=dict(env, PYTHONPATH=str(ROOT), **levels),
                              capture_output=True, text=True, errors="replace", check=True)

    quiet = read()
    assert quiet.stderr == ""
    truncated_line, header_line, frames_line = quiet.stdout.splitlines()
    assert truncated_line.startswith("not a readable video") and header_line == truncated_line
    assert frames_line.endswith(" frames")
    loud = read(OPENCV_FFMPEG_LOGLEVEL="16", OPENCV_LOG_LEVEL="WARNING")  # FFmpeg's errors
    assert len((loud.stdout + loud.stderr).splitlines()) > 3, "the videos are damaged enough"
