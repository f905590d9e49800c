"""The handler on the other supported runtimes, each with its own real deps layer and a model
pickled by that runtime's interpreter and libraries (python3.11 gets the AL2-compatible pins)."""

from __future__ import annotations

import pytest
from handler_harness import TEST_DATA, HandlerInitError, handler_for, kinesis_event, seed_payload, target_python

from conftest import REPO


@pytest.mark.slow
@pytest.mark.parametrize("runtime", ["python3.11", "python3.13"])
def test_the_handler_serves_on_every_supported_runtime(runtime, tmp_path):
    from mlayer.deps.layer import build_deps_layer
    from mlayer.isolated import run_isolated_json
    from mlayer.runtimes import find_interpreter, get_runtime

    version = get_runtime(runtime).python_version
    if find_interpreter(version) is None:
        pytest.skip(f"no Python {version} interpreter on this machine (pyenv install {version}) to run {runtime}")
    deps = build_deps_layer(REPO / "requirements" / f"{runtime}.txt", tmp_path / "dist", runtime=runtime)
    model_dir = tmp_path / "model"
    code = f"import json, handler_models; print(json.dumps(handler_models.main('steps', {str(model_dir)!r})))"
    metadata = run_isolated_json(target_python(deps), [deps.python_dir, TEST_DATA], code, what=f"training on {runtime}")
    assert metadata["pickled_with"]["python"] == version

    with handler_for(deps, model_dir) as handler:
        result = handler.invoke(kinesis_event([seed_payload(t) for t in metadata["samples"]["inputs"]] + [b"{}"]))

    assert [p["label"] for p in result.response["predictions"]] == metadata["samples"]["expected"]
    assert result.response["failureReasons"] == {result.failed_ids[0]: "missing_field"}
    assert result.batch_log["records"] == len(metadata["samples"]["inputs"]) + 1


@pytest.mark.slow
def test_a_model_pickled_with_another_scikit_learn_is_refused_at_init(deps_build, tmp_path):
    """A model layer made for the python3.11 deps layer (scikit-learn 1.7) attached to the python3.12
    one (1.9) after a deploy: INIT refuses it instead of serving whatever the unpickled object does."""
    from mlayer.deps.layer import build_deps_layer
    from mlayer.isolated import run_isolated_json
    from mlayer.runtimes import find_interpreter

    if find_interpreter("3.11") is None:
        pytest.skip("no Python 3.11 interpreter on this machine (pyenv install 3.11) to pickle with scikit-learn 1.7")
    old = build_deps_layer(REPO / "requirements" / "python3.11.txt", tmp_path / "dist", runtime="python3.11")
    assert old.packages["scikit-learn"] != deps_build.packages["scikit-learn"]
    model_dir = tmp_path / "model"
    code = f"import json, handler_models; print(json.dumps(handler_models.main('steps', {str(model_dir)!r})))"
    run_isolated_json(target_python(old), [old.python_dir, TEST_DATA], code, what="training on python3.11")

    with pytest.raises(HandlerInitError) as caught:
        handler_for(deps_build, model_dir).start()
    assert caught.value.error_type == "ModelInitError"
    assert f"model file {model_dir / 'PreProc1.joblib'} was pickled with another scikit-learn" in caught.value.error
