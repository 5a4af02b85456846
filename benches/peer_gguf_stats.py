#!/usr/bin/env python3
"""The peer for `benches/gguf.rs`: gguf-py's dequantize followed by numpy statistics over a file.

    .venv/bin/python benches/peer_gguf_stats.py FILE.gguf
    .venv/bin/python benches/peer_gguf_stats.py --make FILE.gguf TYPE MEGABYTES   # a synthetic file

For every tensor: `gguf.quants.dequantize` (float32), then the statistics glassbox reports, in
float64 as numpy computes them: count, mean and population std over finite values, min, max,
abs_max, l2 norm, zeros, NaN and inf counts. Prints the seconds taken (the file is memory-mapped by
GGUFReader, so reading it is included, as it is for glassbox when timed with the read).

`--make` writes TYPE blocks of random bytes with small finite f16 scales (Q8_0: byte 0; Q4_K: bytes
0 and 2), in tensors of 4096 x 4096 values, until MEGABYTES of tensor data.
"""

from __future__ import annotations

import sys
import time

import numpy as np

import gguf
from gguf import GGMLQuantizationType as T
from gguf import GGUFReader, GGUFWriter, quants
from gguf.constants import GGML_QUANT_SIZES


def stats(v: np.ndarray) -> dict:
    v = v.astype(np.float64, copy=False).ravel()
    finite_mask = np.isfinite(v)
    finite = v[finite_mask] if not finite_mask.all() else v
    return {
        "count": v.size,
        "mean": finite.mean(),
        "std": finite.std(),
        "min": finite.min(),
        "max": finite.max(),
        "abs_max": np.abs(finite).max(),
        "l2_norm": np.sqrt(np.dot(finite, finite)),
        "zeros": int(np.count_nonzero(v == 0)),
        "nan": int(np.isnan(v).sum()),
        "inf": int(np.isinf(v).sum()),
    }


def run(path: str) -> None:
    t0 = time.perf_counter()
    r = GGUFReader(path)
    total = 0
    for t in r.tensors:
        values = quants.dequantize(t.data, T(t.tensor_type))
        stats(values)
        total += int(t.n_bytes)
    seconds = time.perf_counter() - t0
    print(f"file: {path} ({total / 1e6:.1f} MB of tensor data, {len(r.tensors)} tensors)")
    print(f"gguf-py dequantize + numpy stats: {seconds:.3f} s ({total / 1e9 / seconds:.3f} GB/s)")


def make(path: str, type_name: str, megabytes: float) -> None:
    ty = T[type_name]
    block, size = GGML_QUANT_SIZES[ty]
    rows, cols = 4096, 4096
    per_tensor = rows * cols // block * size
    count = max(1, int(megabytes * 1e6 // per_tensor))
    rng = np.random.default_rng(0)
    w = GGUFWriter(path, "llama")
    scales = {T.Q8_0: [0], T.Q4_K: [0, 2]}.get(ty, [])
    for i in range(count):
        b = rng.integers(0, 256, size=(rows * cols // block, size), dtype=np.uint8)
        for at in scales:
            b[:, at:at + 2] = np.array([1e-3], dtype="<f2").view(np.uint8)
        w.add_tensor(f"blk.{i}.ffn_up.weight", b.reshape(rows, -1), raw_dtype=ty)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"wrote {path}: {count} tensors of {type_name} {rows}x{cols}, {count * per_tensor / 1e6:.1f} MB")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--make":
        make(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    elif len(sys.argv) == 2:
        run(sys.argv[1])
    else:
        sys.exit(__doc__)
