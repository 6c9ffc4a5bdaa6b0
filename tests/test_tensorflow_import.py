"""TensorFlow's C++ start-up lines stay off the terminal unless debug messages are asked for."""
import os

from deepfake_dvc.tensorflow_import import _captured_stderr, _replay


def test_lines_written_to_descriptor_2_are_caught_and_logged_at_debug(capfd, restore_log_level):
    from deepfake_dvc.log import set_log_level
    lines = []
    with _captured_stderr(lines):
        os.write(2, b"E0000 cuda_platform.cc:52] failed call to cuInit: (303)\n")
    assert lines == ["E0000 cuda_platform.cc:52] failed call to cuInit: (303)"]
    assert capfd.readouterr().err == ""
    _replay(lines, 10)  # debug: hidden at info
    assert capfd.readouterr().err == ""
    set_log_level("debug")
    _replay(lines, 10)
    assert "debug: tensorflow: E0000 cuda_platform.cc:52] failed call to cuInit" in \
        capfd.readouterr().err
