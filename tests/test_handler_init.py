"""The handler's INIT refuses a model it cannot trust and a configuration it cannot honour.

Each case starts a fresh handler process on the real deps layer over a copy of the demo model,
damaged in one way, and expects INIT to fail with a message naming the culprit.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from handler_harness import FUNCTION_DIR, HandlerInitError, handler_for, kinesis_event, seed_payload

from conftest import DEMO_MODEL_NAME, DEMO_MODEL_VERSION


@pytest.fixture(scope="module")
def demo_model_dir(demo_artifacts: Path) -> Path:
    return demo_artifacts / DEMO_MODEL_NAME / DEMO_MODEL_VERSION


@pytest.fixture
def model_copy(demo_model_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "model"
    shutil.copytree(demo_model_dir, copy)
    return copy


def edit_metadata(model_dir: Path, change: Callable[[dict], None]) -> None:
    path = model_dir / "metadata.json"
    metadata = json.loads(path.read_text())
    change(metadata)
    path.write_text(json.dumps(metadata))


def estimator_file(model_dir: Path) -> Path:
    metadata = json.loads((model_dir / "metadata.json").read_text())
    return model_dir / metadata["files"][-1]["file"]


def first_file(model_dir: Path) -> Path:
    metadata = json.loads((model_dir / "metadata.json").read_text())
    return model_dir / metadata["files"][0]["file"]


def init_error(deps_build, model_dir: Path, env: dict[str, str] | None = None) -> HandlerInitError:
    handler = handler_for(deps_build, model_dir, env)
    with pytest.raises(HandlerInitError) as caught:
        handler.start()
    error = caught.value
    assert error.returncode not in (0, None), "a failed INIT must end the process with an error"
    init_failed = [json.loads(line) for line in error.logs]
    assert [entry["message"] for entry in init_failed] == ["init failed"], error.logs
    assert init_failed[0]["error"] == error.error  # the log says what the exception says
    return error


def test_a_tampered_model_file_is_never_unpickled(deps_build, model_copy):
    target = estimator_file(model_copy)
    with open(target, "ab") as handle:
        handle.write(b"\0")
    error = init_error(deps_build, model_copy)
    assert error.error_type == "ModelInitError"
    assert str(target) in error.error and "integrity check" in error.error
    assert hashlib.sha256(target.read_bytes()).hexdigest() in error.error
    assert error.imported == []  # refused before numpy/scikit-learn were even imported


def test_a_missing_model_file_names_the_file(deps_build, model_copy):
    target = first_file(model_copy)
    target.unlink()
    error = init_error(deps_build, model_copy)
    assert error.error_type == "ModelInitError" and f"model file {target} is missing" in error.error
    assert error.imported == []


def test_a_file_that_matches_its_hash_but_does_not_load_names_the_file(deps_build, model_copy):
    target = first_file(model_copy)
    target.write_bytes(b"this is not a joblib pickle")
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    edit_metadata(model_copy, lambda m: m["files"][0].update(sha256=digest))
    error = init_error(deps_build, model_copy)
    assert f"model file {target} could not be loaded" in error.error


def test_missing_metadata_is_an_init_error(deps_build, model_copy):
    (model_copy / "metadata.json").unlink()
    error = init_error(deps_build, model_copy)
    assert f"{model_copy / 'metadata.json'} not found" in error.error and "MODEL_DIR" in error.error


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"MODEL_VERSION": "20190105v1"}, "MODEL_VERSION='20190105v1' but the attached model layer is MyModel/20190104v1"),
        ({"MODEL_NAME": "OtherModel"}, "MODEL_NAME='OtherModel' but the attached model layer is MyModel/20190104v1"),
    ],
    ids=["version", "name"],
)
def test_model_name_or_version_env_must_match_the_layer(deps_build, demo_model_dir, env, expected):
    error = init_error(deps_build, demo_model_dir, env)
    assert error.error_type == "ModelInitError" and expected in error.error


def test_samples_that_the_layer_does_not_reproduce_fail_the_self_test(deps_build, model_copy):
    def flip(metadata: dict) -> None:
        classes = sorted(set(metadata["samples"]["expected"]))
        metadata["samples"]["expected"] = [classes[(classes.index(x) + 1) % len(classes)] for x in metadata["samples"]["expected"]]

    edit_metadata(model_copy, flip)
    error = init_error(deps_build, model_copy)
    assert "self-test failed on metadata.json samples.inputs[0]" in error.error

    # Opting out (to debug) starts, and the environment's name/version match the layer.
    env = {"MODEL_SELF_TEST": "false", "MODEL_NAME": DEMO_MODEL_NAME, "MODEL_VERSION": DEMO_MODEL_VERSION}
    with handler_for(deps_build, model_copy, env) as handler:
        assert json.loads(handler.init_logs[0])["selfTestSamples"] == 0
        assert handler.invoke(kinesis_event([seed_payload("serving")])).failed_ids == []


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SINK": "s3"}, "SINK=s3 needs SINK_S3_BUCKET"),
        ({"SINK": "dynamodb"}, "SINK=dynamodb needs SINK_DYNAMODB_TABLE"),
        ({"SINK": "kinesis"}, "SINK=kinesis needs SINK_KINESIS_STREAM"),
        ({"SINK": "sqs"}, "SINK='sqs': use one of none, s3, dynamodb, kinesis"),
        ({"RECORD_FORMAT": "csv"}, "RECORD_FORMAT='csv': use one of json, text"),
        ({"TEXT_FIELD_JSON_ENCODED": "maybe"}, "TEXT_FIELD_JSON_ENCODED='maybe': use true or false"),
        ({"SINK_MAX_ATTEMPTS": "0"}, "SINK_MAX_ATTEMPTS='0': must be at least 1"),
        ({"MAX_RECORD_BYTES": "1MB"}, "MAX_RECORD_BYTES='1MB': not an integer"),
        ({"INVALID_RECORDS": "drop"}, "INVALID_RECORDS='drop': use one of report, dead-letter"),
        ({"INVALID_RECORDS": "dead-letter"}, "INVALID_RECORDS=dead-letter needs a sink (s3, dynamodb or kinesis)"),
    ],
)
def test_a_bad_setting_is_an_init_error(deps_build, demo_model_dir, env, expected):
    error = init_error(deps_build, demo_model_dir, env)
    assert error.error_type == "ConfigError" and expected in error.error


@pytest.mark.parametrize("version", ["3.11", "3.12", "3.13"])
def test_every_supported_runtime_compiles_the_handler(version):
    """Syntax the oldest runtime rejects would only show on deploy: compile with each interpreter."""
    from mlayer.isolated import run_isolated
    from mlayer.runtimes import find_interpreter

    python = find_interpreter(version)
    if python is None:
        pytest.skip(f"no Python {version} interpreter on this machine (pyenv install {version})")
    sources = sorted(str(p) for p in FUNCTION_DIR.glob("*.py"))
    assert "lambda_function.py" in {Path(s).name for s in sources}
    code = f"for path in {sources!r}: compile(open(path).read(), path, 'exec', dont_inherit=True)"
    proc = run_isolated(python, [], code)
    assert proc.returncode == 0, proc.stderr



@pytest.mark.parametrize(("memory", "threads"), [("1024", "1"), ("3538", "2"), (None, "1")])
def test_blas_threads_follow_the_vcpus_lambda_gives_the_memory_size(deps_build, demo_model_dir, memory, threads):
    """More OpenBLAS threads than vCPUs only burn the CPU quota during INIT."""
    env = {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": memory} if memory else {}
    with handler_for(deps_build, demo_model_dir, env) as handler:
        assert json.loads(handler.init_logs[0])["blasThreads"] == threads


def test_an_explicit_blas_thread_count_wins(deps_build, demo_model_dir):
    with handler_for(deps_build, demo_model_dir, {"OPENBLAS_NUM_THREADS": "3", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024"}) as handler:
        assert json.loads(handler.init_logs[0])["blasThreads"] == "3"
