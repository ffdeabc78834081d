#!/usr/bin/env python3
"""hf_gen.py — the transformers side of bench/eval/run's generation rows:
HF `generate`, greedy, all prompts in one left-padded batch, each wrapped in
the model's chat template, stopping per sequence at EOS.

  hf_gen.py PROMPTS.jsonl N NEW_TOKENS --dtype float32|bfloat16 --threads T

Prints one JSON object: side, dtype, n, seconds (generation only),
tokens (generated before each sequence's EOS), texts."""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "reference"))
from golden_mcq import SMOLLM2, load  # noqa: E402


@torch.no_grad()
def main():
    path, n, new = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[sys.argv[sys.argv.index("--dtype") + 1]]
    torch.set_num_threads(int(sys.argv[sys.argv.index("--threads") + 1]) or len(os.sched_getaffinity(0)))
    prompts = [json.loads(l)["text"] for l in open(path, encoding="utf-8")][:n]
    tok, model, _ = load(SMOLLM2)
    model = model.to(dtype)
    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    # the model's chat template, as elm.generate(gen_chat=True) applies it
    texts_in = [tok.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True, tokenize=False)
                for p in prompts]
    batch = tok(texts_in, return_tensors="pt", padding=True, add_special_tokens=False)
    t0 = time.monotonic()
    out = model.generate(**batch, max_new_tokens=new, do_sample=False, pad_token_id=tok.pad_token_id)
    secs = time.monotonic() - t0
    gen = out[:, batch.input_ids.shape[1]:]
    eos = tok.eos_token_id
    tokens, texts = 0, []
    for row in gen.tolist():
        k = row.index(eos) if eos in row else len(row)
        tokens += k
        texts.append(tok.decode(row[:k], skip_special_tokens=True))
    print(json.dumps({"side": "transformers", "dtype": str(dtype).replace("torch.", ""), "n": len(prompts),
                      "seconds": secs, "tokens": tokens, "texts": texts}))


if __name__ == "__main__":
    main()
