#!/usr/bin/env python3
"""golden_mcq.py — golden multiple-choice predictions from HF transformers.

The prompt and scoring libelm's elm_eval_mcq uses (lm-evaluation-harness's
WMDP/MMLU zero-shot form):

    [The following are multiple choice questions (with answers) about {subject}.\\n\\n]
    {question.strip()}\\nA. {c0}\\nB. {c1}\\nC. {c2}\\nD. {c3}\\nAnswer:

loglik (lm-eval): score of choice j = log P(" {letter_j}" | context), with the
context tokenized alone and the continuation = tokens of context+continuation
after the context's tokens; no special tokens (lm-eval's default for causal
LMs). Every continuation here is one token whose prefix tokens equal the
context's (asserted), so one forward pass of the context gives all scores.
letter_logits (the ELM reference's variant): argmax over the letter tokens'
logits at the last position (the same tokens, so the same prediction as
loglik whenever they are single tokens).

Model: SmolLM2-135M-Instruct.Q4_1.gguf loaded with gguf_file= (transformers
dequantizes to fp32, tie_word_embeddings=True), run in fp32, one question at a
time (no padding). Tokenizer: transformers' GGUF tokenizer, with its
pre-tokenizer replaced by SmolLM2's real one (Digits(individual_digits=True)
then ByteLevel) when the GGUF says tokenizer.ggml.pre = "smollm": transformers
4.46 rebuilds a "gpt2" vocabulary with GPT-2's pre-tokenizer only; and without
the BOS post-processor transformers adds when tokenizer.ggml.add_bos_token is
false (so tok(text) matches SmolLM2's own tokenizer.json; MCQ prompts use
add_special_tokens=False anyway).

Output JSON: {"model", "file", "subject", "limit", "transformers", "torch",
"items": [{"i", "answer", "pred", "loglik": [...], "n_ctx_tokens"}], "accuracy"}.

Run (from the repository root):
  PY="${ELM_CACHE:-$HOME/.cache/libelm}/refvenv/bin/python"
  $PY tools/reference/golden_mcq.py --questions ../shared/data/hp-questions.dev.json \\
      --out tests/fixtures/eval/smollm2-hp-dev.mcq.json
  $PY tools/reference/golden_mcq.py --questions ../shared/data/wmdp-bio-questions.json \\
      --subject biology --limit 300 --out tests/fixtures/eval/smollm2-wmdp-bio-300.mcq.json
"""
import argparse
import json
import os
import time

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

CACHE = os.environ.get("ELM_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "libelm"))
SMOLLM2 = os.path.join(CACHE, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def load(path):
    d, name = os.path.dirname(os.path.abspath(path)), os.path.basename(path)
    tok = AutoTokenizer.from_pretrained(d, gguf_file=name)
    from gguf import GGUFReader

    r = GGUFReader(path)
    f = r.fields.get("tokenizer.ggml.pre")
    pre = bytes(f.parts[f.data[0]]).decode() if f is not None else ""
    if pre == "smollm":
        from tokenizers import pre_tokenizers

        tok.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Digits(individual_digits=True),
             pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    # transformers 4.46 also gives a "gpt2" GGUF vocabulary a post-processor
    # that prepends BOS whatever tokenizer.ggml.add_bos_token says; SmolLM2's
    # says false (its real tokenizer.json adds nothing), so drop it then.
    f = r.fields.get("tokenizer.ggml.add_bos_token")
    if f is not None and not bool(f.parts[f.data[0]][0]):
        from tokenizers import processors

        tok.backend_tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=name, tie_word_embeddings=True,
                                                 torch_dtype=torch.float32).eval()
    return tok, model, pre


def prompt(q, subject):
    head = f"The following are multiple choice questions (with answers) about {subject}.\n\n" if subject else ""
    # lm-eval: {{question.strip()}}
    lines = [q["question"].strip()] + [f"{LETTERS[j]}. {c}" for j, c in enumerate(q["choices"])]
    return head + "\n".join(lines) + "\nAnswer:"


@torch.no_grad()
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--subject", default="")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--model", default=SMOLLM2)
    a = ap.parse_args()
    qs = json.load(open(a.questions, encoding="utf-8"))
    if a.limit:
        qs = qs[: a.limit]
    tok, model, pre = load(a.model)
    enc = lambda s: tok(s, add_special_tokens=False).input_ids
    items, correct, t0 = [], 0, time.time()
    for i, q in enumerate(qs):
        ctx = prompt(q, a.subject)
        ctx_ids = enc(ctx)
        conts = []
        for j in range(len(q["choices"])):
            whole = enc(ctx + " " + LETTERS[j])
            assert whole[: len(ctx_ids)] == ctx_ids and len(whole) == len(ctx_ids) + 1, (i, j)
            conts.append(whole[-1])
        logits = model(torch.tensor([ctx_ids])).logits[0, -1].float()
        lp = torch.log_softmax(logits.double(), -1)
        ll = [float(lp[c]) for c in conts]
        pred = max(range(len(ll)), key=lambda j: ll[j])
        correct += pred == q["answer"]
        items.append({"i": i, "answer": q["answer"], "pred": pred, "loglik": ll, "n_ctx_tokens": len(ctx_ids)})
        if (i + 1) % 50 == 0:
            print(f"{i + 1}/{len(qs)} acc {correct / (i + 1):.4f} {time.time() - t0:.0f}s", flush=True)
    out = {
        "model": os.path.basename(a.model), "file": os.path.basename(a.questions), "subject": a.subject,
        "limit": a.limit, "pre_tokenizer": pre, "dtype": "float32",
        "transformers": transformers.__version__, "torch": torch.__version__,
        "script": "tools/reference/golden_mcq.py", "accuracy": correct / len(qs), "n": len(qs),
        "seconds": time.time() - t0, "items": items,
    }
    with open(a.out + ".tmp", "w", encoding="utf-8") as f:
        json.dump(out, f, indent=None, separators=(",", ":"))
        f.write("\n")
    os.replace(a.out + ".tmp", a.out)
    print(f"{a.out}: n={len(qs)} accuracy={correct / len(qs):.4f} {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
