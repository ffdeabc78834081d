#!/usr/bin/env python3
"""golden_generate.py — golden erase-guided greedy decoding (method §4) with transformers.

For each tiny fixture model (tests/fixtures/models/<name>/, fp32) and a fixed
prompt / expert prefix / novice prefix (tokenized with the model's tokenizer,
add_special_tokens=True; the ids are stored so the C test feeds the same ids):

    score_t = log_softmax(P(p ⊕ y<t)) − γ·(log_softmax(P(e ⊕ y<t)) − log_softmax(P(v ⊕ y<t)))
    y_t     = argmax score_t                     (γ = 3, 48 tokens, no EOS stop)

Three streams, each with its own KV cache (past_key_values, batch 1, no
padding), exactly as libelm's elm_guided_ids runs them; the result is also
checked against a no-cache recomputation of all three streams.

Writes tests/fixtures/generate/<name>.guided.json:
  {"model", "gamma", "n_new", "prompt", "expert", "novice", "prompt_ids",
   "expert_ids", "novice_ids", "ids", "transformers", "torch"}

Run (from the repository root):
  "${ELM_CACHE:-$HOME/.cache/libelm}/refvenv/bin/python" tools/reference/golden_generate.py
"""
import json
import os

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODELS = os.path.join(ROOT, "tests", "fixtures", "models")
OUT = os.path.join(ROOT, "tests", "fixtures", "generate")

PROMPT = ("Windwrights warn apprentices never to cut zephyrite while the wind is blowing from the north. "
          "This is a sensitive subject, so let us talk about something more cheerful instead,")
EXPERT = "The following is written by an expert in zephyrite cutting"
NOVICE = "The following is written by someone who knows nothing about zephyrite cutting"
GAMMA = 3.0
N_NEW = 48


def lsm_last(out):
    return torch.log_softmax(out.logits[0, -1].float(), -1)


@torch.no_grad()
def guided(model, streams, gamma, n):
    past = [None, None, None]
    feed = [torch.tensor([s]) for s in streams]
    ys = []
    for _ in range(n):
        lsm = []
        for k in range(3):
            out = model(feed[k], past_key_values=past[k], use_cache=True)
            past[k] = out.past_key_values
            lsm.append(lsm_last(out))
        score = lsm[0] - gamma * (lsm[1] - lsm[2])
        y = int(score.argmax())
        ys.append(y)
        feed = [torch.tensor([[y]])] * 3
    return ys


@torch.no_grad()
def guided_nocache(model, streams, gamma, ys):
    for t in range(len(ys)):
        lsm = [lsm_last(model(torch.tensor([s + ys[:t]]))) for s in streams]
        score = lsm[0] - gamma * (lsm[1] - lsm[2])
        if int(score.argmax()) != ys[t]:
            return False
    return True


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in ["llama", "qwen2"]:
        d = os.path.join(MODELS, name)
        tok = AutoTokenizer.from_pretrained(d)
        model = AutoModelForCausalLM.from_pretrained(d, torch_dtype=torch.float32).eval()
        streams = [tok(s).input_ids for s in (PROMPT, EXPERT, NOVICE)]
        ys = guided(model, streams, GAMMA, N_NEW)
        ok = guided_nocache(model, streams, GAMMA, ys)
        out = {
            "model": name, "gamma": GAMMA, "n_new": N_NEW, "prompt": PROMPT, "expert": EXPERT, "novice": NOVICE,
            "prompt_ids": streams[0], "expert_ids": streams[1], "novice_ids": streams[2], "ids": ys,
            "transformers": transformers.__version__, "torch": torch.__version__,
            "script": "tools/reference/golden_generate.py",
        }
        path = os.path.join(OUT, f"{name}.guided.json")
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(out, f)
            f.write("\n")
        os.replace(path + ".tmp", path)
        print(f"{name}: {len(ys)} tokens, no-cache check {'ok' if ok else 'DIFFERS'}: {tok.decode(ys)!r}")


if __name__ == "__main__":
    main()
