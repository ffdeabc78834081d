#!/usr/bin/env python3
"""Every measurement of the erasure benchmark for one model (+ adapter), in one process.

One model load serves all parts (bench.py used to start one `elm eval` process per
number, each loading the model again). Parts, each optional:

  --mcq NAME=FILE[:N]     MCQ scored cloze-style (libelm's eval.mcq_scoring
                          = cloze: lm-eval's acc_norm, accuracy per character
                          and the per-token log-likelihood of the correct answer's text);
                          repeatable
  --letters NAME=FILE[:N] MCQ scored letter-style (elm_eval_mcq, lm-eval's " A".." D")
  --ppl NAME=FILE[:N]     token perplexity of a text file (elm_eval_perplexity)
  --rppl FILE[:N]         reverse perplexity: this model (with the adapter) answers the
                          prompts (chat, greedy, --rppl-tokens), --scorer scores the answers
  --generate FILE[:N]     greedy chat answers to the prompts, kept in the JSON (a sample)

N limits the items (0 or absent: all). Output: --out JSON {"NAME": {...}, "timings": ...}.
Needs the Python binding (bindings/python) and ELM_LIBRARY pointing at the built libelm.
"""
import argparse
import json
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


def spec(s):
    name, _, rest = s.partition("=")
    if not rest:
        name, rest = "", name
    path, _, n = rest.rpartition(":") if rest.rsplit(":", 1)[-1].isdigit() else (rest, "", "0")
    return name, path, int(n or 0)


def prompts(path, n):
    rows = [json.loads(line)["text"] for line in open(path, encoding="utf-8") if line.strip()]
    return rows[:n] if n else rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--adapter")
    ap.add_argument("--scorer", help="model that scores --rppl answers (the base model)")
    ap.add_argument("--mcq", action="append", default=[])
    ap.add_argument("--letters", action="append", default=[])
    ap.add_argument("--ppl", action="append", default=[])
    ap.add_argument("--rppl")
    ap.add_argument("--rppl-tokens", type=int, default=96)
    ap.add_argument("--generate")
    ap.add_argument("--gen-tokens", type=int, default=48)
    ap.add_argument("--dtype", default="auto",
                    help="runtime.dtype (auto: bfloat16 with AMX/AVX512-BF16 or CUDA, else float32)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=0, help="libtorch intra-op threads (0: default)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    t = {}
    res = {"model": a.model, "adapter": a.adapter, "dtype": a.dtype, "timings": t}
    ev = {"runtime_dtype": a.dtype, "eval_batch": a.batch}
    if a.threads:
        elm.set_num_threads(a.threads)
    with Timer(t, "load"):
        model = elm.Model(a.model, runtime_dtype=a.dtype)
        res["dtype"] = model.info.dtype  # what auto chose
        if a.adapter:
            model.load_adapter(a.adapter)
    for s in a.letters:
        name, path, n = spec(s)
        with Timer(t, name):
            r = elm.eval_mcq(model, path, eval_limit=n, **ev)
            res[name] = {"accuracy": r.accuracy, "n": r.n, "n_correct": r.n_correct,
                         "share_of_A": sum(p == 0 for p in r.predicted) / max(1, r.n)}
    for s in a.mcq:
        name, path, n = spec(s)
        with Timer(t, name):
            r = cloze_summary(cloze(model, path, n, a.batch))
            r.pop("predictions", None)
            res[name] = r
    for s in a.ppl:
        name, path, n = spec(s)
        with Timer(t, name):
            p = elm.eval_perplexity(model, path, eval_limit=n, **ev)
            res[name] = {"perplexity": p.perplexity, "nll": p.nll, "n_tokens": p.n_tokens}
    if a.rppl:
        _, path, n = spec(a.rppl)
        scorer = elm.Model(a.scorer or a.model, runtime_dtype=a.dtype)
        with Timer(t, "rppl"):
            ds = elm.Dataset(path, data_min_chars=0)  # prompts are short: keep them all
            p = elm.eval_reverse_perplexity(model, scorer, ds, eval_limit=n, gen_chat=True,
                                            gen_max_new_tokens=a.rppl_tokens, **ev)
            res["rppl"] = {"perplexity": p.perplexity, "nll": p.nll, "n_tokens": p.n_tokens}
        scorer.close()
    if a.generate:
        _, path, n = spec(a.generate)
        ps = prompts(path, n)
        with Timer(t, "generate"):
            gens = model.generate(ps, gen_chat=True, gen_max_new_tokens=a.gen_tokens)
            res["generations"] = [{"prompt": p, "text": " ".join(g.split())} for p, g in zip(ps, gens)]
    write_result(a.out, res)


if __name__ == "__main__":
    main()
