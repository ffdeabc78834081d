#!/usr/bin/env python3
"""Every measurement of scripts/demo for one model (+ adapter), in one process.

One model load (bf16 by default) serves all of them, which is what makes the demo fit its
budget; each part is timed (wall and this process's CPU time).

  hp_letters     HP-MCQ accuracy, letter format (`elm eval mcq`'s scoring, libelm's
                 elm_eval_mcq): the number the issue asks for. A 135M model answers "A"
                 (nearly) every time, so this sits at the share of A-answers (chance).
  hp_cloze       HP-MCQ scored cloze-style (see mcq_cloze.py): accuracy per character, and
                 the INNOCENCE number: the mean per-token log-likelihood of the CORRECT
                 answer's text after "Question: ...\\nAnswer:" (average over questions), and
                 the same for the distractors (mean of the three) — the first should drop
                 with erasure even where accuracy is at chance.
  control_cloze  the same on the general-knowledge control set (SPECIFICITY: should hold).
  ppl_forget     perplexity of the forget texts (should rise).
  ppl_general    perplexity of general text (should hold).
  generations    greedy chat generations for a few HP and control prompts.

Run: demo_eval.py --model M [--adapter DIR] --hp-mcq F --control-mcq F --forget F
                  --general F [--n-letters N] [--n-hp N] [--n-control N] [--n-general N]
                  [--prompt P ...] [--gen-tokens N] [--dtype bfloat16] [--batch N] --out J
Needs the Python binding (bindings/python) and ELM_LIBRARY pointing at the built libelm.
Output: the JSON file --out; progress on stderr.
"""
import argparse
import json
import math
import os
import resource
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "bindings", "python"))
import numpy as np  # noqa: E402

import elm  # noqa: E402


def cpu_s():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Timer:
    def __init__(self, rec, name):
        self.rec, self.name = rec, name

    def __enter__(self):
        self.w, self.c = time.time(), cpu_s()
        print(f"  [{self.name}] ...", file=sys.stderr, flush=True)

    def __exit__(self, *exc):
        w, c = time.time() - self.w, cpu_s() - self.c
        self.rec[self.name] = {"wall_s": round(w, 1), "cpu_s": round(c, 1)}
        print(f"  [{self.name}] {w:.0f}s wall, {c:.0f}s CPU", file=sys.stderr, flush=True)


def cloze(model, items, batch):
    """Per question: the chosen index (per-character norm) and per-token log-likelihoods
    of every choice's text after the cloze context."""
    tok = model.tokenizer
    out = []
    for k0 in range(0, len(items), batch):
        chunk = items[k0:k0 + batch]
        seqs, starts, meta = [], [], []
        for j, it in enumerate(chunk):
            ctx = f"Question: {it['question'].strip()}\nAnswer:"
            n_ctx = len(tok.encode(ctx))
            for c, ch in enumerate(it["choices"]):
                text = " " + str(ch).strip()
                ids = tok.encode(ctx + text)
                seqs.append(ids)
                starts.append(max(n_ctx, 1))
                meta.append((j, c, max(1, len(text))))
        logits = model.logits(seqs)
        sums, ntok = [], []
        for ids, st, lg in zip(seqs, starts, logits):
            x = lg[st - 1:len(ids) - 1]
            mx = x.max(axis=1, keepdims=True)
            lse = mx[:, 0] + np.log(np.exp(x - mx).sum(axis=1))
            tgt = np.asarray(ids[st:])
            sums.append(float((x[np.arange(len(tgt)), tgt] - lse).sum()))
            ntok.append(max(1, len(tgt)))
        for j, it in enumerate(chunk):
            idx = [i for i, m in enumerate(meta) if m[0] == j]
            per_char = [sums[i] / meta[i][2] for i in idx]
            per_tok = [sums[i] / ntok[i] for i in idx]
            out.append({"answer": int(it["answer"]), "pred": int(np.argmax(per_char)), "per_token": per_tok})
        done = k0 + len(chunk)
        print(f"\r    cloze {done}/{len(items)}", end="\n" if done == len(items) else "", file=sys.stderr, flush=True)
    return out


def cloze_summary(rows):
    n = len(rows)
    right = sum(r["pred"] == r["answer"] for r in rows)
    ll_ans = [r["per_token"][r["answer"]] for r in rows]
    ll_dis = [np.mean([v for i, v in enumerate(r["per_token"]) if i != r["answer"]]) for r in rows]
    return {"accuracy": right / n, "n": n, "n_correct": right,
            "answer_loglik": float(np.mean(ll_ans)), "distractor_loglik": float(np.mean(ll_dis)),
            "answer_minus_distractor": float(np.mean(ll_ans) - np.mean(ll_dis)),
            "predictions": [r["pred"] for r in rows]}


def write_result(path, res):
    """Add the process's CPU seconds to RES and write it as JSON to PATH (temp file + rename)."""
    res["cpu_s"] = round(cpu_s(), 1)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(res, f, ensure_ascii=False, indent=1)
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--adapter")
    ap.add_argument("--hp-mcq", required=True)
    ap.add_argument("--control-mcq", required=True)
    ap.add_argument("--forget", required=True)
    ap.add_argument("--general", required=True)
    ap.add_argument("--n-letters", type=int, default=50, help="HP questions scored letter-style")
    ap.add_argument("--n-hp", type=int, default=100, help="HP questions scored cloze-style")
    ap.add_argument("--n-control", type=int, default=100, help="control questions scored cloze-style")
    ap.add_argument("--n-general", type=int, default=40, help="paragraphs of general text")
    ap.add_argument("--prompt", action="append", default=[], help="a generation prompt (repeatable)")
    ap.add_argument("--gen-tokens", type=int, default=40)
    ap.add_argument("--dtype", default="bfloat16")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    t = {}
    res = {"adapter": a.adapter, "dtype": a.dtype, "timings": t}
    with Timer(t, "load"):
        model = elm.Model(a.model, runtime_dtype=a.dtype)
        if a.adapter:
            model.load_adapter(a.adapter)
    ev = {"runtime_dtype": a.dtype, "eval_batch": a.batch}

    if a.n_letters > 0:
        with Timer(t, "hp_letters"):
            r = elm.eval_mcq(model, a.hp_mcq, eval_limit=a.n_letters, **ev)
            res["hp_letters"] = {"accuracy": r.accuracy, "n": r.n, "n_correct": r.n_correct,
                                 "share_of_A": sum(p == 0 for p in r.predicted) / max(1, r.n),
                                 "predictions": r.predicted}
    hp = json.load(open(a.hp_mcq, encoding="utf-8"))[:a.n_hp]
    ctl = json.load(open(a.control_mcq, encoding="utf-8"))[:a.n_control]
    with Timer(t, "hp_cloze"):
        res["hp_cloze"] = cloze_summary(cloze(model, hp, a.batch))
    with Timer(t, "control_cloze"):
        res["control_cloze"] = cloze_summary(cloze(model, ctl, a.batch))
    with Timer(t, "ppl"):
        for key, path, lim in (("ppl_forget", a.forget, 0), ("ppl_general", a.general, a.n_general)):
            p = elm.eval_perplexity(model, path, eval_limit=lim, **ev)
            res[key] = {"perplexity": p.perplexity, "nll": p.nll, "n_tokens": p.n_tokens}
    if a.prompt:
        with Timer(t, "generate"):
            gens = model.generate(a.prompt, gen_chat=True, gen_max_new_tokens=a.gen_tokens)
            res["generations"] = [{"prompt": p, "text": g} for p, g in zip(a.prompt, gens)]
    write_result(a.out, res)


if __name__ == "__main__":
    main()
