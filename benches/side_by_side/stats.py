#!/usr/bin/env python3
"""Side by side with the read limit: `glassbox stats FILE` against `readlimit FILE`.

usage: stats.py ROUNDS FILE GLASSBOX [extra glassbox args...]

Each round runs `readlimit` just before and just after one whole `glassbox stats FILE --format
json` process and counts the faster of the two limits, so that a change of the machine's memory
state between rounds (these virtual machines move between states minute to minute) moves both
sides together. Prints every round and the medians: glassbox's share of the limit is limit time /
glassbox time. `readlimit` is `../shared/bench/readlimit.c` built with
`gcc -O3 -march=native -pthread readlimit.c -o readlimit`; set READLIMIT to its path if it is not
in the current folder. GLASSBOX_KERNEL / GLASSBOX_METHOD in the environment pass through.
Run each command once before timing (the script does) so the file is in the page cache, and name
the CPU (`lscpu`) beside every figure you report.
"""
import os
import statistics
import subprocess
import sys
import time

READLIMIT = os.environ.get("READLIMIT", "./readlimit")


def timed(cmd):
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL)
    if done.returncode not in (0, 1):
        sys.exit(f"{cmd[0]} exited with {done.returncode}")
    return time.perf_counter() - start


def main():
    rounds, path, glassbox = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    limit = [READLIMIT, path]
    run = [glassbox, "stats", path, "--format", "json", *sys.argv[4:]]
    timed(limit), timed(run)
    shares, limits, runs = [], [], []
    for i in range(rounds):
        before, took, after = timed(limit), timed(run), timed(limit)
        best = min(before, after)
        shares.append(best / took), limits.append(best), runs.append(took)
        print(f"round {i}: limit {best:.4f} s  glassbox {took:.4f} s  share {100 * best / took:.1f}%", flush=True)
    print(
        f"median: limit {statistics.median(limits):.4f} s  glassbox {statistics.median(runs):.4f} s  "
        f"share {100 * statistics.median(shares):.1f}% (min {100 * min(shares):.1f}, max {100 * max(shares):.1f})"
    )


if __name__ == "__main__":
    main()
