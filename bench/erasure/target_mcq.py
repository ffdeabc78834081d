#!/usr/bin/env python3
"""What would ELM's target distribution answer? The erasure's ceiling, measured on the MCQ.

ELM trains the adapted model toward q = softmax(o - eta * (e - v)) where o, e, v are the frozen
model's log-probabilities (temperature tau) without a prefix, after an expert prefix and after
a novice prefix. This script scores the cloze MCQ (lm-eval acc_norm: `Question: {q}\\nAnswer:`
+ ` {choice}`, log-likelihood per character of the choice) with q itself in place of the model,
for several eta, on a concept set and on a control set. If q still answers the concept
questions as well as the base model, no amount of training toward q can make the concept's MCQ
fall; if q's control accuracy falls with its concept accuracy, the target is not specific.

  acc(base)     the frozen model (tau = 1): the MCQ as `elm eval mcq --eval-mcq-scoring cloze`
  acc(expert)   the frozen model after each expert template, averaged over the pairs
  acc(novice)   the same after each novice template
  acc(eta=N)    the target q at eta N (tau 1.2, no top-k), averaged over the pairs

Run:  ELM_LIBRARY=build/libelm.so.0 scripts/python bench/erasure/target_mcq.py --model M \\
          --concept "$(cat data/knowledge/geography/concept.txt)" \\
          --set concept=data/knowledge/geography/mcq.dev.json \\
          --set control=data/knowledge/geography/control.dev.json [--n 80] [--pairs 3] \\
          [--templates FILE.json] [--json OUT]

--templates: {"expert": [...], "novice": [...]} with {concept} placeholders (default: the first
templates of libelm/erase/templates.c, as bench/erasure/contrast.py uses).
"""
import argparse
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "bindings", "python"))
sys.path.insert(0, here)
import numpy as np  # noqa: E402

import elm  # noqa: E402
from contrast import EXPERT, NOVICE  # noqa: E402
from logprobs import log_softmax, predicting, token_logprob  # noqa: E402

ETAS = (1, 3, 10, 30, 100, 500)
TAU = 1.2


def score_set(model, rows, concept, expert, novice, etas):
    tok = model.tokenizer
    names = ["base", "expert", "novice"] + [f"eta={e}" for e in etas]
    correct = {n: 0.0 for n in names}
    for row in rows:
        ctx = tok.encode(f"Question: {row['question']}\nAnswer:")
        conts = [tok.encode(" " + c) for c in row["choices"]]
        chars = [max(1, len(c)) for c in row["choices"]]
        k = len(conts)
        per = {n: np.zeros(k) for n in names}
        # the unprefixed pass once per question; each template pair adds its prefixed passes
        plain = model.logits([ctx + c for c in conts])
        for j, c in enumerate(conts):
            per["base"][j] = token_logprob(plain[j], len(ctx), c) / chars[j]
        n_pairs = len(expert)
        for pe_t, pn_t in zip(expert, novice):
            pe = tok.encode(pe_t.replace("{concept}", concept))
            pn = tok.encode(pn_t.replace("{concept}", concept))
            outs = model.logits([pe + ctx + c for c in conts] + [pn + ctx + c for c in conts])
            for j, c in enumerate(conts):
                idx = np.arange(len(c))
                ce, cv = len(pe) + len(ctx), len(pn) + len(ctx)
                o = predicting(plain[j], len(ctx), len(c), TAU)
                e = predicting(outs[j], ce, len(c), TAU)
                v = predicting(outs[k + j], cv, len(c), TAU)
                per["expert"][j] += token_logprob(outs[j], ce, c) / chars[j] / n_pairs
                per["novice"][j] += token_logprob(outs[k + j], cv, c) / chars[j] / n_pairs
                for eta in etas:
                    q = log_softmax(o - eta * (e - v))
                    per[f"eta={eta}"][j] += q[idx, c].sum() / chars[j] / n_pairs
        for n in names:
            correct[n] += float(int(np.argmax(per[n])) == row["answer"])
    return {n: 100.0 * correct[n] / max(1, len(rows)) for n in names}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--concept", required=True)
    ap.add_argument("--set", action="append", required=True, help="NAME=FILE.json (MCQ rows)")
    ap.add_argument("--n", type=int, default=80, help="questions per set")
    ap.add_argument("--pairs", type=int, default=3, help="expert/novice template pairs")
    ap.add_argument("--templates", help='JSON {"expert": [...], "novice": [...]}')
    ap.add_argument("--dtype", default="auto")
    ap.add_argument("--json")
    a = ap.parse_args()
    expert, novice = EXPERT, NOVICE
    if a.templates:
        t = json.load(open(a.templates, encoding="utf-8"))
        expert, novice = t["expert"], t["novice"]
    expert, novice = expert[:a.pairs], novice[:a.pairs]
    res = {"model": os.path.basename(a.model), "concept": a.concept, "dtype": a.dtype, "tau": TAU,
           "pairs": len(expert), "templates": {"expert": expert, "novice": novice}, "sets": {}}
    with elm.Model(a.model, runtime_dtype=a.dtype) as model:
        for s in a.set:
            name, _, path = s.partition("=")
            rows = json.load(open(path, encoding="utf-8"))[:a.n]
            res["sets"][name] = dict(n=len(rows), **score_set(model, rows, a.concept, expert, novice, ETAS))
    cols = ["base", "expert", "novice"] + [f"eta={e}" for e in ETAS]
    print(f"cloze MCQ accuracy (%) of the frozen model and of ELM's target q, \"{a.concept}\" "
          f"({res['model']}, {a.dtype}, {len(expert)} template pairs):")
    print("| set | n | " + " | ".join(cols) + " |")
    print("|---|---|" + "---|" * len(cols))
    for name, r in res["sets"].items():
        print(f"| {name} | {r['n']} | " + " | ".join(f"{r[c]:.1f}" for c in cols) + " |")
    if a.json:
        json.dump(res, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
