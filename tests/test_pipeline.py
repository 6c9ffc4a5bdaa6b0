"""The newcomer's path and the experiments, with the real `dvc` on a reduced demo set.

One pipeline run is shared by the tests of this module (training costs a
minute or so on two cores); they run in file order.
"""
import io
import json
import shutil
import sys
import time

import cv2
import pandas as pd
import pytest

from deepfake_dvc.crops_file import load_faces
from deepfake_dvc.scoring import headline
from tests.conftest import ROOT, copy_project, init_repo, run, run_killed, set_params
from tests.synth import face_frame, face_video, write_video
from tests.test_dvc_yaml import declared_outputs, is_output

SMALL = dict(demo_clips_per_class=6, demo_frames=12, demo_width=320, demo_height=240,
             frames_per_video=3, face_size=48, backbone="tiny_cnn", img_size=32, lr=1e-3, epochs=3,
             batch_size=8, workers=2, target_accuracy=1.0,  # the backbone is test_model's subject
             perturbations=["blur:2"])
PREPROCESSING_STAGES = ("make_demo", "detect_faces", "split")
EVAL = "dvclive/evaluate/metrics.json"  # evaluate's full test report, written by DVCLive


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """A git + DVC repository after the README's `dvc repro`, killed during training after
    epoch 2 and run again; results committed."""
    project = copy_project(tmp_path_factory.mktemp("newcomer") / "project")
    set_params(project, **SMALL)
    init_repo(project)
    killed, state = run_killed("dvc repro", project, after_epoch=2)  # a preempted machine
    assert state["epochs_done"] == 2 and not state.get("finished"), killed
    repro = run("dvc repro", project)  # goes on at epoch 3
    repro.stdout = killed + repro.stdout + repro.stderr
    written = {p for p in run("git ls-files --others", project).stdout.splitlines()  # ignored too
               if not p.startswith(".dvc/") and "__pycache__" not in p}
    run("git add -A && git commit -qm baseline", project)
    return project, repro.stdout, written


def ran(output):
    """The stages a dvc command ran."""
    return {line.split("'")[1] for line in output.splitlines()
            if line.startswith("Running stage '")}


def test_dvc_repro_runs_everything_and_writes_results(pipeline):
    project, output, _ = pipeline
    assert ran(output) == {"inputs", *PREPROCESSING_STAGES, "train", "evaluate", "forgetting",
                           "generalization", "robust_faces@blur:2", "robustness"}
    assert "train: resuming after epoch 2 of 3 from models/checkpoint" in output
    losses = pd.read_csv(project / "dvclive/train/plots/metrics/train/loss.tsv", sep="\t")
    assert losses["step"].tolist() == [0, 1, 2]  # the epochs before the kill, and the last
    assert json.loads((project / "models/checkpoint/state.json").read_text())["finished"]
    assert [p.name for p in (project / "models/checkpoint").iterdir()] == ["state.json"]
    for path in ("models/model.keras", "models/preprocessing.json", "models/training.json",
                 "models/card.json", EVAL, "metrics/faces.json", "metrics/split.json",
                 "data/predictions.csv"):
        assert (project / path).stat().st_size > 0, path
    for kind in ("confusion", "roc", "precision_recall"):
        for level in ("frames", "videos"):
            assert json.loads((project / f"dvclive/evaluate/plots/sklearn/{kind}/{level}.json")
                              .read_text()), (kind, level)
    assert json.loads((project / "dvclive/evaluate/plots/sklearn/calibration/frames.json")
                      .read_text())
    assert (project / "dvc.yaml").read_text() == (ROOT / "dvc.yaml").read_text()  # no rewrite
    assert "evaluate: temperature" in output and "debug:" not in output  # log_level: info
    assert "cuInit" not in output and "E0000" not in output and "rebuild TensorFlow" not in output
    assert "train: epoch 3/3: accuracy" in output  # progress within training, in our words
    assert "python -m stages.check VIDEO" in output.split("Running stage 'generalization'")[-1]
    for png in ("accuracy", "loss", "confusion", "roc", "reliability"):
        assert (project / "plots" / f"{png}.png").read_bytes()[:4] == b"\x89PNG"

    report = json.loads((project / EVAL).read_text())
    frames = report["frames"]
    split = json.loads((project / "metrics/split.json").read_text())
    test_videos = sum(split["test"].values())
    assert frames["tp"] + frames["fp"] + frames["fn"] + frames["tn"] == frames["count"]
    assert frames["count"] == 3 * test_videos
    assert report["videos"]["count"] == test_videos
    assert set(json.loads((project / "models/preprocessing.json").read_text())) >= {
        "frames_per_video", "face_detector", "face_margin", "face_size", "img_size"}
    assert ran(run("dvc repro", project).stdout) == {"inputs"}  # its record alone: unchanged


