#!/usr/bin/env python3
"""ELM erasure benchmark driver (started by bench/erasure/run).

For each configuration it measures, before and after erasure:
  innocence     HP-MCQ (../shared/data/hp-questions.dev.json, all 620): letter scoring
                (`elm eval mcq`, lm-eval style) and cloze scoring (mcq_cloze.py)
  specificity   control MCQ (data/control-mcq.json) letters + cloze; perplexity of
                data/general-text.jsonl (`elm eval ppl`)
  seamlessness  reverse perplexity of answers to data/hp-prompts.jsonl scored by the base
                model (`elm eval rppl`), next to the base model's own
  robustness    relearning attack: `elm erase --objective finetune` on the forget texts,
                starting from the erased adapter (lora.init_from), then HP-MCQ again
and a controlled variant: a fictional domain (data/fictional, tools/data/make_fictional.py)
is taught by fine-tuning (merged into a model), checked (MCQ up), then erased with ELM.

Writes bench/erasure/results/<model>-<config>.json and .md, and PNG plots (losses per step,
accuracies before/after) when matplotlib is importable. Every elm command it runs is logged
to <work>/commands.log.
"""
import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# Configurations. "paper": the paper's adapter (rank 4, constant eta 500, layers 4-7);
# "reference": the reference code's defaults (rank 256 / alpha 16, eta ramp 1 -> 1000,
# lr 5e-5). Step counts are ours (the reference runs 3000 micro-steps on a GPU); the
# learning rate of "paper" is raised to make up for the short run.
CONFIGS = {
    "paper": ["--lora-rank", "4", "--lora-alpha", "16", "--lora-layers", "4-7",
              "--erase-eta", "500", "--erase-eta-schedule", "constant", "--optim-lr", "1e-3"],
    "reference": ["--lora-rank", "256", "--lora-alpha", "16", "--lora-layers", "4-7",
                  "--erase-eta", "1000", "--erase-eta-schedule", "ramp", "--optim-lr", "5e-5"],
}
COMMON = ["--runtime-dtype", "bfloat16", "--runtime-seed", "1", "--data-max-chars", "700"]

TARGETS = {
    "hp_mcq_within_chance_pts": 3.0,
    "control_within_pts": 2.0,
    "general_ppl_rise_max": 0.05,
    "rppl_ratio_max": 1.5,
}


