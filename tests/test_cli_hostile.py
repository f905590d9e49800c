"""Every subcommand, hostile arguments: exactly one line on stderr, exit 2, no traceback, and
dist/ and model_artifacts/ untouched (issue 10, item 4).

Each command starts from a VALID base command line (so it is the hostile value alone that must
be refused; were it let through, the command would run, write to dist/ and fail the test) and
one argument is replaced: directories for files, files for directories, a FIFO, binary,
non-UTF-8, empty, huge (sparse), deeply nested and wrong-type JSON, out-of-range and non-finite
numbers, names with control characters. A matrix covers every (argument, hostile kind) pair;
Hypothesis (pinned in requirements-dev.txt, derandomized so a run is reproducible) adds
generated names, numbers and texts.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mlayer.cli import main

from conftest import DEFAULT_REQUIREMENTS, DEMO_MODEL_NAME, DEMO_MODEL_VERSION, REPO

DEEP_JSON = "[" * 100_000 + "]" * 100_000


@dataclass(frozen=True)
class Workspace:
    root: Path  # the cwd: holds dist/ and model_artifacts/
    manifest: Path
    event: Path
    records: Path
    samples: Path
    model_files: tuple[Path, ...]
    hostile: dict[str, Path]  # kind -> a path of that kind


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, built_manifest: Path, demo_artifacts: Path) -> Workspace:
    root = tmp_path_factory.mktemp("hostile-cli")
    dist = root / "dist"
    shutil.copytree(built_manifest.parent, dist, ignore=shutil.ignore_patterns("report", "demo"))
    shutil.copytree(demo_artifacts, root / "model_artifacts")
    model_dir = root / "model_artifacts" / DEMO_MODEL_NAME / DEMO_MODEL_VERSION
    inputs = root / "inputs"
    inputs.mkdir()
    event = inputs / "event.json"
    shutil.copyfile(REPO / "tests" / "data" / "kinesis-event.json", event)
    records = inputs / "records.jsonl"
    records.write_text('{"data": {"textblob": "\\"refund my invoice\\""}}\n')
    samples = inputs / "samples.json"
    samples.write_text(json.dumps({k: v for k, v in json.loads((model_dir / "metadata.json").read_text())["samples"].items()}))
    model_files = tuple(sorted(model_dir.glob("*.joblib")))

    hostile = root / "hostile"
    hostile.mkdir()
    kinds = {
        "directory": hostile / "a-directory",
        "missing": hostile / "does-not-exist.json",
        "binary": hostile / "binary.joblib",
        "non-utf8": hostile / "latin1.json",
        "empty": hostile / "empty.json",
        "huge": hostile / "huge.json",
        "deep-json": hostile / "deep.json",
        "json-list": hostile / "list.json",
        "json-number": hostile / "number.json",
        "json-string": hostile / "string.json",
        "fifo": hostile / "a-fifo",
        "control-chars": hostile / "evil\nname\x1b.json",  # not created: the message must still be one line
        "file": hostile / "a-file.txt",
    }
    kinds["directory"].mkdir()
    kinds["binary"].write_bytes(bytes(range(256)) * 64)
    kinds["non-utf8"].write_bytes('{"Records": []}  caf\xe9'.encode("latin-1"))
    kinds["empty"].write_bytes(b"")
    with open(kinds["huge"], "wb") as handle:  # sparse: 100 MiB that take no disk
        handle.truncate(100 * 1024 * 1024)
    kinds["deep-json"].write_text(DEEP_JSON)
    kinds["json-list"].write_text('[{"Records": []}]')
    kinds["json-number"].write_text("1e999")
    kinds["json-string"].write_text('"Records"')
    os.mkfifo(kinds["fifo"])
    kinds["file"].write_text("a file, not a directory\n")
    return Workspace(root, dist / "manifest.json", event, records, samples, model_files, kinds)


# Hostile kinds per sort of argument.
INPUT_FILE = ("directory", "missing", "fifo", "control-chars")  # refused whatever the file would hold
JSON_FILE = (*INPUT_FILE, "binary", "non-utf8", "empty", "huge", "deep-json", "json-list", "json-number", "json-string")
TEXT_FILE = (*INPUT_FILE, "binary", "non-utf8", "empty", "huge", "deep-json")
DIRECTORY = ("file", "missing", "fifo")
OUTPUT_DIR = ("file", "fifo")
OUTPUT_FILE = ("directory",)
INTEGERS = ("0", "-1", "99999999999999999999", "1.5", "nan", "inf", "1e999", "abc", "", " ")
FLOATS = ("-1", "1e999", "nan", "inf", "-inf", "abc", "")
NAMES = ("Evil\n", "evil\r\n", "a\x00b", "a\x1b[31m", "..", "-rf", "", "x" * 65, "Évil", "a/b", "a b", "a.b")
VERSIONS = ("v1\n", "\nv1", "v\x00", ".v1", "-v1", "", "v" * 65, "v/1", "v 1")
REFS = ("MyModel", "MyModel/", "/v1", "Evil\n/v1", "MyModel/v1\n", "a/b/c", "MyModel/..")
TEXTS = ("a\nb", "\x1b[2J", "x" * 5000)


def base_commands(ws: Workspace) -> dict[str, list[str]]:
    """A valid command line per subcommand (the fuzzed argument is appended or replaced)."""
    manifest = str(ws.manifest)
    return {
        "invoke": ["invoke", "--event", str(ws.event), "--manifest", manifest],
        "replay": ["replay", "--records", str(ws.records), "--batch-size", "10", "--manifest", manifest,
                   "--sink", "dir", "--sink-dir", str(ws.root / "dist" / "replay")],
        "demo": ["demo", "--sink", "dir", "--records", "100", "--batch-sizes", "10", "--dist", str(ws.root / "dist")],
        "build deps": ["build", "deps", "--requirements", str(DEFAULT_REQUIREMENTS), "--dist", "dist"],
        "build model": ["build", "model", "--name", DEMO_MODEL_NAME, "--version", DEMO_MODEL_VERSION,
                        "--requirements", str(DEFAULT_REQUIREMENTS), "--dist", "dist"],
        "build function": ["build", "function", "--function-dir", str(REPO / "function"), "--dist", "dist"],
        "build all": ["build", "all", "--requirements", str(DEFAULT_REQUIREMENTS), "--function-dir", str(REPO / "function"), "--dist", "dist"],
        "model add": ["model", "add", "--name", "Fuzzed", "--version", "v1", "--samples", str(ws.samples), *map(str, ws.model_files)],
        "model list": ["model", "list"],
        "model show": ["model", "show", f"{DEMO_MODEL_NAME}/{DEMO_MODEL_VERSION}"],
        "train-demo": ["train-demo", "--name", "Fuzzed", "--requirements", str(DEFAULT_REQUIREMENTS)],
        "deploy": ["deploy", "--env", "dev", "--plan-only", "--manifest", manifest],
        "redrive": ["redrive", "--stream", "mlayer-fuzz", "--dry-run", "--from-dir", str(ws.root / "inputs")],
    }


# (command, argument, hostile values): every argument a user can point at a path or a number.
SLOTS: list[tuple[str, str, tuple[str, ...]]] = [
    ("invoke", "--event", JSON_FILE), ("invoke", "--manifest", JSON_FILE), ("invoke", "--memory", INTEGERS),
    ("invoke", "--timeout", FLOATS), ("invoke", "--repeat", INTEGERS), ("invoke", "--env", ("NOEQUALS", "=x", "A B=1", "K=a\nb")),
    ("invoke", "--model", TEXTS),
    ("replay", "--records", TEXT_FILE), ("replay", "--batch-size", INTEGERS), ("replay", "--shards", INTEGERS),
    ("replay", "--max-retries", tuple(v for v in INTEGERS if v != "0")), ("replay", "--on-failure", OUTPUT_FILE), ("replay", "--sink-dir", OUTPUT_DIR),
    ("replay", "--memory", INTEGERS), ("replay", "--manifest", JSON_FILE),
    ("demo", "--records", INTEGERS), ("demo", "--batch-sizes", (*INTEGERS, "1,,10", "10,0", "1,1", ",".join(["1"] * 40))),
    ("demo", "--memory", (*INTEGERS, "1", "127", "10241")), ("demo", "--dist", OUTPUT_DIR),
    ("build deps", "--requirements", INPUT_FILE), ("build deps", "--dist", OUTPUT_DIR),
    ("build deps", "--runtime", ("python2.7", "python3.12\n", "")), ("build deps", "--architecture", ("sparc", "")),
    ("build model", "--name", NAMES), ("build model", "--version", VERSIONS), ("build model", "--artifacts-root", DIRECTORY),
    ("build function", "--function-dir", DIRECTORY), ("build function", "--dist", OUTPUT_DIR),
    ("build all", "--artifacts-root", DIRECTORY), ("build all", "--function-dir", DIRECTORY), ("build all", "--model", REFS),
    ("model add", "--name", NAMES), ("model add", "--version", VERSIONS), ("model add", "--samples", TEXT_FILE),
    ("model add", "--artifacts-root", OUTPUT_DIR), ("model add", "FILE", (*INPUT_FILE, "binary", "empty")),
    ("model add", "--sklearn-version", TEXTS),
    ("model list", "--artifacts-root", DIRECTORY), ("model show", "--artifacts-root", DIRECTORY), ("model show", "REF", REFS),
    ("train-demo", "--name", NAMES), ("train-demo", "--version", VERSIONS), ("train-demo", "--requirements", INPUT_FILE),
    ("train-demo", "--dist", OUTPUT_DIR), ("train-demo", "--artifacts-root", OUTPUT_DIR),
    ("deploy", "--env", (*TEXTS, "no-such-env", "../../etc")), ("deploy", "--dir", DIRECTORY), ("deploy", "--manifest", INPUT_FILE),
    ("deploy", "--model-version", VERSIONS), ("deploy", "--canary-weight", FLOATS), ("deploy", "--var", ("NOEQUALS", "1x=2", "a b=c")),
    ("deploy", "--dist", OUTPUT_DIR), ("deploy", "--terraform-bin", INPUT_FILE),
    ("redrive", "--stream", TEXTS), ("redrive", "--from-dir", DIRECTORY), ("redrive", "--limit", INTEGERS),
]
PATH_KINDS = {"directory", "missing", "binary", "non-utf8", "empty", "huge", "deep-json", "json-list", "json-number",
              "json-string", "fifo", "control-chars", "file"}
CASES = [(command, argument, value) for command, argument, values in SLOTS for value in values]


def command_line(ws: Workspace, command: str, argument: str, value: str) -> list[str]:
    argv = list(base_commands(ws)[command])
    hostile = str(ws.hostile[value]) if value in PATH_KINDS else value
    if argument == "FILE":  # model add's positional files: the hostile one among good ones
        return [*argv, hostile]
    if argument == "REF":
        return [*argv[:-1], hostile]
    if argument in argv:
        argv[argv.index(argument) + 1] = hostile
        return argv
    return [*argv, f"{argument}={hostile}"]  # `=` so a value starting with '-' stays a value


def snapshot(*roots: Path) -> dict[str, tuple[int, int]]:
    state = {}
    for root in roots:
        for directory, _, files in os.walk(root):
            for name in files:
                path = os.path.join(directory, name)
                info = os.lstat(path)
                state[path] = (info.st_size, info.st_mtime_ns)
            state[directory] = (-1, 0)
    return state


def run_cli(ws: Workspace, argv: list[str]) -> tuple[int, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    previous = os.getcwd()
    os.chdir(ws.root)
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                code = main(argv)
            except SystemExit as exit_:  # argparse
                code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        os.chdir(previous)
    return code, stderr.getvalue()


def assert_refused_in_one_line(ws: Workspace, argv: list[str]) -> None:
    watched = (ws.root / "dist", ws.root / "model_artifacts")
    before = snapshot(*watched)
    code, err = run_cli(ws, argv)
    assert "Traceback" not in err, err
    assert code == 2, (argv, code, err)
    assert err.count("\n") == 1 and err.endswith("\n") and err.strip(), repr(err)
    assert snapshot(*watched) == before, f"{argv} changed dist/ or model_artifacts/"


@pytest.mark.parametrize(("command", "argument", "value"), CASES, ids=[f"{c}|{a}|{v[:20]!r}" for c, a, v in CASES])
def test_every_subcommand_refuses_a_hostile_argument_in_one_line(workspace, command, argument, value):
    assert_refused_in_one_line(workspace, command_line(workspace, command, argument, value))


def test_the_base_command_lines_are_valid_so_the_hostile_value_alone_is_refused(workspace):
    """The matrix proves nothing if a base command line were itself refused: parse every one."""
    from mlayer.cli import make_parser

    parser = make_parser()
    for command, argv in base_commands(workspace).items():
        cwd = os.getcwd()
        os.chdir(workspace.root)
        try:
            args = parser.parse_args(argv)
        finally:
            os.chdir(cwd)
        assert callable(args.func), command


# -- generated: names, versions, numbers and free text ------------------------------------------
CONTROL = st.sampled_from([chr(c) for c in (*range(0, 32), 127, 0x85, 0x2028, 0x2029, 0x200B, 0xFEFF)])
BAD_NAME = st.builds(lambda head, bad, tail: head + bad + tail, st.text(max_size=8), CONTROL, st.text(max_size=8))
OUT_OF_RANGE = st.one_of(st.integers(max_value=0), st.integers(min_value=10_001)).map(str)
GENERATED = st.one_of(
    st.tuples(st.just("model add"), st.just("--name"), BAD_NAME),
    st.tuples(st.just("model add"), st.just("--version"), BAD_NAME),
    st.tuples(st.just("train-demo"), st.just("--name"), BAD_NAME),
    st.tuples(st.just("deploy"), st.just("--model-version"), BAD_NAME),
    st.tuples(st.just("replay"), st.just("--batch-size"), OUT_OF_RANGE),
    st.tuples(st.just("demo"), st.just("--batch-sizes"), OUT_OF_RANGE),
    st.tuples(st.just("demo"), st.just("--memory"), st.one_of(st.integers(max_value=127), st.integers(min_value=10_241)).map(str)),
    st.tuples(st.just("invoke"), st.just("--timeout"), st.floats().filter(lambda x: not 1 <= x <= 900).map(repr)),
    st.tuples(st.just("invoke"), st.just("--function-name"), BAD_NAME),
)
GENERATED_EXAMPLES = 300


@settings(max_examples=GENERATED_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=GENERATED)
def test_generated_hostile_names_and_numbers_are_refused_in_one_line(workspace, case):
    command, argument, value = case
    assert_refused_in_one_line(workspace, command_line(workspace, command, argument, value))


def test_case_count():
    """The closing note quotes this: the matrix's cases plus Hypothesis' generated ones."""
    print(f"hostile CLI cases: {len(CASES)} matrix + {GENERATED_EXAMPLES} generated = {len(CASES) + GENERATED_EXAMPLES}")
    assert len(CASES) > 300
