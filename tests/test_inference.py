"""Checker, the library's entry for verdicts: a model loaded once, a video by path or bytes."""
import dataclasses
import json

import yaml

from deepfake_dvc.inference import Checker
from deepfake_dvc.params import Preprocessing
from tests.conftest import ROOT
from tests.synth import face_video

DEFAULTS = yaml.safe_load((ROOT / "params.yaml").read_text())


def test_a_video_given_as_bytes_gets_the_verdict_its_file_gets(tmp_path):
    from deepfake_dvc.model import build_model, save_model
    save_model(build_model(32, backbone="tiny_cnn"), tmp_path / "model.keras")
    Preprocessing(**{k: DEFAULTS[k] for k in Preprocessing.__dataclass_fields__
                     if k != "img_size"}, img_size=32).save(tmp_path / "preprocessing.json")
    video = face_video(tmp_path / "clip.mp4", n_frames=8, width=320, height=240)
    checker = Checker(tmp_path / "model.keras")
    from_file = checker.check(video)
    from_bytes = checker.check_bytes(video.read_bytes(), "clip.mp4")
    assert from_file.faces_found > 0 and from_file.verdict != "ERROR"
    assert from_bytes.video == "clip.mp4" and from_file.video == str(video)
    same_but_time = dict(video="clip.mp4", seconds=from_bytes.seconds, timing=from_bytes.timing)
    assert from_bytes == dataclasses.replace(from_file, **same_but_time)  # sampled aside
    assert len(from_bytes.sampled.faces["crops"]) == from_bytes.faces_found
    assert from_bytes.model["mark"] == "no model card"  # what it is worth, as for a file
    record = json.loads(json.dumps(from_bytes.as_dict()))  # what --json prints
    assert record["verdict"] == from_bytes.verdict and "sampled" not in record
    assert not {"error", "reason", "gradcam", "pictures"} & set(record)  # none of them here
    broken = checker.check_bytes(b"not a video", "broken.mp4")
    assert broken.verdict == "ERROR" and broken.sampled is None and broken.video == "broken.mp4"
    assert "not a readable video" in broken.error and "deepfake-check-" not in broken.error
    assert broken.as_dict()["error"] == broken.error and "reason" not in broken.as_dict()
