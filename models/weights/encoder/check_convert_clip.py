#!/usr/bin/env python3
"""Checks convert_clip.py on a small random CLIP in OpenAI's layout (no download): the converted
folder, read by Hugging Face transformers' CLIPModel (whose computation videval's CLIP matches,
models/tests/encoder_parity.rs), gives the image and text features OpenAI's architecture gives
(open_clip's implementation of it, QuickGELU), and the written tokenizer.json tokenizes prompts
as OpenAI's simple tokenizer does.

    pip install torch numpy open_clip_torch transformers tokenizers ftfy regex
    python3 models/weights/encoder/check_convert_clip.py [PROMPTS.txt]

Exits 1 on any difference beyond 1e-5 (relative) or any prompt tokenized otherwise.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
PROMPTS = [
    "a red ball rolls on the floor",
    "A cute happy Corgi playing in park, sunset, pixel art style",
    "The camera pans left, an astronaut flying in space, in cyberpunk style",
    "a person's bicycle and a car on the left of a stop sign, 4K, 60fps!!",
    "Close-up of a ladybug crawling on a leaf, time-lapse (zoom in)",
    "Chinese 汉字, emoji 🎥, accents déjà vu, numbers 1234567 and 3.14",
    "  spaces   and\ttabs\nand newlines  ",
    "I'm sure they'll say it's what we'd've done",
]


def main():
    import open_clip
    from transformers import CLIPModel

    torch.manual_seed(0)
    vision = open_clip.model.CLIPVisionCfg(layers=2, width=64, patch_size=8, image_size=32, head_width=64)
    text = open_clip.model.CLIPTextCfg(context_length=77, vocab_size=49408, width=64, heads=1, layers=2)
    model = open_clip.model.CLIP(embed_dim=32, vision_cfg=vision, text_cfg=text, quick_gelu=True).eval()
    with torch.no_grad():  # LayerNorms and the projections away from their initial values
        for name, p in model.named_parameters():
            if p.ndim == 1 or "proj" in name or "embedding" in name:
                p.add_(0.05 * torch.randn_like(p))
    state = {k: v for k, v in model.state_dict().items() if k != "attn_mask"}
    out = tempfile.mkdtemp()
    ckpt = os.path.join(out, "ViT-tiny.pt")
    torch.save(state, ckpt)
    prompts = os.path.join(out, "prompts.txt")
    with open(prompts, "w", encoding="utf-8") as f:
        lines = PROMPTS + ([l.rstrip("\n") for l in open(sys.argv[1], encoding="utf-8")] if len(sys.argv) > 1 else [])
        f.write("\n".join(p.replace("\n", " ") for p in lines) + "\n")
    vocab = os.path.join(os.path.dirname(open_clip.__file__), "bpe_simple_vocab_16e6.txt.gz")
    folder = os.path.join(out, "clip")
    subprocess.run([sys.executable, os.path.join(HERE, "convert_clip.py"), ckpt, folder, "--vocab", vocab,
                    "--check-tokenizer", prompts], check=True)

    hf = CLIPModel.from_pretrained(folder).eval()
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    images = torch.randn(3, 3, 32, 32)
    worst = 0.0
    with torch.no_grad():
        want = model.encode_image(images)
        got = hf.get_image_features(pixel_values=images)
        got = got.pooler_output if hasattr(got, "pooler_output") else got
        worst = max(worst, float((got - want).abs().max() / want.abs().max()))
        for p in PROMPTS[:4]:
            ids = tok.encode(p).ids
            padded = torch.tensor([ids + [0] * (77 - len(ids))])
            want = model.encode_text(padded)
            got = hf.get_text_features(input_ids=torch.tensor([ids]))
            got = got.pooler_output if hasattr(got, "pooler_output") else got
            worst = max(worst, float((got - want).abs().max() / want.abs().max()))
    print(f"image and text features: largest relative difference {worst:.2e} (OpenAI layout vs converted)")
    sys.exit(0 if worst <= 1e-5 else 1)


if __name__ == "__main__":
    main()
