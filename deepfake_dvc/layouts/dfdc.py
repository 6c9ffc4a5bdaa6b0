"""DFDC (the Deepfake Detection Challenge): metadata.json, each video's label and original."""
import json

from deepfake_dvc.errors import DataError
from deepfake_dvc.layouts import Layout, register, video_table

DFDC_METADATA = "metadata.json"


def _from_dfdc(path):
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(meta, dict):
        raise DataError(f"{path}: expected an object of video name: {{label, original}}, "
                        f"found {type(meta).__name__}")
    rows = []
    for name, entry in sorted(meta.items()):
        original = entry.get("original") if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or not isinstance(original, (str, type(None))):
            raise DataError(f"{path}: entry '{name}' is {json.dumps(entry)[:80]}: expected "
                            f'{{"label": "REAL" or "FAKE", "original": a video name or null}}')
        rows.append(dict(path=name, label=str(entry.get("label", "")), group=original or "",
                         source=original or ""))
    return video_table(rows, where=[f"{DFDC_METADATA} entry '{row['path']}'" for row in rows])


register(Layout("dfdc", f"{DFDC_METADATA} (DFDC)", lambda root: (root / DFDC_METADATA).is_file(),
                lambda root, **options: _from_dfdc(root / DFDC_METADATA)))