def test_the_model_card_says_what_the_model_saw_and_how_sure_it_is(pipeline):
    project, _, _ = pipeline
    card = json.loads((project / "models/card.json").read_text())
    split = pd.read_csv(project / "data/split.csv")
    for part in ("train", "val", "test"):
        for label in ("real", "fake"):
            assert card["data"]["videos"][part][label] == \
                len(split[(split["split"] == part) & (split["label"] == label)])
            assert card["data"]["crops"][part][label] == 3 * card["data"]["videos"][part][label]
    assert card["data"]["demo"] is True and card["data"]["data_dir"] == "data/demo"
    assert card["scope"]["demo"] is True and "not evidence" in card["scope"]["warning"]
    assert set(card["versions"]) >= {"tensorflow", "keras", "python"}
    assert card["training"]["weights"] == "none" and card["training"]["epochs_run"] <= 3
    assert card["training"]["keep_epoch"] == "best"  # the demo's default
    trained = card["training"]
    assert (trained["backbone"], trained["img_size"], trained["tune"]) == ("tiny_cnn", 32, "all")
    untrained = trained["parameters"] - trained["trainable_parameters"]
    assert untrained == 2 * (16 + 32 + 64)  # only the batch norms' statistics: every layer
    assert 1 <= card["training"]["kept_epoch"] <= card["training"]["epochs_run"]
    assert card["decision"]["threshold"] == 0.5 and card["decision"]["temperature"] > 0
    assert card["test"]["frames"]["count"] == json.loads(
        (project / EVAL).read_text())["frames"]["count"]
    report = json.loads((project / EVAL).read_text())
    assert {"ece", "ece_raw", "brier", "brier_raw"} <= set(report["frames"])


def test_every_file_the_stages_write_is_a_declared_output(pipeline):
    _, _, written = pipeline
    by_dvc = {"dvc.lock"} | {p for p in written if p.endswith(".gitignore")}
    assert [p for p in written - by_dvc if not is_output(p, declared_outputs())] == []
    assert all(any(is_output(p, [out]) for p in written)
               for out in declared_outputs(templates=False))  # the eval sets' come later


def test_metrics_and_plots_show(pipeline):
    project, _, _ = pipeline
    shown = run("dvc metrics show", project).stdout
    headline_keys = sorted(json.loads((project / "metrics/test.json").read_text()))
    assert len(headline_keys) == 7 and shown.split()[:8] == ["Path", *headline_keys]
    assert "metrics/test.json" in shown and max(map(len, shown.splitlines())) <= 120
    full = run(f"dvc metrics show {EVAL}", project).stdout  # the full report, on request
    assert "frames.accuracy" in full and "videos.roc_auc" in full
    run("dvc plots show -o plots_html", project)
    html = (project / "plots_html" / "index.html").read_text()
    assert "accuracy.tsv" in html
    for title in ("Confusion, test frames", "ROC, test videos", "Precision-recall, test frames",
                  "Calibration, test frames"):  # DVCLive's plots of the evaluate stage
        assert title in html, title
    shutil.rmtree(project / "plots_html")


def test_same_params_give_the_same_metrics_resumed_or_not(pipeline):
    project, _, _ = pipeline
    before = {p: (project / p).read_text() for p in (
        EVAL, "dvclive/train/metrics.json", "dvclive/train/plots/metrics/train/loss.tsv",
        "dvclive/train/plots/metrics/eval/loss.tsv")}  # of a run killed and resumed (the fixture)
    run("python -m stages.train && python -m stages.evaluate", project)  # in one go
    assert {p: (project / p).read_text() for p in before} == before
    run("git checkout -- . && dvc checkout -f", project)  # the card (in git) with its model


