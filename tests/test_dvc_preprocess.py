"""The real `dvc repro` on the preprocessing stages, in a temporary git repository."""
from tests.conftest import run, set_params
from tests.synth import face_video


def test_dvc_repro_caches_preprocessing(dvc_project):
    for i in range(2):
        face_video(dvc_project / "videos" / "real" / f"r{i}.mp4")
        face_video(dvc_project / "videos" / "fake" / f"f{i}.mp4", face_height=110)
    set_params(dvc_project, frames_per_video=3)
    run("git add -A && git commit -qm videos", dvc_project)

    first = run("dvc repro detect_faces", dvc_project)
    assert "Running stage 'detect_faces'" in first.stdout
    assert len(list((dvc_project / "data/faces").glob("*.npz"))) == 4
    shown = run("dvc metrics show metrics/faces.json", dvc_project).stdout
    assert "metrics/faces.json" in shown and "12" in shown

    again = run("dvc repro detect_faces", dvc_project)  # only the inputs record, every time
    assert "Running stage 'detect_faces'" not in again.stdout

    set_params(dvc_project, workers=1)  # how to run, not what: the cache stays valid
    assert "Running stage 'detect_faces'" not in run("dvc repro detect_faces", dvc_project).stdout
    assert "detect_faces" not in run("dvc status detect_faces", dvc_project).stdout

    set_params(dvc_project, face_margin=1.5)
    margin = run("dvc repro detect_faces", dvc_project)
    assert "Running stage 'detect_faces'" in margin.stdout
