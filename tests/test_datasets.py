"""The field's datasets as they are downloaded: layouts, labels, groups, sources, official splits."""
import glob
import json
import os
import threading
from pathlib import Path

import pandas as pd
import pytest

from deepfake_dvc.datasets import assign_ids, list_videos
from deepfake_dvc.errors import ConfigError, DataError
from deepfake_dvc.layouts import find_layout
from deepfake_dvc.video import file_problem
from deepfake_dvc.video_files import VIDEO_EXTS, glob_videos, video_entries
from tests.conftest import run, set_params
from tests.synth import face_video


def promptly(call, seconds=10):
    """call()'s result; the test fails when it has not come within seconds (a hang)."""
    result = []
    worker = threading.Thread(target=lambda: result.append(call()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert result, f"no result within {seconds} s"
    return result[0]


def touch(root, *paths):
    """Empty files at paths under root (listing reads names, not contents)."""
    for path in paths:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(b"")


def faceforensics(root, compression="c23"):
    """A FaceForensics++ tree: six YouTube sources, their swaps by two methods, the split
    files (test.json also names a pair the folder lacks), and a c40 copy to ignore."""
    ids = ["000", "003", "010", "011", "020", "021"]
    touch(root, *[f"original_sequences/youtube/{compression}/videos/{i}.mp4" for i in ids],
          "original_sequences/youtube/c40/videos/000.mp4")
    for method in ("Deepfakes", "FaceSwap"):
        touch(root, *[f"manipulated_sequences/{method}/{compression}/videos/{a}_{b}.mp4"
                      for a, b in [("000", "003"), ("003", "000"), ("010", "011"),
                                   ("011", "010"), ("020", "021"), ("021", "020")]])
    for split, pairs in [("train", [["000", "003"]]), ("val", [["010", "011"]]),
                         ("test", [["020", "021"], ["998", "999"]])]:
        (root / f"{split}.json").write_text(json.dumps(pairs), encoding="utf-8")
    return root


def test_faceforensics_labels_groups_sources_and_official_split(tmp_path, capsys):
    root = faceforensics(tmp_path)
    assert find_layout(root).name == "faceforensics"
    table = list_videos(root).set_index("path")
    assert len(table) == 18 and (table["status"] == "ok").all()
    assert not any("c40" in p for p in table.index)
    original = "original_sequences/youtube/c23/videos/{}.mp4".format
    fake = "manipulated_sequences/Deepfakes/c23/videos/{}.mp4".format
    assert table.loc[original("000"), "label"] == "real"
    assert table.loc[fake("003_000"), "label"] == "fake"
    assert table.loc[fake("003_000"), "source"] == original("003")  # 003's footage
    assert table.loc[fake("000_003"), "source"] == original("000")
    assert table.loc[original("000"), "source"] == ""
    pair = [original("000"), original("003"), fake("000_003"), fake("003_000")]
    assert table.loc[pair, "group"].nunique() == 1  # a fake and both its sources
    assert table.loc[original("010"), "group"] != table.loc[original("000"), "group"]
    splits = table["official_split"]
    assert splits[pair].tolist() == ["train"] * 4
    assert splits[fake("011_010")] == "val" and splits[original("021")] == "test"
    assert "test.json: 1 of 2 pairs name videos that are not in" in capsys.readouterr().err


def test_faceforensics_compression_and_methods_are_chosen(tmp_path):
    root = faceforensics(tmp_path)
    table = list_videos(root, ff_compression="c40", ff_methods=["Deepfakes"])
    assert table["path"].tolist() == ["original_sequences/youtube/c40/videos/000.mp4"]
    table = list_videos(root, ff_methods=["FaceSwap"])
    assert not table["path"].str.contains("Deepfakes").any() and len(table) == 12


ORIGINAL = "original_sequences/youtube/c23/videos/{}.mp4".format
FAKE = "manipulated_sequences/Deepfakes/c23/videos/{}.mp4".format


@pytest.mark.parametrize("bad", [
    "original_sequences/youtube/c23/videos/_.mp4",
    "original_sequences/youtube/c23/videos/000_003.mp4",  # an original has one id
    "original_sequences/actors/c23/videos/000__.mp4",
    "original_sequences/actors/c23/videos/__.mp4",
    "manipulated_sequences/Deepfakes/c23/videos/000.mp4",  # a fake has two
    "manipulated_sequences/Deepfakes/c23/videos/_003.mp4",
    "manipulated_sequences/Deepfakes/c23/videos/000_003_010.mp4",
    "manipulated_sequences/DeepFakeDetection/c23/videos/01_02__walking.mp4",  # no code
])
def test_faceforensics_names_that_do_not_fit_are_refused_rows(tmp_path, bad, capsys):
    root = faceforensics(tmp_path)
    methods = ["Deepfakes", "FaceSwap", "DeepFakeDetection"]
    before = list_videos(root, ff_methods=methods).set_index("path")
    touch(root, bad)
    table = list_videos(root, ff_methods=methods).set_index("path")
    stem = Path(bad).stem
    assert table.loc[bad, "status"].startswith(
        f"error: name '{stem}' does not fit FaceForensics++'s convention (")
    assert table.loc[bad, "group"] == bad and table.loc[bad, "source"] == ""
    assert table.drop(index=bad).equals(before)  # the others as without it
    assert f"{bad}: name '{stem}' does not fit" in capsys.readouterr().err


def test_faceforensics_split_entries_that_are_not_id_pairs_are_left_out(tmp_path, capsys):
    root = faceforensics(tmp_path)
    (root / "test.json").write_text(json.dumps([["020", "021"], ["000", "003", "005"], "010",
                                                ["011", 7]]))
    splits = list_videos(root).set_index("path")["official_split"]
    err = capsys.readouterr().err
    assert ('test.json: 3 of 4 entries are not pairs of ids (e.g. ["000", "003", "005"]); '
            'left out') in err
    assert "more than one" not in err  # the ids of entries left out are in no split
    assert [splits[ORIGINAL(i)] for i in ("000", "010", "011", "020")] == [
        "train", "val", "val", "test"]


def test_faceforensics_ids_in_two_splits_get_no_official_split(tmp_path, capsys):
    root = faceforensics(tmp_path)
    (root / "test.json").write_text(json.dumps([["020", "021"], ["003", "010"]]))
    splits = list_videos(root).set_index("path")["official_split"]
    assert ("2 ids are named in more than one of train.json, val.json, test.json "
            "(003 in train and test, 010 in val and test); their videos get no official split"
            ) in capsys.readouterr().err
    assert [splits[p] for p in (ORIGINAL("003"), FAKE("000_003"), FAKE("003_000"),
                                ORIGINAL("010"), FAKE("011_010"))] == [""] * 5
    assert [splits[p] for p in (ORIGINAL("000"), ORIGINAL("011"), FAKE("020_021"))] == [
        "train", "val", "test"]


def test_deepfakedetection_actors_are_grouped_by_person(tmp_path):
    touch(tmp_path, "original_sequences/actors/c23/videos/01__walking.mp4",
          "original_sequences/actors/c23/videos/02__talking.mp4",
          "original_sequences/actors/c23/videos/03__talking.mp4",
          "manipulated_sequences/DeepFakeDetection/c23/videos/01_02__walking__ABC.mp4")
    table = list_videos(tmp_path).set_index("path")
    fake = "manipulated_sequences/DeepFakeDetection/c23/videos/01_02__walking__ABC.mp4"
    assert table.loc[fake, "source"] == "original_sequences/actors/c23/videos/01__walking.mp4"
    groups = table["group"]
    assert groups.iloc[0] == groups.iloc[1] == groups[fake] != groups.iloc[2]
    assert (table["official_split"] == "").all()  # no split files


def celeb_df(root):
    touch(root, *[f"Celeb-real/{s}.mp4" for s in ("id0_0000", "id1_0001", "id2_0000")],
          *[f"YouTube-real/{s}.mp4" for s in ("00000", "00001")],
          *[f"Celeb-synthesis/{s}.mp4" for s in ("id0_id1_0000", "id1_id0_0001", "id2_id3_0000")])
    (root / "List_of_testing_videos.txt").write_text(
        "1 YouTube-real/00001.mp4\n0 Celeb-synthesis/id2_id3_0000.mp4\n"
        "1 Celeb-real/id2_0000.mp4\n1 Celeb-real/id9_0000.mp4\n", encoding="utf-8")
    return root


def test_celeb_df_identities_sources_and_official_test_list(tmp_path):
    root = celeb_df(tmp_path)
    assert find_layout(root).name == "celeb-df"
    table = list_videos(root).set_index("path")
    assert table.loc["Celeb-synthesis/id0_id1_0000.mp4", "label"] == "fake"
    assert table.loc["YouTube-real/00000.mp4", "label"] == "real"
    assert table.loc["Celeb-synthesis/id1_id0_0001.mp4", "source"] == "Celeb-real/id1_0001.mp4"
    groups = table["group"]
    assert groups["Celeb-real/id0_0000.mp4"] == groups["Celeb-real/id1_0001.mp4"] \
        == groups["Celeb-synthesis/id0_id1_0000.mp4"] != groups["Celeb-real/id2_0000.mp4"]
    splits = table["official_split"]
    assert splits[["YouTube-real/00001.mp4", "Celeb-synthesis/id2_id3_0000.mp4",
                   "Celeb-real/id2_0000.mp4"]].tolist() == ["test"] * 3
    assert splits["Celeb-real/id0_0000.mp4"] == "train"
    # listed for test but not downloaded: a row, which detect_faces records as not found
    assert table.loc["Celeb-real/id9_0000.mp4", "official_split"] == "test"


def test_celeb_df_names_that_do_not_fit_are_refused_rows(tmp_path, capsys):
    root = celeb_df(tmp_path)
    bad = ["Celeb-real/clip.mp4", "Celeb-real/id0_.mp4", "Celeb-real/id0_id1_0000.mp4",
           "Celeb-synthesis/id0_0000.mp4", "Celeb-synthesis/id0__0000.mp4"]
    touch(root, *bad)
    table = list_videos(root).set_index("path")
    assert table.loc["Celeb-real/clip.mp4", "status"] == (
        "error: name 'clip' does not fit Celeb-DF's convention (Celeb-real idN_NNNN, "
        "Celeb-synthesis idN_idM_NNNN)")
    assert table.loc[bad, "status"].str.startswith("error: name ").all()
    assert table.loc[bad, "group"].tolist() == bad and (table.loc[bad, "source"] == "").all()
    assert (table.drop(index=bad)["status"] == "ok").all()
    assert table.loc["Celeb-synthesis/id0_id1_0000.mp4", "source"] == "Celeb-real/id0_0000.mp4"
    groups = table["group"]
    assert groups["Celeb-real/id0_0000.mp4"] == groups["Celeb-real/id1_0001.mp4"]
    err = capsys.readouterr().err
    assert "Celeb-real/clip.mp4: name 'clip' does not fit Celeb-DF's convention" in err
    assert "Celeb-synthesis/id0_0000.mp4: name 'id0_0000' does not fit" in err


def test_dfdc_public_test_labels(tmp_path):
    touch(tmp_path, "aaa.mp4", "bbb.mp4")
    (tmp_path / "labels.csv").write_text("filename,label\naaa.mp4,1\nbbb.mp4,0\n")
    table = list_videos(tmp_path).set_index("path")
    assert table["label"].to_dict() == {"aaa.mp4": "fake", "bbb.mp4": "real"}


def test_a_folder_of_no_known_layout_names_the_layouts_looked_for(tmp_path):
    touch(tmp_path, "videos/a.mp4")
    with pytest.raises(DataError, match=r"matches no dataset layout: looked for labels.csv .*; "
                                        r"metadata.json \(DFDC\); original_sequences/"):
        list_videos(tmp_path)


def test_a_forced_layout_that_is_not_there_says_what_is_missing(tmp_path):
    touch(tmp_path, "real/a.mp4", "fake/b.mp4")
    with pytest.raises(DataError, match="dataset 'celeb-df'"):
        list_videos(tmp_path, dataset="celeb-df")


# ---- real/ and fake/ folders, labels.csv, DFDC's metadata.json; ids ----

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
    with pytest.raises(ConfigError) as stop:
        list_videos(tmp_path / "nowhere")
    assert str(stop.value) == (f"data_dir '{tmp_path / 'nowhere'}' does not exist or is not a "
                               f"folder (set data_dir in params.yaml)")


def test_ids_are_safe_and_unique():
    ids = assign_ids(["real/a b.mp4", "real/a_b.mp4", "fake/ünï.mp4"])
    assert ids[2] == "fake_uni"
    assert len(set(ids)) == 3 and all(" " not in i for i in ids)


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


def test_entries_named_like_videos_that_are_not_files_are_listed(tmp_path):
    real = tmp_path / "real"
    (real / "dir.mp4").mkdir(parents=True)
    (real / "dangling.mp4").symlink_to("nowhere.mp4")
    (real / "loop.mp4").symlink_to("loop.mp4")
    (real / "linked").symlink_to(real)  # a link to a folder already walked: not walked again
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


def test_a_faceforensics_download_goes_through_to_its_official_split(project):
    root = project / "videos"
    pairs = {"train": ["000", "003"], "val": ["010", "011"], "test": ["020", "021"]}
    for split, (a, b) in pairs.items():
        (root / f"{split}.json").parent.mkdir(parents=True, exist_ok=True)
        (root / f"{split}.json").write_text(json.dumps([[a, b]]))
        for target, donor in ((a, b), (b, a)):
            height = 80 + int(target) % 7 * 8  # each source's own footage; its fake shares it
            face_video(root / f"original_sequences/youtube/c23/videos/{target}.mp4",
                       n_frames=4, face_height=height)
            face_video(root / f"manipulated_sequences/Deepfakes/c23/videos/{target}_{donor}.mp4",
                       n_frames=4, face_height=height)
    face_video(root / "original_sequences/youtube/c23/videos/030.mp4", n_frames=4)
    set_params(project, frames_per_video=2)
    for stage in ("inputs", "detect_faces", "split"):
        run(f"python -m stages.{stage}", project)

    split = pd.read_csv(project / "data/split.csv", dtype=str).set_index("path")
    for name, official in pairs.items():
        a, b = official
        these = [f"original_sequences/youtube/c23/videos/{i}.mp4" for i in (a, b)] + \
            [f"manipulated_sequences/Deepfakes/c23/videos/{i}_{j}.mp4" for i, j in ((a, b), (b, a))]
        assert split.loc[these, "split"].tolist() == [name] * 4  # a fake and both its sources
    metrics = json.loads((project / "metrics/split.json").read_text())
    assert metrics["mode"] == "official" and metrics["left_out"]["not_in_official_split"] == 1
    assert metrics["groups_across_splits"] == 0
    faces = pd.read_csv(project / "data/faces.csv", dtype=str, keep_default_na=False)
    assert (faces.loc[faces["label"] == "fake", "faces_from"] != "").all()  # source's boxes


def test_special_files_named_like_videos_are_listed_without_being_opened(tmp_path):
    (tmp_path / "real").mkdir()
    os.mkfifo(tmp_path / "real" / "pipe.mp4")  # opening it to read would wait for a writer
    (tmp_path / "real" / "zero.mp4").symlink_to("/dev/zero")  # reading it never ends
    touch(tmp_path, "fake/f.mp4")
    table = promptly(lambda: list_videos(tmp_path))
    assert table["path"].tolist() == ["real/pipe.mp4", "real/zero.mp4", "fake/f.mp4"]
    for name in ("pipe.mp4", "zero.mp4"):  # which detect_faces records
        assert file_problem(tmp_path / "real" / name).startswith("not a regular file")


# ---- folder walks and glob patterns: links followed, each real folder once ----

def test_a_link_to_a_parent_folder_is_walked_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    touch(tmp_path, "root/a.mp4", "root/sub/b.MP4", "root/sub/deeper/c.avi")
    os.symlink("..", "root/sub/link")
    os.symlink("../..", "root/sub/deeper/up.mp4")  # named like a video: listed, not walked
    assert sorted(promptly(lambda: list(video_entries(Path("root"))))) == [
        Path(p) for p in ("root/a.mp4", "root/sub/b.MP4", "root/sub/deeper/c.avi",
                          "root/sub/deeper/up.mp4")]
    assert promptly(lambda: glob_videos("root/**/*.mp4")) == [
        Path("root/a.mp4"), Path("root/sub/deeper/up.mp4")]


def test_links_to_folders_elsewhere_are_followed_once(tmp_path):
    touch(tmp_path, "store/x.mp4", "store/deep/y.mp4", "data/fake/f.mp4")
    (tmp_path / "data" / "real").mkdir()
    (tmp_path / "data" / "real" / "clips").symlink_to(tmp_path / "store")
    (tmp_path / "data" / "real" / "again").symlink_to(tmp_path / "store")
    table = list_videos(tmp_path / "data")
    assert table["path"].tolist() == ["real/again/deep/y.mp4", "real/again/x.mp4", "fake/f.mp4"]


def tree_without_loops(root):
    """Videos in folders, hidden ones, other files, a folder named like a video and a link
    to a folder elsewhere."""
    touch(root, "root/a.mp4", "root/B.MP4", "root/.hidden.mp4", "root/notes.txt",
          "root/abc/x1.MP4", "root/abc/x22.MP4", "root/ab/x2.MP4", "root/ab/y2.mp4",
          "root/sub/c.avi", "root/d/sub/e.avi", "root/d/e/sub/f.avi", "root/.h/sub/g.avi",
          "elsewhere/i.mp4", "elsewhere/sub/h.avi")
    (root / "root" / "dir.mp4").mkdir()
    (root / "root" / "linked").symlink_to(root / "elsewhere")


@pytest.mark.parametrize("pattern", [
    "root/*.mp4", "root/**/*.mp4", "root/a*/x?.MP4", "root/**/sub/*.avi", "root/[!a]*/*",
    "root/**", "*/*/*.avi", "root/.h*/**/*.avi", "{tmp}/root/**/*.[am][pv]?"])
def test_glob_videos_matches_as_glob_does(tmp_path, monkeypatch, pattern):
    tree_without_loops(tmp_path)
    monkeypatch.chdir(tmp_path)
    pattern = pattern.format(tmp=tmp_path)
    expected = sorted(Path(p) for p in glob.glob(pattern, recursive=True)
                      if Path(p).suffix.lower() in VIDEO_EXTS)
    assert expected and glob_videos(pattern) == expected


@pytest.fixture
def notes_layout():
    """A layout registered by this test alone: videos.txt lists 'label path' lines."""
    from deepfake_dvc.layouts import LAYOUTS, Layout, register, video_table

    def videos(root, **options):
        rows = [dict(zip(("label", "path"), line.split()))
                for line in (root / "videos.txt").read_text().splitlines()]
        return video_table(rows, where=[f"videos.txt line {i + 1}" for i in range(len(rows))])

    yield register(Layout("notes", "videos.txt (label path)",
                          lambda root: (root / "videos.txt").is_file(), videos))
    del LAYOUTS["notes"]


def test_a_layout_registered_elsewhere_is_a_dataset_and_auto_finds_it(tmp_path, notes_layout):
    from deepfake_dvc.params import read_params
    face_video(tmp_path / "a.mp4")
    face_video(tmp_path / "b.mp4")
    (tmp_path / "videos.txt").write_text("real a.mp4\nfake b.mp4\nfake ../elsewhere.mp4\n")
    for dataset in ("notes", "auto"):
        table = list_videos(tmp_path, dataset)
        assert table[["path", "label", "status"]].values.tolist()[:2] == [
            ["a.mp4", "real", "ok"], ["b.mp4", "fake", "ok"]]
        assert table["status"][2].startswith("error: outside data_dir")
    (tmp_path / "params.yaml").write_text("dataset: notes\n")
    assert read_params(["dataset"], tmp_path / "params.yaml") == {"dataset": "notes"}
    (tmp_path / "params.yaml").write_text("dataset: nowhere\n")
    with pytest.raises(ConfigError, match="use one of auto, labels, dfdc, faceforensics, "
                                          "celeb-df, folders, notes"):
        read_params(["dataset"], tmp_path / "params.yaml")
