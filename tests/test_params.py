"""Parameters declared once: numbers as people write them, ranges, one clear line otherwise."""
import json
import re

import pytest
import yaml

from deepfake_dvc.errors import ConfigError
from deepfake_dvc.params import (
    RULES,
    SEED_MAX,
    Preprocessing,
    between,
    integer,
    number,
    or_value,
    read_params,
    read_settings,
)
from tests.conftest import ROOT, run, set_params

DEFAULTS = yaml.safe_load((ROOT / "params.yaml").read_text())


def params_file(tmp_path, **changes):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({**DEFAULTS, **changes}))
    return path


def test_every_default_is_valid_and_every_key_has_a_rule():
    assert set(DEFAULTS) == set(RULES)
    assert read_params(list(RULES), ROOT / "params.yaml")["lr"] == 0.0001


@pytest.mark.parametrize("key,text,value", [
    ("lr", "1e-4", 0.0001), ("lr", " 3E-5 ", 3e-5), ("threshold", "0.7", 0.7),
    ("batch_size", "16", 16), ("epochs", 4.0, 4), ("img_size", "1e2", 100),
    ("augment_flip", "false", False), ("split_seed", SEED_MAX, SEED_MAX), ("train_seed", 0, 0),
    ("target_accuracy", "None", "none"), ("target_accuracy", 1, 1.0)])
def test_numbers_as_people_write_them_are_read(tmp_path, key, text, value):
    got = read_params([key], params_file(tmp_path, **{key: text}))[key]
    assert got == value and type(got) is type(value)


