"""A video uploaded to the server: streamed from a multipart request into a file the server
names, under a size limit, and accepted only when its content is a video the pipeline reads.

The client's file name is kept as a label (what the page and the JSON call the video); it
never becomes a path.
"""
import dataclasses

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from deepfake_dvc.video import open_video, video_info
from deepfake_dvc.video_files import VIDEO_EXTS

NAME_MAX = 200  # characters of a client's file name kept as the video's label


class Refused(Exception):
    """An upload the server does not take: the HTTP status and a message for the client."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


def too_large(max_bytes):
    """The Refused of an upload over the size limit (413)."""
    return Refused(413, f"the upload is larger than this server's limit of "
                        f"{max_bytes / 2**20:g} MB (--max-mb)")


@dataclasses.dataclass
class Received:
    """What a multipart upload held: the client's name for the video and its size in bytes."""
    name: str = ""
    size: int = 0
    parts: int = 0  # file parts seen: one is taken


def multipart_boundary(content_type):
    """The boundary of a multipart/form-data Content-Type; Refused (415) for another type."""
    kind, options = parse_options_header(content_type or "")
    if kind != b"multipart/form-data" or not options.get(b"boundary"):
        raise Refused(415, "send the video as multipart/form-data (a form with a file field, "
                           "as curl -F video=@clip.mp4 does)")
    return options[b"boundary"]


async def receive(chunks, content_type, out, max_bytes):
    """Write the one file part of a multipart request (chunks: its body, an async iterator)
    to the open binary file out; the client's name for it and its size. Refused: 400 when the
    request holds no file or more than one, or is not valid multipart; 413 past max_bytes.
    An OSError writing out is the machine's and passes through."""
    got, headers, field = Received(), {}, []
    state = dict(in_file=False)

    def on_header_field(data, start, end):
        field.append(data[start:end])

    def on_header_value(data, start, end):
        headers.setdefault(b"".join(field).lower(), bytearray()).extend(data[start:end])

    def on_header_end():
        field.clear()

    def on_headers_finished():
        _, options = parse_options_header(bytes(headers.get(b"content-disposition", b"")))
        headers.clear()
        state["in_file"] = b"filename" in options
        if state["in_file"]:
            got.parts += 1
            got.name = label(options[b"filename"])

    def on_part_data(data, start, end):
        if state["in_file"] and got.parts == 1:
            got.size += end - start
            if got.size > max_bytes:
                raise too_large(max_bytes)
            out.write(data[start:end])

    parser = MultipartParser(multipart_boundary(content_type), dict(
        on_header_field=on_header_field, on_header_value=on_header_value,
        on_header_end=on_header_end, on_headers_finished=on_headers_finished,
        on_part_data=on_part_data))
    try:
        async for chunk in chunks:
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as e:
        raise Refused(400, f"the upload is not valid multipart/form-data ({e})") from None
    if got.parts != 1:
        raise Refused(400, "send exactly one video file per request "
                           f"(this one holds {got.parts})")
    return got


def label(raw):
    """A client's file name as the video's label: decoded, its folders dropped, shortened."""
    name = raw.decode("utf-8", "replace").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip()
    return name[:NAME_MAX] or "upload"


def container(head):
    """The container family of a file by its first bytes: 'mp4/mov', 'avi', 'mkv/webm',
    or None for anything else (the types the pipeline reads, VIDEO_EXTS)."""
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"):
        return "mp4/mov"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head[:4] == b"\x1a\x45\xdf\xa3":  # EBML: Matroska and WebM
        return "mkv/webm"
    return None


def check_video(path, max_seconds):
    """Refused unless the file at path is a video the pipeline reads, by its content: a
    known container (415), whose first frame decodes (415), at most max_seconds long as
    its container says (422). Returns its container family."""
    types = " ".join(sorted(VIDEO_EXTS))
    with open(path, "rb") as f:
        family = container(f.read(12))
    if family is None:
        raise Refused(415, f"not a video this server reads: its content is none of {types} "
                           f"(whatever its name says)")
    cap = open_video(path)
    try:
        decodes = cap.isOpened() and cap.grab()
        info = video_info(cap) if decodes else None
    finally:
        cap.release()
    if not decodes:
        raise Refused(415, f"a {family} file whose video does not decode (corrupt, truncated, "
                           f"or no video stream)")
    if info["duration"] > max_seconds:
        raise Refused(422, f"the video lasts {info['duration']:.0f} s, longer than this "
                           f"server's limit of {max_seconds:g} s (--max-seconds)")
    return family
