#!/usr/bin/env python3
"""st_close.py A B TOL — exit 0 when the two safetensors files hold the same tensor names,
dtypes and shapes and every F32 value differs by at most TOL (absolute); prints the
largest difference. Standard library only (the CLI tests run it with scripts/python)."""
import json
import struct
import sys
from array import array


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    head = json.loads(raw[8:8 + n])
    head.pop("__metadata__", None)
    base = 8 + n
    out = {}
    for name, h in head.items():
        a, b = h["data_offsets"]
        out[name] = (h["dtype"], h["shape"], raw[base + a:base + b])
    return out


def main():
    pa, pb, tol = sys.argv[1], sys.argv[2], float(sys.argv[3])
    A, B = load(pa), load(pb)
    if sorted(A) != sorted(B):
        sys.exit(f"st_close: tensor names differ: {sorted(set(A) ^ set(B))}")
    worst = 0.0
    for name in A:
        (da, sa, xa), (db, sb, xb) = A[name], B[name]
        if (da, sa) != (db, sb):
            sys.exit(f"st_close: {name}: {da}{sa} vs {db}{sb}")
        if da != "F32":
            if xa != xb:
                sys.exit(f"st_close: {name}: {da} bytes differ")
            continue
        va, vb = array("f"), array("f")
        va.frombytes(xa)
        vb.frombytes(xb)
        worst = max([worst] + [abs(x - y) for x, y in zip(va, vb)])
    print(f"st_close: max |difference| {worst:.3g} (tolerance {tol:g})")
    sys.exit(0 if worst <= tol else 1)


if __name__ == "__main__":
    main()
