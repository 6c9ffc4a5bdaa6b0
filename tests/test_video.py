"""Reading videos: frame sampling, storage."""
import cv2
import numpy as np
import pytest

from stages.codec import as_stored
from stages.common import SkipInput
from stages.video import (
    load_frames,
    read_sampled_frames,
    sample_indices,
    save_frames,
)
from tests.synth import write_video


def numbered_video(path, n, width=64, height=48):
    """Frame i is a flat grey of level 5 * i, so a frame says its own index."""
    return write_video(path, [np.full((height, width, 3), 5 * i, np.uint8) for i in range(n)],
                       fourcc="MJPG")


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


def test_png_storage_is_lossless_and_jpeg_close(tmp_path):
    frames = [np.random.default_rng(i).integers(0, 255, (48, 64, 3), np.uint8) for i in range(3)]
    size = save_frames(tmp_path / "v.npz", np.arange(3), frames, "png", 95)
    indices, back = load_frames(tmp_path / "v.npz")
    assert size == (tmp_path / "v.npz").stat().st_size
    assert indices.tolist() == [0, 1, 2] and all((a == b).all() for a, b in zip(frames, back))
    smooth = [cv2.GaussianBlur(f, (9, 9), 3) for f in frames]
    save_frames(tmp_path / "j.npz", np.arange(3), smooth, "jpg", 95)
    _, jpeg = load_frames(tmp_path / "j.npz")
    assert all(np.abs(a.astype(int) - b).mean() < 3 for a, b in zip(smooth, jpeg))
    assert all((a == b).all() for a, b in zip(jpeg, as_stored(smooth, "jpg", 95)))


def test_over_reported_length_is_sampled_over_the_real_frames(tmp_path, monkeypatch):
    import stages.video
    path = numbered_video(tmp_path / "n.avi", 20)
    real_info = stages.video.video_info
    monkeypatch.setattr(stages.video, "video_info", lambda cap: dict(real_info(cap), frame_count=100))
    indices, frames, info = read_sampled_frames(path, 4, 1920)
    assert indices.tolist() == [2, 7, 12, 17] and info["frame_count"] == 20
    assert [round(float(f.mean()) / 5) for f in frames] == [2, 7, 12, 17]
