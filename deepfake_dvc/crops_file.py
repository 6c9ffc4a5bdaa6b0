"""The file of a video's face crops, the only code that knows its format: one .npz per video
holding the crops encoded (JPEG or PNG, codec.py) in one member that train's tf.data reads in
place by byte ranges, with the frame indices, boxes, scores, landmarks, tracks and whether
each crop is aligned."""
import io
import struct
import zipfile
from pathlib import Path

import cv2
import numpy as np

from deepfake_dvc.codec import pack, unpack
from deepfake_dvc.paths import FACES_DIR

CROPS_DATA = "crops_data"  # the member of encoded crops, which train reads in place


def faces_path(video_id, folder=FACES_DIR):
    """Where one video's crops are kept: by detect_faces in FACES_DIR, by eval_faces in
    the evaluation set's folder."""
    return Path(folder) / f"{video_id}.npz"


def crops_file_bytes(faces, fmt, quality):
    """One video's crops file: its crops encoded as its frames are (JPEG at quality, or PNG)
    and what crop_faces recorded of them, as an uncompressed .npz's bytes."""
    offsets, data = pack(as_bgr(faces["crops"]), fmt, quality)
    arrays = {key: value for key, value in faces.items() if key != "crops"}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays, crops_offsets=offsets, **{CROPS_DATA: data})
    return buffer.getvalue()


def load_faces(video_id, folder=FACES_DIR):
    """The arrays of one video's crops file (crops_file_bytes), the crops decoded:
    (N, S, S, 3) RGB."""
    with np.load(faces_path(video_id, folder)) as z:
        arrays = {key: z[key] for key in z.files}
    arrays["crops"] = decoded_crops(arrays.pop("crops_offsets"), arrays.pop(CROPS_DATA))
    return arrays


def load_crops(path):
    """The face crops in one crops file, decoded: (N, S, S, 3) uint8 RGB."""
    with np.load(path) as z:
        return decoded_crops(z["crops_offsets"], z[CROPS_DATA])


def count_crops(path):
    """How many face crops a crops file holds (without decoding them)."""
    with np.load(path) as z:
        return z["frame_indices"].shape[0]


def stored_crops(crops, fmt, quality):
    """RGB crops exactly as crops_file_bytes stores them and load_faces reads them back."""
    return decoded_crops(*pack(as_bgr(crops), fmt, quality))


def crop_byte_ranges(path):
    """(starts, lengths): where each encoded crop lies in a crops file, in bytes from the
    file's start, so that train reads them in place (np.savez does not compress)."""
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(f"{CROPS_DATA}.npy")
    with open(path, "rb") as f:
        f.seek(info.header_offset + 26)  # the zip entry's local header: name and extra lengths
        name_length, extra_length = struct.unpack("<HH", f.read(4))
        f.seek(info.header_offset + 30 + name_length + extra_length)
        version = np.lib.format.read_magic(f)
        {(1, 0): np.lib.format.read_array_header_1_0,
         (2, 0): np.lib.format.read_array_header_2_0}[version](f)
        start = f.tell()
    with np.load(path) as z:
        offsets = z["crops_offsets"]
    return start + offsets[:-1], np.diff(offsets)


def decoded_crops(offsets, data):
    """The RGB crops pack encoded, as one (N, S, S, 3) array."""
    crops = [cv2.cvtColor(image, cv2.COLOR_BGR2RGB) for image in unpack(offsets, data)]
    return np.array(crops, dtype=np.uint8)


def as_bgr(crops):
    """RGB crops in OpenCV's channel order, so that their encoded files are true images."""
    return [cv2.cvtColor(crop, cv2.COLOR_RGB2BGR) for crop in crops]