def test_check_matches_evaluate_and_reports_every_video(pipeline, tmp_path):
    project, _, _ = pipeline
    predictions = pd.read_csv(project / "data/predictions.csv")
    tested = [f"data/demo/{p}" for p in predictions["path"][:2]]
    noface = write_video(tmp_path / "no face.mp4", [face_frame(320, 240)[0]] * 4)
    folder = tmp_path / "folder.mp4"  # a folder, whatever its name: the videos in it
    folder.mkdir()
    corrupt = folder / "corrupt.MP4"
    corrupt.write_bytes(b"\x00" * 1000)
    done = run(["python", "-m", "stages.check", "--json", "--out", str(tmp_path / "out"),
                *tested, str(noface), str(folder)], project, check=False)
    assert done.returncode == 1  # an input could not be read
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["video"] for r in results] == [*tested, str(noface), str(corrupt)]
    for result, (_, expected) in zip(results[:2], predictions.iterrows()):
        assert result["verdict"] == expected["verdict"]
        assert result["p_fake"] == pytest.approx(expected["p_fake"], abs=1e-4)  # calibrated
        assert result["p_fake_raw"] == pytest.approx(expected["p_fake_raw"], abs=1e-4)
        assert result["frames_sampled"] == result["faces_found"] == 3
        assert len(result["frame_p_fake"]) == 3 and result["seconds"] > 0
        assert [t["faces"] for t in result["tracks"]] == [3]  # one person, tracked
    assert all(r["model"]["demo"] is True and r["model"]["mark"] == "demo model"
               and "not evidence" in r["model"]["warning"] for r in results)
    assert results[2]["verdict"] == "UNKNOWN" and "no face" in results[2]["reason"]
    assert results[3]["verdict"] == "ERROR" and "not a readable video" in results[3]["error"]
    verdict, timeline, heat = (cv2.imread(p) for p in results[0]["pictures"])
    assert verdict.shape[1] == 480 and verdict.shape[0] > 360  # 320 px enlarged, texts above
    assert timeline.shape[1] == 800 and heat.shape[1] == 760 and heat.std() > 1
    for image, y in ((verdict, 5), (timeline, 25), (heat, 25)):  # DEMO MODEL - NOT EVIDENCE
        assert image[y, 5].tolist() == pytest.approx([32, 0, 176], abs=30)  # its red banner
    for result in results[:3]:  # every step counted, the pictures and Grad-CAM included
        assert {"pictures", "gradcam"} <= set(result["timing"])
        assert result["seconds"] == pytest.approx(sum(result["timing"].values()), abs=0.01)
    assert results[0]["timing"]["gradcam"] == results[0]["gradcam"]["seconds"] > 0
    assert len(list((tmp_path / "out").iterdir())) == 8  # 3 per video with faces, 2 without


def test_check_prints_one_line_per_video_and_explains_a_missing_model(pipeline):
    project, _, _ = pipeline
    videos = ["data/demo/" + p for p in pd.read_csv(project / "data/predictions.csv")["path"][:2]]
    done = run(["python", "-m", "stages.check", *videos], project)
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 2 and all(line.endswith(v) for line, v in zip(lines, videos))
    assert all(line.split()[0] in ("FAKE", "REAL", "UNCERTAIN") and "(demo model)" in line
               and "p(fake)=" in line for line in lines)
    assert done.stderr.count("warning: This model, trained on") == 1
    assert "loading model models/model.keras (TensorFlow; can take half a minute" in done.stderr
    assert "cuInit" not in done.stderr and "E0000" not in done.stderr  # TensorFlow's C++ lines
    verbose = run(["python", "-m", "stages.check", "-v", videos[0]], project)
    assert "debug: tensorflow: " in verbose.stderr  # ... shown when debug messages are asked for
    piped = run(f"python -m stages.check {' '.join(videos)} | head -c 10", project)
    assert len(piped.stdout) == 10 and "Traceback" not in piped.stderr  # the reader went away
    missing = run(["python", "-m", "stages.check", "--model", "nowhere.keras", videos[0]], project,
                  check=False)
    assert missing.returncode == 2 and "dvc repro" in missing.stderr


