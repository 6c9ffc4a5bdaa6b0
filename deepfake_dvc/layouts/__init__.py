"""The dataset layouts a data_dir may have, by name (params.yaml's `dataset`): each says what
marks a folder as its own and lists the videos in it, with their labels, groups (what must
share a split), sources (the real footage a fake was made from) and official splits.

A layout is one module here that calls register(); `dataset: auto` takes the first
registered layout whose mark the folder has (see docs/contributing.md).
"""
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from deepfake_dvc.errors import DataError
from deepfake_dvc.params import Registry
from deepfake_dvc.tables import LISTING


@dataclass(frozen=True)
class Layout:
    """name: the `dataset` parameter's value.
    mark: what marks a folder as this layout's, as messages name it.
    present(root): whether the folder root has that mark.
    videos(root, ff_compression, ff_methods): the video_table(...) of its videos, one row per
        listed video (paths relative to root); a layout ignores the options it has no use for.
    """
    name: str
    mark: str
    present: Callable
    videos: Callable


LAYOUTS = Registry("layout", parameter="dataset", also=["auto"])  # in the order auto tries them


def register(layout):
    """Add layout to the registry under its name."""
    return LAYOUTS.add(layout.name, layout)


def find_layout(root, dataset="auto"):
    """The layout of the folder root: dataset's, checked, or with auto the first whose mark
    root has."""
    if dataset != "auto":
        layout = LAYOUTS[dataset]
        if not layout.present(root):
            raise DataError(f"dataset '{dataset}': '{root}' has no {layout.mark}")
        return layout
    for layout in LAYOUTS.values():
        if layout.present(root):
            return layout
    raise DataError(f"'{root}' matches no dataset layout: looked for "
                    + "; ".join(layout.mark for layout in LAYOUTS.values()))


def inside(root, path):
    """path as a normalised path relative to root, or '' when it leads outside root."""
    if not path:
        return ""
    root = Path(root).absolute()
    relative = os.path.relpath(os.path.normpath(root / path), root)
    return "" if relative == ".." or relative.startswith("../") else Path(relative).as_posix()


def connected_groups(people):
    """One group name per video: videos that share a person, directly or through other
    videos, share a group (its first person in sorted order)."""
    parent = {}

    def root_of(person):
        parent.setdefault(person, person)
        while parent[person] != person:
            parent[person] = parent[parent[person]]
            person = parent[person]
        return person

    for persons in people:
        for other in persons[1:]:
            a, b = sorted((root_of(persons[0]), root_of(other)))
            parent[b] = a
    return [root_of(persons[0]) for persons in people]


def video_row(root, path, label, names, convention):
    """(the row of the video at path, its people, the key of its footage), from names: what
    the layout's parser made of its file name, or None when the name does not fit the
    layout's convention, which makes a row with a problem, its own path its person and key."""
    listed = path.relative_to(root).as_posix()
    if names is None:
        return (dict(path=listed, label=label,
                     problem=f"name '{path.stem}' does not fit {convention}"), [listed], listed)
    return (dict(path=listed, label=label), *names)


def video_table(rows, where):
    """The rows (dicts of LISTING and problem, why a row cannot be used; missing ones '') as
    a table, with where each was listed."""
    table = pd.DataFrame(rows, columns=[*LISTING, "problem"], dtype=object).fillna("").astype(str)
    table["raw_path"] = table["path"]
    table["where"] = where
    return table


# The built-in layouts register themselves, in the order `dataset: auto` tries them.
from deepfake_dvc.layouts import labels_csv, dfdc, faceforensics, celeb_df, folders  # noqa: E402, F401, I001
