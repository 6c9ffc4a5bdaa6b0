"""The split: by video and group, stratified, never leaking a group across splits."""
import pandas as pd
import pytest

from stages.common import DataError
from stages.split import assign_splits, check_splits


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
