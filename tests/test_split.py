"""The split: by video and group, stratified, never leaking a group across splits; or the
dataset's official split."""
import pandas as pd
import pytest

from deepfake_dvc.errors import ConfigError, DataError
from deepfake_dvc.splitting import assign_splits, check_splits, official_splits, use_official_split


def videos(n_groups, fakes_per_group=1):
    """n_groups real videos, each with its own fakes in the same group."""
    rows = []
    for g in range(n_groups):
        rows.append(dict(id=f"r{g}", path=f"r{g}.mp4", label="real", group=f"g{g}"))
        rows += [dict(id=f"f{g}_{k}", path=f"f{g}_{k}.mp4", label="fake", group=f"g{g}")
                 for k in range(fakes_per_group)]
    return pd.DataFrame(rows)


def test_groups_stay_together_and_every_split_has_both_classes():
    table = assign_splits(videos(16, fakes_per_group=2), test_size=0.25, val_size=0.25, seed=1)
    assert (table.groupby("group")["split"].nunique() == 1).all()
    counts = check_splits(table)
    assert (counts > 0).all().all()
    assert 0.15 < (table["split"] == "test").mean() < 0.35


def test_seeded():
    a = assign_splits(videos(12), 0.25, 0.25, seed=3)["split"].tolist()
    assert a == assign_splits(videos(12), 0.25, 0.25, seed=3)["split"].tolist()
    assert a != assign_splits(videos(12), 0.25, 0.25, seed=4)["split"].tolist()


def test_too_few_videos_of_a_class_is_a_clear_error():
    table = pd.concat([videos(8).query("label == 'real'"),
                       pd.DataFrame([dict(id="f", path="f.mp4", label="fake", group="x")])])
    with pytest.raises(DataError, match="class 'fake' has 1 usable videos: too few"):
        check_splits(assign_splits(table, 0.25, 0.25, seed=0))


def test_fewer_groups_than_folds_is_a_clear_error():
    with pytest.raises(DataError, match="cannot split 2 videos in 1 groups"):
        assign_splits(videos(1), 0.25, 0.25, seed=0)


def test_a_group_across_splits_is_an_error_not_an_assert():
    table = assign_splits(videos(12), 0.25, 0.25, seed=0)
    table.loc[table.index[0], "group"] = table.loc[table["split"] != table.iloc[0]["split"],
                                                   "group"].iloc[0]
    with pytest.raises(DataError, match="crosses splits"):
        check_splits(table)


def official(rows):
    """A table of (id, label, group, source, official_split) rows, path = id + .mp4."""
    return pd.DataFrame([dict(id=i, path=f"{i}.mp4", label=label, group=group, source=source,
                              official_split=split) for i, label, group, source, split in rows])


def test_an_official_split_is_kept_as_the_dataset_gives_it():
    rows = [(f"{s}{k}", label, f"{s}{k // 2}", "", s) for s in ("train", "val", "test")
            for k, label in enumerate(["real", "fake"] * 2)]
    table = official_splits(official(rows), val_size=0.25, seed=0)
    assert (table["split"] == table["official_split"]).all()


def test_without_an_official_val_it_is_carved_from_the_official_train_by_group():
    rows = [(f"r{k}", "real", f"g{k}", "", "train") for k in range(8)]
    rows += [(f"f{k}", "fake", f"g{k}", f"r{k}.mp4", "train") for k in range(8)]
    rows += [("rt", "real", "gt", "", "test"), ("ft", "fake", "gt", "rt.mp4", "test")]
    table = official_splits(official(rows), val_size=0.25, seed=0).set_index("id")
    assert table.loc[["rt", "ft"], "split"].tolist() == ["test", "test"]
    val = table[table["split"] == "val"]
    assert 2 <= len(val) <= 6
    assert (table.groupby("group")["split"].nunique() == 1).all()


def test_one_identity_group_falls_back_to_footage_groups_with_a_warning(capsys):
    rows = [(f"r{k}", "real", "everyone", "", "train") for k in range(8)]
    rows += [(f"f{k}", "fake", "everyone", f"r{k}.mp4", "train") for k in range(8)]
    table = official_splits(official(rows), val_size=0.25, seed=0).set_index("id")
    val = table[table["split"] == "val"]
    assert len(val) and all(table.loc[f"r{i[1:]}", "split"] == "val" for i in val.index)
    assert "carved by footage" in capsys.readouterr().err


@pytest.mark.parametrize("mode,splits,expected", [
    ("auto", ["train", ""], True), ("auto", ["", ""], False), ("grouped", ["train", ""], False),
    ("official", ["test", ""], True)])
def test_split_mode(mode, splits, expected):
    assert use_official_split(mode, pd.DataFrame(dict(official_split=splits))) == expected


def test_an_official_split_that_is_not_there_is_refused():
    with pytest.raises(ConfigError, match="split_mode is official, but the data has no"):
        use_official_split("official", pd.DataFrame(dict(official_split=["", ""])))