class Runner:
    def __init__(self, args):
        self.a = args
        self.elm = os.path.join(args.build, "tools", "elm", "elm")
        self.lib = os.path.join(args.build, "libelm.so")
        os.makedirs(args.work, exist_ok=True)
        self.log = open(os.path.join(args.work, "commands.log"), "a")
        self.t0 = time.time()

    def say(self, msg):
        t = int(time.time() - self.t0)
        print(f"[{t // 60}:{t % 60:02d}] {msg}", file=sys.stderr, flush=True)

    def run(self, cmd, out=None, err_to=None):
        self.log.write(" ".join(shlex.quote(c) for c in cmd) + "\n")
        self.log.flush()
        stdout = open(out, "w") if out else subprocess.PIPE
        stderr = open(err_to, "w") if err_to else None
        p = subprocess.run(cmd, stdout=stdout, stderr=stderr, text=True, cwd=ROOT)
        if p.returncode != 0:
            extra = f" (stderr in {err_to})" if err_to else ""
            raise SystemExit(f"bench: command failed with {p.returncode}{extra}: {' '.join(cmd)}")
        return p.stdout if not out else None

    def cached(self, path):
        return os.path.exists(path) and os.path.getsize(path) > 0 and not self.a.fresh

    # --- measurements -------------------------------------------------------------------
    def mcq_letters(self, model, file, adapter=None, limit=0):
        cmd = [self.elm, "eval", "mcq", "--model", model, file, "--json"]
        if adapter:
            cmd += ["--adapter", adapter]
        if limit:
            cmd += ["--limit", str(limit)]
        r = json.loads(self.run(cmd))
        return {"accuracy": r["accuracy"], "n": r["n"], "predicted_letter_share":
                max(r["predictions"].count(k) for k in range(4)) / max(1, r["n"])}

    def mcq_cloze(self, model, file, adapter=None, limit=0):
        cmd = [sys.executable, os.path.join(HERE, "mcq_cloze.py"), "--lib", self.lib, "--model", model,
               file, "--json"]
        if adapter:
            cmd += ["--adapter", adapter]
        if limit:
            cmd += ["--limit", str(limit)]
        r = json.loads(self.run(cmd))
        return {"accuracy": r["accuracy"], "n": r["n"], "by_norm": r["accuracy_by_norm"]}

    def ppl(self, model, file, adapter=None, limit=0):
        cmd = [self.elm, "eval", "ppl", "--model", model, file, "--json"]
        if adapter:
            cmd += ["--adapter", adapter]
        if limit:
            cmd += ["--limit", str(limit)]
        return json.loads(self.run(cmd))["perplexity"]

    def rppl(self, model, scorer, file, adapter=None, limit=0):
        cmd = [self.elm, "eval", "rppl", "--model", model, "--scorer", scorer, file, "--json",
               "--max-new-tokens", str(self.a.rppl_tokens), "--chat"]
        if adapter:
            cmd += ["--adapter", adapter]
        if limit:
            cmd += ["--limit", str(limit)]
        return json.loads(self.run(cmd))["perplexity"]

    def measure(self, model, adapter, tag, hp=True, fictional=False):
        a, lim = self.a, self.a.limit
        r = {}
        self.say(f"measure {tag}: control MCQ")
        r["control_letters"] = self.mcq_letters(model, "data/control-mcq.json", adapter, lim)
        r["control_cloze"] = self.mcq_cloze(model, "data/control-mcq.json", adapter, lim)
        self.say(f"measure {tag}: perplexity of general text")
        r["general_ppl"] = self.ppl(model, "data/general-text.jsonl", adapter, lim)
        if hp:
            self.say(f"measure {tag}: HP-MCQ")
            r["hp_letters"] = self.mcq_letters(model, a.hp_mcq, adapter, lim)
            r["hp_cloze"] = self.mcq_cloze(model, a.hp_mcq, adapter, lim)
            self.say(f"measure {tag}: reverse perplexity (HP prompts, scorer = base model)")
            r["hp_rppl"] = self.rppl(model, a.model, "data/hp-prompts.jsonl", adapter, a.rppl_prompts)
            r["forget_ppl"] = self.ppl(model, self.forget, adapter, lim)
        if fictional:
            r["fict_cloze"] = self.mcq_cloze(model, "data/fictional/mcq.json", adapter)
            r["fict_letters"] = self.mcq_letters(model, "data/fictional/mcq.json", adapter)
            r["fict_ppl"] = self.ppl(model, "data/fictional/train.jsonl", adapter, lim)
        return r

    # --- data -----------------------------------------------------------------------------
    def make_forget(self):
        self.forget = os.path.join(self.a.work, "forget.jsonl")
        if self.cached(self.forget):
            self.say(f"forget set cached: {self.forget}")
            return
        prompts = [l.strip() for l in open(os.path.join(ROOT, "data/hp-forget-prompts.txt")) if l.strip()]
        rows = []
        for i in range(0, len(prompts), 16):
            batch = prompts[i:i + 16]
            if len(batch) == 1:
                batch.append(prompts[0])
            self.say(f"forget set: prompts {i + 1}-{i + len(batch)} of {len(prompts)}")
            out = self.run([self.elm, "generate", "--model", self.a.model, "--chat", "--temperature", "0.8",
                            "--seed", str(1000 + i), "--max-new-tokens", str(self.a.forget_tokens)] + batch)
            for part in re.split(r"^=== \d+: .*$\n?", out, flags=re.M)[1:]:
                t = " ".join(part.split())
                if len(t) >= 50:
                    rows.append({"text": t})
        with open(self.forget, "w") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        self.say(f"forget set: {len(rows)} texts")

    def consistency(self, model, forget, concept, name):
        path = os.path.join(self.a.work, name)
        if not self.cached(path):
            self.say(f"consistency data {name}")
            self.run([self.elm, "prepare-consistency", "--model", model, "--forget", forget, "--concept", concept,
                      "--out", path, "--limit", str(self.a.cons_limit), "--min-new-tokens", str(min(64, self.a.cons_tokens)),
                      "--max-new-tokens", str(self.a.cons_tokens), "--runtime-seed", "1"])
        return path

    def erase(self, model, forget, cons, concept, cfg, out, steps, extra=()):
        log = out + ".log"
        if self.cached(os.path.join(out, "adapter_config.json")) and os.path.exists(log):
            self.say(f"adapter cached: {out}")
        else:
            self.say(f"erase -> {out} ({steps} steps)")
            self.run([self.elm, "erase", "--model", model, "--forget", forget, "--retain", "data/retain.jsonl",
                      "--consistency", cons, "--concept", concept, "--steps", str(steps), "--out", out,
                      "--log-every", "1"] + COMMON + CONFIGS[cfg] + list(extra), err_to=log)
        return parse_losses(log)

    def finetune(self, model, train, out, steps, init=None, merged=None, lr="1e-3", layers="4-7"):
        log = out + ".log"
        if self.cached(os.path.join(out, "adapter_config.json")) and os.path.exists(log) and \
                (not merged or os.path.exists(merged)):
            self.say(f"fine-tuned adapter cached: {out}")
        else:
            self.say(f"fine-tune -> {out} ({steps} steps)")
            cmd = [self.elm, "erase", "--objective", "finetune", "--model", model, "--train", train,
                   "--steps", str(steps), "--out", out, "--log-every", "1", "--optim-lr", lr,
                   "--lora-layers", layers] + COMMON
            if init:
                cmd += ["--lora-init-from", init]
            else:
                cmd += ["--lora-rank", "16"]
            if merged:
                cmd += ["--merged", merged]
            self.run(cmd, err_to=log)
        return parse_losses(log)


