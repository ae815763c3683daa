#!/usr/bin/env python3
"""VBench's own scoring code on committed videos and small networks, for tests/tests/vbench.rs.

    pip install vbench==0.1.5 --no-deps; pip install torch torchvision transformers decord \
        opencv-python-headless openai-clip tqdm "setuptools<70"
    python3 tests/tests/golden/vbench_parity.py --dino PATH/TO/dino tests/fixtures/vbench

Measured with vbench 0.1.5, torch 2.15, torchvision 0.29, transformers 5.25, decord 0.6.
`--dino` is a checkout of facebookresearch/dino (its `vision_transformer.py` is imported from
there, as VBench loads `dino_vitb16` through torch.hub; never copied here).

The videos are FIXTURES/videos/{prompt}-{i}.mp4 (committed; made by `videval synth`). This
script writes, under FIXTURES/nets, the two networks both sides use, with formula weights (the
formula of models/tests/golden/encoders_golden.py; the files are committed, so the Rust test
only reads them):
  * dino-vitb16: DINO's VisionTransformer at a small size (patch 16, width 32, 1 block, 2 heads,
    a 4x4 position grid), `model.safetensors` + `config.json` + `manifest.json`;
  * clip: a small Hugging Face CLIP (vision: width 32, 1 layer, image 224, patch 32; quick GELU),
    `config.json` + `model.safetensors` + the word-level `tokenizer.json` + `manifest.json`.
Then it runs VBench's own functions — `temporal_flickering.temporal_flickering` (OpenCV decode),
`subject_consistency.subject_consistency` with the DINO model and `background_consistency.
background_consistency` with an `encode_image` that calls the Hugging Face CLIP (both decord
decode and VBench's transforms) — and writes FIXTURES/vbench_parity.json with every per-video
score and each dimension's score.
"""
import argparse
import hashlib
import json
import os
import shutil
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "models", "tests", "golden"))
sys.path.insert(0, os.path.join(ROOT, "models", "weights", "encoder"))
from encoders_golden import fill  # noqa: E402
from convert_i3d import write_safetensors  # noqa: E402
from register_weights import register  # noqa: E402

DINO = {"patch_size": 16, "embed_dim": 32, "depth": 1, "num_heads": 2, "mlp_ratio": 4, "img_size": 64}
CLIP = {
    "text_config": {"vocab_size": 1000, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
                    "num_attention_heads": 2, "max_position_embeddings": 77},
    "vision_config": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
                      "num_attention_heads": 2, "image_size": 224, "patch_size": 32},
    "projection_dim": 16,
}


def manifest(folder, name, files):
    sums = []
    for f in files:
        data = open(os.path.join(folder, f), "rb").read()
        sums.append({"path": f, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})
    m = {"schema": "videval/weights-manifest/v1", "entries": [{"name": name, "dir": ".", "files": sums,
         "source": "formula weights (tests/tests/golden/vbench_parity.py)", "licence": "test fixture",
         "obtain": "python3 tests/tests/golden/vbench_parity.py --dino DINO FIXTURES"}]}
    with open(os.path.join(folder, "manifest.json"), "w") as f:
        json.dump(m, f, indent=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dino", required=True)
    ap.add_argument("fixtures")
    a = ap.parse_args()
    sys.path.insert(0, a.dino)
    from functools import partial

    from vision_transformer import VisionTransformer
    from transformers import CLIPConfig, CLIPModel

    nets = os.path.join(a.fixtures, "nets")
    dino_dir, clip_dir = os.path.join(nets, "dino-vitb16"), os.path.join(nets, "clip")
    os.makedirs(dino_dir, exist_ok=True)
    os.makedirs(clip_dir, exist_ok=True)

    dino = VisionTransformer(img_size=[DINO["img_size"]], patch_size=DINO["patch_size"], embed_dim=DINO["embed_dim"],
                             depth=DINO["depth"], num_heads=DINO["num_heads"], mlp_ratio=DINO["mlp_ratio"],
                             qkv_bias=True, norm_layer=partial(torch.nn.LayerNorm, eps=1e-6)).eval()
    fill(dino)
    write_safetensors({k: v.numpy() for k, v in dino.state_dict().items()}, os.path.join(dino_dir, "model.safetensors"))
    with open(os.path.join(dino_dir, "config.json"), "w") as f:
        json.dump(DINO, f)
    manifest(dino_dir, "dino-vitb16", ["model.safetensors", "config.json"])

    clip = CLIPModel(CLIPConfig(text_config=CLIP["text_config"], vision_config=CLIP["vision_config"],
                                projection_dim=CLIP["projection_dim"])).eval()
    fill(clip)
    # HF checkpoints store logit_scale as a scalar (shape []), as the Rust CLIP reads it.
    state = {k: (v.reshape(()) if k == "logit_scale" else v).numpy() for k, v in clip.state_dict().items()
             if not k.endswith("position_ids")}
    write_safetensors(state, os.path.join(clip_dir, "model.safetensors"))
    with open(os.path.join(clip_dir, "config.json"), "w") as f:
        json.dump(CLIP, f)
    shutil.copy(os.path.join(ROOT, "models", "tests", "golden", "tokenizer-wordlevel.json"),
                os.path.join(clip_dir, "tokenizer.json"))
    register(clip_dir, "clip", "formula weights (tests/tests/golden/vbench_parity.py)", "test fixture")

    from vbench.background_consistency import background_consistency
    from vbench.subject_consistency import subject_consistency
    from vbench.temporal_flickering import temporal_flickering

    class HfClip:
        def encode_image(self, images):
            # CLIP's image features: the projected pooled class token (OpenAI's encode_image).
            return clip.visual_projection(clip.vision_model(pixel_values=images).pooler_output)

    videos = os.path.join(a.fixtures, "videos")
    video_list = sorted(os.path.join(videos, f) for f in os.listdir(videos) if f.endswith(".mp4"))
    out = {"vbench": __import__("vbench").__version__ if hasattr(__import__("vbench"), "__version__") else "0.1.5",
           "torch": torch.__version__}
    with torch.no_grad():
        for name, (score, per_video) in {
            "temporal_flickering": temporal_flickering(video_list),
            "subject_consistency": subject_consistency(dino, video_list, "cpu", False),
            "background_consistency": background_consistency(HfClip(), None, video_list, "cpu", False),
        }.items():
            out[name] = {"score": float(score),
                         "videos": {os.path.basename(v["video_path"]): float(v["video_results"]) for v in per_video}}
    with open(os.path.join(a.fixtures, "vbench_parity.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps({k: v["score"] for k, v in out.items() if isinstance(v, dict)}))


if __name__ == "__main__":
    main()
