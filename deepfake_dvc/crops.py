"""A video's face crops, made the one way training, evaluation and check all make them: the
frame sampling, face detection, tracks, alignment, cropping and the crops' storage that a
model's preprocessing records (detect_faces, eval_faces, check)."""
from deepfake_dvc.crops_file import crops_file_bytes, faces_path, stored_crops
from deepfake_dvc.faces import FaceDetector, crop_faces, find_faces
from deepfake_dvc.parallel import Files
from deepfake_dvc.params import FACE_KEYS, FRAME_KEYS
from deepfake_dvc.status import NO_FACE
from deepfake_dvc.video import read_sampled_frames


class VideoCropper:
    """Frames and face crops of one video at a time, by the frame and face settings
    (a mapping with FRAME_KEYS and FACE_KEYS: params, or a model's Preprocessing)."""

    def __init__(self, settings):
        self.settings = {key: settings[key] for key in FRAME_KEYS + FACE_KEYS}
        s = self.settings
        self.detector = FaceDetector(s["face_detector"], s["detect_max_side"], s["small_faces"])

    def frames(self, path, transform=None):
        """(indices, BGR frames, info): the sampled frames as decoded (each changed by
        transform(frame, index) first, if given). Raises SkipInput when the file is not a
        usable video."""
        return read_sampled_frames(path, self.settings["frames_per_video"],
                                   self.settings["frame_max_side"], transform)

    def find(self, indices, frames):
        """The faces of the people seen most in the frames (find_faces' arrays)."""
        return find_faces(self.detector, indices, frames, self.settings["faces_per_frame"])

    def crop(self, indices, frames, found):
        """found with its crops cut from the frames (crop_faces' arrays)."""
        s = self.settings
        return crop_faces(indices, frames, found, s["face_margin"], s["face_size"],
                          s["face_align"])

    def faces(self, indices, frames):
        """The frames' faces found and cropped."""
        return self.crop(indices, frames, self.find(indices, frames))

    def cropped(self, row, indices, frames, folder):
        """A video's table row with the frames sampled and the faces found in them: as Files
        with its crops file for folder (parallel_map writes it), or, when no face was found,
        alone with status no_face."""
        faces = self.faces(indices, frames)
        row = dict(row, frames=len(frames), faces=len(faces["crops"]))
        if not row["faces"]:
            return dict(row, status=NO_FACE)
        return Files(row, self.crops_file(row["id"], faces, folder))

    def crops_file(self, video_id, faces, folder):
        """{path: bytes} of one video's crops file in folder, its crops in the recorded
        format (for parallel_map's Files: the stage's process writes it)."""
        data = crops_file_bytes(faces, self.settings["frame_format"],
                                self.settings["jpeg_quality"])
        return {faces_path(video_id, folder): data}

    def stored(self, crops):
        """Crops as the model reads them from a crops file (the same compression)."""
        return stored_crops(crops, self.settings["frame_format"], self.settings["jpeg_quality"])
