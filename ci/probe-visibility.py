#!/usr/bin/env python3
"""How often the probes could find the prompted objects in a run's videos.

    python3 ci/probe-visibility.py RUN_DIR [RUN_DIR ...]

Reads every shard's scores.jsonl and splits each probe score's detail into its verdicts. A check
"sees its objects" unless its reason says an object was not found ("no red ball found in the
video", "never seen", "not seen"). Prints, per run and suite: checks, the share where the objects
were seen, and the share that passed.
"""
import collections
import json
import pathlib
import re
import sys

MISSING = re.compile(r"found in the video|never seen|not seen|fewer than 3 frames|: 0 \w+ objects per frame")


def main():
    for run in sys.argv[1:]:
        stats = collections.defaultdict(lambda: [0, 0, 0])
        for path in sorted(pathlib.Path(run).glob("shards/*/scores.jsonl")):
            latest = {}
            for line in path.read_text().splitlines():
                r = json.loads(line)
                if r["metric"].startswith("probe:") and r.get("detail"):
                    latest[(r["suite"], r["case_id"], r["seed_idx"], r["metric"])] = r
            for (suite, *_), r in latest.items():
                for verdict in r["detail"].split(" | "):
                    s = stats[suite]
                    s[0] += 1
                    s[1] += not MISSING.search(verdict)
                    s[2] += verdict.startswith("pass")
        for suite, (n, seen, passed) in sorted(stats.items()):
            print(f"{run}  {suite:<10} checks {n:4d}  objects seen {seen / max(n, 1):6.1%}  passed {passed / max(n, 1):6.1%}")


if __name__ == "__main__":
    main()
