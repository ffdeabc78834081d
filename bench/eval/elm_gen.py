#!/usr/bin/env python3
"""elm_gen.py — the libelm side of bench/eval/run's generation rows:
elm.generate, greedy, all prompts in one call (libelm batches them, stopping
per sequence at EOS), each wrapped in the model's chat template (gen.chat).

  elm_gen.py MODEL PROMPTS.jsonl N NEW_TOKENS --dtype float32|bfloat16 --threads T

Prints one JSON object: side, dtype, n, seconds (generation only), tokens
(counted by the on_token callback), texts."""
import json
import sys
import time

import elm


def main():
    model_path, path, n, new = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    dtype = sys.argv[sys.argv.index("--dtype") + 1]
    threads = int(sys.argv[sys.argv.index("--threads") + 1])
    prompts = [json.loads(l)["text"] for l in open(path, encoding="utf-8")][:n]
    count = [0]

    def on_token(i, t, s):
        count[0] += 1
        return 0

    with elm.Model(model_path, runtime_dtype=dtype, runtime_threads=threads) as m:
        t0 = time.monotonic()
        texts = elm.generate(m, prompts, on_token=on_token, gen_max_new_tokens=new, gen_temperature=0,
                             gen_chat=True)
        secs = time.monotonic() - t0
    print(json.dumps({"side": "libelm", "dtype": dtype, "n": len(prompts), "seconds": secs, "tokens": count[0],
                      "texts": texts}))


if __name__ == "__main__":
    main()
