"""The function's identity, its environment variables and sys.path, as Lambda sets them.

Lambda's paths are mapped onto the local layout: /opt -> the extracted layers, /var/task -> the
extracted function, /var/runtime -> the runtime-provided directory (boto3), /var/lang -> the
target interpreter's prefix. A user variable whose value is a path under /opt or /var/task (say
MODEL_DIR=/opt/model copied from Terraform) is rewritten to the local directory the same way.

sys.path (what the AWS python3.12/3.13 runtimes show, minus /var/lang's own site-packages,
which would be the host's here):
    [task dir, <opt>/python/lib/pythonX.Y/site-packages, <opt>/python, runtime dir, stdlib...]
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import MlayerError
from .layout import Layout

ACCOUNT_ID = "123456789012"  # AWS's documented example account
DEFAULT_REGION = "us-east-1"
DEFAULT_FUNCTION_NAME = "mlayer-function"
FUNCTION_VERSION = "$LATEST"
# Lambda rejects these in a function's configuration: it sets them itself.
RESERVED = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})  # fmt: skip
# Taken from the host: the execution role's credentials (from your shell, as `sam local` does),
# a local endpoint (moto/localstack) so the handler never reaches real AWS by surprise, and the
# BLAS/OpenMP knobs the host may need for its processor.
PASS_THROUGH = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL")
PASS_THROUGH_PREFIXES = ("AWS_ENDPOINT_URL_", "OPENBLAS_", "OMP_", "MKL_")


@dataclass(frozen=True)
class FunctionConfig:
    name: str
    memory_mb: int
    timeout_s: float
    region: str
    version: str = FUNCTION_VERSION
    log_stream_name: str = ""

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.name}"

    def context_fields(self) -> dict[str, str]:
        """What the worker's context object is built from."""
        return {
            "function_name": self.name,
            "function_version": self.version,
            "invoked_function_arn": self.arn,
            "memory_limit_in_mb": str(self.memory_mb),
            "log_group_name": self.log_group_name,
            "log_stream_name": self.log_stream_name,
        }


def new_log_stream_name(version: str = FUNCTION_VERSION) -> str:
    """One per execution environment, shaped like Lambda's: 2026/11/25/[$LATEST]<32 hex>."""
    return f"{dt.datetime.now(dt.timezone.utc):%Y/%m/%d}/[{version}]{uuid.uuid4().hex}"


def default_region(host_env: Mapping[str, str]) -> str:
    return host_env.get("AWS_REGION") or host_env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def worker_sys_path(layout: Layout, runtime_dir: Path) -> list[str]:
    """The entries put before the stdlib, in Lambda's order."""
    return [str(layout.task_dir), str(layout.site_packages), str(layout.opt_dir / "python"), str(runtime_dir)]


def map_lambda_path(value: str, layout: Layout, runtime_dir: Path) -> str:
    """/opt/..., /var/task/..., /var/runtime/... -> the local directories standing for them."""
    for prefix, local in (("/opt", layout.opt_dir), ("/var/task", layout.task_dir), ("/var/runtime", runtime_dir)):
        if value == prefix or value.startswith(prefix + "/"):
            return str(local) + value[len(prefix):]
    return value


def check_user_env(user_env: Mapping[str, str]) -> None:
    for key, value in user_env.items():
        if key in RESERVED:
            raise MlayerError(
                f"environment variable {key} is reserved by Lambda (a deploy would be rejected): remove it from --env; "
                "the region comes from --region or AWS_REGION, credentials from your shell"
            )
        if not key or "=" in key or not isinstance(value, str):
            raise MlayerError(f"environment variable {key!r}={value!r} is not a valid NAME=string pair: fix the --env value")


def lambda_environment(
    layout: Layout,
    runtime_dir: Path,
    interpreter: Path,
    function: FunctionConfig,
    user_env: Mapping[str, str],
    host_env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The worker's complete environment (nothing else from the host leaks in)."""
    host_env = os.environ if host_env is None else host_env
    check_user_env(user_env)
    lang_dir = interpreter.resolve().parent.parent  # stands for /var/lang
    task, opt = str(layout.task_dir), str(layout.opt_dir)
    env = {
        key: value
        for key, value in host_env.items()
        if key in PASS_THROUGH or key.startswith(PASS_THROUGH_PREFIXES)
    }
    env.update({
        "PATH": os.pathsep.join([str(lang_dir / "bin"), "/usr/local/bin", "/usr/bin/", "/bin", f"{opt}/bin"]),
        "LD_LIBRARY_PATH": os.pathsep.join([
            str(lang_dir / "lib"), "/lib64", "/usr/lib64", str(runtime_dir), f"{runtime_dir}/lib", task, f"{task}/lib", f"{opt}/lib",
        ]),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PYTHONPATH": str(runtime_dir),  # as on Lambda; the worker runs with -I, so only subprocesses see it
        "LAMBDA_TASK_ROOT": task,
        "LAMBDA_RUNTIME_DIR": str(runtime_dir),
        "_HANDLER": layout.handler,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{layout.runtime.name}",
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_VERSION": function.version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": function.log_group_name,
        "AWS_LAMBDA_LOG_STREAM_NAME": function.log_stream_name,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": function.region,
        "AWS_DEFAULT_REGION": function.region,
        "MODEL_DIR": str(layout.model_dir),  # the handler's default is /opt/model, which is here
    })  # fmt: skip
    env.update({key: map_lambda_path(value, layout, runtime_dir) for key, value in user_env.items()})
    return env