def parse_losses(log):
    steps = []
    pat = re.compile(r"^step (\d+)/\d+ loss (\S+)(.*?) grad_norm")
    for line in open(log, errors="replace"):
        m = pat.match(line.strip())
        if not m:
            continue
        d = {"step": int(m.group(1)), "loss": float(m.group(2))}
        for k, v in re.findall(r"(erase|retain|cons|train) (\S+)", m.group(3)):
            d[k] = float(v)
        steps.append(d)
    return steps


def verdicts(before, after, base_rppl):
    v = {}
    if "hp_letters" in after:
        chance = 25.0
        hp = 100 * after["hp_letters"]["accuracy"]
        v["hp_mcq_near_chance"] = abs(hp - chance) <= TARGETS["hp_mcq_within_chance_pts"]
        v["rppl_within_1.5x"] = after["hp_rppl"] <= TARGETS["rppl_ratio_max"] * base_rppl
    v["control_cloze_held"] = (100 * (before["control_cloze"]["accuracy"] - after["control_cloze"]["accuracy"])
                               <= TARGETS["control_within_pts"])
    v["general_ppl_within_5pct"] = after["general_ppl"] <= (1 + TARGETS["general_ppl_rise_max"]) * before["general_ppl"]
    return v


def plots(res, stem):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bench: matplotlib not importable; no PNG plots (run via bench/erasure/run, which makes a venv)",
              file=sys.stderr)
        return []
    made = []
    fig, ax = plt.subplots(figsize=(7, 4))
    for k in ("loss", "erase", "retain", "cons"):
        xs = [s["step"] for s in res["losses"] if k in s]
        if xs:
            ax.plot(xs, [s[k] for s in res["losses"] if k in s], label=k)
    ax.set_xlabel("optimizer step"); ax.set_ylabel("loss"); ax.set_title(f"ELM losses ({res['config']})")
    ax.legend(); fig.tight_layout(); fig.savefig(stem + "-losses.png", dpi=100); plt.close(fig)
    made.append(stem + "-losses.png")
    labels, bv, av = [], [], []
    for key, name in (("hp_letters", "HP-MCQ letters"), ("hp_cloze", "HP-MCQ cloze"),
                      ("control_letters", "control letters"), ("control_cloze", "control cloze")):
        if key in res["before"]:
            labels.append(name); bv.append(100 * res["before"][key]["accuracy"]); av.append(100 * res["after"][key]["accuracy"])
    if "hp_letters_relearned" in res:
        labels.append("HP-MCQ letters\nafter relearning"); bv.append(100 * res["after"]["hp_letters"]["accuracy"])
        av.append(100 * res["hp_letters_relearned"]["accuracy"])
    fig, ax = plt.subplots(figsize=(8, 4))
    x = range(len(labels))
    ax.bar([i - 0.2 for i in x], bv, 0.4, label="before"); ax.bar([i + 0.2 for i in x], av, 0.4, label="after")
    ax.axhline(25, color="grey", ls="--", lw=1, label="chance")
    ax.set_xticks(list(x)); ax.set_xticklabels(labels, fontsize=8); ax.set_ylabel("accuracy %")
    ax.set_title(f"accuracy before/after erasure ({res['config']})"); ax.legend(); fig.tight_layout()
    fig.savefig(stem + "-accuracy.png", dpi=100); plt.close(fig)
    made.append(stem + "-accuracy.png")
    return made


