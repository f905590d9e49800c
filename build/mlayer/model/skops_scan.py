"""Read what a .skops file holds WITHOUT loading it: the types its schema.json names.

A .skops file (skops.io.dump) is a zip holding schema.json (a tree of nodes, each naming the
`__module__` and `__class__` it would build or return) and the arrays as .npy files. The same
audit skops.io.get_untrusted_types does, done here without skops or scikit-learn installed, and
checked against mlayer's own allow-list (allowlist.py) like a pickle's globals.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from ..errors import MlayerError
from .pickle_scan import PickleScan

SCHEMA = "schema.json"
_SCHEMA_LIMIT = 256 << 20  # a schema larger than this is not a model's


def _walk(node: Any, scan: PickleScan) -> None:
    if isinstance(node, dict):
        module, name = node.get("__module__"), node.get("__class__")
        if isinstance(module, str) and isinstance(name, str):
            scan.globals.add(f"{module}.{name}")
            if "." in name:
                scan.unsafe_calls.append(f"it names {name!r} inside {module}, an attribute path rather than a type")
        content = node.get("content")
        if node.get("__loader__") == "ObjectNode" and isinstance(content, dict):
            version = (content.get("content") or {}).get("_sklearn_version") if content.get("__loader__") == "DictNode" else None
            if isinstance(version, dict) and isinstance(version.get("content"), str):
                try:
                    text = json.loads(version["content"])
                except json.JSONDecodeError:
                    text = None
                if isinstance(text, str):
                    scan.sklearn_versions.setdefault(text, set()).add(f"{module}.{name}")
        for value in node.values():
            _walk(value, scan)
    elif isinstance(node, list):
        for value in node:
            _walk(value, scan)


def scan_skops(path: Path) -> PickleScan:
    """The types a .skops file would build, its top-level class and scikit-learn version; MlayerError if it is not one."""
    path = Path(path)
    scan = PickleScan(compression="skops")
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo(SCHEMA)
            if info.file_size > _SCHEMA_LIMIT:
                raise MlayerError(f"{path}: its {SCHEMA} is {info.file_size:,} bytes, too large for a model schema")
            schema = json.loads(archive.read(info))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
        raise MlayerError(f"{path} is not a readable .skops file ({type(exc).__name__}): save the fitted object with skops.io.dump(obj, path)") from None
    if not isinstance(schema, dict) or "__module__" not in schema or "__class__" not in schema:
        raise MlayerError(f"{path} has no top-level object in its {SCHEMA}: save the fitted object with skops.io.dump(obj, path)")
    _walk(schema, scan)
    scan.top_class = f"{schema['__module__']}.{schema['__class__']}"
    content = schema.get("content")
    if scan.top_class.rsplit(".", 1)[-1] == "Pipeline" and isinstance(content, dict):
        steps = ((content.get("content") or {}).get("steps") or {}) if content.get("__loader__") == "DictNode" else {}
        items = steps.get("content") if isinstance(steps, dict) else None
        if isinstance(items, list):
            scan.pipeline_steps = [
                f"{s['content'][1]['__module__']}.{s['content'][1]['__class__']}"
                if isinstance(s, dict) and isinstance(s.get("content"), list) and len(s["content"]) == 2 and isinstance(s["content"][1], dict)
                and "__module__" in s["content"][1] else "<unknown>"
                for s in items
            ]  # fmt: skip
    return scan


def scan_model_file(path: Path) -> PickleScan:
    """Scan a model file by its format: .skops, or a joblib/pickle."""
    from .pickle_scan import scan_pickle

    return scan_skops(path) if Path(path).suffix.lower() == ".skops" else scan_pickle(path)
