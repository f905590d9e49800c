#!/usr/bin/env python3
"""Extract the hashicorp/aws 6.x schema of the resource and data source types this module uses.

No 6.x provider binary is available offline, but the npm package @cdktn/provider-aws is generated
from the provider's schema (25.7.0 from hashicorp/aws 6.66.0), and its .jsii manifest lists every
resource's arguments, nested blocks, required flags and attributes (not the schema's deprecation
flags: those are not carried into it). This keeps only the types
the module's *.tf files name, in tests/data/aws_provider_schema_v6.json, which
tests/test_terraform_v6_schema.py checks the module against.

    mkdir -p .v6-schema && (cd .v6-schema && npm install --no-save --ignore-scripts @cdktn/provider-aws@25.7.0)
    .venv/bin/python scripts/extract_v6_schema.py .v6-schema/node_modules/@cdktn/provider-aws/.jsii
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "tests" / "data" / "aws_provider_schema_v6.json"
_LINK = re.compile(r"registry\.terraform\.io/providers/hashicorp/aws/([0-9.]+)/docs/(resources|data-sources)/([a-z0-9_]+)(?:#([a-z0-9_]+))?")
_USED = re.compile(r'^\s*(resource|data)\s+"(aws_[a-z0-9_]+)"', re.MULTILINE)


def used_types() -> set[tuple[str, str]]:
    found = set()
    for tf in REPO.glob("**/*.tf"):
        if ".terraform" in tf.parts or ".v6-schema" in tf.parts:
            continue
        found |= {("resources" if kind == "resource" else "data-sources", name) for kind, name in _USED.findall(tf.read_text())}
    return found


def _link(docs: dict[str, Any]) -> re.Match[str] | None:
    return _LINK.search(f"{docs.get('summary', '')} {docs.get('remarks', '')}")


def _struct_fqn(type_ref: dict[str, Any]) -> str | None:
    """The nested block's struct, through lists/unions (blocks are structs or lists of them)."""
    if "fqn" in type_ref:
        return type_ref["fqn"]
    if "collection" in type_ref:
        return _struct_fqn(type_ref["collection"]["elementtype"])
    for option in type_ref.get("union", {}).get("types", []):
        found = _struct_fqn(option)
        if found and not found.startswith("cdktn."):
            return found
    return None


def block_schema(types: dict[str, Any], fqn: str) -> dict[str, Any]:
    args: dict[str, Any] = {}
    blocks: dict[str, Any] = {}
    interface = types[fqn]
    for prop in interface.get("properties", []):
        link = _link(prop.get("docs", {}))
        if not link or not link.group(4):
            continue
        name = link.group(4)
        nested = _struct_fqn(prop["type"])
        entry = {"required": not prop.get("optional", False)}
        if nested and nested in types and types[nested].get("datatype") and not nested.startswith("cdktn."):
            blocks[name] = {**entry, **block_schema(types, nested)}
        else:
            args[name] = entry
    return {"arguments": args, "blocks": blocks}


def attributes(cls: dict[str, Any]) -> list[str]:
    snake = (re.sub(r"(?<!^)(?=[A-Z])", "_", p["name"]).lower() for p in cls.get("properties", []) if not p["name"].endswith("Input") and not p.get("static"))
    return sorted(set(snake))


def main(jsii_path: str) -> int:
    manifest = json.loads(Path(jsii_path).read_text())
    types = manifest["types"]
    wanted = used_types()
    schema: dict[str, Any] = {}
    version = None
    for fqn, cls in types.items():
        if cls.get("kind") != "class":
            continue
        link = _link(cls.get("docs", {}))
        if not link or (link.group(2), f"aws_{link.group(3)}") not in wanted or link.group(4):
            continue
        version = link.group(1)
        config = next(p["type"]["fqn"] for p in cls["initializer"]["parameters"] if p["name"] == "config")
        key = f"{'data.' if link.group(2) == 'data-sources' else ''}aws_{link.group(3)}"
        schema[key] = {**block_schema(types, config), "attributes": attributes(cls)}
    missing = sorted(f"{kind}/{name}" for kind, name in wanted if f"{'data.' if kind == 'data-sources' else ''}{name}" not in schema)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"provider": "hashicorp/aws", "version": version, "source": f"{manifest['name']} {manifest['version']} .jsii", "missing": missing, "types": dict(sorted(schema.items()))}, indent=1, sort_keys=False) + "\n")
    print(f"{OUT.relative_to(REPO)}: {len(schema)} types from hashicorp/aws {version}; not in 6.x: {missing or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
