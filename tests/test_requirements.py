"""Requirements files: every line pinned, errors name file:line and the fix; the shipped files parse."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlayer.deps.requirements import parse_requirements, parse_requirements_text
from mlayer.errors import MlayerError
from mlayer.runtimes import get_runtime

REPO = Path(__file__).resolve().parent.parent
HASH = "sha256:" + "a" * 64


def parse(text: str):
    return parse_requirements_text(text, Path("req.txt"))


def test_pinned_lines_with_comments_markers_extras_and_hashes():
    reqs = parse(
        "# header comment\n"
        "\n"
        "Scikit_Learn==1.9.1  # trailing comment\n"
        f"numpy==2.5.5 \\\n    --hash={HASH}\n"
        'tomli==2.2.1 ; python_version < "3.11"\n'
        "requests[socks]==2.32.3\n"
        "--extra-index-url https://mirror.invalid/simple\n"
    )
    assert [(p.name, p.version, p.line_no) for p in reqs.pins] == [
        ("scikit-learn", "1.9.1", 3),
        ("numpy", "2.5.5", 4),
        ("tomli", "2.2.1", 6),
        ("requests", "2.32.3", 7),
    ]
    assert reqs.pins[1].hashes == (HASH,)
    assert reqs.options == ("--extra-index-url https://mirror.invalid/simple",)
    # the marker is evaluated for the Lambda runtime, not for the host
    assert "tomli" not in reqs.pinned_versions(get_runtime("python3.12"), "x86_64")
    assert reqs.pinned_versions(get_runtime("python3.12"), "x86_64")["numpy"] == "2.5.5"


def test_canonical_form_ignores_comments_and_order():
    a = parse("numpy==2.5.5\n# c\nscipy==1.18.1\n")
    b = parse("scipy==1.18.1   # pinned\nnumpy==2.5.5\n")
    assert a.canonical() == b.canonical()
    assert a.canonical() != parse("numpy==2.5.4\nscipy==1.18.1\n").canonical()


def test_marker_on_architecture():
    reqs = parse('numpy==2.5.5\nfoo==1.0 ; platform_machine == "aarch64"\n')
    runtime = get_runtime("python3.12")
    assert "foo" in reqs.pinned_versions(runtime, "arm64")
    assert "foo" not in reqs.pinned_versions(runtime, "x86_64")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("numpy>=2.0", r"req\.txt:2: numpy is not pinned \(>=2\.0\)"),
        ("numpy~=2.5", r"req\.txt:2: numpy is not pinned \(~=2\.5\)"),
        ("numpy", r"req\.txt:2: numpy is not pinned \(no version\)"),
        ("numpy==2.*", r"req\.txt:2: numpy is not pinned \(==2\.\*\)"),
        ("numpy==2.5.5,<3", r"req\.txt:2: numpy is not pinned"),
        ("numpy @ https://example.invalid/numpy.whl", r"req\.txt:2: numpy comes from a URL"),
        ("-e ./local/pkg", r"req\.txt:2: editable requirement"),
        ("-r other.txt", r"req\.txt:2: option -r is not supported"),
        ("-c constraints.txt", r"req\.txt:2: option -c is not supported"),
        ("numpy===", r"req\.txt:2: cannot parse"),
    ],
)
def test_unpinned_lines_are_errors_naming_file_line_and_fix(line: str, expected: str):
    with pytest.raises(MlayerError, match=expected) as info:
        parse(f"scipy==1.18.1\n{line}\n")
    message = str(info.value)
    assert "\n" not in message
    assert "name==version" in message


def test_duplicate_pin_is_an_error():
    with pytest.raises(MlayerError, match=r"req\.txt:3: numpy is also pinned on line 1"):
        parse("numpy==2.5.5\nscipy==1.18.1\nnumpy==2.5.4\n")


def test_duplicates_with_markers_are_allowed():
    reqs = parse('numpy==2.2.6 ; python_version < "3.12"\nnumpy==2.5.5 ; python_version >= "3.12"\n')
    assert reqs.pinned_versions(get_runtime("python3.11"), "x86_64") == {"numpy": "2.2.6"}
    assert reqs.pinned_versions(get_runtime("python3.13"), "x86_64") == {"numpy": "2.5.5"}


def test_empty_and_missing_files(tmp_path: Path):
    with pytest.raises(MlayerError, match="no requirements"):
        parse("# only a comment\n\n")
    with pytest.raises(MlayerError, match=r"nope\.txt does not exist: pass --requirements"):
        parse_requirements(tmp_path / "nope.txt")


@pytest.mark.parametrize(
    ("runtime", "sklearn", "numpy", "scipy"),
    [("python3.11", "1.7.2", "2.2.6", "1.16.3"), ("python3.12", "1.9.1", "2.5.5", "1.18.1"), ("python3.13", "1.9.1", "2.5.5", "1.18.1")],
)
def test_shipped_requirements_files(runtime: str, sklearn: str, numpy: str, scipy: str):
    path = REPO / "requirements" / f"{runtime}.txt"
    reqs = parse_requirements(path)
    versions = reqs.pinned_versions(get_runtime(runtime), "x86_64")
    assert (versions["scikit-learn"], versions["numpy"], versions["scipy"]) == (sklearn, numpy, scipy)
    assert {"joblib", "threadpoolctl"} <= versions.keys()
    assert path.read_text().startswith("#"), "each file explains its pins in a header comment"
    assert "glibc" in path.read_text()
