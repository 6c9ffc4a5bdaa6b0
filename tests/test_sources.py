"""The pieces of training on several sources and fine-tuning: the parameters' checks, the
sources listed together, the parent's split carried over, each epoch's draw, the card of a
fine-tuned model."""
import os

import numpy as np
import pandas as pd
import pytest

from deepfake_dvc.calibration import scope
from deepfake_dvc.errors import ConfigError
from deepfake_dvc.inputs import parent_record
from deepfake_dvc.params import RULES, Preprocessing, validated
from deepfake_dvc.paths import source_name, video_file
from deepfake_dvc.sources import list_sources
from deepfake_dvc.splitting import carried_over, source_counts

PREP = Preprocessing(frames_per_video=4, frame_max_side=1920, frame_format="jpg",
                     jpeg_quality=95, face_detector="hog", detect_max_side=640,
                     small_faces=True, face_align=True, face_margin=1.3, face_size=96,
                     faces_per_frame=1, img_size=32)


def checked(**values):
    return validated(values, list(values), "params.yaml")


def videos(folder, paths):
    for path in paths:
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(b"\0" * 16)


@pytest.fixture
def two_sources(tmp_path):
    """Source a in labels.csv's layout (a fake in its real's group), b in real/ and fake/."""
    a, b = tmp_path / "a", tmp_path / "b"
    videos(a, ["r1.mp4", "f1.mp4"])
    (a / "labels.csv").write_text("path,label,group\nr1.mp4,real,r1.mp4\nf1.mp4,fake,r1.mp4\n")
    videos(b, ["real/r1.mp4", "fake/f1.mp4"])
    return {"a": str(a), "b": str(b)}


@pytest.mark.parametrize("values, message", [
    (dict(data_dir={"a b": "x"}), "parameter 'data_dir' is {'a b': 'x'}"),
    (dict(data_dir={}), "parameter 'data_dir' is {}"),
    (dict(data_dir={"a": "~/x"}), "parameter 'data_dir'"),
    (dict(data_dir={"a": "x"}, source_weights={"c": 1}),
     "parameter 'source_weights' is {'c': 1}: 'c' is not a source of data_dir (sources: a)"),
    (dict(data_dir={"a": "x"}, source_weights={"a": 0}), "use name: weight pairs (weights > 0)"),
    (dict(init_model="none", replay=0.3, weights="none"),
     "parameter 'replay' is 0.3: use 0 without init_model"),
    (dict(init_model="m/model.keras", replay=0, weights="imagenet"),
     "parameter 'weights' is 'imagenet' (text): use none with init_model"),
    (dict(init_model="m/model.h5", replay=0, weights="none"),
     "use the path of a trained model.keras"),
])
def test_a_bad_source_or_fine_tuning_parameter_is_one_line_naming_it(values, message):
    with pytest.raises(ConfigError, match=None) as error:
        checked(**values)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_every_new_key_accepts_its_documented_forms():
    assert checked(data_dir={"ffpp": "/d/FF", "dfdc0": "/d/dfdc"},
                   source_weights={"ffpp": 1, "dfdc0": 2.5})["source_weights"] == \
        {"ffpp": 1.0, "dfdc0": 2.5}
    assert checked(init_model="/m/model.keras", replay="0.2", weights="none")["replay"] == 0.2
    assert set(RULES) >= {"init_model", "replay", "source_weights"}


def test_two_sources_in_different_layouts_are_listed_with_their_names(two_sources):
    table = list_sources(two_sources, {"a": "labels"})
    assert table["path"].tolist() == ["a/r1.mp4", "a/f1.mp4", "b/real/r1.mp4", "b/fake/f1.mp4"]
    assert table["group"].tolist()[:2] == ["a/r1.mp4", "a/r1.mp4"]  # groups stay in a source
    assert [source_name(p, two_sources) for p in table["path"]] == ["a", "a", "b", "b"]
    assert video_file(two_sources, "b/real/r1.mp4") == \
        video_file(two_sources["b"], "real/r1.mp4")


def test_a_folder_listed_twice_is_refused_with_both_names(two_sources):
    with pytest.raises(ConfigError, match="data_dir sources 'a' and 'again' are the same folder"):
        list_sources(dict(two_sources, again=two_sources["a"] + "/"))


