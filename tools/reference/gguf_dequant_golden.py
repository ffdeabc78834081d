#!/usr/bin/env python3
"""Golden dequantisation fixtures from the `gguf` Python package (llama.cpp's
own reader): for each ggml type, a few blocks of deterministic pseudo-random
bytes (scale fields forced to finite, modest half floats) and the float32
values gguf.quants.dequantize produces for them.

Writes tests/fixtures/io/dequant/<TYPE>.blocks (raw blocks) and
<TYPE>.f32 (little-endian float32). Made with gguf 0.19.0, numpy 2.4.6:
    python3 -m venv /tmp/ggufvenv && /tmp/ggufvenv/bin/pip install gguf numpy
    /tmp/ggufvenv/bin/python tools/reference/gguf_dequant_golden.py
"""
import os

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "io",
                   "dequant")

# type: (block elements, block bytes, byte offsets of f16 scale fields)
LAYOUT = {
    T.F16: (1, 2, []),
    T.BF16: (1, 2, []),
    T.Q4_0: (32, 18, [0]),
    T.Q4_1: (32, 20, [0, 2]),
    T.Q5_0: (32, 22, [0]),
    T.Q5_1: (32, 24, [0, 2]),
    T.Q8_0: (32, 34, [0]),
    T.Q4_K: (256, 144, [0, 2]),
    T.Q5_K: (256, 176, [0, 2]),
    T.Q6_K: (256, 210, [208]),
}
N_BLOCKS = 3


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(1234)
    for t, (bs, bb, scale_offs) in LAYOUT.items():
        nb = N_BLOCKS if bs > 1 else 96  # plain types: 96 elements
        raw = rng.integers(0, 256, size=nb * bb, dtype=np.uint8)
        if t == T.F16:
            raw = rng.uniform(-4, 4, size=nb).astype(np.float16).view(np.uint8)
        if t == T.BF16:
            raw = (rng.uniform(-4, 4, size=nb).astype(np.float32).view(np.uint32) >> 16) \
                .astype(np.uint16).view(np.uint8)
        for b in range(nb if bs > 1 else 0):
            for o in scale_offs:
                v = np.float16(rng.uniform(-0.1, 0.1))
                raw[b * bb + o:b * bb + o + 2] = np.frombuffer(v.tobytes(), dtype=np.uint8)
        vals = quants.dequantize(raw, t).astype("<f4").reshape(-1)
        assert vals.size == nb * bs, (t, vals.size)
        raw.tofile(os.path.join(OUT, f"{t.name}.blocks"))
        vals.tofile(os.path.join(OUT, f"{t.name}.f32"))
        print(t.name, nb * bs, "values")


if __name__ == "__main__":
    main()
