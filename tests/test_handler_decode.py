"""The decoder's fast paths (json's C scanners called directly) give exactly what json.loads gives, on hostile text.

kinesis_records calls json's own object and string scanners without json.loads' wrapper for the
common case; anything else falls back to json.loads. Run in the target interpreter (as the
handler is): every input must give the same value, or the same exception type, both ways.
"""

from __future__ import annotations

import json
import subprocess

from handler_harness import FUNCTION_DIR
from mlayer.isolated import isolated_command
from test_deps_bytecode import target_python

HOSTILE = [
    '{"textblob": "\\"hi\\""}', '{"textblob":"x"} ', ' {"textblob":"x"}', '\ufeff{"textblob":"x"}', '{"textblob":"x"}\n',
    '{"textblob":"x"} {"a":1}', '{"a":1}, {"b":2', '{"a":1}]', '{"a": NaN, "b": Infinity, "c": -Infinity}', '{"a": 1e999}',
    '{"a": ' + "9" * 5000 + "}", '{"a": "\\ud800"}', '{"a": "\x01"}', '{"a": "\\u00e9\\u0130\\u00df"}', "{", "{}", "{}x",
    '{"a":' * 5000 + "1" + "}" * 5000, '{"a": [1, 2, {"b": null}]}', "", " ", "[]", '"string"', "null", '{"a":1,}', "{'a': 1}",
    '"\\"quoted\\""', '"plain"', ' "space before"', '"space after" ', '"a" "b"', '"unterminated', '"ctrl\x07"', '"\\ud83d\\ude00"',
    '"\\x41"', '"' + "é" * 1000 + '"', '"\\"', '""', '"\\u0000"', "1", "true", '"a"\n',
]  # fmt: skip

CHECK = r"""
import json, random, sys
import kinesis_records as k
def outcome(function, text):
    try:
        return ("value", function(text))
    except RecursionError:
        return ("error", "RecursionError")
    except ValueError:
        return ("error", "ValueError")
inputs = json.loads(sys.stdin.read())
rng = random.Random(20261130)
pieces = ['{', '}', '"', '\\', ':', ',', ' ', 'a', '1', '[', ']', '\ufeff', '\x00', 'é', '\\u', 'null', 'NaN', '\n']
inputs += ["".join(rng.choice(pieces) for _ in range(rng.randrange(1, 12))) for _ in range(20000)]
mismatches = []
for text in inputs:
    for fast in (k._json_object, k._json_string):
        got, want = outcome(fast, text), outcome(json.loads, text)
        if got != want or (got[0] == "value" and json.dumps(got[1]) != json.dumps(want[1])):
            mismatches.append([fast.__name__, text[:80], repr(got)[:80], repr(want)[:80]])
print(json.dumps({"checked": len(inputs), "mismatches": mismatches[:10]}))
"""


def test_fast_json_paths_equal_json_loads_on_hostile_and_generated_text() -> None:
    python = target_python()
    proc = subprocess.run(isolated_command(python, [FUNCTION_DIR], CHECK), input=json.dumps(HOSTILE), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    assert result["checked"] == len(HOSTILE) + 20000
    assert result["mismatches"] == []
