#!/usr/bin/env python3
"""Writes the configs that ci/gpu/device-train.sh trains, as JSON for train_generator.

  fit-budget.py as-is DIR CONFIG.yaml…              each config unchanged
  fit-budget.py pilot DIR CONFIG.yaml…              101 steps on a 2,048-clip pool (PILOT_STEPS, PILOT_POOL)
  fit-budget.py fit DIR SECONDS LOGDIR CONFIG.yaml…  the most clips that fit SECONDS

`fit` reads the pilot's logs (LOGDIR/pilot-NAME.log, train_generator's progress lines): the
pool's seconds per clip and the seconds per step between step 1 and step 101, with every config
training side by side as they will. Each config keeps its own pool size; all get the same
`dit.samples` (a multiple of 100 steps), the most for which the slowest config's pool plus steps
fit SECONDS with a 15% margin. Relative `from` paths are resolved beside the YAML file, so the
JSON can live anywhere; DIR/NAME.yaml is the config as trained (the YAML's text, samples
replaced), kept beside the checkpoint.
"""
import json
import os
import re
import sys

import yaml

# PILOT_STEPS / PILOT_POOL in the environment shorten the pilot where the budget is tight.
PILOT_POOL = int(os.environ.get("PILOT_POOL", 2048))
PILOT_STEPS = int(os.environ.get("PILOT_STEPS", 101))
MARGIN = 1.15


def load(path):
    with open(path) as f:
        text = f.read()
    cfg = yaml.safe_load(text)
    here = os.path.dirname(os.path.abspath(path))
    for key in ("vae", "text"):
        if isinstance(cfg.get(key), dict) and "from" in cfg[key]:
            cfg[key]["from"] = os.path.normpath(os.path.join(here, cfg[key]["from"]))
    return text, cfg


def write(out_dir, cfg, text=None):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, cfg["name"] + ".json"), "w") as f:
        json.dump(cfg, f, indent=1)
    if text is not None:
        with open(os.path.join(out_dir, cfg["name"] + ".yaml"), "w") as f:
            f.write(text)


def timings(log_path):
    """From a pilot's log: (seconds before the pool's first chunk, pool seconds per clip after it,
    seconds at step 1, seconds at step PILOT_STEPS)."""
    pool = {}
    steps = {}
    with open(log_path) as f:
        for line in f:
            m = re.match(r"(\w[\w-]*) (\d+)/(\d+) loss \S+ lr \S+ (\d+)s", line)
            if not m:
                continue
            stage, step, total, secs = m.group(1), int(m.group(2)), int(m.group(3)), float(m.group(4))
            if stage == "pool" and step in (1, total):
                pool[step] = (secs, total)
            if stage == "dit":
                steps[step] = secs
    if len(pool) != 2 or 1 not in steps or PILOT_STEPS not in steps:
        raise SystemExit(f"{log_path}: the pilot did not finish (no pool rows or no step 1/{PILOT_STEPS})")
    (first, _), (last, chunks) = pool[1], max(pool.values(), key=lambda v: v[0])
    # The first chunk carries the start-up (kernel compilation); the log rounds to whole seconds,
    # so one second more is counted for the rest of the pool.
    per_clip = (last - first + 1) / (PILOT_POOL * (chunks - 1) / chunks)
    return first, per_clip, steps[1], steps[PILOT_STEPS]


def main():
    mode, out_dir, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
    if mode == "as-is":
        for path in rest:
            text, cfg = load(path)
            write(out_dir, cfg, text)
        return
    if mode == "pilot":
        for path in rest:
            _, cfg = load(path)
            cfg["dit"].update(samples=PILOT_STEPS * cfg["dit"]["batch"], pool=PILOT_POOL, warmup=10)
            write(out_dir, cfg)
            print("pilot", cfg["name"], json.dumps(cfg["dit"]))
        return
    if mode != "fit":
        raise SystemExit(f"unknown mode {mode!r}: as-is, pilot or fit")
    seconds, log_dir, paths = float(rest[0]), rest[1], rest[2:]
    loaded = [load(p) for p in paths]
    batch = {cfg["dit"]["batch"] for _, cfg in loaded}
    if len(batch) != 1:
        raise SystemExit(f"configs differ in dit.batch ({sorted(batch)}): one clip count cannot fit them all")
    batch = batch.pop()
    best = None
    for _, cfg in loaded:
        start, per_clip, t1, tn = timings(os.path.join(log_dir, f"pilot-{cfg['name']}.log"))
        per_step = (tn - t1) / (PILOT_STEPS - 1)
        # Fixed cost: everything up to step 1 as in the pilot (start-up, kernel compilation, the
        # pilot's pool, the first step), plus the rest of the config's pool at the pilot's rate.
        # The pilot's two mid-run validation passes are inside its per-step time.
        fixed = t1 + per_clip * max(0, cfg["dit"].get("pool", PILOT_POOL) - PILOT_POOL)
        steps = int((seconds / MARGIN - fixed) / per_step) // 100 * 100
        print(f"fit {cfg['name']}: start {start:.0f}s, pool {per_clip * 1e3:.2f} ms per clip, {per_step:.3f}s per step, "
              f"fixed {fixed:.0f}s, {steps} steps fit {seconds:.0f}s")
        best = steps if best is None else min(best, steps)
    if best is None or best < 100:
        raise SystemExit(f"{seconds:.0f}s leaves no room for 100 steps")
    samples = best * batch
    for text, cfg in loaded:
        cfg["dit"]["samples"] = samples
        text, n = re.subn(r"(\bdit:[^\n]*?\bsamples:\s*)[\d_]+", rf"\g<1>{samples}", text, count=1)
        if n != 1:
            raise SystemExit(f"{cfg['name']}: no 'dit: {{samples: …}}' line to rewrite in its YAML")
        text = text.replace("\nname:", f"\n# dit.samples set to {samples} by ci/gpu/fit-budget.py "
                            f"to fit {seconds:.0f} s on the lent GPU\nname:", 1)
        write(out_dir, cfg, text)
        print("train", cfg["name"], json.dumps(cfg["dit"]))


if __name__ == "__main__":
    main()
