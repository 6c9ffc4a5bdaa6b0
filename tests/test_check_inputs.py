"""check refuses a model, settings file, --out or --csv it cannot use: one line, exit 2, no
video read; and what --csv writes (the scope column, the warning file beside it)."""
import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
import yaml

from deepfake_dvc.errors import ConfigError
from deepfake_dvc.inference import Result
from deepfake_dvc.params import Preprocessing
from tests.conftest import ROOT, run
from tests.synth import face_video

DEFAULTS = yaml.safe_load((ROOT / "params.yaml").read_text())
SETTINGS = {key: DEFAULTS[key] for key in Preprocessing.__dataclass_fields__}


def model_dir(folder, model_bytes=b"", settings=SETTINGS):
    """A folder with model.keras (model_bytes) and preprocessing.json (settings, or raw text)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.keras").write_bytes(model_bytes)
    text = settings if isinstance(settings, str) else json.dumps(settings)
    (folder / "preprocessing.json").write_text(text)
    return folder / "model.keras"


def check(project, *args):
    video = face_video(project / "clip.mp4")
    return run(["python", "-m", "stages.check", *map(str, args), str(video)], project, check=False)


def refused(done, *words):
    """The command stopped with exit 2, one error line containing words, and read no video."""
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()  # TensorFlow's start-up notes may come first
    assert "Traceback" not in done.stderr
    assert [line for line in lines if line.startswith("error: ")] == lines[-1:], done.stderr
    assert all(w in lines[-1] for w in words), lines[-1]
    assert done.stdout == ""


@pytest.mark.parametrize("settings,words", [
    ("{not json", ["preprocessing.json' is not valid JSON"]),
    ("[1, 2]", ["preprocessing.json: expected key: value pairs"]),
    ({k: v for k, v in SETTINGS.items() if k != "face_size"},
     ["key 'face_size' is missing from", "preprocessing.json"]),
    (dict(SETTINGS, face_margin=0.2), ["preprocessing.json: key 'face_margin' is 0.2"]),
    (dict(SETTINGS, face_detector="viola-jones"), ["key 'face_detector' is 'viola-jones'"]),
])
def test_bad_preprocessing_settings_are_refused_before_any_video(project, settings, words):
    model = model_dir(project / "m", b"not read", settings)
    refused(check(project, "--model", model), *words)


def test_a_file_that_is_not_a_keras_model_is_named(project):
    refused(check(project, "--model", model_dir(project / "m", b"hello, not a model")),
            "m/model.keras' is not a Keras model file")


def test_a_truncated_or_foreign_zip_is_named(project):
    archive = project / "a.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("config.json", "{}")
        z.writestr("model.weights.h5", b"\0" * 5000)
    whole = archive.read_bytes()
    refused(check(project, "--model", model_dir(project / "t", whole[: len(whole) // 2])),
            "t/model.keras' is not a Keras model file")
    refused(check(project, "--model", model_dir(project / "f", whole)),
            "f/model.keras' cannot be loaded as a Keras model")


@pytest.mark.parametrize("make_out", [
    lambda p: (p / "taken").write_text("a file") and p / "taken",
    lambda p: (p / "taken").write_text("a file") and p / "taken" / "sub"])
def test_an_unusable_out_is_refused_before_the_model_loads(project, make_out):
    out = make_out(project)
    done = check(project, "--out", out, "--model", model_dir(project / "m", b"junk"))
    refused(done, f"--out '{out}'", "a file is in the way")


def test_a_missing_model_says_how_to_get_one(project):
    refused(check(project, "--model", project / "nowhere.keras"), "nowhere.keras' not found",
            "dvc repro")


@pytest.mark.parametrize("card,words", [
    ("{", ["card.json' is not a readable JSON model card"]),
    ('{"decision": {"temperature": 0}}', ["card.json decision: field 'temperature' is 0"]),
    (json.dumps(dict(decision=dict(temperature=1.5, threshold=2, threshold_rule="x",
                                   uncertain_margin=0.1, min_faces=1))),
     ["card.json decision: field 'threshold' is 2: use a number in 0..1"]),
])
def test_a_card_that_cannot_be_parsed_or_holds_impossible_values_is_named(project, card, words):
    model = model_dir(project / "m", b"junk")
    (project / "m" / "card.json").write_text(card)
    refused(check(project, "--model", model), *words)


@pytest.mark.parametrize("target", ["empty", "empty/*.mp4", "empty/**/*.MOV"])
def test_a_folder_or_pattern_without_videos_is_refused(project, target):
    (project / "empty" / "sub").mkdir(parents=True)
    (project / "empty" / "notes.txt").write_text("not a video")
    done = run(["python", "-m", "stages.check", target], project, check=False)
    refused(done, "no videos in", f"'{target}'")


@pytest.mark.parametrize("csv,words", [("folder", ["is a folder"]),
                                       ("nowhere/out.csv", ["does not exist"])])
def test_a_csv_that_cannot_be_written_is_refused_before_the_model_loads(project, csv, words):
    (project / "folder").mkdir()
    refused(check(project, "--csv", csv), f"--csv '{csv}'", *words)


def test_swapped_csv_and_video_arguments_never_overwrite_the_video(project):
    video = face_video(project / "clip.mp4")
    before = video.read_bytes()
    done = run(["python", "-m", "stages.check", "--csv", "clip.mp4", "verdicts.csv",
                "--model", str(model_dir(project / "m", b"junk"))], project, check=False)
    refused(done, "--csv 'clip.mp4' exists and is not a CSV that check wrote; not overwritten")
    assert video.read_bytes() == before and not (project / "verdicts.csv").exists()
    done = run(["python", "-m", "stages.check", "clip.mp4", "--csv", "./clip.mp4",
                "--model", str(project / "m" / "model.keras")], project, check=False)
    refused(done, "--csv 'clip.mp4' is a file this command reads")  # ./ as Path shows it
    assert video.read_bytes() == before


@pytest.mark.parametrize("target,words", [
    ("m/card.json", ["is a file this command reads"]),
    ("m/preprocessing.json", ["is a file this command reads"]),
    ("notes.txt", ["exists and is not a CSV that check wrote; not overwritten"]),
    ("/dev/null", ["is not a regular file"]),
])
def test_a_csv_that_would_replace_a_file_check_did_not_write_is_refused(project, target, words):
    model = model_dir(project / "m", b"junk")
    (project / "m" / "card.json").write_text("{}")
    (project / "notes.txt").write_text("my notes")
    refused(check(project, "--csv", target, "--model", model), f"--csv '{target}'", *words)
    assert (project / "notes.txt").read_text() == "my notes"


def test_an_empty_video_argument_is_refused_not_taken_for_the_current_folder(project):
    face_video(project / "clip.mp4")
    done = run(["python", "-m", "stages.check", ""], project, check=False)
    refused(done, "an empty VIDEO argument (an unset shell variable?)")


def test_a_card_of_another_model_is_refused_naming_both_files(project):
    from deepfake_dvc.calibration import Decision, write_card
    from tests.test_calibration import training
    model = model_dir(project / "m", b"this model")
    other = model_dir(project / "o", b"another model")
    write_card(other.with_name("card.json"), other, other.with_name("preprocessing.json"),
               training(), Decision(1.0, 0.5, "x", 0.1, 1, "mean"), {}, {})
    model.with_name("card.json").write_bytes(other.with_name("card.json").read_bytes())
    refused(check(project, "--model", model), "m/card.json' is not the card of", "m/model.keras'")


def test_a_users_file_where_the_csvs_warning_goes_is_refused_before_the_model_loads(project):
    (project / "verdicts.csv.warning.txt").write_text("my notes")
    refused(check(project, "--csv", "verdicts.csv", "--model", model_dir(project / "m", b"junk")),
            "--csv 'verdicts.csv': its warning file 'verdicts.csv.warning.txt' exists and is not "
            "a warning that check wrote; not overwritten")
    assert (project / "verdicts.csv.warning.txt").read_text() == "my notes"
    assert not (project / "verdicts.csv").exists()


# ---- the CSV's scope column and its warning file, without a model ----------------------

def scoped(kind):
    """The model scope check's results carry: a demo card's, a full card's, or no card's."""
    from deepfake_dvc.calibration import UNCALIBRATED, Decision, scope
    from deepfake_dvc.inference import model_scope
    from tests.test_calibration import training
    decision = Decision(1.5, 0.5, "set in params.yaml", 0.15, 3, "mean")
    found = dict(demo=scope(training(demo=True, real=6, fake=6)), full=scope(training()),
                 none=None)[kind]
    return model_scope(Path("m/card.json"), decision if found else UNCALIBRATED, found)


def results(kind):
    """Hand-made results of check for one model: a verdict and a video it could not read."""
    model = scoped(kind)
    return [Result(video="a.mp4", verdict="FAKE", p_fake=0.9, p_fake_raw=0.8, frames_sampled=8,
                   faces_found=8, seconds=4.25, model=model, timing=dict(model=1.0)),
            Result(video="b.mp4", verdict="ERROR", seconds=0.01, model=model,
                   error="not a readable video")]


@pytest.mark.parametrize("kind,mark", [("demo", "demo model"), ("none", "no model card"),
                                       ("full", "")])
def test_every_csv_row_carries_the_cards_mark_and_reads_back(kind, mark):
    import pandas as pd

    from deepfake_dvc.check import CSV_COLUMNS, csv_text
    text = csv_text(results(kind))
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)
    assert CSV_COLUMNS[:3] == ("video", "verdict", "scope")
    rows = pd.read_csv(io.StringIO(text), keep_default_na=False)
    assert list(rows.columns) == list(CSV_COLUMNS)
    assert list(rows["scope"]) == [mark, mark] and list(rows["verdict"]) == ["FAKE", "ERROR"]
    assert list(rows["seconds"]) == [4.25, 0.01]
    assert [r["scope"] for r in csv.DictReader(io.StringIO(text))] == [mark, mark]


def test_the_cards_warning_goes_once_to_a_file_beside_the_csv(tmp_path):
    import pandas as pd

    from deepfake_dvc.check import WARNING_HEAD, usable_csv, write_csv
    path = tmp_path / "verdicts.csv"
    write_csv(path, results("demo"), scoped("demo"))
    side = tmp_path / "verdicts.csv.warning.txt"
    lines = side.read_text().splitlines()
    assert lines[0] == f"{WARNING_HEAD}verdicts.csv (marked 'demo model' in its scope column):"
    assert lines[1] == scoped("demo")["warning"] and "not evidence" in lines[1]
    assert lines[2] == "model card: m/card.json; threshold 0.5 (set in params.yaml)"
    assert pd.read_csv(path)["video"].tolist() == ["a.mp4", "b.mp4"]  # no comment line in it
    usable_csv(path, set())  # both written by check: replaced on the next run
    write_csv(path, results("full"), scoped("full"))  # a card without a warning
    assert not side.exists() and pd.read_csv(path, keep_default_na=False)["scope"].tolist() == [
        "", ""]
    write_csv(path, results("none"), scoped("none"))
    assert "has no card" in side.read_text()


def test_a_csv_of_an_earlier_check_without_the_scope_column_may_be_replaced(tmp_path):
    from deepfake_dvc.check import EARLIER_CSV_COLUMNS, usable_csv, written_by_check
    earlier = tmp_path / "old.csv"
    earlier.write_text(",".join(EARLIER_CSV_COLUMNS) + "\na.mp4,REAL,0.1,0.1,8,8,1.0,,\n")
    assert written_by_check(earlier)
    usable_csv(earlier, set())
    other = tmp_path / "other.csv"
    other.write_text("video,verdict\na.mp4,REAL\n")
    assert not written_by_check(other)
    with pytest.raises(ConfigError, match="exists and is not a CSV that check wrote"):
        usable_csv(other, set())
    (tmp_path / "v.csv.warning.txt").mkdir()
    with pytest.raises(ConfigError, match="its warning file '.*v.csv.warning.txt' is a folder"):
        usable_csv(tmp_path / "v.csv", set())
