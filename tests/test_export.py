"""Exported models give the .keras model's probabilities, with their card and preprocessing."""
import json

import numpy as np
import pytest
import yaml

keras = pytest.importorskip("keras")
import tensorflow as tf  # noqa: E402

from deepfake_dvc.calibration import Decision, write_card  # noqa: E402
from deepfake_dvc.errors import ConfigError  # noqa: E402
from deepfake_dvc.model import build_model, save_model  # noqa: E402
from deepfake_dvc.params import Preprocessing  # noqa: E402
from stages.export import main  # noqa: E402
from tests.conftest import ROOT, run  # noqa: E402
from tests.test_calibration import training  # noqa: E402

DEFAULTS = yaml.safe_load((ROOT / "params.yaml").read_text())


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    """A small model saved as train saves one, with preprocessing.json and card.json beside."""
    folder = tmp_path_factory.mktemp("model")
    keras.utils.set_random_seed(0)
    save_model(build_model(32, backbone="tiny_cnn"), folder / "model.keras")
    Preprocessing(**{k: DEFAULTS[k] for k in Preprocessing.__dataclass_fields__
                     if k != "img_size"}, img_size=32).save(folder / "preprocessing.json")
    write_card(folder / "card.json", folder / "model.keras", folder / "preprocessing.json",
               training(), Decision(2.0, 0.5, "set in params.yaml", 0.15, 3, "mean"), {}, {})
    return folder / "model.keras"


def exported_probabilities(folder, fmt, images):
    if fmt == "saved_model":
        loaded = tf.saved_model.load(str(folder / "saved_model"))  # kept while serve runs
        return loaded.serve(images).numpy()
    interpreter = tf.lite.Interpreter(str(folder / "model.tflite"))
    given, wanted = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    interpreter.resize_tensor_input(given["index"], images.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(given["index"], images)
    interpreter.invoke()
    return interpreter.get_tensor(wanted["index"])


@pytest.mark.parametrize("fmt", ["saved_model", "tflite"])
def test_an_export_gives_the_keras_models_probabilities(model_path, tmp_path, fmt):
    out = tmp_path / "export"
    main(["--format", fmt, "--model", str(model_path), "--out", str(out)])
    crops = np.random.default_rng(1).integers(0, 256, (5, 96, 96, 3)).astype(np.float32)
    expected = keras.models.load_model(model_path).predict(crops, verbose=0)  # the stored crops
    images = crops
    assert np.allclose(exported_probabilities(out, fmt, images), expected, atol=1e-5)
    for name in ("preprocessing.json", "card.json"):
        assert (out / name).read_text() == (model_path.parent / name).read_text()
    description = json.loads((out / "export.json").read_text())
    assert description["format"] == fmt and description["input"]["shape"] == [None, 96, 96, 3]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]  # no temporary left
    before = {p.name for p in out.iterdir()}
    main(["--format", fmt, "--model", str(model_path), "--out", str(out)])  # again: replaced
    assert {p.name for p in out.iterdir()} == before


def test_an_export_into_the_models_own_folder_is_refused_and_deletes_nothing(model_path):
    folder = model_path.parent
    (folder / "my notes.txt").write_text("mine")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    done = run(["python", "-m", "stages.export", "--format", "saved_model", "--model",
                str(model_path), "--out", str(folder)], ROOT, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: --out '{folder}' is the folder of the model it exports; give another folder, "
        f"or a subfolder (default models/export/FORMAT)")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    (folder / "my notes.txt").unlink()


@pytest.mark.parametrize("foreign", ["model.keras", "notes", "model.tflite"])
def test_a_folder_holding_what_export_did_not_write_is_refused(model_path, tmp_path, foreign):
    out = tmp_path / "out"
    out.mkdir()
    (out / foreign).write_text("not an export")
    with pytest.raises(ConfigError, match=f"holds '{foreign}', which this export did not write"):
        main(["--format", "saved_model", "--model", str(model_path), "--out", str(out)])
    assert (out / foreign).read_text() == "not an export"


def test_a_card_that_is_not_the_models_is_refused(model_path, tmp_path):
    for name in ("model.keras", "preprocessing.json"):
        (tmp_path / name).write_bytes((model_path.parent / name).read_bytes())
    card = json.loads((model_path.parent / "card.json").read_text())
    card["decision"]["threshold"] = 0.1  # edited
    (tmp_path / "card.json").write_text(json.dumps(card))
    with pytest.raises(ConfigError, match="card.json' was changed after evaluate wrote it"):
        main(["--format", "tflite", "--model", str(tmp_path / "model.keras"),
              "--out", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()


def test_an_unknown_format_lists_the_supported_ones(tmp_path):
    done = run(["python", "-m", "stages.export", "--format", "onnx"], ROOT, check=False)
    assert done.returncode == 2
    assert "invalid choice: 'onnx'" in done.stderr and "'saved_model', 'tflite'" in done.stderr


def test_a_model_without_a_card_is_exported_with_a_warning_that_it_is_uncalibrated(
        model_path, tmp_path):
    for name in ("model.keras", "preprocessing.json"):
        (tmp_path / name).write_bytes((model_path.parent / name).read_bytes())
    done = run(["python", "-m", "stages.export", "--format", "tflite", "--model",
                str(tmp_path / "model.keras"), "--out", str(tmp_path / "out")], ROOT)
    assert "has no card" in done.stderr and "the exported model is uncalibrated" in done.stderr
    assert json.loads((tmp_path / "out" / "export.json").read_text())["card"] is False
