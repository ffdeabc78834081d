#!/usr/bin/env python3
"""Where does ELM's target send the model, and what does erase.plausibility change?

ELM trains toward q = softmax(s), s = o - eta * (e - v) (o, e, v: the frozen model's
log-probabilities, temperature tau, without a prefix, after the expert and after the novice
prefix; docs/erase.md). With erase.plausibility = alpha > 0, s is -inf wherever
o < max(o) + log(alpha). For each eta and alpha this script reports, from the frozen model only:

  cloze(concept), cloze(control)  the cloze MCQ (lm-eval acc_norm) answered by q itself: how far
                                  the target would move the concept's answers (and the others')
  E_q[log p_frozen]               on forget texts, the frozen model's mean log-probability of
                                  q's tokens: near the model's own entropy (about -2 to -3) when
                                  the target is text the model would write, far below when not
  p_frozen(argmax q)              the frozen probability of the target's most likely token

Masked choice tokens score log q = -30 (a floor: the trained model gives them little mass).
One expert/novice template pair (the first of bench/erasure/contrast.py), top-k off.

Run:  ELM_LIBRARY=build/libelm.so.0 scripts/python bench/erasure/target_plausibility.py --model M \\
          --forget WORK/forget.jsonl [--texts 10] [--n 60] [--etas 30,100] [--alphas 0,1e-4,1e-3,1e-2]
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
from logprobs import log_softmax, predicting  # noqa: E402

KDIR = os.path.join(here, "..", "..", "data", "knowledge", "geography")
FLOOR = -30.0


def target(o, e, v, eta, alpha):
    s = o - eta * (e - v)
    if alpha > 0:
        s = np.where(o >= o.max(-1, keepdims=True) + np.log(alpha), s, -np.inf)
    return log_softmax(s)


def cloze(model, rows, pe, pn, grid, tau):
    tok = model.tokenizer
    correct = {key: 0 for key in grid}
    correct["base"] = 0
    for row in rows:
        ctx = tok.encode(f"Question: {row['question']}\nAnswer:")
        conts = [tok.encode(" " + c) for c in row["choices"]]
        k = len(conts)
        outs = model.logits([ctx + c for c in conts] + [pe + ctx + c for c in conts] +
                            [pn + ctx + c for c in conts])
        score = {key: np.zeros(k) for key in correct}
        for j, c in enumerate(conts):
            chars = max(1, len(row["choices"][j]))
            o = predicting(outs[j], len(ctx), len(c), tau)
            e = predicting(outs[k + j], len(pe) + len(ctx), len(c), tau)
            v = predicting(outs[2 * k + j], len(pn) + len(ctx), len(c), tau)
            at = np.arange(len(c))
            score["base"][j] = o[at, c].sum() / chars
            for key in grid:
                q = np.maximum(target(o, e, v, *key), FLOOR)
                score[key][j] = q[at, c].sum() / chars
        for key in correct:
            correct[key] += int(np.argmax(score[key]) == row["answer"])
    return {key: 100.0 * n / max(1, len(rows)) for key, n in correct.items()}


def plausibility(model, texts, pe, pn, grid, tau):
    tok = model.tokenizer
    exp_lp = {key: [] for key in grid}
    p_top = {key: [] for key in grid}
    for t in texts:
        ids = tok.encode(t)[:120]
        lo, le, lv = model.logits([ids, pe + ids, pn + ids])
        o = log_softmax(np.asarray(lo) / tau)
        e = log_softmax(np.asarray(le)[len(pe):] / tau)
        v = log_softmax(np.asarray(lv)[len(pn):] / tau)
        for key in grid:
            q = np.exp(target(o, e, v, *key))
            exp_lp[key].append(float((q * np.maximum(o, -50.0)).sum(-1).mean()))
            p_top[key].append(float(np.exp(o[np.arange(len(ids)), q.argmax(-1)]).mean()))
    return ({key: float(np.mean(x)) for key, x in exp_lp.items()},
            {key: float(np.mean(x)) for key, x in p_top.items()})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--forget", required=True, help="forget JSONL (bench/erasure/sets.py)")
    ap.add_argument("--concept-mcq", default=os.path.join(KDIR, "mcq.dev.json"))
    ap.add_argument("--control-mcq", default=os.path.join(KDIR, "control.dev.json"))
    ap.add_argument("--concept", default=None, help="default: the concept folder's concept.txt")
    ap.add_argument("--n", type=int, default=60, help="questions per MCQ set")
    ap.add_argument("--texts", type=int, default=10, help="forget texts (first 120 tokens each)")
    ap.add_argument("--etas", default="30,100")
    ap.add_argument("--alphas", default="0,1e-4,1e-3,1e-2")
    ap.add_argument("--tau", type=float, default=1.0)
    ap.add_argument("--dtype", default="auto")
    ap.add_argument("--json")
    a = ap.parse_args()
    concept = a.concept or open(os.path.join(KDIR, "concept.txt"), encoding="utf-8").read().strip()
    grid = [(float(eta), float(al)) for eta in a.etas.split(",") for al in a.alphas.split(",")]
    texts = [json.loads(line)["text"] for line in open(a.forget, encoding="utf-8") if line.strip()][:a.texts]
    with elm.Model(a.model, runtime_dtype=a.dtype) as model:
        tok = model.tokenizer
        pe = tok.encode(EXPERT[0].replace("{concept}", concept))
        pn = tok.encode(NOVICE[0].replace("{concept}", concept))
        sets = {}
        for name, path in (("concept", a.concept_mcq), ("control", a.control_mcq)):
            rows = json.load(open(path, encoding="utf-8"))[:a.n]
            sets[name] = (len(rows), cloze(model, rows, pe, pn, grid, a.tau))
        exp_lp, p_top = plausibility(model, texts, pe, pn, grid, a.tau)
    nc, cc = sets["concept"]
    nk, ck = sets["control"]
    print(f"ELM's target q on \"{concept}\" ({os.path.basename(a.model)}, {a.dtype}, tau {a.tau}, "
          f"{len(texts)} forget texts, {nc} concept / {nk} control dev questions)")
    print(f"base model: cloze concept {cc['base']:.1f}%, control {ck['base']:.1f}%")
    print("| eta | plausibility | cloze concept | cloze control | E_q[log p_frozen] | p_frozen(argmax q) |")
    print("|---|---|---|---|---|---|")
    for key in grid:
        print(f"| {key[0]:g} | {key[1]:g} | {cc[key]:.1f}% | {ck[key]:.1f}% | {exp_lp[key]:.2f} | "
              f"{p_top[key]:.4f} |")
    if a.json:
        out = {"model": a.model, "concept": concept, "tau": a.tau, "dtype": a.dtype,
               "base": {"concept": cc["base"], "control": ck["base"]},
               "rows": [{"eta": k[0], "plausibility": k[1], "cloze_concept": cc[k], "cloze_control": ck[k],
                         "expected_frozen_logprob": exp_lp[k], "frozen_p_of_argmax": p_top[k]} for k in grid]}
        with open(a.json + ".tmp", "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1)
        os.replace(a.json + ".tmp", a.json)


if __name__ == "__main__":
    main()
