"""Images as the pipeline stores them (face crops; the pictures check writes): JPEG at a
quality, or lossless PNG, packed one after another into one array per video."""
import cv2
import numpy as np

from deepfake_dvc.errors import SkipInput
from deepfake_dvc.files import write_bytes_atomic


def encode_image(image, fmt, quality):
    """Compressed bytes of a BGR image: JPEG at `quality`, or lossless PNG."""
    ext, flags = (".png", [cv2.IMWRITE_PNG_COMPRESSION, 3]) if fmt == "png" \
        else (".jpg", [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    ok, buf = cv2.imencode(ext, image, flags)
    if not ok:
        raise SkipInput(f"could not encode an image as {fmt}")
    return buf


def write_image(path, image):
    """Save a BGR image as JPEG (by a .jpg name, quality 95) or PNG, under a temporary name."""
    fmt = "jpg" if str(path).lower().endswith((".jpg", ".jpeg")) else "png"
    write_bytes_atomic(path, encode_image(image, fmt, 95).tobytes())


def decode_image(buf):
    """The BGR image back from encode_image's bytes (libjpeg's accurate integer DCT, as
    TensorFlow's decode_jpeg with dct_method INTEGER_ACCURATE: the same pixels)."""
    return cv2.imdecode(np.asarray(buf, dtype=np.uint8), cv2.IMREAD_COLOR)


def pack(images, fmt, quality):
    """(offsets (N + 1,), data): the BGR images encoded, one after another; image k is
    data[offsets[k]:offsets[k + 1]]."""
    bufs = [encode_image(image, fmt, quality) for image in images]
    offsets = np.cumsum([0] + [len(b) for b in bufs]).astype(np.int64)
    return offsets, np.concatenate(bufs) if bufs else np.zeros(0, np.uint8)


def unpack(offsets, data):
    """The BGR images pack encoded."""
    return [decode_image(data[a:b]) for a, b in zip(offsets[:-1], offsets[1:])]
