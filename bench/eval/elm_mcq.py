#!/usr/bin/env python3
"""elm_mcq.py — the libelm side of bench/eval/run: elm.eval_mcq with
eval.mcq_scoring = cloze (shared question prefix, batched choices).

  elm_mcq.py MODEL QUESTIONS N --dtype float32|bfloat16 --threads T

Prints one JSON object: side, dtype, n, seconds (libelm's own scoring time,
the model load excluded), predictions."""
import json
import os
import sys
import tempfile

import elm


def main():
    model_path, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    dtype = sys.argv[sys.argv.index("--dtype") + 1]
    threads = sys.argv[sys.argv.index("--threads") + 1]
    qs = json.load(open(path, encoding="utf-8"))[:n]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(qs, f)
    try:
        m = elm.Model(model_path, runtime_dtype=dtype, runtime_threads=int(threads))
        r = elm.eval_mcq(m, f.name, eval_mcq_scoring="cloze")
    finally:
        os.unlink(f.name)
    print(json.dumps({"side": "libelm", "dtype": dtype, "n": r.n, "seconds": r.seconds,
                      "predictions": list(r.predicted), "version": elm.version_string()}))


if __name__ == "__main__":
    main()
