"""A video's status in the tables the stages write (manifest.csv, faces.csv, an evaluation
set's faces.csv): usable, no face found, or why it could not be used."""
OK = "ok"
NO_FACE = "no_face"
ERROR = "error: "


def failed(why):
    """The status of a video that could not be used, and why."""
    return f"{ERROR}{why}"


def reason(status):
    """Why a failed video could not be used (its status without the prefix)."""
    return status[len(ERROR):]


def left_out_counts(statuses):
    """{no_face, error}: how many of a column of statuses (a pandas Series) are each: the
    videos left out."""
    return {NO_FACE: int((statuses == NO_FACE).sum()),
            "error": int(statuses.str.startswith(ERROR).sum())}