def test_the_installed_deepfake_check_takes_a_folder_and_writes_a_csv_and_a_summary(
        pipeline, tmp_path):
    project, _, _ = pipeline
    source = copy_project(tmp_path / "source")  # `pip install .` from a clone, offline
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    run([sys.executable, "-m", "venv", "--system-site-packages", "venv"], tmp_path)
    run(["venv/bin/pip", "install", "-q", "--no-index", "--no-build-isolation", str(source)],
        tmp_path)
    command = str(tmp_path / "venv" / "bin" / "deepfake-check")
    assert run([command, "--help"], tmp_path).stdout.startswith("usage: deepfake-check")

    demo = pd.read_csv(project / "data/predictions.csv")["path"]
    (tmp_path / "videos" / "sub").mkdir(parents=True)
    shutil.copy(project / "data/demo" / demo[0], tmp_path / "videos" / "a.mp4")
    shutil.copy(project / "data/demo" / demo[1], tmp_path / "videos" / "sub" / "B.MP4")
    (tmp_path / "videos" / "broken.mp4").write_bytes(b"not a video")
    (tmp_path / "videos" / "notes.txt").write_text("not a video either")
    done = run([command, "videos", "--csv", "out.csv", "-v", "--model",
                str(project / "models" / "model.keras")], tmp_path, check=False)
    assert "debug: videos/a.mp4: faces at frames" in done.stderr  # -v
    assert done.returncode == 1, done.stderr  # one video could not be read
    rows = pd.read_csv(tmp_path / "out.csv").set_index("video")
    assert sorted(rows.index) == ["videos/a.mp4", "videos/broken.mp4", "videos/sub/B.MP4"]
    assert rows.loc["videos/broken.mp4", "verdict"] == "ERROR"
    assert "not a readable video" in rows.loc["videos/broken.mp4", "error"]
    assert set(rows.loc[["videos/a.mp4", "videos/sub/B.MP4"], "verdict"]) <= {
        "FAKE", "REAL", "UNCERTAIN"}
    assert (rows.loc["videos/a.mp4", ["p_fake", "faces_found", "seconds"]] > 0).all()
    assert set(rows["scope"]) == {"demo model"}  # and the card's warning once, beside it:
    assert "not evidence" in (tmp_path / "out.csv.warning.txt").read_text()
    summary = done.stderr.strip().splitlines()[-1]
    counts = {v: int(summary.split(f" {v}")[0].split()[-1]) for v in (
        "FAKE", "REAL", "UNCERTAIN", "UNKNOWN", "failed")}
    assert summary.startswith("summary: 3 video(s): ") and counts["failed"] == 1
    assert sum(counts.values()) == 3 and counts["UNKNOWN"] == 0


def test_without_a_card_check_says_so_and_with_a_full_one_it_warns_of_nothing(pipeline, tmp_path):
    project, _, _ = pipeline
    video = "data/demo/" + pd.read_csv(project / "data/predictions.csv")["path"][0]
    for name in ("model.keras", "preprocessing.json"):
        shutil.copy(project / "models" / name, tmp_path / name)
    bare = run(["python", "-m", "stages.check", "--json", "--model", str(tmp_path / "model.keras"),
                video], project)
    result = json.loads(bare.stdout)
    assert "has no card" in bare.stderr and result["model"]["mark"] == "no model card"
    assert result["model"]["temperature"] == 1.0 and result["p_fake"] == result["p_fake_raw"]

    card = json.loads((project / "models/card.json").read_text())
    card["scope"].update(demo=False, warning=None)  # a demo model's card edited by hand
    (tmp_path / "card.json").write_text(json.dumps(card))
    edited = run(["python", "-m", "stages.check", "--model", str(tmp_path / "model.keras"),
                  video], project, check=False)
    assert edited.returncode == 2 and edited.stdout == ""
    assert "card.json' was changed after evaluate wrote it" in edited.stderr.splitlines()[-1]

    from deepfake_dvc.calibration import Decision, write_card  # the card of a model of real data
    from tests.test_calibration import training
    write_card(tmp_path / "card.json", tmp_path / "model.keras", tmp_path / "preprocessing.json",
               training(), Decision(**card["decision"]), {}, {})
    full = run(["python", "-m", "stages.check", "-q", "--model", str(tmp_path / "model.keras"),
                video], project)
    assert "warning" not in full.stderr and "(" not in full.stdout.split("p(fake)")[0]
    assert "summary:" not in full.stderr and full.stdout.count("\n") == 1  # -q: the verdict only


def test_an_automatic_threshold_reruns_only_evaluate_and_the_summaries(pipeline):
    project, _, _ = pipeline
    quiet = run("dvc exp run -S threshold=auto -S log_level=warning", project)
    assert ran(quiet.stdout) == {"inputs", "evaluate", "forgetting", "generalization",
                                 "robustness"}  # not log_level
    assert "evaluate: temperature" not in quiet.stdout + quiet.stderr
    decision = json.loads((project / "models/card.json").read_text())["decision"]
    assert decision["threshold_rule"] == "equal error rate on the validation frames"
    assert decision["threshold"] == json.loads((project / EVAL).read_text())[
        "threshold"]
    run("git checkout -- . && dvc checkout -f", project)


