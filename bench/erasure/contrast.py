#!/usr/bin/env python3
"""Does the model tell its own concept knowledge apart? ELM's signal, measured.

ELM's erase target is log P(x) - eta * (log P(x | expert prefix) - log P(x | novice prefix)):
it moves probability only where the frozen model predicts a text differently when told the
author is an expert in the concept than when told the author is a novice. This script
measures that difference on forget texts (about the concept) and on retain and general
texts (not about it), per token:

  kl      KL(P_expert || P_novice) of the next-token distributions, nats
  dlogp   |log P_expert(x_t) - log P_novice(x_t)| of the actual next token

averaged over the text's tokens (prefix and text tokenized separately, as
erase.alignment = separate), then over the texts, each for every expert/novice template
pair i (the i-th of each; libelm/erase/templates.c). If the forget/retain ratio is near 1,
the contrast is not about the concept and the target pushes every text alike.

Run:  ELM_LIBRARY=build/libelm.so.0 scripts/python bench/erasure/contrast.py --model M \
          --concept "$(cat data/knowledge/geography/concept.txt)" \
          --set forget=data/knowledge/geography/forget.jsonl --set retain=data/knowledge/geography/retain.jsonl \
          --set general=data/general-text.jsonl [--n 16] [--pairs 3] [--json OUT]
"""
import argparse
import json
import math
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "bindings", "python"))
import numpy as np  # noqa: E402

import elm  # noqa: E402

sys.path.insert(0, here)
from logprobs import predicting  # noqa: E402

# The first templates of libelm/erase/templates.c (the defaults, in their order).
EXPERT = ["The following is written by an expert in {concept}:\n",
          "Here is a passage by a leading specialist in {concept}:\n",
          "An experienced researcher who knows everything about {concept} wrote this:\n"]
NOVICE = ["The following is written by someone who knows nothing about {concept}:\n",
          "Here is a passage by a person who has never heard of {concept}:\n",
          "A beginner who is confused about {concept} wrote this:\n"]


def measure(model, texts, concept, pairs, max_tokens):
    tok = model.tokenizer
    kls, dls = [], []
    for x in texts:
        xi = tok.encode(x)[:max_tokens]
        if len(xi) < 2:
            continue
        for i in range(pairs):
            pe = tok.encode(EXPERT[i].replace("{concept}", concept))
            pn = tok.encode(NOVICE[i].replace("{concept}", concept))
            le, ln = model.logits([pe + xi, pn + xi])
            # rows predicting x_1 .. x_{n-1} (the tokens after the first of x)
            e = predicting(le, len(pe) + 1, len(xi) - 1)
            v = predicting(ln, len(pn) + 1, len(xi) - 1)
            kl = (np.exp(e) * (e - v)).sum(axis=-1)
            tgt = np.asarray(xi[1:])
            d = np.abs(e[np.arange(len(tgt)), tgt] - v[np.arange(len(tgt)), tgt])
            kls.append(float(kl.mean()))
            dls.append(float(d.mean()))
    return {"n": len(kls), "kl": float(np.mean(kls)), "dlogp": float(np.mean(dls)),
            "kl_sem": float(np.std(kls) / math.sqrt(max(1, len(kls))))}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--concept", required=True)
    ap.add_argument("--set", action="append", required=True, help="NAME=FILE.jsonl ({\"text\"} rows)")
    ap.add_argument("--n", type=int, default=16, help="texts per set")
    ap.add_argument("--pairs", type=int, default=3, help="expert/novice template pairs (at most 3)")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--dtype", default="auto")
    ap.add_argument("--json")
    a = ap.parse_args()
    res = {"model": os.path.basename(a.model), "concept": a.concept, "dtype": a.dtype, "sets": {}}
    with elm.Model(a.model, runtime_dtype=a.dtype) as model:
        for s in a.set:
            name, _, path = s.partition("=")
            rows = [json.loads(l)["text"] for l in open(path, encoding="utf-8") if l.strip()][:a.n]
            res["sets"][name] = measure(model, rows, a.concept, min(a.pairs, len(EXPERT)), a.max_tokens)
    first = next(iter(res["sets"].values()))
    print(f"expert vs novice contrast, \"{a.concept}\" ({res['model']}, {a.dtype}):")
    print("| texts | n | KL(expert || novice) per token | |log P_e - log P_n| per token | KL vs first set |")
    print("|---|---|---|---|---|")
    for name, r in res["sets"].items():
        print(f"| {name} | {r['n']} | {r['kl']:.4f} ± {r['kl_sem']:.4f} | {r['dlogp']:.4f} | {r['kl'] / first['kl']:.2f} |")
    if a.json:
        json.dump(res, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
