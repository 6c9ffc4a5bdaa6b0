"""A video's face crops made exactly as a model's training data was: the recorded frame
sampling and storage, face detection, alignment, cropping, and the crops' storage
(check, eval_faces)."""
from stages.codec import as_stored
from stages.faces import FaceDetector, faces_in_frames, stored_crops
from stages.video import read_sampled_frames


class VideoCropper:
    """Frames and face crops of one video at a time, by a model's Preprocessing."""

    def __init__(self, prep):
        self.prep = prep
        self.detector = FaceDetector(prep.face_detector, prep.detect_max_side, prep.small_faces)

    def frames(self, path):
        """(indices, frames): the sampled frames as training saw them (same sampling, size
        and compression). Raises SkipInput when the file is not a usable video."""
        p = self.prep
        indices, frames, _ = read_sampled_frames(path, p.frames_per_video, p.frame_max_side)
        return indices, as_stored(frames, p.frame_format, p.jpeg_quality)

    def faces(self, indices, frames):
        """faces_in_frames' arrays (crops, boxes, tracks ...) for the frames."""
        p = self.prep
        return faces_in_frames(self.detector, indices, frames, p.face_margin, p.face_size,
                               p.faces_per_frame, p.face_align)

    def stored(self, crops):
        """Crops as the model reads them from a crops file (the same compression)."""
        return stored_crops(crops, self.prep.frame_format, self.prep.jpeg_quality)
