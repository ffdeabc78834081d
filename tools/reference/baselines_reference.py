#!/usr/bin/env python3
"""baselines_reference.py — the baseline objectives of docs/erase.md
("Baselines": erase.objective rmu, grad_diff, npo) in PyTorch +
transformers + PEFT, and the golden fixtures of libelm's baseline parity
test (tests/erase/test_baselines.c).

Written from the papers and docs/erase.md (RMU: Li et al. 2024, the WMDP
paper; NPO: Zhang et al. 2024), not from libelm's C code. The LoRA setup,
data filters, AdamW loop (accumulation = summed gradients, clip, schedule)
and init adapter are elm_reference.py's, imported from it.

Makes tests/fixtures/erase/golden_<objective>/ for rmu, grad_diff, npo:
  config.json              the schema keys used (libelm sets the same) + data
  init_adapter/            PEFT dir libelm starts from (lora.init_from)
  losses.safetensors       F64 [M] loss_erase, loss_retain per micro-step
                           (the forget and retain terms as docs/erase.md
                           defines them; NaN where not computed)
  lora_after.safetensors   the LoRA A/B after the last step (PEFT key names)
  trace.json               per micro-step: group, data indices, token counts;
                           per step: lr, grad_norm

Run (from the repository root):
  PYTHONHASHSEED=0 "$(tools/reference/setup-venv)/bin/python" tools/reference/baselines_reference.py
Optional: --model DIR, --out DIR, --objectives rmu,grad_diff,npo.
The tensors are deterministic (a rerun gives the same bytes for every
tensor); the order of the safetensors files' metadata entries may differ.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
import transformers
import peft
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from elm_reference import ROOT, Reference  # noqa: E402
from elm_templates import Xoshiro256  # noqa: E402

BASE_CONFIG = {
    "runtime.seed": "1234",
    "data.min_chars": "50",
    "data.max_chars": "700",
    "lora.rank": "4",
    "lora.alpha": "8",
    "lora.dropout": "0",
    "lora.targets": "q,k,v,o,gate,up,down",
    "lora.layers": "4-7",
    "erase.lambda_erase": "1",
    "erase.lambda_retain": "1",
    "erase.mix": "0,0,1",
    "erase.max_tokens": "0",
    "optim.lr": "1e-3",
    "optim.weight_decay": "0.01",
    "optim.accum": "2",
    "optim.clip": "0",
    "optim.schedule": "cosine",
    "optim.warmup": "1",
    "optim.steps": "3",
}
# Per objective: what differs from BASE_CONFIG. rmu steers layer 6 (LoRA on
# 4-6: the layers above it are not run by libelm), with the published c and
# a smaller alpha (the tiny model's activations are far from Zephyr's);
# grad_diff clips; npo cuts the texts to 40 tokens.
OBJECTIVES = {
    "rmu": {"erase.objective": "rmu", "erase.rmu_layer": "6", "erase.rmu_coeff": "6.5",
            "erase.rmu_alpha": "10", "lora.layers": "4-6"},
    "grad_diff": {"erase.objective": "grad_diff", "erase.lambda_retain": "0.5", "optim.clip": "1"},
    "npo": {"erase.objective": "npo", "erase.npo_beta": "0.1", "erase.max_tokens": "40"},
}
DATA = {
    "forget": {0: "forget0.jsonl", 1: "forget1.jsonl"},
    "retain": {0: "retain.jsonl", 1: "retain.jsonl"},
    "concept": {0: "", 1: ""},
}
RMU_SEED_MIX = 0x524D552D75766563  # "RMU-uvec", docs/erase.md


def rmu_control_vector(seed, hidden, coeff):
    """c*u: v uniform on torch.rand's float32 grid (24 bits) from libelm's
    xoshiro256** seeded with seed ^ RMU_SEED_MIX, u = v/||v|| (float64),
    rounded to float32."""
    g = Xoshiro256((seed ^ RMU_SEED_MIX) & (2**64 - 1))
    v = np.array([(g.next() >> 40) / 16777216.0 for _ in range(hidden)], dtype=np.float64)
    u = v / math.sqrt(float(np.sum(v * v)))
    return torch.tensor((coeff * u).astype(np.float32))


class Baseline(Reference):
    def __init__(self, model_dir, cfg, data, data_dir):
        super().__init__(model_dir, cfg, data, data_dir, "separate")
        self.objective = cfg["erase.objective"]
        self.losses = {"erase": [], "retain": []}
        if self.objective == "rmu":
            self.cu = rmu_control_vector(int(cfg["runtime.seed"]), self.model.config.hidden_size,
                                         float(cfg["erase.rmu_coeff"]))

    def layer_states(self, ids, trained):
        """Output of decoder layer erase.rmu_layer = hidden_states[layer + 1]."""
        k = int(self.cfg["erase.rmu_layer"]) + 1
        x = torch.tensor([ids])
        if trained:
            return self.model(x, output_hidden_states=True).hidden_states[k].float()
        with torch.no_grad(), self.model.disable_adapter():
            return self.model(x, output_hidden_states=True).hidden_states[k].float()

    @staticmethod
    def seq_nll(logits, ids):
        """Sum over the next tokens of -log p (per-token CE summed)."""
        return F.cross_entropy(logits[:-1], torch.tensor(ids[1:]), reduction="none").sum()

    def micro_step(self):
        cfg = self.cfg
        m = self.micro
        g = self.mix[m % len(self.mix)]
        rec = {"m": m, "group": g}
        lam_e, lam_r = float(cfg["erase.lambda_erase"]), float(cfg["erase.lambda_retain"])
        tokens = 0
        total = 0.0
        fi, x = self.next_item("forget", self.forget, g)
        x_ids = self.cut(self.ids(x))
        rec.update(forget=fi, n_x=len(x_ids))
        r_ids = None
        if g in self.retain:
            ri, r = self.next_item("retain", self.retain, g)
            r_ids = self.cut(self.ids(r))
            rec.update(retain=ri, n_r=len(r_ids))
        le = lr_ = math.nan
        if self.objective == "rmu":
            h = self.layer_states(x_ids, True)
            lf = ((h - self.cu) ** 2).mean()  # F.mse_loss against the broadcast c*u
            (lam_e * lf).backward()
            le = float(lf)
            tokens += len(x_ids)
            if r_ids is not None:
                ref = self.layer_states(r_ids, False)
                lr_t = float(cfg["erase.rmu_alpha"]) * ((self.layer_states(r_ids, True) - ref) ** 2).mean()
                (lam_r * lr_t).backward()
                lr_ = float(lr_t)
                tokens += 2 * len(r_ids)
        elif self.objective == "grad_diff":
            if len(x_ids) >= 2:
                nll = F.cross_entropy(self.trained_logits(x_ids)[:-1], torch.tensor(x_ids[1:]))
                (-lam_e * nll).backward()
                le = -float(nll)
                tokens += len(x_ids)
            if r_ids is not None and len(r_ids) >= 2:
                nll = F.cross_entropy(self.trained_logits(r_ids)[:-1], torch.tensor(r_ids[1:]))
                (lam_r * nll).backward()
                lr_ = float(nll)
                tokens += len(r_ids)
        elif self.objective == "npo":
            beta = float(cfg["erase.npo_beta"])
            if len(x_ids) >= 2:
                nll_ref = self.seq_nll(self.frozen_logits(x_ids), x_ids)
                nll_cur = self.seq_nll(self.trained_logits(x_ids), x_ids)
                # log pi_theta - log pi_ref = nll_ref - nll_cur;
                # L = -(2/beta) logsigmoid(beta (nll_cur - nll_ref)) = (2/beta) softplus(beta (logpi - logref))
                lf = -(2.0 / beta) * F.logsigmoid(beta * (nll_cur - nll_ref))
                (lam_e * lf).backward()
                le = float(lf)
                tokens += 2 * len(x_ids)
            if r_ids is not None and len(r_ids) >= 2:
                nll = F.cross_entropy(self.trained_logits(r_ids)[:-1], torch.tensor(r_ids[1:]))
                (lam_r * nll).backward()
                lr_ = float(nll)
                tokens += len(r_ids)
        else:
            raise ValueError(self.objective)
        if not math.isnan(le):
            total += lam_e * le
        if not math.isnan(lr_):
            total += lam_r * lr_
        self.losses["erase"].append(le)
        self.losses["retain"].append(lr_)
        rec["total"] = total
        rec["tokens"] = tokens
        self.trace["micro"].append(rec)
        self.micro += 1


def make_golden(model_dir, out_dir, objective):
    cfg = dict(BASE_CONFIG)
    cfg.update(OBJECTIVES[objective])
    data = {k: v for k, v in DATA.items() if k != "concept"}
    gdir = os.path.join(out_dir, f"golden_{objective}")
    os.makedirs(gdir, exist_ok=True)
    ref = Baseline(model_dir, cfg, data | {"concept": DATA["concept"]}, out_dir)
    ref.model.save_pretrained(os.path.join(gdir, "init_adapter"))
    for _ in range(int(cfg["optim.steps"])):
        ref.step()
    meta = {"script": "tools/reference/baselines_reference.py", "transformers": transformers.__version__,
            "peft": peft.__version__, "torch": torch.__version__, "objective": objective}
    save_file({"loss_erase": torch.tensor(ref.losses["erase"], dtype=torch.float64),
               "loss_retain": torch.tensor(ref.losses["retain"], dtype=torch.float64)},
              os.path.join(gdir, "losses.safetensors"), metadata=meta)
    save_file(ref.lora_state(), os.path.join(gdir, "lora_after.safetensors"), metadata=meta)
    readme = os.path.join(gdir, "init_adapter", "README.md")
    if os.path.exists(readme):
        os.remove(readme)
    out_cfg = {k: v for k, v in ref.cfg.items() if k != "erase.alignment"}
    with open(os.path.join(gdir, "config.json"), "w") as f:
        json.dump({"config": out_cfg, "data": {r: {str(g): fn for g, fn in v.items()} for r, v in data.items()},
                   "meta": meta}, f, indent=1, sort_keys=True)
    with open(os.path.join(gdir, "trace.json"), "w") as f:
        json.dump(ref.trace, f, indent=1)
    print(f"{gdir}: {len(ref.losses['erase'])} micro-steps;",
          "erase", ["%.6f" % x for x in ref.losses["erase"]],
          "retain", ["%.6f" % x for x in ref.losses["retain"]])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=os.path.join(ROOT, "tests", "fixtures", "models", "llama-tied"))
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "erase"))
    ap.add_argument("--objectives", default="rmu,grad_diff,npo")
    a = ap.parse_args()
    torch.set_num_threads(1)
    for obj in a.objectives.split(","):
        make_golden(a.model, a.out, obj)


if __name__ == "__main__":
    main()
