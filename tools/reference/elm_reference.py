#!/usr/bin/env python3
"""elm_reference.py — the ELM objective of docs/erase.md in PyTorch +
transformers + PEFT, and the golden fixtures of libelm's erase parity tests.

Written from ../shared/docs/elm-method.md and docs/erase.md (not from the
authors' code). Every knob is a libelm schema key (erase.*, lora.*, optim.*,
data.*, runtime.seed) with the same meaning as in libelm/erase/.

Makes, for each mode of MODES (alignment concat or separate; refcons: concat with
erase.consistency_tokens = reference; plausible: concat with erase.plausibility),
tests/fixtures/erase/golden_<mode>/:
  config.json              the schema keys used (libelm sets the same)
  init_adapter/            PEFT dir (model.save_pretrained) libelm starts from
                           via lora.init_from: A from PEFT's init with
                           torch.manual_seed(seed), B ~ N(0, 0.05²) (so the
                           adapter changes the logits from step one)
  trace.json               per micro-step: group, data indices, template indices,
                           token counts; per step: lr, grad_norm
  losses.safetensors       F64 [M] loss_erase, loss_retain, loss_consistency
                           (NaN where a term was not computed), M micro-steps
  lora_after.safetensors   the LoRA A/B after the last step (PEFT key names)
  final_adapter/           PEFT dir after training (model.save_pretrained)
  logits.safetensors       input_ids I64 [T]; logits_init / logits_final F32 [T,V]:
                           the adapted model (init / final adapter) on a test text
  base_logits F32 [T,V]    the model without adapter, same text

Run (from the repository root):
  tools/reference/setup-venv
  "${ELM_CACHE:-$HOME/.cache/libelm}/refvenv/bin/python" tools/reference/elm_reference.py
(The numbers are deterministic; PEFT writes target_modules from a Python set
and safetensors metadata from a dict, so byte-identical files need
PYTHONHASHSEED=0.)
Optional: --model DIR (default tests/fixtures/models/llama-tied), --out DIR
(default tests/fixtures/erase), --modes concat,separate,refcons,plausible.
"""
import argparse
import json
import math
import os
import sys

import torch
import transformers
import peft
from peft import LoraConfig, get_peft_model
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, AutoTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from elm_templates import EXPERT, NOVICE, Xoshiro256  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HF_MODULE = {"q": "q_proj", "k": "k_proj", "v": "v_proj", "o": "o_proj",
             "gate": "gate_proj", "up": "up_proj", "down": "down_proj"}