def test_experiment_reruns_only_training_and_changes_metrics(pipeline):
    project, _, _ = pipeline
    change = "lr_decay=0.01"
    # a run of the old parameters killed after epoch 1 is not resumed
    _, state = run_killed("dvc repro -f -s train", project, after_epoch=1)
    assert state["epochs_done"] == 1 and not state.get("finished")
    done = run(f"dvc exp run -S {change}", project)
    output = done.stdout
    assert ran(output) == {"inputs", "train", "evaluate", "forgetting", "generalization",
                           "robustness"}
    assert "resuming" not in output + done.stderr
    losses = pd.read_csv(project / "dvclive/train/plots/metrics/train/loss.tsv", sep="\t")
    assert losses["step"][0] == 0
    diff = json.loads(run("dvc metrics diff --json", project).stdout)
    assert any(change["diff"] for metrics in diff.values() for change in metrics.values()), diff
    key, value = change.split("=")
    table = run("dvc exp show --csv", project).stdout.splitlines()
    column = table[0].split(",").index(key)
    assert value in {row.split(",")[column] for row in table[1:]}
    readable = run("dvc exp show --only-changed --drop '.*/.*' --csv", project).stdout  # README's
    header = readable.splitlines()[0].split(",")
    assert key in header and "frame_ece" in header and len(header) <= 15, header
    run("git checkout -- . && dvc checkout -f", project)


def test_a_queued_grid_of_backbones_trains_every_point_on_the_same_split(pipeline):
    project, _, _ = pipeline
    run("dvc exp run --queue -S 'backbone=tiny_cnn,clip_vit_tiny' -S train_seed=1", project)
    run("dvc queue start -j 2", project)
    deadline = time.monotonic() + 1200
    while any(word in run("dvc queue status", project).stdout for word in ("Queued", "Running")):
        assert time.monotonic() < deadline, run("dvc queue status", project).stdout
        time.sleep(5)
    table = pd.read_csv(io.StringIO(run("dvc exp show --csv", project).stdout))
    grid = table[table["train_seed"] == 1]
    assert sorted(grid["backbone"]) == ["clip_vit_tiny", "tiny_cnn"], table.to_string()
    metrics = grid["frame_ece"]
    assert metrics.notna().all() and metrics.nunique() == 2  # each point trained its own model
    assert grid["data/split.csv"].nunique() == 1  # one test set: the split has its own seed
    for name in grid["Experiment"]:
        assert ran(run(f"dvc queue logs {name}", project).stdout) == {
            "inputs", "train", "evaluate", "forgetting", "generalization",
            "robustness"}  # the crops came from the cache


def evaluation_set(folder):
    """Other data: two real and two fake clips in real/ and fake/."""
    for i in range(2):
        face_video(folder / "real" / f"r{i}.mp4", face_height=100 + 8 * i)
        face_video(folder / "fake" / f"f{i}.mp4", face_height=104 + 8 * i)
    return str(folder)


