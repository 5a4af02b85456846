#!/usr/bin/env python3
"""Side by side with the read limit: `glassbox diff A B` against `readlimit` on both files.

usage: diff.py ROUNDS A B GLASSBOX

Each round times `readlimit A; readlimit B` just before and just after one `glassbox diff A B
--format json` and one with `--no-rank`, and divides each by the faster limit: the diff's time as a
multiple of the time the machine needs to read the bytes of both models once (the target is at
most 2×). See stats.py in this folder for `readlimit` and the method.
"""
import os
import statistics
import subprocess
import sys
import time

READLIMIT = os.environ.get("READLIMIT", "./readlimit")


def timed(*cmds):
    start = time.perf_counter()
    for cmd in cmds:
        done = subprocess.run(cmd, stdout=subprocess.DEVNULL)
        if done.returncode not in (0, 1):
            sys.exit(f"{cmd[0]} exited with {done.returncode}")
    return time.perf_counter() - start


def main():
    rounds, a, b, glassbox = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    limit = ([READLIMIT, a], [READLIMIT, b])
    default = [glassbox, "diff", a, b, "--format", "json"]
    no_rank = default + ["--no-rank"]
    timed(*limit), timed(default)
    ratios = {"default": [], "--no-rank": []}
    limits = []
    for i in range(rounds):
        before = timed(*limit)
        took = {"default": timed(default), "--no-rank": timed(no_rank)}
        best = min(before, timed(*limit))
        limits.append(best)
        for k, t in took.items():
            ratios[k].append(t / best)
        print(
            f"round {i}: limit {best:.4f} s  default {took['default']:.4f} s ({took['default'] / best:.2f}×)  "
            f"--no-rank {took['--no-rank']:.4f} s ({took['--no-rank'] / best:.2f}×)",
            flush=True,
        )
    print(
        f"median: limit {statistics.median(limits):.4f} s  default {statistics.median(ratios['default']):.2f}×  "
        f"--no-rank {statistics.median(ratios['--no-rank']):.2f}×"
    )


if __name__ == "__main__":
    main()
