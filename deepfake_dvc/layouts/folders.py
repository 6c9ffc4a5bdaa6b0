"""real/ and fake/ subfolders: each video's label is its folder's name."""
from deepfake_dvc.labels import LABEL_INDEX
from deepfake_dvc.layouts import Layout, register, video_table
from deepfake_dvc.log import log
from deepfake_dvc.video_files import video_entries

LABELS = tuple(LABEL_INDEX)


def _from_folders(root):
    rows = []
    for label in LABELS:
        folder = root / label
        videos = sorted(video_entries(folder)) if folder.is_dir() else []
        if not videos:
            log.warning(f"no videos in '{folder}'")
        rows += [dict(path=p.relative_to(root).as_posix(), label=label) for p in videos]
    return video_table(rows, where=[row["path"] for row in rows])


register(Layout("folders", "real/ or fake/ subfolders",
                lambda root: any((root / label).is_dir() for label in LABELS),
                lambda root, **options: _from_folders(root)))
