"""Reading videos: labels, ids, frame sampling, storage."""
import json

import cv2
import numpy as np
import pytest

from stages.common import ConfigError, DataError, SkipInput
from stages.video import (
    as_stored,
    assign_ids,
    file_problem,
    list_videos,
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


def test_folders_any_extension_case(tmp_path):
    for name in ("real/a.MP4", "real/sub/b.avi", "fake/c.Mov", "fake/d.webm", "fake/notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    table = list_videos(tmp_path)
    assert sorted(table["path"]) == ["fake/c.Mov", "fake/d.webm", "real/a.MP4", "real/sub/b.avi"]
    assert (table["group"] == table["path"]).all()
    assert dict(zip(table["path"], table["label"]))["fake/c.Mov"] == "fake"


def test_labels_csv_with_groups(tmp_path):
    (tmp_path / "labels.csv").write_text("path,label,group\nx.mp4,REAL,x\ny.mp4,Fake,x\nz.mp4,real,\n")
    table = list_videos(tmp_path)
    assert table[["label", "group"]].values.tolist() == [["real", "x"], ["fake", "x"], ["real", "z.mp4"]]


def test_dfdc_metadata_original_becomes_group(tmp_path):
    meta = {"b.mp4": {"label": "FAKE", "split": "train", "original": "a.mp4"},
            "a.mp4": {"label": "REAL", "split": "train", "original": None}}
    (tmp_path / "metadata.json").write_text(json.dumps(meta))
    table = list_videos(tmp_path).set_index("path")
    assert table.loc["b.mp4", "group"] == table.loc["a.mp4", "group"] == "a.mp4"
    assert table.loc["b.mp4", "label"] == "fake"


def test_missing_data_dir_stops_with_its_name(tmp_path):
    with pytest.raises(ConfigError, match="data_dir .*nowhere"):
        list_videos(tmp_path / "nowhere")


def test_ids_are_safe_and_unique():
    ids = assign_ids(["real/a b.mp4", "real/a_b.mp4", "fake/ünï.mp4"])
    assert ids[2] == "fake_uni"
    assert len(set(ids)) == 3 and all(" " not in i for i in ids)


def test_over_reported_length_is_sampled_over_the_real_frames(tmp_path, monkeypatch):
    import stages.video
    path = numbered_video(tmp_path / "n.avi", 20)
    real_info = stages.video.video_info
    monkeypatch.setattr(stages.video, "video_info", lambda cap: dict(real_info(cap), frame_count=100))
    indices, frames, info = read_sampled_frames(path, 4, 1920)
    assert indices.tolist() == [2, 7, 12, 17] and info["frame_count"] == 20
    assert [round(float(f.mean()) / 5) for f in frames] == [2, 7, 12, 17]


def test_a_path_listed_twice_is_kept_once(tmp_path):
    (tmp_path / "labels.csv").write_text("path,label\n000.mp4,real\n000.mp4,real\n001.mp4,fake\n")
    table = list_videos(tmp_path)
    assert table["path"].tolist() == ["000.mp4", "001.mp4"]
    assert assign_ids(table["path"].tolist()) == ["000", "001"]


# ---- one video, one identity; only what DVC tracks; malformed label files ------

def labels(folder, text, files=()):
    """Write labels.csv (and empty stand-ins for the files it names) into folder."""
    for name in files:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"x")
    (folder / "labels.csv").write_text(text)
    return folder


@pytest.mark.parametrize("alias", ["./r4.mp4", "sub/../r4.mp4", "link.mp4"])
def test_one_file_listed_under_two_spellings_is_one_video(tmp_path, alias, capsys):
    labels(tmp_path, f"path,label\nr4.mp4,real\n{alias},real\nf.mp4,fake\n", ["r4.mp4", "f.mp4"])
    (tmp_path / "link.mp4").symlink_to("r4.mp4")
    table = list_videos(tmp_path)
    assert table["path"].tolist() == ["r4.mp4", "f.mp4"]
    assert "labels.csv line 3 names the same video as labels.csv line 2" in capsys.readouterr().err


def test_one_file_with_two_labels_is_an_error_naming_both_rows(tmp_path):
    labels(tmp_path, "path,label\nr4.mp4,real\nf.mp4,fake\n./r4.mp4,fake\n", ["r4.mp4", "f.mp4"])
    with pytest.raises(DataError, match=r"labels.csv line 2 \('r4.mp4'\) and labels.csv line 4 "
                                        r"\('./r4.mp4'\) .* different labels \(real, fake\)"):
        list_videos(tmp_path)


def test_a_link_from_real_to_a_fake_file_is_an_error(tmp_path):
    (tmp_path / "fake").mkdir()
    (tmp_path / "fake" / "y.mp4").write_bytes(b"x")
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "x.mp4").symlink_to("../fake/y.mp4")
    with pytest.raises(DataError, match="real/x.mp4 and fake/y.mp4 are the same video file"):
        list_videos(tmp_path)


