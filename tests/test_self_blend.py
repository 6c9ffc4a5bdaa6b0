"""Self-blended fakes: the blend itself, and detect_faces' synthesize_fakes."""
import json

import numpy as np
import pandas as pd

from deepfake_dvc.blend import random_blend, self_blend
from deepfake_dvc.crops_file import load_faces
from deepfake_dvc.params import load_yaml
from tests.conftest import run, set_params
from tests.synth import face_video, outside_box


def test_self_blend_changes_only_inside_the_box_even_at_the_image_edge():
    image = np.random.default_rng(0).integers(0, 256, (80, 120, 3), dtype=np.uint8)
    blend = random_blend(np.random.default_rng(1))
    for box in [(30.5, 10.2, 90.7, 70.9), (-20, -15, 40, 45), (100, 60, 150, 110)]:
        out = self_blend(image, box, blend)
        assert out.dtype == np.uint8 and out.shape == image.shape
        outside = outside_box(image.shape, box)
        assert np.array_equal(out[outside], image[outside]), box
        assert not np.array_equal(out[~outside], image[~outside]), box
        assert np.array_equal(out, self_blend(image, box, blend))
    assert np.array_equal(self_blend(image, (200, 200, 260, 260), blend), image)


def test_detect_faces_adds_a_self_blended_fake_per_real_video(project):
    videos = project / "videos"
    face_video(videos / "real" / "a.mp4")
    face_video(videos / "real" / "b.mp4", face_height=120)
    face_video(videos / "fake" / "c.mp4")
    face_video(videos / "real" / "a-sbi.mp4", face_height=110)  # a user's name like a derived id
    set_params(project, frames_per_video=3, synthesize_fakes=True,
               frame_format="png")  # lossless crops: pixels outside the blend stay equal
    detect = run("python -m stages.detect_faces", project)
    assert "3 self-blended fakes" in detect.stderr

    table = pd.read_csv(project / "data/faces.csv").set_index("id")
    assert sorted(table.index) == ["fake_c", "real_a", "real_a+sbi", "real_a-sbi",
                                   "real_a-sbi+sbi", "real_b", "real_b+sbi"]
    assert sorted(p.stem for p in (project / "data/faces").glob("*.npz")) == sorted(table.index)
    margin = load_yaml(project / "params.yaml")["face_margin"]
    for real_id in ("real_a", "real_b", "real_a-sbi"):
        real, fake = table.loc[real_id], table.loc[f"{real_id}+sbi"]
        assert (fake["label"], fake["status"], fake["path"]) == ("fake", "ok", f"{real['path']}#sbi")
        assert fake["group"] == real["group"] and fake["faces"] == real["faces"] == 3
        real_faces = load_faces(real_id, project / "data/faces")
        fake_faces = load_faces(f"{real_id}+sbi", project / "data/faces")
        for key in ("frame_indices", "boxes", "scores"):
            assert np.array_equal(real_faces[key], fake_faces[key]), key
        size = real_faces["crops"].shape[1]
        half = size / margin / 2
        outside = outside_box((size, size), (size / 2 - half,) * 2 + (size / 2 + half,) * 2)
        for real_crop, fake_crop in zip(real_faces["crops"], fake_faces["crops"]):
            assert np.array_equal(real_crop[outside], fake_crop[outside])
            assert np.abs(real_crop[~outside].astype(int) - fake_crop[~outside]).mean() > 1

    metrics = json.loads((project / "metrics/faces.json").read_text())
    assert metrics["videos"] == 4 and metrics["synthesized_fakes"] == 3
