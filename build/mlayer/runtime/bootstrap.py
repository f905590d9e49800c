"""The worker: mlayer's local stand-in for Lambda's Python runtime interface client.

Run by the TARGET interpreter as `python -I -S -B -u bootstrap.py REQ_FD RESP_FD`; it imports
nothing from mlayer (the layers and the handler must be all it sees).

Protocol, on two dedicated pipe fds so the handler's own stdout/stderr stay plain log lines:
every message is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON.

    parent -> worker  {"type": "configure", "sys_path": [...], "handler": "mod.func", "function": {...}}
    worker -> parent  {"type": "ready", "import_ms": ...}  or  {"type": "init_error", "error": {...}}
    parent -> worker  {"type": "invoke", "request_id": ..., "deadline_ms": ..., "event": "<JSON text>"}
    worker -> parent  {"type": "result", "response": "<JSON text>", "duration_ms": ...}
                   or {"type": "error", "error": {errorMessage, errorType, requestId, stackTrace}, "duration_ms": ...}

After each phase the worker flushes stdout/stderr and writes a marker line (MARKER + "init" or
MARKER + "end <request id>") to stdout, so the parent knows which log lines belong to which
invocation. Errors are shaped and logged as the AWS runtime does ("[ERROR] Type: message" and
a traceback without the runtime's own frames).
"""

import importlib
import json
import os
import sys
import time
import traceback

MARKER = "\x1fmlayer:"


def _read_exact(fd, size):
    chunks = []
    while size:
        chunk = os.read(fd, size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_message(fd):
    header = _read_exact(fd, 4)
    if header is None:
        return None
    body = _read_exact(fd, int.from_bytes(header, "big"))
    return None if body is None else json.loads(body.decode("utf-8"))


def write_message(fd, message):
    data = json.dumps(message).encode("utf-8")
    data = len(data).to_bytes(4, "big") + data
    while data:
        written = os.write(fd, data)
        data = data[written:]


def mark(text):
    """Flush the handler's output, then write a marker line after it on the same stream."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os.write(1, (MARKER + text + "\n").encode("utf-8"))


class CognitoIdentity:
    cognito_identity_id = None
    cognito_identity_pool_id = None


class LambdaContext:
    """The attributes and method the AWS Python runtime's context object has."""

    def __init__(self, request_id, deadline_ms, function):
        self.aws_request_id = request_id
        self.function_name = function["function_name"]
        self.function_version = function["function_version"]
        self.invoked_function_arn = function["invoked_function_arn"]
        # The AWS runtime reads this from AWS_LAMBDA_FUNCTION_MEMORY_SIZE: it is a str there too.
        self.memory_limit_in_mb = function["memory_limit_in_mb"]
        self.log_group_name = function["log_group_name"]
        self.log_stream_name = function["log_stream_name"]
        self.identity = CognitoIdentity()
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(int(self._deadline_ms - time.time() * 1000), 0)

    def log(self, message):
        sys.stdout.write(message)

    def __repr__(self):
        return (
            "LambdaContext([aws_request_id={0.aws_request_id},log_group_name={0.log_group_name},"
            "log_stream_name={0.log_stream_name},function_name={0.function_name},"
            "memory_limit_in_mb={0.memory_limit_in_mb},function_version={0.function_version},"
            "invoked_function_arn={0.invoked_function_arn}])".format(self)
        )


def user_frames(tb):
    """The traceback without this file's frames, as the AWS runtime trims its own."""
    frames = traceback.extract_tb(tb)
    return [frame for frame in frames if os.path.abspath(frame.filename) != os.path.abspath(__file__)]


def make_error(message, error_type, request_id=None, tb=None):
    error = {"errorMessage": message, "errorType": error_type, "stackTrace": traceback.format_list(user_frames(tb)) if tb else []}
    if request_id is not None:
        error["requestId"] = request_id
    return error


def log_error(error):
    lines = ["[ERROR] {}: {}".format(error["errorType"], error["errorMessage"])]
    if error["stackTrace"]:
        lines.append("Traceback (most recent call last):")
        lines.extend(entry.rstrip("\n") for entry in error["stackTrace"])
    print("\n".join(lines), flush=True)


def load_handler(spec):
    """Import the handler module (the INIT phase); return (handler, None) or (None, error)."""
    module_name, _, function_name = spec.rpartition(".")
    module_name = module_name.replace("/", ".")
    if not module_name or not function_name:
        return None, make_error("Bad handler '{}': not enough values to unpack".format(spec), "Runtime.MalformedHandlerName")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        return None, make_error("Unable to import module '{}': {}".format(module_name, exc), "Runtime.ImportModuleError", tb=exc.__traceback__)
    except SyntaxError as exc:
        return None, make_error("Syntax error in module '{}': {}".format(module_name, exc), "Runtime.UserCodeSyntaxError", tb=exc.__traceback__)
    except Exception as exc:
        return None, make_error(str(exc), type(exc).__name__, tb=exc.__traceback__)
    handler = getattr(module, function_name, None)
    if handler is None:
        return None, make_error("Handler '{}' missing on module '{}'".format(function_name, module_name), "Runtime.HandlerNotFound")
    return handler, None


def invoke(handler, message, function):
    request_id = message["request_id"]
    context = LambdaContext(request_id, message["deadline_ms"], function)
    started = time.perf_counter()
    try:
        event = json.loads(message["event"])
        result = handler(event, context)
        try:
            response = json.dumps(result)
        except (TypeError, ValueError) as exc:
            reply = {"type": "error", "error": make_error("Unable to marshal response: {}".format(exc), "Runtime.MarshalError", request_id)}
        else:
            reply = {"type": "result", "response": response}
    except Exception as exc:
        reply = {"type": "error", "error": make_error(str(exc), type(exc).__name__, request_id, exc.__traceback__)}
    reply["duration_ms"] = (time.perf_counter() - started) * 1000.0
    if reply["type"] == "error":
        log_error(reply["error"])
    return reply


def main():
    request_fd, response_fd = int(sys.argv[1]), int(sys.argv[2])
    # The handler's subprocesses must not inherit the protocol pipes.
    os.set_inheritable(request_fd, False)
    os.set_inheritable(response_fd, False)
    sys.dont_write_bytecode = True  # /opt and /var/task are read-only on Lambda: no __pycache__
    config = read_message(request_fd)
    if config is None or config.get("type") != "configure":
        return 2
    sys.argv = [__file__]
    # sys.path as on Lambda: task root, the layers' python dirs, the runtime dir, then the stdlib.
    sys.path[:0] = config["sys_path"]
    function = config["function"]
    started = time.perf_counter()
    handler, error = load_handler(config["handler"])
    import_ms = (time.perf_counter() - started) * 1000.0
    if error is not None:
        log_error(error)
        mark("init")
        write_message(response_fd, {"type": "init_error", "error": error, "import_ms": import_ms})
        return 1
    mark("init")
    write_message(response_fd, {"type": "ready", "import_ms": import_ms})
    while True:
        message = read_message(request_fd)
        if message is None or message.get("type") == "shutdown":
            return 0
        reply = invoke(handler, message, function)
        mark("end " + message["request_id"])
        write_message(response_fd, reply)


if __name__ == "__main__":
    sys.exit(main())
