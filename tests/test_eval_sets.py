"""Evaluation sets: named folders of other data, never the training data."""
import pytest

from deepfake_dvc.errors import ConfigError
from stages.eval_faces import eval_folder
from tests.conftest import run


def sets(**folders):
    return dict(eval_sets=folders, data_dir="data/demo")


def test_a_set_of_other_data_is_its_folder(tmp_path):
    assert eval_folder("celeb", sets(celeb=str(tmp_path))) == str(tmp_path)


@pytest.mark.parametrize("folder", ["data/demo", "data/demo/real", "data", "./data/demo/"])
def test_the_training_data_inside_or_around_is_refused(folder):
    with pytest.raises(ConfigError, match="overlaps the training data_dir"):
        eval_folder("mine", sets(mine=folder))


def test_an_unknown_set_names_the_sets_there_are():
    with pytest.raises(ConfigError, match="no evaluation set 'x' in eval_sets .sets: a, b."):
        eval_folder("x", sets(a="/a", b="/b"))


def test_a_set_whose_folder_does_not_exist_is_named_as_a_set_not_as_data_dir(tmp_path):
    with pytest.raises(ConfigError, match=r"eval_sets 'celeb': '.*nowhere' does not exist or "
                                          r"is not a folder \(set eval_sets in params.yaml\)"):
        eval_folder("celeb", sets(celeb=str(tmp_path / "nowhere")))


def test_scoring_a_set_that_does_not_exist_is_one_line_not_a_traceback(project):
    done = run("python -m stages.eval_score nope", project, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(
        "error: no crops of evaluation set 'nope' (data/eval/nope/faces.csv not found)")
