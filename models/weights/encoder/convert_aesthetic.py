#!/usr/bin/env python3
"""Converts OpenAI CLIP ViT-L/14's image tower and LAION's aesthetic head to safetensors for
VBench's aesthetic quality (`vbench_aesthetic_quality`, `videval run --weights DIR`).

    pip install torch numpy
    python3 models/weights/encoder/convert_aesthetic.py --clip ViT-L-14.pt \
        --head sa_0_4_vit_l_14_linear.pth DIR/clip-vit-l-14-laion

`--clip` is what VBench loads: OpenAI's `ViT-L-14.pt` (the TorchScript archive `clip.load`
downloads; VBench caches it as ~/.cache/vbench/clip_model/ViT-L-14.pt) or a plain state dict with
OpenAI's names, or a Hugging Face folder (openai/clip-vit-large-patch14: config.json +
model.safetensors). `--head` is LAION-AI/aesthetic-predictor's `sa_0_4_vit_l_14_linear.pth`
(a state dict of nn.Linear(768, 1)). Writes, under DIR:
  * model.safetensors: the image tower only, in Hugging Face's names (`vision_model.*`,
    `visual_projection.weight`), float32 (OpenAI's fp16 weights widen exactly, as CLIP does on
    the CPU);
  * config.json: the tower's sizes (`vision_config`, `projection_dim`);
  * aesthetic_head.safetensors: `weight` [1, P], `bias` [1];
  * manifest.json: sha256 of the three files, checked at every load.
Name mapping from OpenAI's `clip/model.py` (VisionTransformer) to Hugging Face's
`modeling_clip.py`: conv1 → embeddings.patch_embedding, class_embedding, positional_embedding →
embeddings.position_embedding, ln_pre → pre_layrnorm, resblocks.i.{ln_1, attn.in_proj (split in
q, k, v), attn.out_proj, mlp.c_fc, mlp.c_proj, ln_2} → layers.i.{layer_norm1, self_attn.{q,k,v}_proj,
self_attn.out_proj, mlp.fc1, mlp.fc2, layer_norm2}, ln_post → post_layernorm, proj → visual_projection
(transposed). OpenAI's tower has width/64 heads.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert_i3d import write_safetensors  # noqa: E402
from register_weights import register  # noqa: E402


def resblocks(state, src_prefix, dst_prefix, layers, width):
    """OpenAI's residual attention blocks (`{src_prefix}{i}.…`) in Hugging Face's encoder-layer
    names (`{dst_prefix}{i}.…`), the fused in_proj split into q, k and v."""
    out = {}
    for i in range(layers):
        src, dst = f"{src_prefix}{i}.", f"{dst_prefix}{i}."
        w, b = state[src + "attn.in_proj_weight"], state[src + "attn.in_proj_bias"]
        for j, name in enumerate("qkv"):
            out[dst + f"self_attn.{name}_proj.weight"] = w[j * width:(j + 1) * width]
            out[dst + f"self_attn.{name}_proj.bias"] = b[j * width:(j + 1) * width]
        pairs = [("attn.out_proj", "self_attn.out_proj"), ("ln_1", "layer_norm1"), ("ln_2", "layer_norm2"),
                 ("mlp.c_fc", "mlp.fc1"), ("mlp.c_proj", "mlp.fc2")]
        for a, h in pairs:
            for p in ("weight", "bias"):
                out[dst + f"{h}.{p}"] = state[f"{src}{a}.{p}"]
    return out


def openai_tower(state):
    """HF-named image-tower tensors and the HF config of an OpenAI CLIP state dict (numpy values)."""
    v = {k[len("visual."):]: np.asarray(t, dtype=np.float32) for k, t in state.items() if k.startswith("visual.")}
    if "conv1.weight" not in v:
        sys.exit("--clip: no visual.conv1.weight: not an OpenAI CLIP ViT state dict")
    width, _, patch, _ = v["conv1.weight"].shape
    grid = int(round((v["positional_embedding"].shape[0] - 1) ** 0.5))
    layers = 1 + max(int(k.split(".")[2]) for k in v if k.startswith("transformer.resblocks."))
    out = {
        "vision_model.embeddings.patch_embedding.weight": v["conv1.weight"],
        "vision_model.embeddings.class_embedding": v["class_embedding"],
        "vision_model.embeddings.position_embedding.weight": v["positional_embedding"],
        "vision_model.pre_layrnorm.weight": v["ln_pre.weight"],
        "vision_model.pre_layrnorm.bias": v["ln_pre.bias"],
        "vision_model.post_layernorm.weight": v["ln_post.weight"],
        "vision_model.post_layernorm.bias": v["ln_post.bias"],
        "visual_projection.weight": v["proj"].T,
    }
    out.update(resblocks(v, "transformer.resblocks.", "vision_model.encoder.layers.", layers, width))
    config = {"vision_config": {"hidden_size": int(width), "intermediate_size": int(out[
        "vision_model.encoder.layers.0.mlp.fc1.weight"].shape[0]), "num_hidden_layers": layers,
        "num_attention_heads": int(width) // 64, "image_size": int(patch * grid), "patch_size": int(patch),
        "hidden_act": "quick_gelu"}, "projection_dim": int(v["proj"].shape[1])}
    return out, config


def read_safetensors(path):
    """{name: float32 array} of a safetensors file (F32, F16 or BF16 tensors)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        a, b = h["data_offsets"]
        raw = data[a:b]
        if h["dtype"] == "F32":
            x = np.frombuffer(raw, dtype="<f4")
        elif h["dtype"] == "F16":
            x = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        elif h["dtype"] == "BF16":
            x = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            continue  # position ids and other integer buffers
        out[name] = x.reshape(h["shape"])
    return out


