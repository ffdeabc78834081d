#!/usr/bin/env python3
"""hf_mcq.py — the transformers side of bench/eval/run: cloze multiple-choice
scoring (lm-eval's acc_norm, as docs/eval.md and tools/reference/
golden_mcq_cloze.py define it) one sequence per choice, no batching, no
cache: the loop lm-eval's HF model runs at batch size 1.

  hf_mcq.py QUESTIONS N --dtype float32|bfloat16 --threads T

Prints one JSON object: side, dtype, versions, n, seconds (scoring only, the
model load excluded), predictions."""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "reference"))
from golden_mcq import SMOLLM2, load  # noqa: E402


@torch.no_grad()
def main():
    path, n = sys.argv[1], int(sys.argv[2])
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[sys.argv[sys.argv.index("--dtype") + 1]]
    torch.set_num_threads(int(sys.argv[sys.argv.index("--threads") + 1]) or len(os.sched_getaffinity(0)))
    qs = json.load(open(path, encoding="utf-8"))[:n]
    tok, model, _ = load(SMOLLM2)
    model = model.to(dtype)
    enc = lambda s: tok(s, add_special_tokens=False).input_ids
    preds, t0 = [], time.monotonic()
    for q in qs:
        ctx = f"Question: {q['question'].strip()}\nAnswer:"
        ctx_ids = enc(ctx)
        scores = []
        for ch in q["choices"]:
            cont = enc(ctx + " " + ch)[len(ctx_ids):]
            ids = torch.tensor([ctx_ids + cont])
            lp = torch.log_softmax(model(ids).logits[0, :-1].double(), -1)
            tgt = ids[0, 1:]
            ll = lp[torch.arange(len(tgt)), tgt][-len(cont):].sum().item()
            scores.append(ll / len(ch))
        preds.append(max(range(len(scores)), key=lambda j: scores[j]))
    secs = time.monotonic() - t0
    import transformers
    print(json.dumps({"side": "transformers", "dtype": str(dtype).replace("torch.", ""), "torch": torch.__version__,
                      "transformers": transformers.__version__, "n": len(qs), "seconds": secs,
                      "predictions": preds}))


if __name__ == "__main__":
    main()
