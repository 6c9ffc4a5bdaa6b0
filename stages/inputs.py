"""DVC stage inputs: what the pipeline reads from outside the workspace, recorded by content.

DVC cannot depend on a varying number of folders given by one parameter
(data_dir: one folder or {name: folder}), nor on a path that may be `none`
(init_model), so this stage runs on every `dvc repro` (always_changed) and
records them: data/inputs/sources.json, each data_dir source's folder and its
md5 as DVC computes a folder dep's (from DVC's hash cache, so an unchanged
folder is not read again), and data/inputs/parent.json, init_model's files'
SHA-256, its card's training data, training and test metrics, and its videos
by content (or {"init_model": "none"}). detect_faces and robust_faces depend on
the first, split, train and forgetting on the second: a record whose bytes did
not change re-runs nothing. Every source is listed and the parent checked here,
before any work: a folder listed twice, a file in two sources, an init_model
that is not a trained model of this project or whose preprocessing or backbone
differs from params.yaml's, each stop the pipeline with one line.
"""
import argparse
import sys

from deepfake_dvc.backbones import BACKBONES  # noqa: F401  (checks backbone and img_size)
from deepfake_dvc.files import write_json
from deepfake_dvc.inputs import parent_record, sources_record
from deepfake_dvc.lineage import current_preprocessing
from deepfake_dvc.log import log
from deepfake_dvc.params import FACE_KEYS, FRAME_KEYS, read_params, run_stage
from deepfake_dvc.paths import PARENT_RECORD, SOURCES_RECORD, data_sources
from deepfake_dvc.sources import list_sources

PARAMS = ("data_dir", "dataset", "ff_compression", "ff_methods", "init_model", "backbone",
          "img_size", *FRAME_KEYS, *FACE_KEYS)


def main(argv=None):
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = read_params(PARAMS)

    list_sources(params["data_dir"], params["dataset"], params["ff_compression"],
                 params["ff_methods"])  # refuses a bad source before anything is hashed
    parent = parent_record(params["init_model"], current_preprocessing(params),
                           params["backbone"])
    write_json(SOURCES_RECORD, sources_record(params["data_dir"]))
    write_json(PARENT_RECORD, parent)
    log.info(f"inputs: {len(data_sources(params['data_dir']))} data source(s); init_model "
             f"{params['init_model']} -> {SOURCES_RECORD}, {PARENT_RECORD}")


if __name__ == "__main__":
    sys.exit(run_stage(main))
