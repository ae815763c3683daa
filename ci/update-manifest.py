#!/usr/bin/env python3
"""Rewrites the sha256 and size of every file listed in models/weights/manifest.json.

Run after retraining a committed checkpoint (`videval train generator|encoder`); the test
`committed_manifest_matches_the_files` fails until the manifest and the files agree.
"""
import hashlib
import json
import pathlib

root = pathlib.Path(__file__).resolve().parent.parent / "models" / "weights"
path = root / "manifest.json"
manifest = json.loads(path.read_text())
for entry in manifest["entries"]:
    for f in entry["files"]:
        data = (root / entry["dir"] / f["path"]).read_bytes()
        f["sha256"] = hashlib.sha256(data).hexdigest()
        f["bytes"] = len(data)
path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
print(f"updated {path}")