def test_a_group_naming_a_video_in_another_spelling_joins_its_group(tmp_path):
    labels(tmp_path, "path,label,group\nreal/a.mp4,real,\nfake/b.mp4,fake,./real/a.mp4\n"
                     "fake/c.mp4,fake,real//a.mp4\nfake/d.mp4,fake,person-7\n",
           ["real/a.mp4", "fake/b.mp4", "fake/c.mp4", "fake/d.mp4"])
    assert list_videos(tmp_path)["group"].tolist() == ["real/a.mp4"] * 3 + ["person-7"]


def test_dfdc_names_of_one_file_with_two_labels_are_an_error(tmp_path):
    meta = {"a.mp4": {"label": "REAL"}, "./a.mp4": {"label": "FAKE", "original": "a.mp4"}}
    (tmp_path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(DataError, match="entry './a.mp4' and .*entry 'a.mp4'"):
        list_videos(tmp_path)


def test_rows_outside_data_dir_are_refused_and_named(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "outside.mp4").write_bytes(b"x")
    labels(data, f"path,label\n../outside.mp4,real\n{tmp_path / 'outside.mp4'},fake\n"
                 f"ok.mp4,real\nsub/../../outside.mp4,fake\n", ["ok.mp4"])
    table = list_videos(data).set_index("path")
    assert table.loc["ok.mp4", "status"] == "ok"
    refused = table[table["status"] != "ok"]
    assert len(refused) == 3 and refused["status"].str.contains("outside data_dir").all()
    err = capsys.readouterr().err
    assert "labels.csv line 2: outside data_dir" in err and "labels.csv line 5" in err


def test_unknown_labels_and_empty_paths_are_refused_rows(tmp_path):
    labels(tmp_path, "path,label\na.mp4,maybe\n,real\nb.mp4,fake\n", ["a.mp4", "b.mp4"])
    status = list_videos(tmp_path)["status"].tolist()
    assert status == ["error: unknown label 'maybe' (expected real or fake)", "error: empty path",
                      "ok"]


@pytest.mark.parametrize("name,content,message", [
    ("labels.csv", "", "labels.csv cannot be read"),
    ("labels.csv", "path,label\na.mp4,real,x,y\n", "labels.csv cannot be read"),
    ("labels.csv", "file,kind\na.mp4,real\n", "missing column"),
    ("metadata.json", "[1, 2]", "expected an object .*found list"),
    ("metadata.json", '{"a.mp4": "FAKE"}', "entry 'a.mp4' is \"FAKE\""),
    ("metadata.json", '{"a.mp4": {"label": "FAKE", "original": 7}}', "entry 'a.mp4'"),
    ("metadata.json", '{"a.mp4": ', "not valid JSON"),
])
def test_malformed_label_files_are_one_clear_error(tmp_path, name, content, message):
    (tmp_path / name).write_text(content)
    with pytest.raises(DataError, match=message):
        list_videos(tmp_path)


def test_entries_named_like_videos_that_are_not_files_are_listed(tmp_path):
    real = tmp_path / "real"
    (real / "dir.mp4").mkdir(parents=True)
    (real / "dangling.mp4").symlink_to("nowhere.mp4")
    (real / "loop.mp4").symlink_to("loop.mp4")
    (real / "linked").symlink_to(tmp_path)  # a linked folder is not followed (nor is it by DVC)
    (tmp_path / "fake").mkdir()
    (tmp_path / "fake" / "f.mp4").write_bytes(b"x")
    table = list_videos(tmp_path)
    assert sorted(table["path"]) == ["fake/f.mp4", "real/dangling.mp4", "real/dir.mp4",
                                     "real/loop.mp4"]
    assert file_problem(real / "dir.mp4") == "a directory, not a video file"
    assert "broken symbolic link" in file_problem(real / "dangling.mp4")
    assert "symbolic link loop" in file_problem(real / "loop.mp4")
    assert file_problem(tmp_path / "fake" / "f.mp4") is None


def test_ids_of_colliding_names_cannot_meet_other_ids():
    paths = ["a b.mp4", "a_b.mp4", "a_b+1.mp4", "a-sbi.mp4", "a.mp4"]
    ids = assign_ids(paths)
    assert len(set(ids)) == 5
    assert ids[2:] == ["a_b_1", "a-sbi", "a"]
    assert all(i.startswith("a_b+") for i in ids[:2])
