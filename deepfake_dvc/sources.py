"""The training data's sources: data_dir is one folder, or {name: folder} for several, each in
its own layout. A video of a named source is listed as 'name/path' (its group and source
footage too), so ids stay unique across sources and every table says where a video came
from without a column of its own; one folder is listed exactly as before."""
import os

import pandas as pd

from deepfake_dvc.datasets import file_identity, list_videos
from deepfake_dvc.errors import ConfigError
from deepfake_dvc.params import per_source
from deepfake_dvc.paths import SEPARATOR, source_name, video_file


def list_sources(data_dir, dataset="auto", ff_compression="c23", ff_methods=None):
    """datasets.list_videos of every source, the named ones' paths, groups and sources
    prefixed with 'name/'. ConfigError naming both sources when a folder is listed twice or
    two sources hold the same file."""
    options = dict(ff_compression=ff_compression,
                   **({"ff_methods": ff_methods} if ff_methods else {}))
    if not isinstance(data_dir, dict):
        return list_videos(data_dir, dataset, **options)
    check_distinct_folders(data_dir)
    layouts = per_source(dataset)
    tables = []
    for name, folder in data_dir.items():
        table = list_videos(folder, layouts.get(name, layouts.get("", "auto")), **options)
        for column in ("path", "group", "source"):
            table[column] = [f"{name}{SEPARATOR}{v}" if v else v for v in table[column]]
        tables.append(table)
    table = pd.concat(tables, ignore_index=True)
    check_no_shared_files(data_dir, table)
    return table


def check_distinct_folders(data_dir):
    """ConfigError when two names of data_dir give the same folder."""
    seen = {}
    for name, folder in data_dir.items():
        real = os.path.realpath(folder)
        if real in seen:
            raise ConfigError(f"data_dir sources '{seen[real]}' and '{name}' are the same "
                              f"folder ({folder}): list it once")
        seen[real] = name


def check_no_shared_files(data_dir, table):
    """ConfigError when two sources hold the same file (one identity: links resolved)."""
    first = {}
    for path in table.loc[table["status"] == "ok", "path"]:
        identity = file_identity("", video_file(data_dir, path))
        name = source_name(path, data_dir)
        if identity in first and first[identity][0] != name:
            raise ConfigError(f"data_dir sources '{first[identity][0]}' and '{name}' hold the "
                              f"same file ('{first[identity][1]}' is '{path}'): one video, "
                              f"keep it in one source")
        first.setdefault(identity, (name, path))