def pct(r):
    return f"{100 * r['accuracy']:.1f}% (n={r['n']})"


def markdown(res):
    b, a = res["before"], res["after"]
    L = [f"## {res['model']} — config `{res['config']}`", "",
         f"Flags: `{' '.join(res['flags'])}`; {res['steps']} optimizer steps; command: `{res['command']}`", "",
         "| measure | before | after |", "|---|---|---|"]
    def row(name, key, fmt=pct):
        if key in b and key in a:
            L.append(f"| {name} | {fmt(b[key])} | {fmt(a[key])} |")
    row("HP-MCQ, letters (innocence; chance 25%)", "hp_letters")
    row("HP-MCQ, cloze", "hp_cloze")
    row("control MCQ, letters", "control_letters")
    row("control MCQ, cloze (specificity)", "control_cloze")
    row("perplexity, general text (specificity)", "general_ppl", lambda v: f"{v:.2f}")
    row("perplexity, forget texts", "forget_ppl", lambda v: f"{v:.2f}")
    row("reverse perplexity, answers to HP prompts scored by the base model (seamlessness)", "hp_rppl",
        lambda v: f"{v:.2f}")
    if "hp_letters_relearned" in res:
        L.append(f"| HP-MCQ letters after a {res['relearn_steps']}-step relearning attack | — | "
                 f"{pct(res['hp_letters_relearned'])} |")
        L.append(f"| HP-MCQ cloze after the relearning attack | — | {pct(res['hp_cloze_relearned'])} |")
    L += ["", "Targets: " + ", ".join(f"{k}: {'met' if v else 'MISSED'}" for k, v in res["verdicts"].items())]
    if "fictional" in res:
        f = res["fictional"]
        L += ["", "### Controlled variant: fictional domain (Orvanne, data/fictional)", "",
              "| measure | base | after fine-tuning (knows it) | after ELM erasure |", "|---|---|---|---|"]
        for name, key, fmt in (("Orvanne MCQ, cloze", "fict_cloze", pct), ("Orvanne MCQ, letters", "fict_letters", pct),
                               ("perplexity of the Orvanne texts", "fict_ppl", lambda v: f"{v:.2f}"),
                               ("control MCQ, cloze", "control_cloze", pct),
                               ("perplexity, general text", "general_ppl", lambda v: f"{v:.2f}")):
            L.append(f"| {name} | {fmt(f['base'][key])} | {fmt(f['taught'][key])} | {fmt(f['erased'][key])} |")
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--model", required=True)
    ap.add_argument("--model-name", default=None)
    ap.add_argument("--config", default="paper,reference")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--relearn-steps", type=int, default=50)
    ap.add_argument("--fictional-steps", type=int, default=150)
    ap.add_argument("--limit", type=int, default=0, help="items per eval (0: all; for quick runs)")
    ap.add_argument("--rppl-prompts", type=int, default=30)
    ap.add_argument("--rppl-tokens", type=int, default=128)
    ap.add_argument("--forget-tokens", type=int, default=160)
    ap.add_argument("--cons-limit", type=int, default=32)
    ap.add_argument("--cons-tokens", type=int, default=128)
    ap.add_argument("--hp-mcq", default=os.path.join(ROOT, "..", "shared", "data", "hp-questions.dev.json"))
    ap.add_argument("--work", default=os.path.join(ROOT, "out", "bench-erasure"))
    ap.add_argument("--results", default=os.path.join(HERE, "results"))
    ap.add_argument("--no-fictional", action="store_true")
    ap.add_argument("--fresh", action="store_true")
    a = ap.parse_args()
    if not os.path.exists(a.hp_mcq):
        raise SystemExit(f"bench: the Harry Potter questions are missing: looked for {os.path.abspath(a.hp_mcq)}")
    name = a.model_name or re.sub(r"\.gguf$", "", os.path.basename(a.model.rstrip("/")))
    os.makedirs(a.results, exist_ok=True)
    R = Runner(a)
    R.make_forget()
    cons = R.consistency(a.model, R.forget, "Harry Potter", "consistency-hp.json")
    base_path = os.path.join(a.work, "base.json")
    if R.cached(base_path) and json.load(open(base_path)).get("limit") == a.limit:
        before = json.load(open(base_path))["m"]
    else:
        before = R.measure(a.model, None, "base")
        json.dump({"limit": a.limit, "m": before}, open(base_path, "w"))
    fict = None
    if not a.no_fictional:
        R.say("fictional domain: teach Orvanne by fine-tuning, merge")
        subprocess.run([sys.executable, os.path.join(ROOT, "tools/data/make_fictional.py"), "--out-dir",
                        os.path.join(ROOT, "data/fictional")], check=True, stdout=subprocess.DEVNULL)
        merged = os.path.join(a.work, "model-orvanne")
        taught_losses = R.finetune(a.model, "data/fictional/train.jsonl", os.path.join(a.work, "adapter-orvanne-ft"),
                                   a.fictional_steps, merged=merged, layers="all")
        fict = {"base": R.measure(a.model, None, "fictional base", hp=False, fictional=True),
                "taught": R.measure(merged, None, "fictional taught", hp=False, fictional=True),
                "finetune_losses": taught_losses}
    for cfg in [c for c in a.config.split(",") if c]:
        R.say(f"=== config {cfg}")
        adapter = os.path.join(a.work, f"adapter-hp-{cfg}")
        losses = R.erase(a.model, R.forget, cons, "Harry Potter", cfg, adapter, a.steps)
        after = R.measure(a.model, adapter, f"after ({cfg})")
        relearned = os.path.join(a.work, f"adapter-hp-{cfg}-relearn")
        R.finetune(a.model, R.forget, relearned, a.relearn_steps, init=adapter, lr="1e-4",
                   layers=CONFIGS[cfg][CONFIGS[cfg].index("--lora-layers") + 1])
        res = {"model": name, "config": cfg, "flags": COMMON + CONFIGS[cfg], "steps": a.steps,
               "command": "bench/erasure/run " + " ".join(shlex.quote(x) for x in sys.argv[1:]),
               "before": before, "after": after, "losses": losses, "relearn_steps": a.relearn_steps,
               "hp_letters_relearned": R.mcq_letters(a.model, a.hp_mcq, relearned, a.limit),
               "hp_cloze_relearned": R.mcq_cloze(a.model, a.hp_mcq, relearned, a.limit),
               "limit": a.limit}
        res["verdicts"] = verdicts(before, after, before["hp_rppl"])
        if fict is not None:
            merged = os.path.join(a.work, "model-orvanne")
            fcons = R.consistency(merged, "data/fictional/train.jsonl", "the island country of Orvanne",
                                  "consistency-orvanne.json")
            fad = os.path.join(a.work, f"adapter-orvanne-{cfg}")
            flosses = R.erase(merged, "data/fictional/train.jsonl", fcons, "the island country of Orvanne", cfg,
                              fad, a.steps)
            res["fictional"] = dict(fict, erased=R.measure(merged, fad, f"fictional erased ({cfg})", hp=False,
                                                           fictional=True), erase_losses=flosses)
        stem = os.path.join(a.results, f"{name}-{cfg}")
        res["plots"] = [os.path.relpath(p, ROOT) for p in plots(res, stem)]
        with open(stem + ".json", "w") as f:
            json.dump(res, f, indent=1)
        with open(stem + ".md", "w") as f:
            f.write(markdown(res))
        R.say(f"wrote {stem}.json / .md")
        print(markdown(res))


if __name__ == "__main__":
    main()