def test_two_sources_holding_the_same_file_are_refused_with_both_names(two_sources, tmp_path):
    c = tmp_path / "c"
    videos(c, ["fake/other.mp4"])
    (c / "real").mkdir()
    os.symlink(f"{two_sources['b']}/real/r1.mp4", c / "real/r1.mp4")  # one file, two names
    with pytest.raises(ConfigError) as error:
        list_sources(dict(two_sources, c=str(c)))
    assert "data_dir sources 'b' and 'c' hold the same file ('b/real/r1.mp4' is " \
           "'c/real/r1.mp4')" in str(error.value)


def test_counts_are_per_source_split_and_class(two_sources):
    split = pd.DataFrame(dict(path=["a/r", "a/f", "b/r", "b/f"],
                              label=["real", "fake", "real", "fake"],
                              split=["train", "train", "test", "val"]))
    counts = source_counts(split, two_sources)
    assert counts["a"]["train"] == {"real": 1, "fake": 1}
    assert counts["b"]["test"] == {"real": 1, "fake": 0} and counts["b"]["val"]["fake"] == 1
    assert source_counts(split, "one/folder") == {}


def test_the_parents_split_is_carried_over_with_whole_groups():
    videos_ = pd.DataFrame(dict(path=["x", "x_fake", "y", "new"],
                                group=["gx", "gx", "gy", "gn"]))
    pinned = carried_over(videos_, {"x": "test", "y": "train"})
    assert pinned == {"gx": "test", "gy": "train"}  # the new video's group is split as usual
    # a group with the parent's test and training videos stays test
    assert carried_over(videos_.assign(group="g"), {"x": "train", "y": "test"}) == {"g": "test"}


def test_each_epoch_draws_the_replay_share_afresh_and_every_new_video_once():
    from deepfake_dvc.training import draw_groups, video_draws
    new, pool = np.arange(10), np.arange(10, 30)
    draws = video_draws(draw_groups({"": new}, pool, "none", 0.25), epochs=3, seed=7)
    for draw in draws:
        assert sorted(draw[draw < 10]) == list(new)
        assert (draw >= 10).sum() == 5 and len(set(draw)) == len(draw)
    assert len({tuple(sorted(d[d >= 10])) for d in draws}) > 1  # a fresh draw each epoch
    assert video_draws(draw_groups({"": new}, pool, "none", 0.25), 3, 7)[2].tolist() == \
        draws[2].tolist()  # seeded


def test_source_weights_set_each_sources_share_of_an_epoch():
    from deepfake_dvc.training import draw_groups, video_draws
    groups = draw_groups({"big": np.arange(90), "small": np.arange(90, 100)}, np.arange(0),
                         {"small": 1, "big": 1}, 0)
    assert [count for _, count in groups] == [50, 50]
    draw = video_draws(groups, 1, 0)[0]
    assert (draw >= 90).sum() == 50 and len(draw) == 100  # the small source drawn again


def test_a_model_without_its_card_is_not_a_parent(tmp_path):
    (tmp_path / "model.keras").write_bytes(b"PK")
    (tmp_path / "preprocessing.json").write_text("{}")
    with pytest.raises(ConfigError) as error:
        parent_record(str(tmp_path / "model.keras"), PREP, "tiny_cnn")
    assert str(error.value) == (f"init_model '{tmp_path / 'model.keras'}': "
                                f"'{tmp_path / 'card.json'}' not found: not a trained model of "
                                f"this project (train writes model.keras with preprocessing.json "
                                f"and card.json beside it)")


def training(real, fake, data_dir="/d/new", demo=False, **more):
    return dict(data=dict(data_dir=data_dir, demo=demo, videos=dict(train=dict(real=real,
                                                                               fake=fake)),
                          synthesized_fakes=dict(train=0)), **more)


def test_a_fine_tuned_models_card_says_what_it_was_built_on_and_keeps_its_warning():
    parent = scope(training(500, 500, "/d/FF"))
    assert parent["warning"] is None
    record = dict(trained_on=parent["trained_on"], warning=None,
                  data=training(500, 500, "/d/FF")["data"])
    child = scope(training(300, 300, parent=record))
    assert child["trained_on"] == ("300 real and 300 fake training videos from '/d/new', "
                                   "fine-tuned from a model trained on 500 real and 500 fake "
                                   "training videos from '/d/FF'")
    assert child["warning"] is None
    demo_parent = scope(training(9, 9, "data/demo", demo=True))
    record = dict(trained_on=demo_parent["trained_on"], warning=demo_parent["warning"],
                  data=training(9, 9, "data/demo", demo=True)["data"])
    child = scope(training(300, 300, parent=record))
    assert child["demo"] and "was built on the demo model" in child["warning"]
    assert "starts from a model whose own card says its verdicts are not evidence" in \
        child["warning"]
