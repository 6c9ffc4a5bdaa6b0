"""The class labels, the splits, and the ids of videos made from others."""
LABEL_INDEX = {"real": 0, "fake": 1}   # the model's output order; fake is the positive class
SPLITS = ("train", "val", "test")
DERIVED = "+"                  # never in an id made from a file name (video.assign_ids) ...
SELF_BLENDED = f"{DERIVED}sbi"  # ... so '<id>+sbi', detect_faces' self-blended fake, is unique
