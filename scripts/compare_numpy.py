#!/usr/bin/env python3
"""Checks `glassbox stats` on a real model against float64 numpy, tensor by tensor.

usage: compare_numpy.py MODEL [GLASSBOX]     (MODEL: a .safetensors file or a folder of shards)
Needs: pip install numpy ml_dtypes. Prints the worst relative error of each statistic (the mean
relative to the std) and exits 1 if any count differs or an error exceeds 1e-6. Percentiles of
tensors whose distribution is not exact ("buckets", "sampled") are estimates: their worst error is
reported in standard deviations, apart.
"""
import glob
import json
import os
import subprocess
import sys

import ml_dtypes
import numpy as np

DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": ml_dtypes.bfloat16,
          "F8_E4M3": ml_dtypes.float8_e4m3fn, "F8_E5M2": ml_dtypes.float8_e5m2,
          "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8,
          "U64": np.uint64, "U32": np.uint32, "U16": np.uint16, "U8": np.uint8, "BOOL": np.bool_}


def tensors(path):
    files = [path] if os.path.isfile(path) else sorted(glob.glob(os.path.join(path, "*.safetensors")))
    for file in files:
        with open(file, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(n))
        header.pop("__metadata__", None)
        for name, t in header.items():
            start, end = t["data_offsets"]
            count = int(np.prod(t["shape"], dtype=np.uint64))
            data = np.memmap(file, dtype=np.uint8, mode="r", offset=8 + n + start, shape=(end - start,)) \
                if end > start else np.zeros(0, np.uint8)
            yield name, np.frombuffer(data, dtype=DTYPES[t["dtype"]], count=count)


def main():
    model = sys.argv[1]
    exe = sys.argv[2] if len(sys.argv) > 2 else "glassbox"
    out = subprocess.run([exe, "stats", model, "--format", "json"], check=True, capture_output=True).stdout
    ours = {t["name"]: t["stats"] for t in json.loads(out)["tensors"]}
    worst, estimated, failed, count = {}, {}, False, 0
    for name, values in tensors(model):
        x = values.astype(np.float64)
        f = x[np.isfinite(x)]
        s = ours[name]
        count += 1
        if (s["count"], s["zeros"], s["nan"], s["inf"]) != (x.size, int((x == 0).sum()), int(np.isnan(x).sum()), int(np.isinf(x).sum())):
            print(f"{name}: counts differ", file=sys.stderr)
            failed = True
        if f.size == 0:
            continue
        ref = {"mean": f.mean(), "std": f.std(), "min": f.min(), "max": f.max(), "abs_max": np.abs(f).max(),
               "l2_norm": np.sqrt((f * f).sum())}
        pct = dict(zip(["p1", "p50", "p99"], np.percentile(f, [1, 50, 99])))
        if s["exact_distribution"]:
            ref.update(pct)
        elif ref["std"] > 0:
            kind = s["distribution"]
            err = max(abs(s[k] - r) for k, r in pct.items()) / ref["std"]
            n, e = estimated.get(kind, (0, 0.0))
            estimated[kind] = (n + 1, max(e, err))
        for k, r in ref.items():
            scale = ref["std"] if k == "mean" else abs(r)
            err = abs(s[k] - r) / scale if scale > 0 else abs(s[k] - r)
            worst[k] = max(worst.get(k, 0.0), err)
    print(f"{count} tensors; worst relative error: " + ", ".join(f"{k} {v:.1e}" for k, v in worst.items()))
    for kind, (n, e) in estimated.items():
        print(f"{n} tensors with {kind} percentiles: worst error {e:.4f} std")
    if failed or any(v > 1e-6 for v in worst.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
