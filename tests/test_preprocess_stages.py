"""detect_faces runs as a user runs it, on good and bad inputs."""
import json
import wave

import numpy as np
import pandas as pd

from deepfake_dvc.blend import random_blend, self_blend
from deepfake_dvc.crops_file import load_faces
from tests.conftest import run, set_params
from tests.synth import face_frame, face_video, write_video


def make_inputs(videos):
    """Good videos, plus every kind of bad input the stages must step over."""
    face_video(videos / "real" / "good one.mp4")
    face_video(videos / "real" / "ünïcode clip.mp4", face_height=120)
    face_video(videos / "fake" / "good.avi", fourcc="MJPG")
    write_video(videos / "fake" / "one frame.mp4", [face_frame(320, 240, 100)[0]])
    write_video(videos / "fake" / "no face.mp4", [face_frame(320, 240)[0]] * 5)
    write_video(videos / "fake" / "wide shot.mp4",
                [face_frame(1920, 1080, 42, (300 + 10 * i, 800))[0] for i in range(3)])
    (videos / "real" / "zero.mp4").write_bytes(b"")
    (videos / "real" / "text.mp4").write_text("not a video at all")
    whole = (videos / "real" / "good one.mp4").read_bytes()
    (videos / "real" / "truncated.mp4").write_bytes(whole[: len(whole) // 2])
    with wave.open(str(videos / "real" / "audio.mp4"), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
        w.writeframes(np.zeros(8000, np.int16).tobytes())


def test_stages_step_over_bad_inputs_and_record_them(project):
    make_inputs(project / "videos")
    set_params(project, frames_per_video=4, face_align=True)
    detect = run("python -m stages.detect_faces", project)

    manifest = pd.read_csv(project / "data/manifest.csv").set_index("path")
    assert len(manifest) == 10
    status = manifest["status"]
    assert status["real/zero.mp4"] == "error: empty file (0 bytes)"
    for bad in ("real/text.mp4", "real/truncated.mp4", "real/audio.mp4"):
        assert status[bad].startswith("error: "), bad
        assert bad in detect.stderr
    good = manifest[status == "ok"]
    assert sorted(good.index) == ["fake/good.avi", "fake/no face.mp4", "fake/one frame.mp4",
                                  "fake/wide shot.mp4", "real/good one.mp4",
                                  "real/ünïcode clip.mp4"]
    assert good.loc["real/good one.mp4", ["frame_count", "width", "height", "frames_kept"]
                    ].tolist() == [6, 320, 240, 4]
    assert good.loc["fake/one frame.mp4", "frames_kept"] == 1
    assert good["sha256"].str.fullmatch("[0-9a-f]{64}").all()
    assert not (project / "data/frames").exists()  # frames are searched in memory

    faces = pd.read_csv(project / "data/faces.csv").set_index("path")
    assert faces.loc["fake/no face.mp4", "status"] == "no_face"
    assert "no face.mp4: no face in any of its 4 frames" in detect.stderr
    assert faces.loc["fake/wide shot.mp4", "faces"] == 3
    assert faces.loc["real/text.mp4", "status"].startswith("error")
    with_faces = faces[faces["status"] == "ok"]
    assert sorted(p.stem for p in (project / "data/faces").glob("*.npz")) == sorted(with_faces["id"])
    settings = json.loads((project / "data/faces/settings.json").read_text())
    assert settings["frames_per_video"] == 4 and settings["face_margin"] == 1.3
    assert settings["frame_format"] == "jpg" and settings["jpeg_quality"] == 95
    crops = load_faces(with_faces.loc["real/good one.mp4", "id"], project / "data/faces")
    assert crops["crops"].shape == (4, 96, 96, 3) and crops["crops"].dtype == np.uint8
    assert crops["frame_indices"].tolist() == [0, 2, 3, 5]
    assert crops["tracks"].tolist() == [0, 0, 0, 0]
    assert crops["aligned"].all() and crops["landmarks"].shape == (4, 6, 2)

    metrics = json.loads((project / "metrics/faces.json").read_text())
    assert metrics == dict(videos=10, videos_with_faces=5, videos_no_face=1, videos_failed=4,
                           frames=20, faces=16, frames_without_face=4, faces_not_aligned=0,
                           videos_on_source_faces=0)


def test_stage_fails_only_when_nothing_usable_remains(project):
    (project / "videos" / "real").mkdir(parents=True)
    (project / "videos" / "real" / "zero.mp4").write_bytes(b"")
    done = run("python -m stages.detect_faces", project, check=False)
    assert done.returncode != 0
    assert "no videos in 'videos/fake'" in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("error: no usable video")


def test_missing_data_dir_and_bad_parameter_name_the_culprit(project):
    done = run("python -m stages.detect_faces", project, check=False)
    assert done.returncode != 0 and "data_dir 'videos' does not exist" in done.stderr
    set_params(project, frames_per_video=0)
    done = run("python -m stages.detect_faces", project, check=False)
    assert "parameter 'frames_per_video' is 0" in done.stderr


def test_help_on_every_preprocessing_command(project):
    assert "usage" in run("python -m stages.detect_faces --help", project).stdout


def test_entries_that_are_not_videos_get_a_row_and_a_warning(project):
    videos = project / "videos"
    face_video(videos / "real" / "good.mp4")
    face_video(videos / "fake" / "good.mp4", face_height=110)
    (videos / "real" / "folder.mp4").mkdir()
    (videos / "real" / "dangling.mp4").symlink_to("gone.mp4")
    (videos / "fake" / "loop.mp4").symlink_to("loop.mp4")
    set_params(project, frames_per_video=2)
    detect = run("python -m stages.detect_faces", project)
    status = pd.read_csv(project / "data/manifest.csv").set_index("path")["status"]
    assert status.to_dict() == {
        "real/dangling.mp4": "error: a broken symbolic link (its target does not exist)",
        "real/folder.mp4": "error: a directory, not a video file",
        "real/good.mp4": "ok",
        "fake/good.mp4": "ok",
        "fake/loop.mp4": "error: a symbolic link loop, not a video file"}
    for name in ("real/dangling.mp4", "real/folder.mp4", "fake/loop.mp4"):
        assert f"warning: {name}: " in detect.stderr
    faces = pd.read_csv(project / "data/faces.csv").set_index("path")["status"]
    assert faces["real/folder.mp4"].startswith("error") and faces["real/good.mp4"] == "ok"


def test_labels_rows_are_normalised_and_rows_outside_data_dir_refused(project):
    videos = project / "videos"
    face_video(videos / "a.mp4")
    face_video(videos / "b.mp4", face_height=110)
    face_video(project / "outside.mp4")
    (videos / "labels.csv").write_text(
        f"path,label\na.mp4,real\n./a.mp4,real\nb.mp4,fake\n../outside.mp4,fake\n"
        f"{project / 'outside.mp4'},real\n")
    set_params(project, frames_per_video=2)
    detect = run("python -m stages.detect_faces", project)
    manifest = pd.read_csv(project / "data/manifest.csv")
    assert manifest["path"].tolist() == ["a.mp4", "b.mp4", "../outside.mp4",
                                         str(project / "outside.mp4")]
    assert manifest["status"].tolist()[:2] == ["ok", "ok"]
    assert manifest["status"][2:].str.contains("outside data_dir").all()
    assert "labels.csv line 5: outside data_dir" in detect.stderr
    assert "labels.csv line 6: outside data_dir" in detect.stderr
    assert "labels.csv line 3 names the same video as labels.csv line 2" in detect.stderr
    assert sorted(p.name for p in (project / "data/faces").glob("*.npz")) == ["a.npz", "b.npz"]


def test_a_tilde_data_dir_is_refused_with_the_fix(project):
    set_params(project, data_dir="~/videos")
    done = run("python -m stages.detect_faces", project, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "'~/videos'" in done.stderr and "full path" in done.stderr


def test_a_fake_of_its_sources_footage_is_cropped_where_the_source_faces_are(project):
    videos = project / "videos"
    shots = [face_frame(320, 240, 100, (160 + 3 * i, 120), shade=80 + i) for i in range(6)]
    blend = random_blend(np.random.default_rng(0))
    write_video(videos / "real.mp4", [frame for frame, _ in shots])
    write_video(videos / "fake.mp4", [self_blend(frame, box, blend) for frame, box in shots])
    face_video(videos / "other size.mp4", width=352)
    (videos / "labels.csv").write_text("path,label,group\nreal.mp4,real,\n"
                                       "fake.mp4,fake,real.mp4\nother size.mp4,fake,real.mp4\n")
    set_params(project, frames_per_video=3)
    run("python -m stages.detect_faces", project)
    faces = pd.read_csv(project / "data/faces.csv", keep_default_na=False).set_index("id")
    assert faces["faces_from"].to_dict() == {"real": "", "fake": "real", "other_size": ""}
    assert json.loads((project / "metrics/faces.json").read_text())["videos_on_source_faces"] == 1
    real, fake = (load_faces(i, project / "data/faces") for i in ("real", "fake"))
    assert np.array_equal(real["boxes"], fake["boxes"])
    assert np.array_equal(real["frame_indices"], fake["frame_indices"])
    assert not np.array_equal(real["crops"], fake["crops"])  # cut from the fake's own frames

    set_params(project, reuse_source_faces=False)
    run("python -m stages.detect_faces", project)
    faces = pd.read_csv(project / "data/faces.csv", keep_default_na=False)
    assert (faces["faces_from"] == "").all() and (faces["status"] == "ok").all()


def test_a_full_disk_stops_the_stage_and_blames_the_machine_not_the_video(project, small_disk):
    for i in range(4):
        face_video(project / "videos" / ("real" if i % 2 else "fake") / f"v{i}.mp4")
    small_disk(project / "data" / "faces", 24)  # room for about one video's crops
    done = run("python -m stages.detect_faces", project, check=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: cannot write 'data/faces/") and "No space left on device" \
        in last and "a fault of this machine, not of the input" in last, done.stderr
    assert "skipped" not in done.stderr  # no video recorded as bad
    assert not (project / "data" / "manifest.csv").exists()
    assert not list((project / "data" / "faces").glob(".*tmp*"))  # nothing half-written
