#!/usr/bin/env python3
"""Writes a 7B-shaped pair for the lineage test of `glassbox diff` (issue: under 30 s on two cores).

usage: make_lineage_pair.py OUT_DIR [LAYERS] [HIDDEN] [INTERMEDIATE]

OUT_DIR/a/model.safetensors and OUT_DIR/b/model.safetensors: LAYERS (32) layers of Llama-named
`mlp.gate_proj.weight` and `mlp.up_proj.weight`, INTERMEDIATE × HIDDEN (11008 × 4096) BF16 values
drawn from a normal distribution of std 0.02; B is A with each layer's hidden units (the rows of
both projections) permuted by one random permutation: a function-preserving copy, which
`glassbox diff OUT_DIR/a OUT_DIR/b` must read as `derived_permuted`. About 11.5 GB in all; needs
numpy. Then time it side by side with the read limit:

    /usr/bin/time -v glassbox diff OUT_DIR/a OUT_DIR/b --format json > /dev/null
"""
import json
import os
import sys

import numpy as np


def bf16(x):
    u = x.view(np.uint32)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def main():
    out = sys.argv[1]
    layers = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    hidden = int(sys.argv[3]) if len(sys.argv) > 3 else 4096
    inter = int(sys.argv[4]) if len(sys.argv) > 4 else 11008
    nbytes = inter * hidden * 2
    names = [f"model.layers.{l}.mlp.{p}.weight" for l in range(layers) for p in ("gate_proj", "up_proj")]
    header = {n: {"dtype": "BF16", "shape": [inter, hidden], "data_offsets": [i * nbytes, (i + 1) * nbytes]}
              for i, n in enumerate(names)}
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    rng = np.random.default_rng(0)
    files = {}
    for side in ("a", "b"):
        os.makedirs(f"{out}/{side}", exist_ok=True)
        files[side] = open(f"{out}/{side}/model.safetensors", "wb")
        files[side].write(len(h).to_bytes(8, "little") + h)
    for l in range(layers):
        perm = rng.permutation(inter)
        for _ in ("gate_proj", "up_proj"):
            w = bf16(rng.standard_normal((inter, hidden), dtype=np.float32) * np.float32(0.02))
            files["a"].write(w.tobytes())
            files["b"].write(w[perm].tobytes())
    for f in files.values():
        f.close()


if __name__ == "__main__":
    main()