def test_evaluation_sets_are_cropped_once_scored_after_training_and_summarised(pipeline, tmp_path):
    project, _, _ = pipeline
    first, second = evaluation_set(tmp_path / "first"), evaluation_set(tmp_path / "second")
    set_params(project, eval_sets={"first": first})
    assert ran(run("dvc repro", project).stdout) == {
        "inputs", "eval_faces@first", "eval_score@first", "forgetting", "generalization",
        "robust_eval_faces@first-blur:2", "robustness"}
    report = json.loads((project / "data/eval/first-report.json").read_text())
    assert report["videos"]["count"] == 4 and report["frames"]["count"] == 4 * 3
    assert json.loads((project / "metrics/eval/first.json").read_text()) == headline(report)
    prep = json.loads((project / "models/preprocessing.json").read_text())
    crops = load_faces(next((project / "data/eval/first").glob("*.npz")).stem,
                       project / "data/eval/first")
    assert crops["crops"].shape[1:] == (prep["face_size"],) * 2 + (3,)
    assert crops["aligned"].all() == prep["face_align"]
    summary = json.loads((project / "metrics/generalization.json").read_text())
    assert list(summary["sets"]) == ["own test split", "first"] and summary["scope"] == "demo model"
    assert (project / "plots/generalization.png").read_bytes()[:4] == b"\x89PNG"

    predicted = pd.read_csv(project / "data/eval/first-predictions.csv")  # check agrees
    checked = json.loads(run(["python", "-m", "stages.check", "--json",
                              f"{first}/{predicted['path'][0]}"], project).stdout)
    assert checked["p_fake"] == pytest.approx(predicted["p_fake"][0], abs=1e-5)

    set_params(project, eval_sets={"first": first, "second": second})
    assert ran(run("dvc repro", project).stdout) == {
        "inputs", "eval_faces@second", "eval_score@second", "forgetting", "generalization",
        "robust_eval_faces@second-blur:2", "robustness"}
    assert "metrics/eval/second.json" in run("dvc metrics show", project).stdout
    set_params(project, epochs=1)  # retraining scores the sets again, without re-cropping
    assert ran(run("dvc repro", project).stdout) == {
        "inputs", "train", "evaluate", "eval_score@first", "eval_score@second", "forgetting",
        "generalization", "robustness"}

    set_params(project, eval_sets={"mine": "data/demo"})
    done = run("dvc repro", project, check=False)
    assert done.returncode != 0 and "overlaps the training data_dir" in done.stderr

    copies = tmp_path / "copies"  # training videos copied into another folder
    demo = pd.read_csv(project / "data/split.csv")
    for label in ("real", "fake"):
        (copies / label).mkdir(parents=True)
        shutil.copy(project / "data/demo" / demo[demo["label"] == label]["path"].iloc[0],
                    copies / label / "renamed.mp4")
    set_params(project, eval_sets={"copies": str(copies)})
    done = run("dvc repro", project, check=False)
    assert done.returncode != 0
    assert "eval_sets 'copies'" in done.stderr and "shares 2 video(s) with the training " \
        "data_dir" in done.stderr and "by content" in done.stderr, done.stderr
    set_params(project, eval_sets={})


ROBUSTNESS_KEYS = {"frame_auc", "video_auc", "frame_acc", "video_acc", "video_eer", "frame_ece",
                   "videos", "unknown_share", "uncertain_share", "face_frame_share"}


def test_perturbations_are_cropped_once_per_condition_and_scored_after_every_training(pipeline,
                                                                                       tmp_path):
    project, _, _ = pipeline
    other = evaluation_set(tmp_path / "other")
    set_params(project, perturbations=["blur:2", "h264:40"], eval_sets={"other": other})
    assert ran(run("dvc repro", project).stdout) == {
        "inputs", "robust_faces@h264:40", "eval_faces@other", "eval_score@other", "forgetting",
        "generalization", "robust_eval_faces@other-blur:2", "robust_eval_faces@other-h264:40",
        "robustness"}
    report = json.loads((project / "metrics/robustness.json").read_text())
    assert report["scope"] == "demo model" and list(report["sets"]) == ["test", "other"]
    for rows in report["sets"].values():
        assert list(rows) == ["clean", "blur:2", "h264:40"]
        assert all(set(row) == ROBUSTNESS_KEYS for row in rows.values())
    clean, test = report["sets"]["test"]["clean"], json.loads(
        (project / "metrics/test.json").read_text())
    assert clean["video_auc"] == test["video_auc"] and clean["frame_ece"] == test["frame_ece"]
    assert report["sets"]["other"]["clean"]["videos"] == 4
    assert "metrics/robustness.json" not in run("dvc metrics show", project).stdout  # headline
    assert "sets.other.h264:40.video_auc" in run(
        "dvc metrics show metrics/robustness.json", project).stdout
    assert (project / "plots/robustness.png").read_bytes()[:4] == b"\x89PNG"

    set_params(project, epochs=2)  # retraining scores every condition again, crops nothing
    assert ran(run("dvc repro", project).stdout) == {
        "inputs", "train", "evaluate", "eval_score@other", "forgetting", "generalization",
        "robustness"}
    set_params(project, perturbations=["blur:2", "h264:40", "noise:500"])
    done = run("dvc repro", project, check=False)
    assert done.returncode != 0 and "'noise:500': noise's level is the Gaussian noise's " \
        "standard deviation in pixel levels (0..255)" in done.stderr, done.stderr
    run("git checkout -- . && dvc checkout -f", project)
