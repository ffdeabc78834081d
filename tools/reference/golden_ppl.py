#!/usr/bin/env python3
"""golden_ppl.py — golden perplexities from transformers (HF perplexity guide).

What is scored (the same as libelm's elm_eval_perplexity): each text alone,
tokenized with the tokenizer's special tokens (tok(text).input_ids); windows
of `window` tokens starting every `stride` tokens; each window scores only
the tokens the previous window did not (labels -100 elsewhere) and never its
own first token; total NLL / scored tokens over all texts (token-weighted).

Cases (texts: tests/fixtures/eval/ppl-texts.jsonl, written from
tools/reference/corpus/everyday.txt lines 1-12 joined in pairs, plus one long
text of 20 lines):
  llama     tiny fixture model, window 32, stride 16  (exercises the sliding window)
  llama     tiny fixture model, window 0 (512, the model's context), stride 0 (256)
  smollm2   SmolLM2-135M-Instruct.Q4_1.gguf (dequantized fp32; GGUF tokenizer with
            SmolLM2's Digits pre-tokenizer restored), window 0 (8192), stride 0

Writes tests/fixtures/eval/ppl.golden.json:
  {"cases": [{"model", "window", "stride", "nll_sum", "n_tokens", "nll", "perplexity",
              "lens": [...]}], ...}

Run (from the repository root):
  "${ELM_CACHE:-$HOME/.cache/libelm}/refvenv/bin/python" tools/reference/golden_ppl.py
"""
import json
import math
import os
import sys

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

sys.path.insert(0, os.path.dirname(__file__))
from golden_mcq import SMOLLM2, load as load_gguf  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "eval")
TEXTS = os.path.join(OUT, "ppl-texts.jsonl")


def make_texts():
    lines = open(os.path.join(ROOT, "tools", "reference", "corpus", "everyday.txt"), encoding="utf-8").read().split("\n")
    texts = [lines[i] + " " + lines[i + 1] for i in range(0, 12, 2)]
    texts.append(" ".join(lines[20:40]))
    with open(TEXTS, "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps({"text": t}) + "\n")
    return texts


@torch.no_grad()
def score(model, seqs, window, stride):
    total, count = 0.0, 0
    for ids in seqs:
        L, prev_end = len(ids), 0
        for begin in range(0, L, stride):
            end = min(begin + window, L)
            trg_len = end - prev_end
            x = torch.tensor([ids[begin:end]])
            y = x.clone()
            y[:, :-trg_len] = -100
            out = model(x, labels=y)
            n = int((y[:, 1:] != -100).sum())
            total += float(out.loss) * n
            count += n
            prev_end = end
            if end == L:
                break
    return total, count


def case(name, model, tok, texts, window, stride, ctx):
    seqs = [tok(t).input_ids for t in texts]
    w = window or ctx
    s = stride or max(w // 2, 1)
    total, count = score(model, seqs, w, s)
    print(f"{name} window={window} stride={stride}: nll={total / count:.6f} ppl={math.exp(total / count):.4f} n={count}")
    return {"model": name, "window": window, "stride": stride, "nll_sum": total, "n_tokens": count,
            "nll": total / count, "perplexity": math.exp(total / count), "lens": [len(q) for q in seqs]}


def main():
    texts = make_texts()
    cases = []
    d = os.path.join(ROOT, "tests", "fixtures", "models", "llama")
    tok = AutoTokenizer.from_pretrained(d)
    model = AutoModelForCausalLM.from_pretrained(d, torch_dtype=torch.float32).eval()
    cases.append(case("llama", model, tok, texts, 32, 16, model.config.max_position_embeddings))
    cases.append(case("llama", model, tok, texts, 0, 0, model.config.max_position_embeddings))
    tok, model, _ = load_gguf(SMOLLM2)
    cases.append(case("smollm2", model, tok, texts, 0, 0, model.config.max_position_embeddings))
    out = {"cases": cases, "texts": "ppl-texts.jsonl", "transformers": transformers.__version__,
           "torch": torch.__version__, "script": "tools/reference/golden_ppl.py"}
    with open(os.path.join(OUT, "ppl.golden.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
