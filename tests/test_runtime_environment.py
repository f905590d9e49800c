"""The local execution environment, with a real test handler in the real python3.12 worker.

No model is needed: the handler reports what it sees (sys.path, environment, context, whether
it can write to /opt) or misbehaves on request (sleep, allocate, raise, exit).
"""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import pytest

from mlayer.errors import MlayerError
from mlayer.runtime import cgroups, sandbox
from mlayer.runtime.environment import ExecutionEnvironment

from test_runtime_support import NO_PYTHON, PYTHON, build_manifest

pytestmark = pytest.mark.skipif(PYTHON is None, reason=NO_PYTHON)


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_manifest(tmp_path_factory.mktemp("probe"))


def test_sys_path_environment_and_context_as_on_lambda(manifest: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MLAYER_TEST_HOST_ONLY", "must not leak")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    user_env = {"SINK": "none", "MODEL_DIR": "/opt/model", "EXTRA_PATH": "/var/task/conf"}
    with ExecutionEnvironment(manifest, memory_mb=256, timeout_s=7, environment=user_env, region="eu-west-1", function_name="fn") as env:
        invocation = env.invoke({"action": "probe"})
        layout, runtime_dir = env.layout, env.runtime_dir
    assert invocation.ok, invocation.error
    seen = invocation.response

    # sys.path: task root, the layers' python dirs, the runtime's boto3, then only the stdlib.
    assert seen["sys_path"][:4] == [str(layout.task_dir), str(layout.site_packages), str(layout.opt_dir / "python"), str(runtime_dir)]
    stdlib = seen["sys_path"][4:]
    prefix = str(PYTHON.resolve().parent.parent)
    assert stdlib and all(p.startswith(prefix) for p in stdlib)
    assert not any("site-packages" in p for p in stdlib)
    assert seen["flags"] == {"dont_write_bytecode": True, "isolated": 1, "no_site": 1}
    assert seen["which_layer"] == "deps"
    assert seen["boto3_file"].startswith(str(runtime_dir))
    assert seen["cwd"] == str(layout.task_dir)

    env_seen = seen["env"]
    expected = {
        "AWS_LAMBDA_FUNCTION_NAME": "fn",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fn",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "LAMBDA_TASK_ROOT": str(layout.task_dir),
        "LAMBDA_RUNTIME_DIR": str(runtime_dir),
        "_HANDLER": "lambda_function.lambda_handler",
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "SINK": "none",
        "MODEL_DIR": str(layout.opt_dir / "model"),  # /opt/model mapped onto the local /opt
        "EXTRA_PATH": f"{layout.task_dir}/conf",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:1",  # a local endpoint from the shell reaches the handler
    }
    assert {k: env_seen.get(k) for k in expected} == expected
    assert env_seen["LD_LIBRARY_PATH"].split(":")[-1] == f"{layout.opt_dir}/lib"
    assert env_seen["PATH"].split(":")[-1] == f"{layout.opt_dir}/bin"
    assert env_seen["AWS_LAMBDA_LOG_STREAM_NAME"].split("/")[3].startswith("[$LATEST]")
    assert "MLAYER_TEST_HOST_ONLY" not in env_seen
    # Nothing else from the host: only what we set, plus Python's own locale coercion where
    # en_US.UTF-8 is not installed.
    assert set(env_seen) - set(env.env) <= {"LC_CTYPE"}

    context = seen["context"]
    assert context["aws_request_id"] == invocation.request_id
    assert context["invoked_function_arn"] == "arn:aws:lambda:eu-west-1:123456789012:function:fn"
    assert context["memory_limit_in_mb"] == "256"  # a str, as the AWS runtime gives it
    assert (context["function_name"], context["function_version"]) == ("fn", "$LATEST")
    assert context["log_group_name"] == "/aws/lambda/fn"
    assert context["log_stream_name"] == env_seen["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert 0 < context["remaining_ms"] <= 7000


def test_layers_are_read_only_and_get_no_bytecode(manifest: Path):
    with ExecutionEnvironment(manifest, memory_mb=256) as env:
        seen = env.invoke({"action": "probe"}).response
        mounts = env.readonly_mounts
    assert seen["pycache_in_opt"] is False  # which_layer.py was imported without writing __pycache__
    if not mounts:
        pytest.skip(f"read-only bind mounts unavailable here ({sandbox.readonly_mounts().reason}); only chmod a-w applies")
    assert seen["write_opt"] == "OSError:30" and seen["write_task"] == "OSError:30"  # EROFS, even as root


def test_warm_reuse_then_report_lines(manifest: Path):
    with ExecutionEnvironment(manifest, memory_mb=256) as env:
        cold = env.invoke({"action": "probe"})
        warm = env.invoke({"action": "stderr"})
    assert cold.report.init_ms is not None and cold.report.init_ms > 0
    assert warm.report.init_ms is None
    assert warm.response["pid"] == cold.response["pid"] == cold.response["init_pid"]
    assert env.cold_starts == 1 and env.invocations == 2
    # The INIT print comes before START, only on the cold invocation; handler prints are log lines.
    assert cold.logs.index("init: handler module imported") < cold.logs.index(f"START RequestId: {cold.request_id} Version: $LATEST")
    assert "init: handler module imported" not in warm.logs
    assert warm.logs[:4] == [f"START RequestId: {warm.request_id} Version: $LATEST", "handling stderr", "to stderr", f"END RequestId: {warm.request_id}"]
    cold_line, warm_line = cold.logs[-1], warm.logs[-1]
    assert cold_line.startswith(f"REPORT RequestId: {cold.request_id}\tDuration: ") and "\tInit Duration: " in cold_line
    assert "Init Duration" not in warm_line
    assert f"\tMemory Size: 256 MB\tMax Memory Used: {warm.report.max_memory_used_mb} MB" in warm_line
    # Billing: 1 ms steps, INIT included on the cold start.
    assert cold.report.billed_ms == math.ceil(cold.report.duration_ms + cold.report.init_ms)
    assert warm.report.billed_ms == math.ceil(warm.report.duration_ms)
    assert f"\tBilled Duration: {warm.report.billed_ms} ms\t" in warm_line


def test_timeout_kills_and_the_next_invoke_cold_starts(manifest: Path):
    with ExecutionEnvironment(manifest, memory_mb=256, timeout_s=1) as env:
        first = env.invoke({"action": "stderr"})
        slow = env.invoke({"action": "sleep", "seconds": 30})
        after = env.invoke({"action": "stderr"})
    assert slow.report.status == "timeout"
    assert slow.error == {"errorType": "Sandbox.Timedout", "errorMessage": f"RequestId: {slow.request_id} Error: Task timed out after 1.00 seconds"}
    assert slow.report.duration_ms == 1000.0 and slow.report.billed_ms == 1000
    assert any(line.endswith(f"{slow.request_id} Task timed out after 1.00 seconds") for line in slow.logs)
    assert "\tStatus: timeout\tError Type: Sandbox.Timedout" in slow.logs[-1]
    assert after.ok and after.report.init_ms is not None
    assert after.response["pid"] != first.response["pid"]
    assert env.cold_starts == 2


def test_memory_limit_kills_as_out_of_memory(manifest: Path):
    with ExecutionEnvironment(manifest, memory_mb=128) as env:
        fits = env.invoke({"action": "alloc", "mb": 40})
        hog = env.invoke({"action": "alloc", "mb": 300})
        after = env.invoke({"action": "stderr"})
    assert fits.ok and fits.report.max_memory_used_mb >= 40
    assert hog.report.status == "oom"
    assert hog.error == {"errorType": "Runtime.OutOfMemory", "errorMessage": f"RequestId: {hog.request_id} Error: Runtime exited with error: signal: killed"}
    assert hog.report.max_memory_used_mb == 128  # as Lambda shows it
    assert hog.report.peak_rss_mb > 128  # what we measured before the kill
    assert "\tMax Memory Used: 128 MB\t" in hog.logs[-1] and "Status: oom" in hog.logs[-1]
    assert after.ok and after.report.init_ms is not None and after.response["pid"] != fits.response["pid"]


def test_handler_exception_is_lambdas_error_payload_and_keeps_the_environment(manifest: Path):
    with ExecutionEnvironment(manifest, memory_mb=256) as env:
        failed = env.invoke({"action": "raise", "why": "bad input"})
        after = env.invoke({"action": "stderr"})
    assert failed.report.status == "error" and failed.response is None
    error = failed.error
    assert (error["errorType"], error["errorMessage"], error["requestId"]) == ("ValueError", "boom: bad input", failed.request_id)
    assert len(error["stackTrace"]) == 1 and "lambda_function.py" in error["stackTrace"][0] and "in lambda_handler" in error["stackTrace"][0]
    assert "[ERROR] ValueError: boom: bad input" in failed.logs
    assert "Status:" not in failed.logs[-1]  # Lambda's REPORT only shows a status when the runtime failed
    assert after.ok and after.report.init_ms is None  # still warm


def test_runtime_failures(manifest: Path):
    with ExecutionEnvironment(manifest, memory_mb=256) as env:
        marshal = env.invoke({"action": "unserializable"})
        crash = env.invoke({"action": "exit"})
    assert marshal.error["errorType"] == "Runtime.MarshalError"
    assert marshal.error["errorMessage"].startswith("Unable to marshal response: Object of type set is not JSON serializable")
    assert crash.report.status == "crash"
    assert crash.error["errorMessage"].endswith("Error: Runtime exited with error: exit status 3")


@pytest.mark.parametrize(
    ("files", "handler", "error_type", "message"),
    [
        ({"lambda_function.py": "import not_installed_anywhere\n"}, "lambda_function.lambda_handler",
         "Runtime.ImportModuleError", "Unable to import module 'lambda_function': No module named 'not_installed_anywhere'"),
        ({"lambda_function.py": "x = 1\n"}, "lambda_function.lambda_handler",
         "Runtime.HandlerNotFound", "Handler 'lambda_handler' missing on module 'lambda_function'"),
        ({"lambda_function.py": "raise RuntimeError('model file missing')\n"}, "lambda_function.lambda_handler",
         "RuntimeError", "model file missing"),
    ],
)
def test_init_errors(tmp_path: Path, files, handler, error_type, message):
    manifest = build_manifest(tmp_path, function_files=files, handler=handler)
    with ExecutionEnvironment(manifest, memory_mb=256) as env:
        first = env.invoke({})
        second = env.invoke({})
    assert first.report.status == "init_error" and first.report.init_ms is not None
    assert (first.error["errorType"], first.error["errorMessage"]) == (error_type, message)
    assert f"[ERROR] {error_type}: {message}" in first.logs
    assert second.report.init_ms is not None  # INIT is tried again on the next invoke
    assert env.cold_starts == 2


def test_cpu_throttle_follows_memory(manifest: Path):
    control = cgroups.probe_cpu_control()
    with ExecutionEnvironment(manifest, memory_mb=512) as env:
        invocation = env.invoke({"action": "stderr"})
        pid = invocation.response["pid"]
        cgroup = env._cgroup
        membership = Path(f"/proc/{pid}/cgroup").read_text()
    assert invocation.report.cpu_throttled is (control.mode is not None)
    if control.mode is None:
        assert invocation.report.cpu_vcpus is None and cgroup is None
        pytest.skip(f"no CPU throttling on this host: {control.reason}")
    assert invocation.report.cpu_vcpus == pytest.approx(512 / 1769, abs=1e-5)
    assert cgroup is not None and f"/{cgroup.path.name}" in membership  # the worker itself is in it
    assert not cgroup.path.exists()  # removed with the environment


def test_no_cpu_throttle_when_asked(manifest: Path):
    with ExecutionEnvironment(manifest, memory_mb=512, cpu_throttle=False) as env:
        invocation = env.invoke({"action": "stderr"})
    assert invocation.report.cpu_throttled is False and invocation.report.cpu_vcpus is None


def test_bad_configuration_is_a_one_line_error(manifest: Path):
    with pytest.raises(MlayerError, match="memory 64 MB is outside Lambda's range"):
        ExecutionEnvironment(manifest, memory_mb=64)
    with pytest.raises(MlayerError, match="timeout 901 s is outside Lambda's range"):
        ExecutionEnvironment(manifest, timeout_s=901)
    with pytest.raises(MlayerError, match="AWS_REGION is reserved by Lambda"):
        ExecutionEnvironment(manifest, environment={"AWS_REGION": "eu-west-1"})
    with ExecutionEnvironment(manifest) as env:
        with pytest.raises(MlayerError, match="over Lambda's 6,291,456-byte invoke payload limit"):
            env.invoke({"blob": "x" * (6 * 1024 * 1024)})
        assert env.pid is None  # refused before starting anything


def test_no_worker_is_left_behind(manifest: Path):
    env = ExecutionEnvironment(manifest, memory_mb=256)
    pid = env.invoke({"action": "stderr"}).response["pid"]
    assert env.pid == pid and Path(f"/proc/{pid}").exists()
    env.close()
    assert env.pid is None
    assert not Path(f"/proc/{pid}").exists()  # killed and reaped, not a zombie


def test_output_without_a_final_newline_stays_with_its_invocation(manifest: Path):
    with ExecutionEnvironment(manifest, memory_mb=256) as env:
        partial = env.invoke({"action": "no_newline"})
        after = env.invoke({"action": "stderr"})
    assert partial.logs[-4:-2] == ["handling no_newline", "no newline at the end"]
    assert after.logs[1:3] == ["handling stderr", "to stderr"]


def test_the_worker_joins_its_cgroup_after_the_mounts(tmp_path: Path):
    """The read-only mounts are the emulator's set-up, not INIT: they must not spend the worker's CPU share.
    Proof of the order: a cgroup.procs path inside a directory the shim makes read-only can only be
    written before the mounts, so the launch fails exactly when the join comes after them."""
    if not sandbox.readonly_mounts().available:
        pytest.skip(f"no read-only mounts on this host: {sandbox.readonly_mounts().reason}")
    inside = tmp_path / "ro"
    inside.mkdir()
    procs = inside / "cgroup.procs"
    command = sandbox.launch_command(["/bin/sh", "-c", "exit 0"], cgroup_procs=procs, readonly_dirs=[inside])
    proc = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0 and "Read-only file system" in proc.stderr, proc.stderr
    assert not procs.exists()
    outside = tmp_path / "cgroup.procs"  # and a writable one is written, by the worker's own pid
    proc = subprocess.run(sandbox.launch_command(["/bin/sh", "-c", "echo $$"], cgroup_procs=outside, readonly_dirs=[inside]), capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and outside.read_text().strip() == proc.stdout.strip()