def test_yaml_reads_1e_minus_4_as_text_and_it_is_accepted(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("lr: 1e-4\ndropout: 0\n")
    assert yaml.safe_load(path.read_text())["lr"] == "1e-4"
    assert read_params(["lr", "dropout"], path) == dict(lr=0.0001, dropout=0.0)


@pytest.mark.parametrize("key,value,message", [
    ("lr", "abc", "parameter 'lr' is 'abc' (text): use a number > 0"),
    ("lr", ".nan", "parameter 'lr' is '.nan' (text)"),
    ("lr", float("inf"), "parameter 'lr' is inf"),
    ("batch_size", 8.5, "parameter 'batch_size' is 8.5: use an integer >= 1"),
    ("batch_size", True, "parameter 'batch_size' is True"),
    ("train_seed", -1, f"parameter 'train_seed' is -1: use an integer in 0..{SEED_MAX}"),
    ("split_seed", SEED_MAX + 1, f"parameter 'split_seed' is {SEED_MAX + 1}"),
    ("demo_seed", 2**40, "parameter 'demo_seed' is"),
    ("augment_flip", "maybe", "parameter 'augment_flip' is 'maybe' (text): use true or false"),
    ("face_align", "yes please", "parameter 'face_align' is 'yes please' (text): use true"),
    ("data_dir", "~/videos", "parameter 'data_dir' is '~/videos' (text): give the folder's full"),
    ("data_dir", None, "parameter 'data_dir' is empty"),
    ("target_accuracy", "never", "use a number in (0, 1], or none (run every epoch)"),
])
def test_invalid_values_name_the_key_what_was_read_and_what_to_use(tmp_path, key, value, message):
    with pytest.raises(ConfigError) as e:
        read_params([key], params_file(tmp_path, **{key: value}))
    assert message in str(e.value)


@pytest.mark.parametrize("content,message", [
    ("lr: [1, 2\n", "params.yaml cannot be read as YAML"),
    ("- lr\n- train_seed\n", "params.yaml: expected key: value pairs, found list"),
    ("train_seed: 1\n", "parameter 'lr' is missing from"),
])
def test_a_malformed_params_file_is_one_clear_error(tmp_path, content, message):
    (tmp_path / "params.yaml").write_text(content)
    with pytest.raises(ConfigError, match=message):
        read_params(["train_seed", "lr"], tmp_path / "params.yaml")


def test_settings_files_are_validated_like_params(tmp_path):
    good = {key: DEFAULTS[key] for key in Preprocessing.__dataclass_fields__}
    (tmp_path / "p.json").write_text(json.dumps(good))
    assert Preprocessing.load(tmp_path / "p.json").face_size == DEFAULTS["face_size"]
    (tmp_path / "p.json").write_text(json.dumps(dict(good, face_size=7)))
    with pytest.raises(ConfigError, match=r"p.json: key 'face_size' is 7: use an integer in 32"):
        Preprocessing.load(tmp_path / "p.json")
    (tmp_path / "p.json").write_text(json.dumps({**good, "img_size": None}))
    with pytest.raises(ConfigError, match="p.json: key 'img_size' is empty"):
        Preprocessing.load(tmp_path / "p.json")
    (tmp_path / "p.json").write_text("{not json")
    with pytest.raises(ConfigError, match="p.json' is not valid JSON"):
        read_settings(tmp_path / "p.json", ["img_size"])
    (tmp_path / "p.json").write_text("{}")
    with pytest.raises(ConfigError, match="key 'img_size' is missing from"):
        read_settings(tmp_path / "p.json", ["img_size"])


@pytest.mark.parametrize("stage,key,value", [
    ("split", "split_seed", -1), ("split", "test_size", "a quarter"),
    ("detect_faces", "data_dir", "~/videos"), ("detect_faces", "face_margin", "wide")])
def test_stages_stop_with_one_line_before_any_work(project, stage, key, value):
    set_params(project, **{key: value})
    done = run(f"python -m stages.{stage}", project, check=False)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith(f"error: parameter '{key}' is")
    assert not [p for p in (project / "data").rglob("*") if p.is_file() and p.name != ".gitkeep"]


def test_a_broken_params_file_is_one_line_for_a_stage(project):
    (project / "params.yaml").write_text("split_seed: [\n")
    done = run("python -m stages.split", project, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: params.yaml cannot be read as YAML")


@pytest.mark.parametrize("content,message", [
    ("epoch: 3\n", "unknown parameter 'epoch' (did you mean 'epochs'?)"),
    ("lr: 0.1\nbatch_size: 8\nlr: 0.2\n", "key 'lr' is written twice (lines 1 and 3); keep one"),
])
def test_a_misspelt_or_repeated_key_is_named_not_ignored(tmp_path, content, message):
    path = tmp_path / "params.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=re.escape(message)):
        read_params(("lr",), path)


def test_the_parameters_page_names_every_key_with_its_default():
    page = (ROOT / "docs" / "parameters.md").read_text()
    assert not [key for key in RULES if f"`{key}`" not in page]
    documented = re.findall(r"`(\w+)` \(`?([\w.+{}-]+)`?[,:;)]", page)
    assert len(documented) > 30
    for key, shown in documented:
        if key not in RULES:  # a value's name, such as log_level's `debug` (more)
            continue
        default = DEFAULTS[key]
        try:
            assert float(shown) == float(default), key
        except (TypeError, ValueError):
            assert shown == str(default).lower() or (shown == "{}" and default == {}), key


@pytest.mark.parametrize("rule,hint,good,bad", [
    (between(number, 0, 1, closed="left"), "use a number in [0, 1)", [0, 0.5], [1, -0.1]),
    (between(number, 0, 1, closed="right"), "use a number in (0, 1]", [1, 0.5], [0]),
    (between(number, 0, closed="neither"), "use a number > 0", [1e-9], [0, -1]),
    (between(integer, 1, 100), "use an integer in 1..100", [1, 100], [0, 101]),
    (between(integer, 64, 4096, multiple_of=2, why="even sizes"),
     "use an integer in 64..4096, a multiple of 2 (even sizes)", [64, 4096], [65, 62]),
    (or_value("auto", between(number, 0, 1), "chosen"), "use a number in 0..1, or auto (chosen)",
     ["auto", "Auto", 0.3], [1.5]),
    (or_value(0, between(integer, 10, 100), "off"), "use an integer in 10..100, or 0 (off)",
     [0, 10], [5]),
])
def test_a_declared_rule_says_its_hint_from_what_it_allows(rule, hint, good, bad):
    convert, valid, said = rule
    assert said == hint
    assert all(valid(convert(v)) for v in good) and not any(valid(convert(v)) for v in bad)


def test_a_cards_bounds_are_its_own_values():
    from deepfake_dvc.calibration import CARD_RULES
    for key, good, bad in (("threshold", (0, 1), (1.01,)), ("temperature", (0.05, 20), (0.04,))):
        convert, valid, hint = CARD_RULES[key]
        assert all(valid(convert(v)) for v in good) and not any(valid(convert(v)) for v in bad)
        assert hint == f"use a number in {good[0]}..{good[1]}"
