#!/usr/bin/env python3
"""golden_guided_sample.py — erase-guided *sampling* with transformers' generate and its warpers.

The authors' prepare_consistency_data.py hands its ELMLogits processor to `model.generate(...,
do_sample=True)`; transformers runs a custom processor before its own warpers, so the draw is

    score_t = log_softmax(P(p ⊕ y<t)) − γ·(log_softmax(P(e ⊕ y<t)) − log_softmax(P(v ⊕ y<t)))
    y_t     ~ softmax(top_p(top_k(score_t / T)))

Here the same with a processor written from that equation (expert and novice streams with
their own KV caches), a fixed torch seed, no EOS stop, on each tiny fixture model in fp32.
The processor list generate() built is recorded, so the order is a measured fact.

Writes tests/fixtures/generate/<name>.guided-sample.json:
  {"model", "gamma", "temperature", "top_k", "top_p", "seed", "n_new", "prompt_ids",
   "expert_ids", "novice_ids", "ids", "processors", "transformers", "torch", "script"}

Run (from the repository root):
  "${ELM_CACHE:-$HOME/.cache/libelm}/refvenv/bin/python" tools/reference/golden_guided_sample.py
"""
import json
import os

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig, LogitsProcessor

from golden_generate import EXPERT, GAMMA, MODELS, NOVICE, OUT, PROMPT

N_NEW = 32
CASES = [  # (temperature, top_k, top_p, seed)
    (0.7, 20, 0.9, 1234),
    (1.3, 0, 0.8, 99),
]


class Guidance(LogitsProcessor):
    """o − γ·(e − v) on log-softmaxed fp32 logits; the expert and novice streams keep caches."""

    def __init__(self, model, expert_ids, novice_ids, gamma):
        self.model, self.gamma = model, gamma
        self.prefixes = [torch.tensor([expert_ids]), torch.tensor([novice_ids])]
        self.past = [None, None]

    @torch.no_grad()
    def __call__(self, input_ids, scores):
        # first call: the whole prefixes; then the token generate() drew last (input_ids' end)
        feed = self.prefixes if self.past[0] is None else [input_ids[:, -1:]] * 2
        lsm = []
        for k in range(2):
            out = self.model(feed[k], past_key_values=self.past[k], use_cache=True)
            self.past[k] = out.past_key_values
            lsm.append(torch.log_softmax(out.logits[:, -1].float(), -1))
        return torch.log_softmax(scores.float(), -1) - self.gamma * (lsm[0] - lsm[1])


def sample(model, streams, temperature, top_k, top_p, seed):
    seen = {}
    orig = model._get_logits_processor

    def capture(*a, **k):
        lp = orig(*a, **k)
        seen["names"] = [type(p).__name__ for p in lp]
        return lp

    model._get_logits_processor = capture
    gc = GenerationConfig(do_sample=True, temperature=temperature, top_k=top_k, top_p=top_p,
                          max_new_tokens=N_NEW, min_new_tokens=0, eos_token_id=None, pad_token_id=0)
    torch.manual_seed(seed)
    prompt = torch.tensor([streams[0]])
    out = model.generate(prompt, attention_mask=torch.ones_like(prompt), generation_config=gc,
                         logits_processor=[Guidance(model, streams[1], streams[2], GAMMA)])
    model._get_logits_processor = orig
    return out[0, len(streams[0]):].tolist(), seen["names"]


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in ["llama", "qwen2"]:
        d = os.path.join(MODELS, name)
        tok = AutoTokenizer.from_pretrained(d)
        model = AutoModelForCausalLM.from_pretrained(d, torch_dtype=torch.float32).eval()
        streams = [tok(s).input_ids for s in (PROMPT, EXPERT, NOVICE)]
        cases = []
        for temperature, top_k, top_p, seed in CASES:
            ids, names = sample(model, streams, temperature, top_k, top_p, seed)
            cases.append({"temperature": temperature, "top_k": top_k, "top_p": top_p, "seed": seed, "ids": ids,
                          "processors": names})
            print(f"{name} T={temperature} k={top_k} p={top_p}: {names}: {tok.decode(ids)!r}")
        out = {
            "model": name, "gamma": GAMMA, "n_new": N_NEW, "prompt_ids": streams[0], "expert_ids": streams[1],
            "novice_ids": streams[2], "cases": cases, "transformers": transformers.__version__,
            "torch": torch.__version__, "script": "tools/reference/golden_guided_sample.py",
        }
        path = os.path.join(OUT, f"{name}.guided-sample.json")
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(out, f)
            f.write("\n")
        os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()