def hf_tower(folder):
    """The image tower of a Hugging Face CLIP folder, and its config's vision part."""
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    state = read_safetensors(os.path.join(folder, "model.safetensors"))
    tower = {k: v for k, v in state.items() if k.startswith(("vision_model.", "visual_projection."))
             and not k.endswith("position_ids")}
    if "visual_projection.weight" not in tower:
        sys.exit(f"{folder}: no visual_projection.weight: not a Hugging Face CLIP checkpoint")
    config = {"vision_config": cfg.get("vision_config", {}), "projection_dim": cfg.get("projection_dim", 512)}
    return tower, config


def load_openai(path):
    import torch

    try:
        state = torch.jit.load(path, map_location="cpu").state_dict()
    except RuntimeError:
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = state.get("state_dict", state)
    return {k: t.float().numpy() for k, t in state.items() if t.is_floating_point()}


def load_head(path):
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True)
    if set(state) != {"weight", "bias"}:
        sys.exit(f"--head {path}: expected the state dict of nn.Linear(P, 1) (weight, bias), got {sorted(state)}")
    return {k: t.float().numpy() for k, t in state.items()}


def write(out_dir, tower, config, head):
    proj = config["projection_dim"]
    if list(head["weight"].shape) != [1, proj] or list(head["bias"].shape) != [1]:
        sys.exit(f"--head: weight {list(head['weight'].shape)}, bias {list(head['bias'].shape)}; "
                 f"expected [1, {proj}] and [1] for this CLIP's {proj}-d features")
    os.makedirs(out_dir, exist_ok=True)
    write_safetensors(tower, os.path.join(out_dir, "model.safetensors"))
    write_safetensors(head, os.path.join(out_dir, "aesthetic_head.safetensors"))
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clip", required=True, help="OpenAI ViT-L-14.pt, or a Hugging Face CLIP folder")
    ap.add_argument("--head", required=True, help="LAION sa_0_4_vit_l_14_linear.pth")
    ap.add_argument("dir")
    a = ap.parse_args()
    tower, config = hf_tower(a.clip) if os.path.isdir(a.clip) else openai_tower(load_openai(a.clip))
    write(a.dir, tower, config, load_head(a.head))
    register(a.dir, "clip-vit-l-14-laion", f"{os.path.basename(a.clip)} + {os.path.basename(a.head)}",
             "OpenAI CLIP: MIT; LAION aesthetic predictor: MIT")


if __name__ == "__main__":
    main()
