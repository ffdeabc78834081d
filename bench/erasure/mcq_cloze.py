#!/usr/bin/env python3
"""Cloze-style multiple-choice accuracy through libelm's public C API (ctypes).

Why: SmolLM2-135M answers letter-format MCQ (`elm eval mcq`, lm-eval's "A/B/C/D" scoring)
with the same letter every time (measured: "A" for 60/60 control questions), so that
score sits at the answer distribution's share of A whatever the model knows. Small models
are usually evaluated cloze-style instead (lm-eval's acc_norm): score every choice's own
text as the continuation of "Question: ...\nAnswer:" and pick the highest log-likelihood
per character. This script does that with `elm_model_logits` (and `elm_model_load_adapter`
for an erased model).

Run:  mcq_cloze.py --lib build/libelm.so --model M [--adapter DIR] FILE [--limit N] [--json]
Output (--json): {"accuracy", "n", "n_correct", "predictions", "answers", "seconds", "scoring"}
"""
import argparse
import ctypes as C
import json
import math
import sys
import time


class Elm:
    def __init__(self, lib):
        self.L = L = C.CDLL(lib)
        L.elm_last_error.restype = C.c_char_p
        for name in ("elm_config_new", "elm_config_set", "elm_model_load", "elm_model_load_adapter",
                     "elm_model_tokenizer", "elm_tokenize", "elm_model_logits", "elm_model_get_info"):
            getattr(L, name).restype = C.c_int
        L.elm_config_set.argtypes = [C.c_void_p, C.c_char_p, C.c_char_p]
        L.elm_model_load.argtypes = [C.c_char_p, C.c_void_p, C.POINTER(C.c_void_p)]
        L.elm_model_load_adapter.argtypes = [C.c_void_p, C.c_char_p]
        L.elm_model_tokenizer.argtypes = [C.c_void_p, C.POINTER(C.c_void_p)]
        L.elm_tokenize.argtypes = [C.c_void_p, C.c_char_p, C.c_size_t, C.c_uint,
                                   C.POINTER(C.POINTER(C.c_int32)), C.POINTER(C.c_size_t)]
        L.elm_model_logits.argtypes = [C.c_void_p, C.POINTER(C.c_int32), C.POINTER(C.c_size_t),
                                       C.c_size_t, C.POINTER(C.c_float)]
        L.elm_free.argtypes = [C.c_void_p]
        L.elm_tokenizer_vocab_size.argtypes = [C.c_void_p]
        L.elm_tokenizer_vocab_size.restype = C.c_int32

    def check(self, rc, what):
        if rc != 0:
            raise SystemExit(f"mcq_cloze: {what}: {self.L.elm_last_error().decode(errors='replace')}")

    def load(self, model, adapter=None, settings=()):
        cfg = C.c_void_p()
        self.check(self.L.elm_config_new(C.byref(cfg)), "elm_config_new")
        for k, v in settings:
            self.check(self.L.elm_config_set(cfg, k.encode(), str(v).encode()), f"config {k}")
        m = C.c_void_p()
        self.check(self.L.elm_model_load(model.encode(), cfg, C.byref(m)), model)
        if adapter:
            self.check(self.L.elm_model_load_adapter(m, adapter.encode()), adapter)
        tok = C.c_void_p()
        self.check(self.L.elm_model_tokenizer(m, C.byref(tok)), "tokenizer")
        self.m, self.tok = m, tok
        self.vocab = None

    def tokenize(self, text):
        b = text.encode()
        ids = C.POINTER(C.c_int32)()
        n = C.c_size_t()
        self.check(self.L.elm_tokenize(self.tok, b, len(b), 0, C.byref(ids), C.byref(n)), "tokenize")
        out = [ids[i] for i in range(n.value)]
        self.L.elm_free(ids)
        return out

    def logprobs_of(self, seqs, starts):
        """Sum of log P(seq[t]) for t >= start, per sequence (one batched forward)."""
        import numpy as np
        if self.vocab is None:
            self.vocab = self.L.elm_tokenizer_vocab_size(self.tok)
        V = self.vocab
        flat = [t for s in seqs for t in s]
        lens = (C.c_size_t * len(seqs))(*[len(s) for s in seqs])
        ids = (C.c_int32 * len(flat))(*flat)
        out = np.empty((len(flat), V), dtype=np.float32)
        self.check(self.L.elm_model_logits(self.m, ids, lens, len(seqs),
                                           out.ctypes.data_as(C.POINTER(C.c_float))), "logits")
        res, base = [], 0
        for s, st in zip(seqs, starts):
            rows = np.arange(base + max(st, 1) - 1, base + len(s) - 1)
            x = out[rows].astype(np.float64)
            mx = x.max(axis=1, keepdims=True)
            lse = (mx[:, 0] + np.log(np.exp(x - mx).sum(axis=1)))
            tgt = np.array(s[max(st, 1):])
            res.append(float((x[np.arange(len(rows)), tgt] - lse).sum()))
            base += len(s)
        return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lib", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--adapter")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--batch", type=int, default=8, help="questions per forward pass")
    ap.add_argument("--norm", choices=("per_char", "sum", "per_token"), default="per_char",
                    help="score normalisation that decides 'accuracy' (all three are reported)")
    ap.add_argument("file")
    a = ap.parse_args()
    items = json.load(open(a.file, encoding="utf-8"))
    if a.limit:
        items = items[:a.limit]
    e = Elm(a.lib)
    e.load(a.model, a.adapter, [("runtime.dtype", a.dtype)])
    t0 = time.time()
    modes = ("per_char", "sum", "per_token")
    preds = {m: [] for m in modes}
    answers = []
    B = max(1, a.batch)
    for k0 in range(0, len(items), B):
        chunk = items[k0:k0 + B]
        seqs, starts, nchars, ntoks, owner = [], [], [], [], []
        for j, it in enumerate(chunk):
            ctx = f"Question: {it['question'].strip()}\nAnswer:"
            cids = e.tokenize(ctx)
            for ch in it["choices"]:
                text = " " + str(ch).strip()
                full = e.tokenize(ctx + text)
                seqs.append(full)
                starts.append(len(cids))
                nchars.append(max(1, len(text)))
                ntoks.append(max(1, len(full) - len(cids)))
                owner.append(j)
        lp = e.logprobs_of(seqs, starts)
        for j, it in enumerate(chunk):
            idx = [i for i, o in enumerate(owner) if o == j]
            for m in modes:
                sc = [lp[i] / (nchars[i] if m == "per_char" else ntoks[i] if m == "per_token" else 1) for i in idx]
                preds[m].append(max(range(len(sc)), key=sc.__getitem__))
            answers.append(int(it["answer"]))
        done = k0 + len(chunk)
        if done % 25 < B or done == len(items):
            print(f"  cloze {done}/{len(items)} {time.time() - t0:.0f}s", file=sys.stderr, flush=True)
    n = len(items)
    acc = {m: sum(p == q for p, q in zip(preds[m], answers)) for m in modes}
    k = acc[a.norm]
    r = {"accuracy": k / n if n else 0.0, "n": n, "n_correct": k, "predictions": preds[a.norm], "answers": answers,
         "seconds": time.time() - t0, "scoring": f"cloze ({a.norm}): log-likelihood of the choice text after 'Question: ...\\nAnswer:'",
         "accuracy_by_norm": {m: acc[m] / n if n else 0.0 for m in modes}}
    if a.json:
        print(json.dumps(r))
    else:
        print(f"accuracy {r['accuracy']:.4f} ({k}/{n}) cloze {a.norm}; " +
              ", ".join(f"{m} {v:.4f}" for m, v in r["accuracy_by_norm"].items()))


if __name__ == "__main__":
    main()
