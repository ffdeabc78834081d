#!/usr/bin/env python3
"""Every measurement of scripts/demo for one model (+ adapter), in one process.

One model load (bf16 by default) serves all of them, which is what makes the demo fit its
budget; each part is timed (wall and this process's CPU time).

  hp_letters     HP-MCQ accuracy, letter format (`elm eval mcq`'s scoring, libelm's
                 elm_eval_mcq): the number the issue asks for. A 135M model answers "A"
                 (nearly) every time, so this sits at the share of A-answers (chance).
  hp_cloze       HP-MCQ scored cloze-style by libelm (elm.eval_mcq, eval.mcq_scoring = cloze,
                 lm-eval's acc_norm; docs/eval.md): accuracy per character, and
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
import statistics
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "bindings", "python"))
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


def cloze(model, path, limit, batch):
    """Per question of the MCQ file PATH (the first LIMIT; 0: all), scored cloze-style by
    libelm (elm.eval_mcq, eval.mcq_scoring = cloze: lm-eval's acc_norm, docs/eval.md): the
    chosen index (log-likelihood per character) and the per-token log-likelihoods of every
    choice's text after "Question: ...\\nAnswer:"."""
    def progress(p):
        print(f"\r    cloze {p.done}/{p.total}", end="\n" if p.done == p.total else "", file=sys.stderr, flush=True)
        return 0

    r = elm.eval_mcq(model, path, eval_mcq_scoring="cloze", eval_limit=limit, eval_batch=batch, progress=progress)
    return [{"answer": r.answers[i], "pred": r.predicted[i],
             "per_token": [ll / nt for ll, nt in zip(r.loglik[i], r.n_tokens[i])]} for i in range(r.n)]


def cloze_summary(rows):
    n = len(rows)
    right = sum(r["pred"] == r["answer"] for r in rows)
    ll_ans = [r["per_token"][r["answer"]] for r in rows]
    ll_dis = [statistics.fmean(v for i, v in enumerate(r["per_token"]) if i != r["answer"]) for r in rows]
    return {"accuracy": right / n, "n": n, "n_correct": right,
            "answer_loglik": statistics.fmean(ll_ans), "distractor_loglik": statistics.fmean(ll_dis),
            "answer_minus_distractor": statistics.fmean(ll_ans) - statistics.fmean(ll_dis),
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
    with Timer(t, "hp_cloze"):
        res["hp_cloze"] = cloze_summary(cloze(model, a.hp_mcq, a.n_hp, a.batch))
    with Timer(t, "control_cloze"):
        res["control_cloze"] = cloze_summary(cloze(model, a.control_mcq, a.n_control, a.batch))
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
