#!/usr/bin/env python3
"""Golden outputs of the reference PyTorch encoders, for models/tests/encoder_parity.rs.

    python3 models/tests/golden/encoders_golden.py --pytorch-i3d PATH/TO/pytorch-i3d models/tests/golden

Needs torch and transformers (HF), and a checkout of https://github.com/piergiaj/pytorch-i3d (its
`pytorch_i3d.py` is the reference I3D; it is imported from the path given, never copied here).
No weights are downloaded: every parameter and input comes from a formula that the Rust test
evaluates identically.

The formula. u(seed, k) is a counter-based splitmix64 stream mapped to [-1, 1) (the same one as
metrics/tests/golden/frechet_golden.py); the seed of a tensor is the FNV-1a 64-bit hash of its
state-dict name; k is the row-major flat index. Parameters:
  * weights with ≥ 2 dimensions (conv, linear, embeddings): u · sqrt(6 / fan_in),
    fan_in = product of all dimensions but the first (He-uniform);
  * 1-D `weight` (norms): 1 + 0.1·u;  `bias`: 0.1·u;  `running_mean`: 0.1·u;
    `running_var`: 1 + 0.5·u;  `class_embedding`: u;  `logit_scale`: 2.6592;
  * buffers that are not float (num_batches_tracked, position_ids) are left as they are.
Inputs: u(FNV-1a("input:" + name), k) in [-1, 1).

References run in float64 on the CPU, in eval mode. Outputs:
  * i3d.json: InceptionI3d(400) on one clip [1, 3, 16, 224, 224]: the 400 logits averaged over
    time (pytorch-i3d's forward, then mean over the time axis: TF-hub's `Mean:0`) and the 1024-d
    `extract_features` output averaged over time and space;
  * clip.json: a small CLIPModel (config in the file) — text features (text_projection of the
    pooled EOS token) for two token sequences, image features (visual_projection of the pooled
    class token) for two images [2, 3, 224, 224], and the parameter names and shapes.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

GAMMA = np.uint64(0x9E3779B97F4A7C15)


def fnv1a(name):
    h = 0xCBF29CE484222325
    for b in name.encode():
        h ^= b
        h = (h * 0x100000001B3) & ((1 << 64) - 1)
    return h


def uniform(seed, count):
    with np.errstate(over="ignore"):
        k = np.arange(1, count + 1, dtype=np.uint64)
        z = np.uint64(seed) + k * GAMMA
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53 * 2.0 - 1.0


def formula_value(name, shape):
    n = int(np.prod(shape)) if len(shape) else 1
    u = uniform(fnv1a(name), n).reshape(shape)
    last = name.rsplit(".", 1)[-1]
    if last == "logit_scale":
        return np.full(shape, 2.6592)
    if last == "class_embedding":
        return u
    if last == "running_mean":
        return 0.1 * u
    if last == "running_var":
        return 1.0 + 0.5 * u
    if last == "bias":
        return 0.1 * u
    if len(shape) >= 2:
        return u * np.sqrt(6.0 / np.prod(shape[1:]))
    return 1.0 + 0.1 * u


def fill(model):
    names = []
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if not t.is_floating_point() or name.endswith("position_ids"):
                continue
            v = formula_value(name, tuple(t.shape))
            t.copy_(torch.from_numpy(np.asarray(v, dtype=np.float64)).to(t.dtype))
            names.append([name, list(t.shape)])
    return names


def formula_input(name, shape):
    return torch.from_numpy(uniform(fnv1a("input:" + name), int(np.prod(shape))).reshape(shape))


def i3d(path):
    sys.path.insert(0, path)
    from pytorch_i3d import InceptionI3d

    model = InceptionI3d(400, in_channels=3).double().eval()
    fill(model)
    x = formula_input("i3d", (1, 3, 16, 224, 224))
    with torch.no_grad():
        logits = model(x).mean(dim=2)  # [1, 400, T'] → over time
        pool = model.extract_features(x).mean(dim=(2, 3, 4))  # [1, 1024, T', 1, 1]
    return {
        "input": {"name": "i3d", "shape": [1, 3, 16, 224, 224]},
        "logits": logits[0].tolist(),
        "pool": pool[0].tolist(),
    }


CLIP_CONFIG = {
    "text": {"vocab_size": 1000, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
             "num_attention_heads": 4, "max_position_embeddings": 77, "hidden_act": "quick_gelu",
             "bos_token_id": 998, "eos_token_id": 999, "pad_token_id": 0},
    "vision": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
               "num_attention_heads": 4, "image_size": 224, "patch_size": 32, "num_channels": 3,
               "hidden_act": "quick_gelu"},
    "projection_dim": 48,
}
TOKENS = [[998, 17, 402, 33, 999], [998, 5, 870, 871, 12, 640, 77, 999]]


def clip():
    from transformers import CLIPConfig, CLIPModel

    cfg = CLIPConfig(text_config=CLIP_CONFIG["text"], vision_config=CLIP_CONFIG["vision"],
                     projection_dim=CLIP_CONFIG["projection_dim"])
    try:
        model = CLIPModel._from_config(cfg, attn_implementation="eager")
    except (TypeError, ValueError):
        model = CLIPModel(cfg)
    model = model.double().eval()
    names = fill(model)
    pixels = formula_input("clip", (2, 3, 224, 224))
    with torch.no_grad():
        text = []
        for ids in TOKENS:
            out = model.text_model(input_ids=torch.tensor([ids]))
            text.append(model.text_projection(out.pooler_output)[0].tolist())
        vis = model.vision_model(pixel_values=pixels)
        image = model.visual_projection(vis.pooler_output).tolist()
    return {
        "config": CLIP_CONFIG,
        "parameters": names,
        "tokens": TOKENS,
        "input": {"name": "clip", "shape": [2, 3, 224, 224]},
        "text_features": text,
        "image_features": image,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pytorch-i3d", required=True, help="checkout of piergiaj/pytorch-i3d")
    ap.add_argument("out", help="folder for i3d.json and clip.json")
    a = ap.parse_args()
    import transformers

    versions = {"torch": torch.__version__, "transformers": transformers.__version__, "numpy": np.__version__}
    for name, fn in [("clip", clip), ("i3d", lambda: i3d(a.pytorch_i3d))]:
        try:
            result = {"generated_by": "models/tests/golden/encoders_golden.py", "versions": versions, **fn()}
        except Exception:
            import traceback

            traceback.print_exc()
            continue
        with open(os.path.join(a.out, name + ".json"), "w") as f:
            json.dump(result, f)
            f.write("\n")
        print(name, "written", file=sys.stderr)


if __name__ == "__main__":
    main()
