"""Celeb-DF (v1, v2): Celeb-real, YouTube-real and Celeb-synthesis, the people in each file
name, and the official List_of_testing_videos.txt."""
from deepfake_dvc.errors import DataError
from deepfake_dvc.layouts import Layout, connected_groups, inside, register, video_row, video_table
from deepfake_dvc.video_files import video_entries

CELEB_FOLDERS = ("Celeb-real", "YouTube-real", "Celeb-synthesis")
CELEB_TEST_LIST = "List_of_testing_videos.txt"
CELEB_CONVENTION = "Celeb-DF's convention (Celeb-real idN_NNNN, Celeb-synthesis idN_idM_NNNN)"


def celeb_names(folder, stem):
    """(the people in a Celeb-DF video, the Celeb-real clip whose footage it is), or None
    for a name that does not fit: YouTube-real '00000'; Celeb-real 'id0_0003';
    Celeb-synthesis 'id0_id1_0003', made from id0's clip 0003 with id1's face."""
    if folder == "YouTube-real":
        return [f"youtube {stem}"], ""
    *ids, clip = stem.split("_")
    if len(ids) != (2 if folder == "Celeb-synthesis" else 1) or not all(ids + [clip]):
        return None
    return [f"celebrity {i}" for i in ids], f"{ids[0]}_{clip}"

def _from_celeb_df(root):
    rows, people, footage = [], [], {}
    for folder, label in zip(CELEB_FOLDERS, ("real", "real", "fake")):  # reals before fakes
        for path in sorted(video_entries(root / folder)):
            row, who, clip = video_row(root, path, label, celeb_names(folder, path.stem),
                                       CELEB_CONVENTION)
            rows.append(dict(row, source=footage.get(clip, "") if label == "fake" else ""))
            people.append(who)
            if folder == "Celeb-real":
                footage[clip] = row["path"]
    listed, test = celeb_test_list(root)
    for row, group in zip(rows, connected_groups(people)):
        row.update(group=group, official_split=("test" if row["path"] in test else "train")
                   if listed else "")
    where = [row["path"] for row in rows]
    known = set(where)
    for line, path, label in listed:  # listed for test but not in the folder: a row, which
        if path not in known:         # detect_faces records as not found
            rows.append(dict(path=path, label=label, official_split="test"))
            where.append(f"{CELEB_TEST_LIST} line {line}")
    return video_table(rows, where)

def celeb_test_list(root):
    """([(line, path, label)], {paths}) of Celeb-DF's official test list ('1 path' is real,
    '0 path' fake), or ([], set()) when the folder has none."""
    path = root / CELEB_TEST_LIST
    if not path.is_file():
        return [], set()
    listed = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 or fields[0] not in ("0", "1"):
            raise DataError(f"{path} line {n}: '{line.strip()}': expected '1 <path>' (real) "
                            f"or '0 <path>' (fake)")
        listed.append((n, inside(root, fields[1]) or fields[1], ("fake", "real")[int(fields[0])]))
    return listed, {p for _, p, _ in listed}


register(Layout("celeb-df", "Celeb-real/, YouTube-real/ or Celeb-synthesis/ (Celeb-DF)",
                lambda root: any((root / folder).is_dir() for folder in CELEB_FOLDERS),
                lambda root, **options: _from_celeb_df(root)))
