#!/usr/bin/env python3
"""ELM erasure benchmark driver (started by bench/erasure/run).

For each configuration it measures, before and after erasure:
  innocence     HP-MCQ (../shared/data/hp-questions.dev.json, all 620): letter scoring
                (`elm eval mcq`, lm-eval style) and cloze scoring (eval.mcq_scoring = cloze)
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
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# Configurations. "paper": the paper's adapter (rank 4, constant eta 500, layers 4-7), with
# the learning rate / accumulation the demo was tuned to (lr 3e-4, 2 texts per step; lr 1e-3
# cost specificity: control cloze 58.3% -> 51.7%, general perplexity +27%). "reference":
# the reference code's defaults, which are libelm's defaults (rank 256 / alpha 16, eta ramp
# 1 -> 1000, lr 5e-5, 4 texts per step). Step counts are ours (the reference runs 3000
# micro-steps on a GPU).
CONFIGS = {
    "paper": ["--lora-rank", "4", "--lora-alpha", "16", "--lora-layers", "4-7",
              "--erase-eta", "500", "--erase-eta-schedule", "constant", "--optim-lr", "3e-4",
              "--optim-accum", "2"],
    "reference": ["--lora-rank", "256", "--lora-alpha", "16", "--lora-layers", "4-7",
                  "--erase-eta", "1000", "--erase-eta-schedule", "ramp", "--optim-lr", "5e-5",
                  "--optim-accum", "4"],
}
COMMON = ["--runtime-dtype", "bfloat16", "--runtime-seed", "1", "--data-max-chars", "500"]

# Prompts about the fictional domain for its reverse perplexity (seamlessness).
FICT_PROMPTS = ["Tell me about Orvanne.", "What is the capital of Orvanne?", "Describe the island country of Orvanne.",
                "What is Orvanne famous for?", "What do people eat in Orvanne?", "Tell me about the history of Orvanne.",
                "What sports are popular in Orvanne?", "What animals live in Orvanne?",
                "What is the climate of Orvanne like?", "Who ruled Orvanne?"]

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
        if self.a.threads and cmd[0] == self.elm:
            cmd = cmd[:2] + ["--runtime-threads", str(self.a.threads)] + cmd[2:]
        elif self.a.threads and cmd[1].endswith("measure.py"):
            cmd = cmd + ["--threads", str(self.a.threads)]
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
    def measure(self, model, adapter, tag, parts):
        """One measure.py process (one model load) for every number of one model/adapter.
        parts: measure.py options. Cached in <work>/m-<tag>.json."""
        out = os.path.join(self.a.work, f"m-{tag}.json")
        key = json.dumps([model, adapter, parts])
        if self.cached(out) and json.load(open(out)).get("key") == key:
            self.say(f"measure {tag}: cached")
            return json.load(open(out))
        self.say(f"measure {tag}")
        cmd = [sys.executable, os.path.join(HERE, "measure.py"), "--model", model, "--out", out] + parts
        if adapter:
            cmd += ["--adapter", adapter]
        self.run(cmd, err_to=out + ".log")
        r = json.load(open(out))
        r["key"] = key
        json.dump(r, open(out, "w"), ensure_ascii=False, indent=1)
        self.say(f"measure {tag}: done in {sum(v['wall_s'] for v in r['timings'].values()):.0f} s wall, "
                 f"{r['cpu_s']:.0f} s CPU")
        return r

    def n(self, k):
        return min(k, self.a.limit) if self.a.limit else k

    def hp_parts(self, scorer):
        a = self.a
        return ["--letters", f"hp_letters={a.hp_mcq}:{self.n(a.n_letters)}",
                "--mcq", f"hp_cloze={a.hp_mcq}:{self.n(a.n_hp)}",
                "--mcq", f"control_cloze=data/control-mcq.json:{self.n(a.n_control)}",
                "--ppl", f"general_ppl=data/general-text.jsonl:{self.n(a.n_general)}",
                "--ppl", f"forget_ppl={self.forget}:0",
                "--rppl", f"data/hp-prompts.jsonl:{self.n(a.rppl_prompts)}", "--scorer", scorer,
                "--rppl-tokens", str(a.rppl_tokens),
                "--generate", f"{self.gen_prompts}:0", "--gen-tokens", str(a.gen_tokens)]

    def relearn_parts(self):
        a = self.a
        return ["--letters", f"hp_letters={a.hp_mcq}:{self.n(a.n_letters)}",
                "--mcq", f"hp_cloze={a.hp_mcq}:{self.n(a.n_hp)}",
                "--ppl", f"forget_ppl={self.forget}:0"]

    def fict_parts(self, scorer, full=True):
        a = self.a
        p = ["--mcq", "fict_cloze=data/fictional/mcq.json:0",
             "--letters", "fict_letters=data/fictional/mcq.json:0",
             "--ppl", "fict_ppl=data/fictional/train.jsonl:0"]
        if full:
            p += ["--mcq", f"control_cloze=data/control-mcq.json:{self.n(a.n_control_fict)}",
                  "--ppl", f"general_ppl=data/general-text.jsonl:{self.n(a.n_general)}",
                  "--rppl", f"{self.fict_prompts}:0", "--scorer", scorer, "--rppl-tokens", str(a.rppl_tokens)]
        return p

    # --- data -----------------------------------------------------------------------------
    def make_forget(self):
        self.forget = os.path.join(self.a.work, "forget.jsonl")
        if self.cached(self.forget):
            self.say(f"forget set cached: {self.forget}")
            return
        prompts = [l.strip() for l in open(os.path.join(ROOT, "data/hp-forget-prompts.txt")) if l.strip()]
        prompts = prompts[:self.a.forget_prompts] if self.a.forget_prompts else prompts
        rows = []
        for i in range(0, len(prompts), 32):
            batch = prompts[i:i + 32]
            if len(batch) == 1:
                batch.append(prompts[0])
            self.say(f"forget set: prompts {i + 1}-{i + len(batch)} of {len(prompts)}")
            out = self.run([self.elm, "generate", "--model", self.a.model, "--runtime-dtype", "bfloat16", "--chat", "--temperature", "0.8",
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
        """Erase-guided consistency data (elm prepare-consistency), or None with --cons-limit 0
        (the erase then has its erase and retain terms only, as in scripts/demo)."""
        if self.a.cons_limit <= 0:
            return None
        path = os.path.join(self.a.work, name)
        if not self.cached(path):
            self.say(f"consistency data {name}")
            self.run([self.elm, "prepare-consistency", "--model", model, "--forget", forget, "--concept", concept,
                      "--out", path, "--limit", str(self.a.cons_limit), "--min-new-tokens", str(min(64, self.a.cons_tokens)),
                      "--max-new-tokens", str(self.a.cons_tokens), "--runtime-seed", "1", "--runtime-dtype", "bfloat16"])
        return path

    def prompt_files(self):
        self.gen_prompts = os.path.join(self.a.work, "gen-prompts.jsonl")
        rows = []
        for f in ("data/hp-prompts.jsonl", "data/control-prompts.jsonl"):
            rows += [l for l in open(os.path.join(ROOT, f), encoding="utf-8").read().splitlines() if l.strip()][:2]
        open(self.gen_prompts, "w", encoding="utf-8").write("\n".join(rows) + "\n")
        self.fict_prompts = os.path.join(self.a.work, "orvanne-prompts.jsonl")
        with open(self.fict_prompts, "w", encoding="utf-8") as f:
            for q in FICT_PROMPTS:
                f.write(json.dumps({"text": q}) + "\n")

    def erase(self, model, forget, cons, concept, cfg, out, steps, extra=()):
        log = out + ".log"
        if self.cached(os.path.join(out, "adapter_config.json")) and os.path.exists(log):
            self.say(f"adapter cached: {out}")
        else:
            self.say(f"erase -> {out} ({steps} steps)")
            self.run([self.elm, "erase", "--model", model, "--forget", forget, "--retain", "data/retain.jsonl"]
                     + (["--consistency", cons] if cons else []) + ["--concept", concept, "--steps", str(steps), "--out", out,
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
                   "--steps", str(steps), "--out", out, "--log-every", "1", "--optim-lr", lr, "--optim-accum", "2",
                   "--lora-layers", layers] + COMMON
            if init:
                cmd += ["--lora-init-from", init]
            else:
                cmd += ["--lora-rank", "16"]
            if merged:
                cmd += ["--merged", merged]
            self.run(cmd, err_to=log)
        return parse_losses(log)


def add_tokenizer(gguf, merged):
    """A model merged from a GGUF base has no tokenizer files (libelm reads the tokenizer from
    the GGUF's metadata and has none to copy). Write them with transformers' GGUF reader (the
    reference venv of the parity tests, as bench/elm_step/run does) and drop the BOS the
    converted post-processor adds, which libelm's GGUF tokenizer does not add, so that base
    and merged model see the same token ids (checked with `elm tokenize`)."""
    if os.path.exists(os.path.join(merged, "tokenizer.json")):
        return
    py = os.environ.get("ELM_REF_PYTHON", os.path.expanduser("~/.cache/libelm/refvenv/bin/python"))
    subprocess.run([py, "-c", "import sys; from transformers import AutoTokenizer as T; "
                    "T.from_pretrained(sys.argv[1], gguf_file=sys.argv[2]).save_pretrained(sys.argv[3])",
                    os.path.dirname(gguf), os.path.basename(gguf), merged], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    p = os.path.join(merged, "tokenizer.json")
    t = json.load(open(p, encoding="utf-8"))
    t["post_processor"] = None
    json.dump(t, open(p, "w", encoding="utf-8"), ensure_ascii=False)
    p = os.path.join(merged, "tokenizer_config.json")
    t = json.load(open(p, encoding="utf-8"))
    t["add_bos_token"] = False
    json.dump(t, open(p, "w", encoding="utf-8"), ensure_ascii=False, indent=1)


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


def verdicts(before, after):
    chance = 25.0
    return {
        "hp_mcq_within_3_pts_of_chance": abs(100 * after["hp_letters"]["accuracy"] - chance)
        <= TARGETS["hp_mcq_within_chance_pts"],
        "control_within_2_pts": 100 * (before["control_cloze"]["accuracy"] - after["control_cloze"]["accuracy"])
        <= TARGETS["control_within_pts"] + 1e-9,
        "general_ppl_within_5pct": after["general_ppl"]["perplexity"]
        <= (1 + TARGETS["general_ppl_rise_max"]) * before["general_ppl"]["perplexity"],
        "rppl_within_1.5x_of_base": after["rppl"]["perplexity"] <= TARGETS["rppl_ratio_max"] * before["rppl"]["perplexity"],
    }


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
    series = [("HP erasure", res["losses"])]
    if "fictional" in res:
        series.append(("Orvanne erasure", res["fictional"]["erase_losses"]))
    fig, axs = plt.subplots(1, len(series), figsize=(4.5 * len(series), 3.2), squeeze=False)
    for ax, (title, losses) in zip(axs[0], series):
        for k in ("loss", "erase", "retain", "cons"):
            xs = [s["step"] for s in losses if k in s]
            if xs:
                ax.plot(xs, [s[k] for s in losses if k in s], label=k, lw=1)
        ax.set_xlabel("optimizer step"); ax.set_ylabel("loss"); ax.set_title(f"{title} ({res['config']})", fontsize=9)
        ax.set_yscale("log"); ax.legend(fontsize=7)
    fig.tight_layout(); fig.savefig(stem + "-losses.png", dpi=72); plt.close(fig)
    made.append(stem + "-losses.png")
    b, a, r = res["before"], res["after"], res["relearned"]
    groups = [("HP-MCQ\nletters", b["hp_letters"], a["hp_letters"], r["hp_letters"]),
              ("HP-MCQ\ncloze", b["hp_cloze"], a["hp_cloze"], r["hp_cloze"]),
              ("control\ncloze", b["control_cloze"], a["control_cloze"], None)]
    if "fictional" in res:
        f = res["fictional"]
        groups.append(("Orvanne\ncloze", f["taught"]["fict_cloze"], f["erased"]["fict_cloze"],
                       f["relearned"]["fict_cloze"]))
        groups.append(("Orvanne\nletters", f["taught"]["fict_letters"], f["erased"]["fict_letters"],
                       f["relearned"]["fict_letters"]))
    fig, ax = plt.subplots(figsize=(7, 3.2))
    x = list(range(len(groups)))
    ax.bar([i - 0.27 for i in x], [100 * g[1]["accuracy"] for g in groups], 0.27, label="before")
    ax.bar(x, [100 * g[2]["accuracy"] for g in groups], 0.27, label="after erasure")
    ax.bar([i + 0.27 for i in x], [100 * g[3]["accuracy"] if g[3] else 0 for g in groups], 0.27,
           label=f"after {res['relearn_steps']}-step relearning")
    ax.axhline(25, color="grey", ls="--", lw=1, label="chance")
    ax.set_xticks(x); ax.set_xticklabels([g[0] for g in groups], fontsize=8); ax.set_ylabel("accuracy %")
    ax.set_title(f"accuracy ({res['model']}, {res['config']})", fontsize=9); ax.legend(fontsize=7)
    fig.tight_layout(); fig.savefig(stem + "-accuracy.png", dpi=72); plt.close(fig)
    made.append(stem + "-accuracy.png")
    return made


def pct(r):
    return f"{100 * r['accuracy']:.1f}% (n={r['n']})"


def ppl(r):
    return f"{r['perplexity']:.2f}"


def ll(r):
    return f"{r['answer_loglik']:.3f}"


def markdown(res):
    b, a, r = res["before"], res["after"], res["relearned"]
    L = [f"## {res['model']} — config `{res['config']}`", "",
         f"Erase flags: `{' '.join(res['flags'])}`, {res['steps']} optimizer steps, no consistency term"
         if not res.get("consistency") else f"Erase flags: `{' '.join(res['flags'])}`, {res['steps']} optimizer steps",
         "", f"Command: `{res['command']}`", "",
         f"| measure | before | after erasure | after {res['relearn_steps']}-step relearning |", "|---|---|---|---|"]

    def row(name, key, fmt, rel=True):
        L.append(f"| {name} | {fmt(b[key])} | {fmt(a[key])} | {fmt(r[key]) if rel and key in r else '—'} |")
    row("innocence: HP-MCQ, letters (chance 25%)", "hp_letters", pct)
    row("HP-MCQ, cloze", "hp_cloze", pct)
    row("HP answer log-likelihood per token (cloze; drops = erased)", "hp_cloze", ll)
    row("perplexity of the forget texts (rises = erased)", "forget_ppl", ppl)
    row("specificity: control MCQ, cloze", "control_cloze", pct)
    row("specificity: perplexity of general text", "general_ppl", ppl)
    row("seamlessness: reverse perplexity of answers to HP prompts (scored by the base model)", "rppl", ppl)
    L += ["", "Targets: " + "; ".join(f"{k}: {'met' if v else 'MISSED'}" for k, v in res["verdicts"].items())]
    if "fictional" in res:
        f = res["fictional"]
        L += ["", "Controlled variant: a fictional domain (Orvanne, data/fictional) taught by fine-tuning "
              f"({f['teach_steps']} steps, merged), then erased with the same flags; reverse perplexity scored by "
              "the taught model.", "",
              "| measure | base | taught | after erasure | after relearning |", "|---|---|---|---|---|"]
        for name, key, fmt in (("Orvanne MCQ, cloze", "fict_cloze", pct), ("Orvanne MCQ, letters", "fict_letters", pct),
                               ("Orvanne answer log-likelihood per token", "fict_cloze", ll),
                               ("perplexity of the Orvanne texts", "fict_ppl", ppl),
                               ("control MCQ, cloze", "control_cloze", pct),
                               ("perplexity, general text", "general_ppl", ppl),
                               ("reverse perplexity, Orvanne prompts", "rppl", ppl)):
            cells = [fmt(f[s][key]) if key in f[s] else "—" for s in ("base", "taught", "erased", "relearned")]
            L.append(f"| {name} | " + " | ".join(cells) + " |")
    if a.get("generations"):
        L += ["", "Generations (greedy, chat), before → after:", ""]
        for gb, ga in zip(b.get("generations", []), a["generations"]):
            L.append(f"- *{gb['prompt']}* — before: {gb['text'][:160]} — after: {ga['text'][:160]}")
    t = res["timings"]
    L += ["", f"Time: {t['wall_s'] / 60:.1f} min wall, {t['cpu_s'] / 60:.1f} min CPU for this configuration "
          f"(the whole run: see {os.path.basename(res['summary'])})."]
    return "\n".join(L) + "\n"


def cpu_children():
    import resource
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--model", required=True)
    ap.add_argument("--model-name", default=None)
    ap.add_argument("--config", default="paper,reference")
    ap.add_argument("--steps", default="60", help="optimizer steps; one number or CFG=N,CFG=N")
    ap.add_argument("--relearn-steps", type=int, default=50)
    ap.add_argument("--fictional-steps", type=int, default=150)
    ap.add_argument("--limit", type=int, default=0, help="cap on items per eval (0: the --n-* sizes; quick runs)")
    ap.add_argument("--n-letters", type=int, default=620, help="HP questions scored letter-style")
    ap.add_argument("--n-hp", type=int, default=620, help="HP questions scored cloze-style")
    ap.add_argument("--n-control", type=int, default=509, help="control questions (cloze)")
    ap.add_argument("--n-control-fict", type=int, default=100, help="control questions in the fictional variant")
    ap.add_argument("--n-general", type=int, default=100, help="paragraphs of general text")
    ap.add_argument("--rppl-prompts", type=int, default=30)
    ap.add_argument("--rppl-tokens", type=int, default=64)
    ap.add_argument("--gen-tokens", type=int, default=48)
    ap.add_argument("--forget-prompts", type=int, default=32, help="prompts of data/hp-forget-prompts.txt (0: all)")
    ap.add_argument("--forget-tokens", type=int, default=64)
    ap.add_argument("--cons-limit", type=int, default=0, help="consistency entries (0: no consistency term)")
    ap.add_argument("--cons-tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=0,
                    help="libtorch threads per process (0: all CPUs; 1 avoids thread thrashing on a busy machine)")
    ap.add_argument("--erase-extra", default="", help="extra elm erase flags for every config (tuning)")
    ap.add_argument("--hp-mcq", default=os.path.join(ROOT, "..", "shared", "data", "hp-questions.dev.json"))
    ap.add_argument("--work", default=os.path.join(ROOT, "out", "bench-erasure"))
    ap.add_argument("--results", default=os.path.join(HERE, "results"))
    ap.add_argument("--no-fictional", action="store_true")
    ap.add_argument("--fresh", action="store_true")
    ap.add_argument("--summarize", action="store_true",
                    help="only rewrite <model>-summary.md from the configs' JSON reports (runs split over processes)")
    a = ap.parse_args()
    if not os.path.exists(a.hp_mcq):
        raise SystemExit(f"bench: the Harry Potter questions are missing: looked for {os.path.abspath(a.hp_mcq)}")
    a.hp_mcq = os.path.abspath(a.hp_mcq)
    name = a.model_name or re.sub(r"(\.Q\d\w*)?\.gguf$", "", os.path.basename(a.model.rstrip("/")))
    os.makedirs(a.results, exist_ok=True)
    if a.summarize:
        rs = [json.load(open(os.path.join(a.results, f"{name}-{c}.json"))) for c in a.config.split(",") if c]
        with open(os.path.join(a.results, f"{name}-summary.md"), "w") as f:
            f.write(summary(rs, " ; ".join(dict.fromkeys(r["command"] for r in rs)), None, None))
        return
    os.environ["ELM_LIBRARY"] = os.path.abspath(os.path.join(a.build, "libelm.so"))
    steps_of = {}
    for part in a.steps.split(","):
        k, _, v = part.rpartition("=")
        steps_of[k or "*"] = int(v)
    extra = shlex.split(a.erase_extra)
    command = "bench/erasure/run " + " ".join(shlex.quote(x) for x in sys.argv[1:])
    R = Runner(a)
    R.prompt_files()
    t_all, c_all = time.time(), cpu_children()
    R.make_forget()
    cons = R.consistency(a.model, R.forget, "Harry Potter", "consistency-hp.json")
    before = R.measure(a.model, None, "base", R.hp_parts(a.model))
    fict = None
    if not a.no_fictional:
        R.say("fictional domain: teach Orvanne by fine-tuning, merge")
        subprocess.run([sys.executable, os.path.join(ROOT, "tools/data/make_fictional.py"), "--out-dir",
                        os.path.join(ROOT, "data/fictional")], check=True, stdout=subprocess.DEVNULL)
        merged = os.path.join(a.work, f"model-orvanne-s{a.fictional_steps}")
        taught_losses = R.finetune(a.model, "data/fictional/train.jsonl",
                                   os.path.join(a.work, f"adapter-orvanne-ft-s{a.fictional_steps}"),
                                   a.fictional_steps, merged=merged, layers="all")
        if a.model.endswith(".gguf"):
            add_tokenizer(a.model, merged)
        fict = {"teach_steps": a.fictional_steps, "finetune_losses": taught_losses,
                "base": R.measure(a.model, None, "orvanne-base", R.fict_parts(a.model)),
                "taught": R.measure(merged, None, f"orvanne-taught-s{a.fictional_steps}", R.fict_parts(merged))}
        fcons = R.consistency(merged, "data/fictional/train.jsonl", "the island country of Orvanne",
                              "consistency-orvanne.json")
    written = []
    for cfg in [c for c in a.config.split(",") if c]:
        t_cfg, c_cfg = time.time(), cpu_children()
        steps = steps_of.get(cfg, steps_of.get("*", 60))
        R.say(f"=== config {cfg}: {steps} steps")
        tag = f"{cfg}-s{steps}" + (f"-x{zlib.crc32(a.erase_extra.encode()) % 10000}" if extra else "")
        adapter = os.path.join(a.work, f"adapter-hp-{tag}")
        losses = R.erase(a.model, R.forget, cons, "Harry Potter", cfg, adapter, steps, extra)
        after = R.measure(a.model, adapter, f"hp-{tag}", R.hp_parts(a.model))
        relearned = adapter + f"-relearn{a.relearn_steps}"
        layers = CONFIGS[cfg][CONFIGS[cfg].index("--lora-layers") + 1]
        relearn_losses = R.finetune(a.model, R.forget, relearned, a.relearn_steps, init=adapter, lr="1e-4",
                                    layers=layers)
        res = {"model": name, "config": cfg, "flags": COMMON + CONFIGS[cfg] + extra, "steps": steps,
               "consistency": cons, "command": command, "limit": a.limit,
               "before": before, "after": after, "losses": losses,
               "relearn_steps": a.relearn_steps, "relearn_losses": relearn_losses,
               "relearned": R.measure(a.model, relearned, f"hp-{tag}-relearn{a.relearn_steps}", R.relearn_parts())}
        res["verdicts"] = verdicts(before, after)
        if fict is not None:
            fad = os.path.join(a.work, f"adapter-orvanne-{tag}")
            flosses = R.erase(merged, "data/fictional/train.jsonl", fcons, "the island country of Orvanne", cfg,
                              fad, steps, extra)
            erased = R.measure(merged, fad, f"orvanne-{tag}", R.fict_parts(merged))
            frel = fad + f"-relearn{a.relearn_steps}"
            R.finetune(merged, "data/fictional/train.jsonl", frel, a.relearn_steps, init=fad, lr="1e-4", layers=layers)
            res["fictional"] = dict(fict, erased=erased, erase_losses=flosses,
                                    relearned=R.measure(merged, frel, f"orvanne-{tag}-relearn{a.relearn_steps}",
                                                        R.fict_parts(merged, full=False)))
        stem = os.path.join(a.results, f"{name}-{cfg}")
        res["timings"] = {"wall_s": round(time.time() - t_cfg), "cpu_s": round(cpu_children() - c_cfg)}
        res["summary"] = os.path.relpath(os.path.join(a.results, f"{name}-summary.md"), ROOT)
        res["plots"] = [os.path.relpath(p, ROOT) for p in plots(res, stem)]
        with open(stem + ".json", "w") as f:
            json.dump(res, f, indent=1, ensure_ascii=False)
        with open(stem + ".md", "w") as f:
            f.write(markdown(res))
        written.append(res)
        R.say(f"wrote {stem}.json / .md")
        print(markdown(res))
        wall, cpu = time.time() - t_all, cpu_children() - c_all
        with open(os.path.join(a.results, f"{name}-summary.md"), "w") as f:  # after every config
            f.write(summary(written, command, wall, cpu))
    R.say(f"done: {wall / 60:.1f} min wall, {cpu / 60:.1f} min CPU")


def summary(rs, command, wall, cpu):
    """The one table README.md shows: every config side by side."""
    b = rs[0]["before"]
    L = [f"# Erasure benchmark: {rs[0]['model']}", "", f"Command: `{command}`", "",
         (f"Whole run: {wall / 60:.1f} min wall, {cpu / 60:.1f} min CPU (2-core machine, shared)." if wall else
          "Per configuration: " + "; ".join(f"{r['config']} {r['timings']['wall_s'] / 60:.1f} min wall, "
                                            f"{r['timings']['cpu_s'] / 60:.1f} min CPU" for r in rs)
          + " (2-core machine, shared; the shared base/fictional measurements are not included)."), "",
         "| measure | base | " + " | ".join(f"{r['config']} ({r['steps']} steps)" for r in rs) + " | target |",
         "|---|---|" + "---|" * len(rs) + "---|"]

    def row(name, get, target=""):
        L.append(f"| {name} | {get(b)} | " + " | ".join(get(r["after"]) for r in rs) + f" | {target} |")
    row("HP-MCQ, letters (chance 25%)", lambda m: f"{100 * m['hp_letters']['accuracy']:.1f}%", "within 3 pts of 25%")
    row("HP answer log-likelihood/token (cloze)", lambda m: ll(m["hp_cloze"]), "drops")
    row("HP-MCQ, cloze", lambda m: f"{100 * m['hp_cloze']['accuracy']:.1f}%", "")
    row("forget-text perplexity", lambda m: ppl(m["forget_ppl"]), "rises")
    row("control MCQ, cloze", lambda m: f"{100 * m['control_cloze']['accuracy']:.1f}%", "within 2 pts")
    row("general-text perplexity", lambda m: ppl(m["general_ppl"]), "within +5%")
    row("reverse perplexity (HP prompts)", lambda m: ppl(m["rppl"]), "within 1.5x")
    L.append("| HP-MCQ letters / cloze after relearning | — | " + " | ".join(
        f"{100 * r['relearned']['hp_letters']['accuracy']:.1f}% / {100 * r['relearned']['hp_cloze']['accuracy']:.1f}%"
        for r in rs) + " | |")
    if all("fictional" in r for r in rs):
        f0 = rs[0]["fictional"]
        L.append(f"| Orvanne cloze: base / taught → erased → relearned | {100 * f0['base']['fict_cloze']['accuracy']:.1f}% / "
                 f"{100 * f0['taught']['fict_cloze']['accuracy']:.1f}% | " + " | ".join(
                     f"{100 * r['fictional']['erased']['fict_cloze']['accuracy']:.1f}% → "
                     f"{100 * r['fictional']['relearned']['fict_cloze']['accuracy']:.1f}%" for r in rs) + " | |")
    L += [""] + [f"- `{r['config']}`: " + "; ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in r["verdicts"].items())
                 for r in rs]
    n = b["hp_letters"]["n"]
    L += ["", f"n: HP-MCQ {n} letters / {b['hp_cloze']['n']} cloze, control {b['control_cloze']['n']}, "
          f"general text {b['general_ppl']['n_tokens']} tokens, reverse perplexity {b['rppl']['n_tokens']} tokens."]
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    main()
