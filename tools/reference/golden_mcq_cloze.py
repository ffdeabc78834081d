#!/usr/bin/env python3
"""golden_mcq_cloze.py — golden cloze multiple-choice scores from HF transformers.

What libelm's elm_eval_mcq computes with eval.mcq_scoring = cloze
(lm-evaluation-harness's multiple_choice output type, zero-shot, target
delimiter " "; the metrics acc and acc_norm):

    context      = "Question: {question.strip()}\\nAnswer:"
    continuation = " " + choice
    ctx_ids      = tok(context)                       (no special tokens)
    cont_ids     = tok(context + continuation)[len(ctx_ids):]   (lm-eval's _encode_pair)
    loglik_j     = sum_t log_softmax(model(ctx_ids + cont_ids)[:-1])[.., cont_ids[t]]
    acc          : argmax_j loglik_j
    acc_norm     : argmax_j loglik_j / len(choice_j)

len(choice) is the length of the choice string itself (without the
delimiter) in characters (Unicode code points: lm-eval's
`completion_len = [float(len(i)) for i in choices]` in
ConfigurableTask.process_results); lm-eval's acc_bytes divides by
len(choice.encode("utf-8")) instead. The model input is ctx_ids + cont_ids
even where tok(context + continuation) does not start with ctx_ids (a merge
across the boundary; such choices are flagged "merged").

Model and tokenizer: loaded exactly as golden_mcq.py does (SmolLM2 GGUF,
transformers' dequantization to fp32, the real SmolLM2 pre-tokenizer), fp32,
one sequence per choice, no padding, no KV cache: independent of libelm's
shared-prefix batching. log-softmax in float64.

Output JSON: {"model", "file", "limit", "transformers", "torch", "dtype",
"accuracy" (acc_norm), "accuracy_unnormalized" (acc), "n", "items": [{"i",
"answer", "pred" (acc_norm), "pred_unnormalized", "loglik": [...],
"n_tokens": [...], "chars": [...], "merged": [...], "n_ctx_tokens"}]}.

Run (from the repository root):
  PY="$(tools/reference/setup-venv)/bin/python"
  $PY tools/reference/golden_mcq_cloze.py --questions ../shared/data/hp-questions.dev.json \\
      --limit 40 --out tests/fixtures/eval/smollm2-hp-dev-40.cloze.json
  $PY tools/reference/golden_mcq_cloze.py --questions data/control-mcq.json \\
      --limit 40 --out tests/fixtures/eval/smollm2-control-40.cloze.json
"""
import argparse
import json
import os
import sys
import time

import torch
import transformers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_mcq import SMOLLM2, load  # noqa: E402


def argmax(xs):
    return max(range(len(xs)), key=lambda j: xs[j])


@torch.no_grad()
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--model", default=SMOLLM2)
    a = ap.parse_args()
    qs = json.load(open(a.questions, encoding="utf-8"))
    if a.limit:
        qs = qs[: a.limit]
    tok, model, pre = load(a.model)
    enc = lambda s: tok(s, add_special_tokens=False).input_ids
    items, right, right_u, t0 = [], 0, 0, time.time()
    for i, q in enumerate(qs):
        ctx = f"Question: {q['question'].strip()}\nAnswer:"
        ctx_ids = enc(ctx)
        lls, ntok, chars, merged = [], [], [], []
        for ch in q["choices"]:
            whole = enc(ctx + " " + ch)
            cont = whole[len(ctx_ids):]
            assert cont, (i, ch)
            ids = ctx_ids + cont
            logits = model(torch.tensor([ids[:-1]])).logits[0]
            lp = torch.log_softmax(logits.double(), -1)
            n0 = len(ctx_ids) - 1
            lls.append(float(sum(lp[n0 + t, c] for t, c in enumerate(cont))))
            ntok.append(len(cont))
            chars.append(len(ch))
            merged.append(whole[: len(ctx_ids)] != ctx_ids)
        pred = argmax([ll / c for ll, c in zip(lls, chars)])
        pred_u = argmax(lls)
        right += pred == q["answer"]
        right_u += pred_u == q["answer"]
        items.append({"i": i, "answer": q["answer"], "pred": pred, "pred_unnormalized": pred_u, "loglik": lls,
                      "n_tokens": ntok, "chars": chars, "merged": merged, "n_ctx_tokens": len(ctx_ids)})
    out = {
        "model": os.path.basename(a.model), "file": os.path.basename(a.questions), "limit": a.limit,
        "pre_tokenizer": pre, "dtype": "float32", "scoring": "cloze (lm-eval acc_norm: loglik / len(choice) chars)",
        "transformers": transformers.__version__, "torch": torch.__version__,
        "script": "tools/reference/golden_mcq_cloze.py", "n": len(qs), "accuracy": right / len(qs),
        "accuracy_unnormalized": right_u / len(qs), "seconds": time.time() - t0, "items": items,
    }
    with open(a.out + ".tmp", "w", encoding="utf-8") as f:
        json.dump(out, f, indent=None, separators=(",", ":"))
        f.write("\n")
    os.replace(a.out + ".tmp", a.out)
    print(f"{a.out}: n={len(qs)} acc_norm={right / len(qs):.4f} acc={right_u / len(qs):.4f} "
          f"merged={sum(sum(it['merged']) for it in items)} {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