# The configuration of the golden runs (schema keys, as text like elm_config_set).
GOLDEN_CONFIG = {
    "runtime.seed": "1234",
    "data.min_chars": "50",
    "data.max_chars": "700",
    "lora.rank": "4",
    "lora.alpha": "8",
    "lora.dropout": "0",
    "lora.targets": "q,k,v,o,gate,up,down",
    "lora.layers": "4-7",
    "erase.objective": "elm",
    "erase.eta": "4",
    "erase.eta_schedule": "ramp",
    "erase.tau": "1.2",
    "erase.top_k": "50",
    "erase.loss": "soft_ce",
    "erase.action": "erase",
    "erase.retain_loss": "hard",
    "erase.lambda_erase": "1",
    "erase.lambda_retain": "1",
    "erase.lambda_consistency": "1",
    "erase.template_choice": "cycle",
    "erase.expert_templates": "expert.txt",
    "erase.novice_templates": "novice.txt",
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
# Data of the golden runs: group → files, concept per group.
GOLDEN_DATA = {
    "forget": {0: "forget0.jsonl", 1: "forget1.jsonl"},
    "retain": {0: "retain.jsonl", 1: "retain.jsonl"},
    "consistency": {0: "consistency.json"},
    "concept": {0: "zephyrite", 1: "glowmoss brewing"},
}
TEST_TEXT = "Zephyrite hums when the wind blows over the valley of Orlenmoor, and the baker sells bread."


# ---------------------------------------------------------------- data ----
def load_texts(path, min_chars, max_chars, field="text"):
    """JSONL / text records with libelm's filters: drop texts of at most
    min_chars code points, cut the rest to max_chars (0: no cut)."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            t = json.loads(line)[field] if path.endswith(".jsonl") else line.rstrip("\n")
            if len(t) <= min_chars:
                continue
            if max_chars > 0:
                t = t[:max_chars]
            out.append(t)
    return out


def load_pairs(path, group):
    """The reference consistency JSON; pairs of `group` when the file has
    several groups, else all of them."""
    with open(path, encoding="utf-8") as f:
        d = json.load(f)
    keys = sorted(d.keys(), key=int)
    if len(keys) > 1:
        keys = [k for k in keys if int(k) == group]
    return [(p["prompt"], p["consistence_prompt"]) for k in keys for p in d[k]]


def load_templates(path):
    """One prefix per line; the two characters backslash-n stand for a
    newline; blank lines are skipped; each must contain {concept}."""
    out = []
    with open(path, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            line = line.rstrip("\n").rstrip("\r")
            if not line:
                continue
            if "{concept}" not in line:
                raise ValueError(f"{path}:{no}: template without {{concept}}")
            out.append(line.replace("\\n", "\n"))
    return out


def parse_layers(text, n_layers):
    if text == "all":
        return list(range(n_layers))
    out = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-")
            out.extend(range(int(a), int(b) + 1))
        else:
            out.append(int(part))
    for x in out:
        if x < 0 or x >= n_layers:
            raise ValueError(f"lora.layers: layer {x} out of range 0..{n_layers - 1}")
    return sorted(set(out))


def lr_at(cfg, step):
    """Learning rate of optimizer step `step` (0-based), docs/erase.md."""
    lr = float(cfg["optim.lr"])
    warm = int(cfg.get("optim.warmup", "0"))
    total = int(cfg.get("optim.steps", "0"))
    sched = cfg.get("optim.schedule", "constant")
    if warm > 0 and step < warm:
        return lr * (step + 1) / warm
    if sched == "constant" or total <= warm:
        return lr
    p = min(1.0, (step - warm) / (total - warm))
    if sched == "linear":
        return lr * (1.0 - p)
    return lr * 0.5 * (1.0 + math.cos(math.pi * p))


# ----------------------------------------------------------- objective ----
class Reference:
    def __init__(self, model_dir, cfg, data, data_dir, alignment, init_b_std=0.05):
        self.cfg = dict(cfg)
        self.cfg["erase.alignment"] = alignment
        self.alignment = alignment
        self.tok = AutoTokenizer.from_pretrained(model_dir)
        base = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32)
        base.eval()
        n_layers = base.config.num_hidden_layers
        seed = int(cfg["runtime.seed"])
        torch.manual_seed(seed)
        lc = LoraConfig(
            r=int(cfg["lora.rank"]), lora_alpha=float(cfg["lora.alpha"]),
            lora_dropout=float(cfg["lora.dropout"]),
            target_modules=[HF_MODULE[m] for m in cfg["lora.targets"].split(",")],
            layers_to_transform=parse_layers(cfg["lora.layers"], n_layers),
            bias="none", task_type="CAUSAL_LM")
        self.model = get_peft_model(base, lc)
        if init_b_std > 0:
            g = torch.Generator().manual_seed(seed + 1)
            with torch.no_grad():
                for name, p in self.model.named_parameters():
                    if "lora_B" in name:
                        p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float32) * init_b_std)
        self.params = [p for n, p in self.model.named_parameters() if p.requires_grad]
        self.opt = torch.optim.AdamW(
            self.params, lr=float(cfg["optim.lr"]),
            betas=(float(cfg.get("optim.beta1", "0.9")), float(cfg.get("optim.beta2", "0.999"))),
            eps=float(cfg.get("optim.eps", "1e-8")),
            weight_decay=float(cfg.get("optim.weight_decay", "0.01")), foreach=False)
        mn, mx = int(cfg["data.min_chars"]), int(cfg["data.max_chars"])
        self.forget = {g: load_texts(os.path.join(data_dir, f), mn, mx) for g, f in data["forget"].items()}
        self.retain = {g: load_texts(os.path.join(data_dir, f), mn, mx) for g, f in data.get("retain", {}).items()}
        self.cons = {g: load_pairs(os.path.join(data_dir, f), g) for g, f in data.get("consistency", {}).items()}
        self.concept = data["concept"]
        self.expert = EXPERT
        self.novice = NOVICE
        if cfg.get("erase.expert_templates"):
            self.expert = load_templates(os.path.join(data_dir, cfg["erase.expert_templates"]))
        if cfg.get("erase.novice_templates"):
            self.novice = load_templates(os.path.join(data_dir, cfg["erase.novice_templates"]))
        self.mix = [int(x) for x in cfg["erase.mix"].split(",")]
        self.pos = {"forget": {}, "retain": {}, "consistency": {}}
        self.prng = Xoshiro256(seed)
        self.micro = 0
        self.step_no = 0
        self.trace = {"micro": [], "steps": []}
        self.losses = {"erase": [], "retain": [], "consistency": []}
        self.masked = []  # share of target entries erase.plausibility masked, per text

    # tokenizer(text) with / without the post-processor, cut to erase.max_tokens
    def ids(self, text, special=True):
        return self.tok(text, add_special_tokens=special)["input_ids"]

    def cut(self, ids):
        k = int(self.cfg.get("erase.max_tokens", "0"))
        return ids[:k] if k > 0 else ids

    def frozen_logits(self, ids):
        with torch.no_grad(), self.model.disable_adapter():
            return self.model(torch.tensor([ids])).logits[0].float()

    def trained_logits(self, ids):
        return self.model(torch.tensor([ids])).logits[0]

    def next_item(self, role, table, g):
        n = len(table[g])
        i = self.pos[role].get(g, 0)
        self.pos[role][g] = i + 1
        return i % n, table[g][i % n]

    def prefixed_ids(self, prefix, x, x_ids):
        """Expert/novice ids: concat tokenizes prefix + x as one string
        (dropping as many trailing tokens as max_tokens cut from x);
        separate concatenates tok(prefix) and x's ids without specials."""
        if self.alignment == "concat":
            full = self.ids(prefix + x)
            dropped = len(self.ids(x)) - len(x_ids)
            return full[:len(full) - dropped] if dropped > 0 else full
        return self.ids(prefix) + self.cut_plain(x, len(x_ids))

    def cut_plain(self, x, n_x):
        plain = self.ids(x, special=False)
        # the plain ids cover the same text as x_ids minus any specials the
        # post-processor added; cut them by the number of tokens max_tokens
        # removed from x_ids
        dropped = len(self.ids(x)) - n_x
        return plain[:len(plain) - dropped] if dropped > 0 else plain

    def erase_target(self, x_ids, e_ids, v_ids):
        cfg = self.cfg
        n = len(x_ids)
        tau = float(cfg["erase.tau"])
        eta = float(cfg["erase.eta"])
        action = cfg["erase.action"]
        if action == "random":
            g = torch.randn(n, self.model.config.vocab_size)
            s = torch.log_softmax(g.double(), -1)
        else:
            o = torch.log_softmax(self.frozen_logits(x_ids).double() / tau, -1)
            e = torch.log_softmax(self.frozen_logits(e_ids)[-n:].double() / tau, -1)
            v = torch.log_softmax(self.frozen_logits(v_ids)[-n:].double() / tau, -1)
            if cfg["erase.eta_schedule"] == "ramp":
                et = torch.linspace(1.0, eta, n, dtype=torch.float64) if n > 1 else torch.ones(1, dtype=torch.float64)
            else:
                et = torch.full((n,), eta, dtype=torch.float64)
            sign = -1.0 if action == "erase" else 1.0
            s = o + sign * et[:, None] * (e - v)
            alpha = float(cfg.get("erase.plausibility", "0"))
            if alpha > 0:  # contrastive decoding's plausibility constraint on the frozen o
                implausible = o < o.max(-1, keepdim=True).values + math.log(alpha)
                self.masked.append(float(implausible.double().mean()))
                s = s.masked_fill(implausible, -math.inf)
        k = int(cfg["erase.top_k"])
        if 0 < k < s.shape[-1]:
            vals, idx = torch.topk(s, k, dim=-1)
            s = torch.full_like(s, -math.inf).scatter(-1, idx, vals)
        return torch.softmax(s, -1)

    def erase_loss(self, q, logits):
        kind = self.cfg["erase.loss"]
        lsm = torch.log_softmax(logits, -1)
        if kind == "hard":
            return torch.nn.functional.cross_entropy(logits, q.argmax(-1))
        ce = -(q.float() * lsm).sum(-1).mean()
        if kind == "kl":
            h = -(torch.where(q > 0, q * q.log(), torch.zeros_like(q))).sum(-1).mean()
            ce = ce - float(h)
        return ce

    def micro_step(self):
        cfg = self.cfg
        m = self.micro
        g = self.mix[m % len(self.mix)]
        rec = {"m": m, "group": g}
        tokens = 0
        concept = self.concept[g]
        fi, x = self.next_item("forget", self.forget, g)
        if cfg["erase.template_choice"] == "cycle":
            ei, vi = m % len(self.expert), m % len(self.novice)
        else:
            ei = self.prng.below(len(self.expert))
            vi = self.prng.below(len(self.novice))
        exp = self.expert[ei].replace("{concept}", concept)
        nov = self.novice[vi].replace("{concept}", concept)
        x_ids = self.cut(self.ids(x))
        e_ids = self.prefixed_ids(exp, x, x_ids)
        v_ids = self.prefixed_ids(nov, x, x_ids)
        rec.update(forget=fi, expert=ei, novice=vi, n_x=len(x_ids), n_exp=len(e_ids), n_nov=len(v_ids))
        q = self.erase_target(x_ids, e_ids, v_ids)
        le = self.erase_loss(q, self.trained_logits(x_ids))
        (float(cfg["erase.lambda_erase"]) * le).backward()
        self.losses["erase"].append(float(le))
        tokens += 2 * len(x_ids) + len(e_ids) + len(v_ids)
        total = float(cfg["erase.lambda_erase"]) * float(le)

        if g in self.retain:
            ri, r = self.next_item("retain", self.retain, g)
            r_ids = self.cut(self.ids(r))
            ref = self.frozen_logits(r_ids)
            lt = self.trained_logits(r_ids)
            if cfg["erase.retain_loss"] == "hard":
                lr_ = torch.nn.functional.cross_entropy(lt, ref.argmax(-1))
            else:
                lr_ = -(torch.softmax(ref, -1) * torch.log_softmax(lt, -1)).sum(-1).mean()
            (float(cfg["erase.lambda_retain"]) * lr_).backward()
            self.losses["retain"].append(float(lr_))
            total += float(cfg["erase.lambda_retain"]) * float(lr_)
            tokens += 2 * len(r_ids)
            rec.update(retain=ri, n_r=len(r_ids))
        else:
            self.losses["retain"].append(math.nan)

        if g in self.cons:
            ci, (p, c) = self.next_item("consistency", self.cons, g)
            p_ids = self.ids(p)
            if self.cfg.get("erase.consistency_tokens", "all") == "reference":
                # erase.py: the pair tokenized as one string, L = len(tok(prompt)),
                # logits[L:][:-1] scored against ids[L:][1:] (the first continuation
                # token is never scored; BPE may merge across the boundary)
                ids, first = self.cut(self.ids(p + c)), len(p_ids) + 1
            else:
                ids, first = self.cut(p_ids + self.ids(c, special=False)), len(p_ids)
            if len(ids) > first:
                lt = self.trained_logits(ids)
                lc = torch.nn.functional.cross_entropy(lt[first - 1:len(ids) - 1],
                                                       torch.tensor(ids[first:]))
                (float(cfg["erase.lambda_consistency"]) * lc).backward()
                self.losses["consistency"].append(float(lc))
                total += float(cfg["erase.lambda_consistency"]) * float(lc)
                tokens += len(ids)
                rec.update(consistency=ci, n_c=len(ids))
            else:
                self.losses["consistency"].append(math.nan)
        else:
            self.losses["consistency"].append(math.nan)
        rec["total"] = total
        rec["tokens"] = tokens
        self.trace["micro"].append(rec)
        self.micro += 1

    def step(self):
        accum = int(self.cfg["optim.accum"])
        for _ in range(accum):
            self.micro_step()
        grads = [p.grad for p in self.params if p.grad is not None]
        norm = float(torch.norm(torch.stack([torch.norm(g.detach(), 2.0) for g in grads]), 2.0))
        clip = float(self.cfg.get("optim.clip", "0"))
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(self.params, clip)
        lr = lr_at(self.cfg, self.step_no)
        for pg in self.opt.param_groups:
            pg["lr"] = lr
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        self.trace["steps"].append({"step": self.step_no, "lr": lr, "grad_norm": norm})
        self.step_no += 1

    def lora_state(self):
        return {k: v.detach().clone().contiguous()
                for k, v in peft.get_peft_model_state_dict(self.model).items()}

    def adapted_logits(self, text):
        ids = self.ids(text)
        with torch.no_grad():
            return ids, self.model(torch.tensor([ids])).logits[0].float().contiguous()


# golden folder name → (alignment, schema keys over GOLDEN_CONFIG)
MODES = {
    "concat": ("concat", {}),
    "separate": ("separate", {}),
    "refcons": ("concat", {"erase.consistency_tokens": "reference"}),
    # erase.plausibility 0.1 masks 72% of the tiny fixture's target entries (0.01 masks 5%, too
    # few to test the mask inside the top-k; the run prints the share)
    "plausible": ("concat", {"erase.plausibility": "0.1"}),
}


def make_golden(model_dir, out_dir, mode):
    data_dir = out_dir
    alignment, extra = MODES[mode]
    gdir = os.path.join(out_dir, f"golden_{mode}")
    os.makedirs(gdir, exist_ok=True)
    ref = Reference(model_dir, {**GOLDEN_CONFIG, **extra}, GOLDEN_DATA, data_dir, alignment)
    ref.model.save_pretrained(os.path.join(gdir, "init_adapter"))
    ids, logits_init = ref.adapted_logits(TEST_TEXT)
    base = ref.frozen_logits(ids).contiguous()
    steps = int(GOLDEN_CONFIG["optim.steps"])
    for _ in range(steps):
        ref.step()
    ref.model.save_pretrained(os.path.join(gdir, "final_adapter"))
    _, logits_final = ref.adapted_logits(TEST_TEXT)
    meta = {"script": "tools/reference/elm_reference.py", "transformers": transformers.__version__,
            "peft": peft.__version__, "torch": torch.__version__, "alignment": alignment}
    save_file({k: torch.tensor(v, dtype=torch.float64) for k, v in
               (("loss_erase", ref.losses["erase"]), ("loss_retain", ref.losses["retain"]),
                ("loss_consistency", ref.losses["consistency"]))},
              os.path.join(gdir, "losses.safetensors"), metadata=meta)
    save_file(ref.lora_state(), os.path.join(gdir, "lora_after.safetensors"), metadata=meta)
    save_file({"input_ids": torch.tensor(ids, dtype=torch.int64), "logits_init": logits_init,
               "logits_final": logits_final, "base_logits": base},
              os.path.join(gdir, "logits.safetensors"), metadata=meta)
    for sub in ("init_adapter", "final_adapter"):  # PEFT's model-card stub
        readme = os.path.join(gdir, sub, "README.md")
        if os.path.exists(readme):
            os.remove(readme)
    cfg = dict(ref.cfg)
    with open(os.path.join(gdir, "config.json"), "w") as f:
        json.dump({"config": cfg, "data": {r: {str(g): fn for g, fn in v.items()}
                                           for r, v in GOLDEN_DATA.items()},
                   "test_text": TEST_TEXT, "meta": meta}, f, indent=1, sort_keys=True)
    with open(os.path.join(gdir, "trace.json"), "w") as f:
        json.dump(ref.trace, f, indent=1)
    if ref.masked:
        print(f"{gdir}: erase.plausibility masked {100 * sum(ref.masked) / len(ref.masked):.1f}% of the target entries")
    print(f"{gdir}: {len(ref.losses['erase'])} micro-steps;",
          "erase", ["%.6f" % x for x in ref.losses["erase"]])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=os.path.join(ROOT, "tests", "fixtures", "models", "llama-tied"))
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "erase"))
    ap.add_argument("--modes", default=",".join(MODES))
    a = ap.parse_args()
    torch.set_num_threads(1)
    for mode in a.modes.split(","):
        make_golden(a.model, a.out, mode)


if __name__ == "__main__":
    main()
