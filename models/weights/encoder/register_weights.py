#!/usr/bin/env python3
"""Writes DIR/manifest.json for extractor weights you provide (I3D, CLIP), so that videval checks
every file's sha256 before loading it (`videval fvd --extractor i3d --weights DIR`,
`videval clipscore --extractor clip --weights DIR`).

    python3 models/weights/encoder/register_weights.py DIR clip --source openai/clip-vit-base-patch32 --licence MIT
    python3 models/weights/encoder/register_weights.py DIR i3d-400   # convert_i3d.py calls this for you

Entry names: `i3d-400` (model.safetensors from convert_i3d.py) and `clip` (config.json,
model.safetensors, tokenizer.json of a Hugging Face CLIP checkpoint). Standard library only.
"""
import argparse
import hashlib
import json
import os
import sys

FILES = {
    "i3d-400": ["model.safetensors"],
    "clip": ["config.json", "model.safetensors", "tokenizer.json"],
    "dino-vitb16": ["model.safetensors"],
    "raft-things": ["model.safetensors"],
    "amt-s": ["model.safetensors"],
    "musiq-spaq": ["model.safetensors"],
    "clip-vit-l-14-laion": ["config.json", "model.safetensors", "aesthetic_head.safetensors"],
}


# Files a loader reads when they are there: registered when present.
OPTIONAL = {"dino-vitb16": ["config.json"]}


def register(folder, name, source, licence):
    files = []
    present = [f for f in OPTIONAL.get(name, []) if os.path.isfile(os.path.join(folder, f))]
    for f in FILES[name] + present:
        path = os.path.join(folder, f)
        if not os.path.isfile(path):
            sys.exit(f"{path}: missing ({name} needs {', '.join(FILES[name])})")
        data = open(path, "rb").read()
        files.append({"path": f, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})
    manifest = {
        "schema": "videval/weights-manifest/v1",
        "entries": [{
            "name": name,
            "dir": ".",
            "files": files,
            "source": source,
            "licence": licence,
            "obtain": f"registered with models/weights/encoder/register_weights.py {folder} {name}; "
                      "restore the files you registered (or register the new ones)",
        }],
    }
    out = os.path.join(folder, "manifest.json")
    tmp = out + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(manifest, fh, indent=2)
        fh.write("\n")
    os.replace(tmp, out)
    print(f"wrote {out}: {', '.join(f['path'] + ' ' + f['sha256'][:12] for f in files)}")


def check_tensors(tensors, shapes, what):
    """`(tensors, None)` when `tensors` holds exactly the names of `shapes` (name → shape), with
    those shapes; `(None, why)` otherwise."""
    missing, extra = shapes.keys() - tensors.keys(), tensors.keys() - shapes.keys()
    if missing or extra:
        return None, f"not {what}: missing {sorted(missing)[:5]}, unexpected {sorted(extra)[:5]}"
    wrong = [k for k, s in shapes.items() if list(tensors[k].shape) != s]
    if wrong:
        return None, f"unexpected shapes for {wrong[:5]}"
    return tensors, None


def convert_main(doc, convert, name, source, licence, checkpoint_help, weights_only=None):
    """The command line of a one-file converter: `CHECKPOINT DIR` → `convert(torch.load(...))`
    written as DIR/model.safetensors (float32) and registered as `name` (needs torch)."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("checkpoint", help=checkpoint_help)
    ap.add_argument("dir")
    a = ap.parse_args()
    import torch
    from convert_i3d import write_safetensors

    kw = {} if weights_only is None else {"weights_only": weights_only}
    tensors, problem = convert(torch.load(a.checkpoint, map_location="cpu", **kw))
    if problem:
        sys.exit(f"{a.checkpoint}: {problem}")
    os.makedirs(a.dir, exist_ok=True)
    write_safetensors({k: v.float().numpy() for k, v in tensors.items()}, os.path.join(a.dir, "model.safetensors"))
    register(a.dir, name, f"{source} {os.path.basename(a.checkpoint)}", licence)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    ap.add_argument("name", choices=sorted(FILES))
    ap.add_argument("--source", default="provided by the user")
    ap.add_argument("--licence", default="see the source")
    a = ap.parse_args()
    register(a.dir, a.name, a.source, a.licence)


if __name__ == "__main__":
    main()
