#!/usr/bin/env python3
"""One protocol for every unlearning method (started by bench/erasure/compare).

For a concept of data/knowledge/<concept>/ and each method (ELM and the baselines RMU,
gradient difference, NPO — all `elm erase --erase-objective ...` on the same LoRA,
optimizer, data, steps and texts per step):

 1. sweep: every configuration of the method's small grid (METHODS below) erases for the
    same number of optimizer steps; each adapter is measured on the DEV split (forget MCQ,
    control MCQ, general-text perplexity on the dev paragraphs);
 2. choice, by one stated rule (RULE): among the configurations whose dev control accuracy
    is within 2 points of the base model's and whose dev general perplexity is within +5%,
    the one with the lowest dev forget accuracy; if none qualifies, the one with the
    highest dev control accuracy (said in the report);
 3. test: the chosen adapter on the TEST split — forget MCQ, control MCQ, general
    perplexity (the held-out paragraphs), reverse perplexity of its answers to the concept
    prompts (scored by the base model), the repetition rate of its generations for concept
    and control prompts, and a relearning attack (fine-tuning the erased adapter on the
    forget texts, then the forget MCQ again).

MCQ scoring is cloze (lm-eval's acc_norm; `elm eval mcq --eval-mcq-scoring cloze`): the
135M model answers letter-format questions with "A" whatever it knows.

Writes <out>/<model>-<concept>-compare.json and .md, and PNG plots (a Pareto plot: dev
forget accuracy against dev control accuracy, one point per method and configuration; the
test numbers per method) when matplotlib is importable. Every command is logged to
<work>/commands.log; adapters and measurements are cached in <work> and reused.
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
sys.path.insert(0, HERE)
from sets import concept_sets, write_jsonl  # noqa: E402
from textstats import repetition_rate  # noqa: E402

# The LoRA, optimizer and data every method shares (the demo's settings: rank 4 on the
# paper's layers 4-7, runtime.dtype auto: bf16 where the CPU has AMX/AVX512-BF16, else fp32;
# 2 texts per optimizer step, texts cut to 500 characters).
COMMON = ["--runtime-dtype", "auto", "--runtime-seed", "1", "--lora-rank", "4", "--lora-alpha", "16",
          "--lora-layers", "4-7", "--optim-accum", "2", "--data-max-chars", "500"]

# Each method's small grid. Defaults come from the methods' papers (docs/erase.md); the grid
# spans the knob that trades forgetting against keeping (learning rate, and for ELM η and
# the retain weight, for RMU the steering coefficient).
def elm(eta, lr="1e-3", retain=10, soft=True, plausibility=None):
    """ELM's flags: constant η; soft = the paper's retain target (the frozen distribution,
    τ 1) instead of the reference code's argmax (τ 1.2 default)."""
    f = ["--erase-objective", "elm", "--erase-eta", str(eta), "--erase-eta-schedule", "constant"]
    f += ["--erase-tau", "1", "--erase-retain-loss", "soft"] if soft else []
    f += ["--erase-plausibility", str(plausibility)] if plausibility else []
    return f + ["--optim-lr", lr, "--erase-lambda-retain", str(retain)]


# A flag value that stands for the work folder's consistency pairs (Compare.consistency_pairs).
CONSISTENCY = "@consistency"

METHODS = {
    "elm": [
        # The frozen model's distribution as the retain target (erase.retain_loss = soft, the
        # paper's form), not its argmax (the reference code's): at lr 1e-3 the argmax target
        # alone cost ~30% general perplexity (bench/erasure/RESULTS.md, 2026-12-02), so the
        # grid's earlier argmax rows (η 500 at lr 3e-4 / 1e-3, λ_retain 10 / 30: elm(500, ...,
        # soft=False)) are left out.
        ("eta10-soft", elm(10)),
        ("eta30-soft", elm(30)),
        # With the quiz blocks η 30 erases ~30 points on dev but costs the controls 6 when the
        # retain set has no quiz blocks (bench/erasure/RESULTS.md, session 8): a stronger retain
        # weight, a larger η, a larger step.
        ("eta30-soft-r30", elm(30, retain=30)),
        ("eta100-soft", elm(100)),
        ("eta30-soft-lr3e-3", elm(30, "3e-3")),
        # η 100 erases more but its general perplexity rose 15% at retain weight 10; the retain
        # weight scaled with η holds it (dev, session 10: 62.2% / 56.0% / +4.6%).
        ("eta100-soft-r100", elm(100, retain=100)),
        # At 240 steps η 100 λr 100 erased more (dev 34%) but general perplexity rose 7%
        # (session 14): a heavier retain weight.
        ("eta100-soft-r300", elm(100, retain=300)),
        # At η 100 the target's best token has a frozen probability of 0.28% on the forget
        # texts (garbage: " nobody", "omegran") and the erased model answers concept prompts
        # with nothing; the plausibility mask keeps the target on tokens the model would write.
        ("eta100-soft-r300-p01", elm(100, retain=300, plausibility=0.01)),
        ("eta100-soft-r300-p001", elm(100, retain=300, plausibility=0.001)),
        # With the mask the erase term starts near its floor (loss 3.5 against 22 unmasked), so
        # the retain weight that the unmasked target needed drowns it: lighter retain weights,
        # and the paper's η 1000, which the mask makes safe.
        ("eta100-soft-r30-p01", elm(100, retain=30, plausibility=0.01)),
        ("eta100-soft-r10-p01", elm(100, retain=10, plausibility=0.01)),
        ("eta1000-soft-r30-p01", elm(1000, retain=30, plausibility=0.01)),
        ("eta100-soft-r30-p001", elm(100, retain=30, plausibility=0.001)),
        # The plausibility mask erased nothing on dev (81.7% at α 0.01 and 0.001, λr 300): the
        # consistency term instead, on the chosen η 100 λr 300 (session 12 at 60 steps: reverse
        # perplexity 8.2 -> 5.3), weighted as the retain term is (λc 30, 300; λc 1 would be
        # 1/300 of the retain term).
        ("eta100-soft-r300-c30", elm(100, retain=300) + ["--consistency", CONSISTENCY,
                                                         "--erase-lambda-consistency", "30"]),
        ("eta100-soft-r300-c300", elm(100, retain=300) + ["--consistency", CONSISTENCY,
                                                          "--erase-lambda-consistency", "300"]),
    ],
    "rmu": [
        ("c6.5", ["--erase-objective", "rmu", "--optim-lr", "1e-3"]),
        ("c100", ["--erase-objective", "rmu", "--erase-rmu-coeff", "100", "--optim-lr", "1e-3"]),
        ("c100-lr3e-3", ["--erase-objective", "rmu", "--erase-rmu-coeff", "100", "--optim-lr", "3e-3"]),
    ],
    "grad_diff": [
        # At 240 steps lr 1e-4 already breaks the controls (dev control 36%, perplexity x8):
        # a smaller step keeps the grid spanning "nothing moves" to "controls break".
        ("lr3e-5", ["--erase-objective", "grad_diff", "--optim-lr", "3e-5"]),
        ("lr1e-4", ["--erase-objective", "grad_diff", "--optim-lr", "1e-4"]),
        ("lr2e-4", ["--erase-objective", "grad_diff", "--optim-lr", "2e-4"]),
        ("lr3e-4", ["--erase-objective", "grad_diff", "--optim-lr", "3e-4"]),
    ],
    "npo": [
        ("lr3e-5", ["--erase-objective", "npo", "--optim-lr", "3e-5"]),  # the same, at 240 steps
        ("lr1e-4", ["--erase-objective", "npo", "--optim-lr", "1e-4"]),
        ("lr3e-4", ["--erase-objective", "npo", "--optim-lr", "3e-4"]),
        ("lr1e-3", ["--erase-objective", "npo", "--optim-lr", "1e-3"]),
    ],
}

RULE = ("lowest dev forget accuracy among the configurations whose dev control accuracy is within "
        "2 points of the base model's and whose dev general perplexity is within +5%; if none "
        "qualifies, the highest dev control accuracy")

TARGETS = {"forget_within_chance_pts": 5.0, "control_within_pts": 2.0, "general_ppl_rise_max": 0.05,
           "rppl_ratio_max": 1.5, "repetition_rise_pts_max": 2.0}
CHANCE = 0.25


class Bench:
    def __init__(self, a):
        self.a = a
        self.elm = os.path.join(a.build, "tools", "elm", "elm")
        os.makedirs(a.work, exist_ok=True)
        self.log = open(os.path.join(a.work, "commands.log"), "a")
        self.ran = self.reused = 0  # commands run now / results taken from the work folder
        self.t0 = time.time()
        self.kdir = os.path.join(ROOT, "data", "knowledge", a.concept)
        if not os.path.isdir(self.kdir):
            raise SystemExit(f"compare: no concept folder {self.kdir} (see data/knowledge/)")
        self.concept_text = open(os.path.join(self.kdir, "concept.txt"), encoding="utf-8").read().strip()

    def say(self, msg):
        t = int(time.time() - self.t0)
        print(f"[{t // 60}:{t % 60:02d}] {msg}", file=sys.stderr, flush=True)

    def run(self, cmd, err_to=None):
        self.ran += 1
        if self.a.threads and cmd[0] == self.elm:
            cmd = cmd[:2] + ["--runtime-threads", str(self.a.threads)] + cmd[2:]
        self.log.write(" ".join(shlex.quote(c) for c in cmd) + "\n")
        self.log.flush()
        stderr = open(err_to, "w") if err_to else None
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=ROOT)
        if p.returncode != 0:
            extra = f" (stderr in {err_to})" if err_to else ""
            raise SystemExit(f"compare: command failed with {p.returncode}{extra}: {' '.join(cmd)}")
        return p.stdout

    def done(self, path):
        return os.path.exists(path) and os.path.getsize(path) > 0 and not self.a.fresh

    # ---- data ----------------------------------------------------------------------------
    def k(self, name):
        p = os.path.join(self.kdir, name)
        if not os.path.exists(p):
            raise SystemExit(f"compare: missing {p}")
        return p

    def prepare(self):
        """The work folder's inputs: the forget and retain sets (bench/erasure/sets.py: the
        project's paragraphs and the model's own texts, quiz blocks in both), the dev/test
        general paragraphs, generation prompts."""
        w = self.a.work
        forget, retain = concept_sets(self.kdir, self.a.quiz_every)
        self.forget = os.path.join(w, "forget.jsonl")
        self.retain = os.path.join(w, "retain.jsonl")
        write_jsonl(self.forget, forget)
        write_jsonl(self.retain, retain)
        gen = [json.loads(l) for l in open(os.path.join(ROOT, "data", "general-text.jsonl"), encoding="utf-8") if l.strip()]
        nd = self.a.n_general_dev
        self.general_dev = os.path.join(w, "general-dev.jsonl")
        self.general_test = os.path.join(w, "general-test.jsonl")
        write_jsonl(self.general_dev, gen[:nd])
        write_jsonl(self.general_test, gen[nd:nd + self.a.n_general_test])
        cp = [json.loads(l) for l in open(self.k("prompts.jsonl"), encoding="utf-8") if l.strip()][:self.a.n_prompts]
        ctl = [json.loads(l) for l in open(os.path.join(ROOT, "data", "control-prompts.jsonl"), encoding="utf-8")
               if l.strip()][:self.a.n_prompts]
        self.concept_prompts = os.path.join(w, "concept-prompts.jsonl")
        self.gen_prompts = os.path.join(w, "gen-prompts.jsonl")
        write_jsonl(self.concept_prompts, cp)
        write_jsonl(self.gen_prompts, cp + ctl)
        self.n_concept_prompts = len(cp)
        self.forget_dev, self.forget_test = self.k("mcq.dev.json"), self.k("mcq.test.json")
        self.control_dev, self.control_test = self.control_split("dev"), self.control_split("test")
        self.say(f"data: {len(forget)} forget texts, {sum(1 for _ in open(self.retain))} retain texts, "
                 f"forget MCQ {len(json.load(open(self.forget_dev)))} dev / {len(json.load(open(self.forget_test)))} test, "
                 f"control {len(json.load(open(self.control_dev)))} dev / {len(json.load(open(self.control_test)))} test")

    def control_split(self, split):
        f = os.path.join(self.kdir, f"control.{split}.json")
        if os.path.exists(f):
            return f
        items = json.load(open(self.k("control.json"), encoding="utf-8"))
        sel = [q for q in items if q.get("split") == split]
        if not sel:
            raise SystemExit(f"compare: {self.kdir}/control.json has no items with split '{split}'")
        out = os.path.join(self.a.work, f"control.{split}.json")
        json.dump(sel, open(out, "w", encoding="utf-8"), ensure_ascii=False)
        return out

    # ---- measurement ---------------------------------------------------------------------
    def measure(self, tag, adapter, test):
        out = os.path.join(self.a.work, f"m-{tag}.json")
        if test:
            parts = ["--mcq", f"forget={self.forget_test}", "--mcq", f"control={self.control_test}:{self.a.n_control_test}",
                     "--ppl", f"general={self.general_test}",
                     "--rppl", self.concept_prompts, "--scorer", self.a.model, "--rppl-tokens", str(self.a.gen_tokens),
                     "--generate", self.gen_prompts, "--gen-tokens", str(self.a.gen_tokens)]
        else:
            parts = ["--mcq", f"forget={self.forget_dev}", "--mcq", f"control={self.control_dev}:{self.a.n_control_dev}",
                     "--ppl", f"general={self.general_dev}"]
        key = json.dumps([self.a.model, adapter, parts])
        if self.done(out):
            r = json.load(open(out))
            if r.get("key") == key:
                self.reused += 1
                return r
        self.say(f"measure {tag} ({'test' if test else 'dev'})")
        cmd = [self.a.python, os.path.join(HERE, "measure.py"), "--model", self.a.model, "--out", out] + parts
        if adapter:
            cmd += ["--adapter", adapter]
        if self.a.threads:
            cmd += ["--threads", str(self.a.threads)]
        self.run(cmd, err_to=out + ".log")
        r = json.load(open(out))
        r["key"] = key
        if test:
            gens = r.get("generations", [])
            nc = self.n_concept_prompts
            texts = [g["text"] for g in gens]
            r["repetition"] = {"concept": repetition_rate(texts[:nc]), "control": repetition_rate(texts[nc:]),
                               "all": repetition_rate(texts), "n": len(texts)}
        json.dump(r, open(out, "w"), ensure_ascii=False, indent=1)
        return r

    def relearn_measure(self, tag):
        out = os.path.join(self.a.work, f"m-{tag}.json")
        adapter = os.path.join(self.a.work, tag)
        parts = ["--mcq", f"forget={self.forget_test}"]
        key = json.dumps([self.a.model, adapter, parts])
        if self.done(out) and json.load(open(out)).get("key") == key:
            self.reused += 1
            return json.load(open(out))
        self.say(f"measure {tag} (test forget MCQ after relearning)")
        cmd = [self.a.python, os.path.join(HERE, "measure.py"), "--model", self.a.model, "--adapter", adapter,
               "--out", out] + parts + (["--threads", str(self.a.threads)] if self.a.threads else [])
        self.run(cmd, err_to=out + ".log")
        r = json.load(open(out))
        r["key"] = key
        json.dump(r, open(out, "w"), ensure_ascii=False, indent=1)
        return r

    # ---- training ------------------------------------------------------------------------
    def consistency_pairs(self):
        """The consistency pairs the configurations that name CONSISTENCY use: 60 pairs made by
        the frozen model with erase guidance from the first forget texts (elm
        prepare-consistency), made once per work folder."""
        path = os.path.join(self.a.work, "consistency.jsonl")
        if not self.done(path):
            self.say("prepare-consistency: 60 pairs")
            self.run([self.elm, "prepare-consistency", "--model", self.a.model, "--forget", self.forget,
                      "--concept", self.concept_text, "--out", path, "--limit", "60", "--top-k", "50",
                      "--min-new-tokens", "60", "--max-new-tokens", "120", "--seed", "1",
                      "--runtime-dtype", "auto"], err_to=os.path.join(self.a.work, "consistency.log"))
        return path

    def erase(self, tag, flags):
        if CONSISTENCY in flags:
            flags = [self.consistency_pairs() if f == CONSISTENCY else f for f in flags]
        out = os.path.join(self.a.work, tag)
        log = out + ".log"
        self.reused += self.done(os.path.join(out, "adapter_config.json")) and os.path.exists(log)
        if not (self.done(os.path.join(out, "adapter_config.json")) and os.path.exists(log)):
            self.say(f"erase {tag}: {self.a.steps} steps")
            t = time.time()
            self.run([self.elm, "erase", "--model", self.a.model, "--forget", self.forget, "--retain", self.retain,
                      "--concept", self.concept_text, "--steps", str(self.a.steps), "--out", out, "--log-every", "1"]
                     + COMMON + flags, err_to=log)
            open(out + ".seconds", "w").write(f"{time.time() - t:.1f}\n")
        secs = float(open(out + ".seconds").read()) if os.path.exists(out + ".seconds") else None
        return out, parse_losses(log), secs

    def relearn(self, tag, init):
        out = os.path.join(self.a.work, tag)
        log = out + ".log"
        self.reused += self.done(os.path.join(out, "adapter_config.json")) and os.path.exists(log)
        if not (self.done(os.path.join(out, "adapter_config.json")) and os.path.exists(log)):
            self.say(f"relearn {tag}: {self.a.relearn_steps} fine-tuning steps on the forget texts")
            cmd = [self.elm, "erase", "--erase-objective", "finetune", "--model", self.a.model, "--train", self.forget,
                   "--steps", str(self.a.relearn_steps), "--out", out, "--log-every", "5",
                   "--optim-lr", self.a.relearn_lr] + COMMON
            cmd += ["--lora-init-from", init] if init else []
            self.run(cmd, err_to=log)
        return out

    # ---- the protocol --------------------------------------------------------------------
    def main(self):
        a = self.a
        self.prepare()
        base_dev = self.measure("base-dev", None, False)
        base_test = self.measure("base-test", None, True)
        res = {"model": os.path.basename(a.model), "concept": a.concept, "concept_text": self.concept_text,
               "steps": a.steps, "common_flags": COMMON, "rule": RULE, "targets": TARGETS,
               "base": {"dev": summary(base_dev), "test": summary(base_test, test=True)}, "methods": {}}
        if a.relearn_steps > 0 and not a.no_base_relearn:
            self.relearn("relearn-base", None)
            res["base"]["relearned"] = summary(self.relearn_measure("relearn-base"), only_forget=True)
        for meth in a.methods:
            if meth not in METHODS:
                raise SystemExit(f"compare: unknown method {meth} (known: {', '.join(METHODS)})")
            grid = METHODS[meth]
            if a.configs:
                grid = [g for g in grid if f"{meth}:{g[0]}" in a.configs or g[0] in a.configs] or grid
            sweep = []
            for label, flags in grid:
                tag = f"{meth}-{label}"
                adapter, losses, secs = self.erase(tag, flags)
                dev = summary(self.measure(tag + "-dev", adapter, False))
                sweep.append({"label": label, "flags": flags, "dev": dev, "losses": losses, "erase_s": secs})
                self.say(f"{tag}: dev forget {100 * dev['forget']:.1f}%, control {100 * dev['control']:.1f}%, "
                         f"general ppl {dev['general_ppl']:.2f}")
            pick, why = choose(sweep, res["base"]["dev"])
            chosen = sweep[pick]
            tag = f"{meth}-{chosen['label']}"
            test = summary(self.measure(tag + "-test", os.path.join(a.work, tag), True), test=True)
            entry = {"sweep": sweep, "chosen": chosen["label"], "why": why, "test": test}
            if a.relearn_steps > 0:
                self.relearn(f"relearn-{tag}", os.path.join(a.work, tag))
                entry["relearned"] = summary(self.relearn_measure(f"relearn-{tag}"), only_forget=True)
            entry["verdicts"] = verdicts(res["base"]["test"], test)
            res["methods"][meth] = entry
            self.say(f"{meth}: chose {chosen['label']} ({why}); test forget {100 * test['forget']:.1f}%, "
                     f"control {100 * test['control']:.1f}%")
        res["command"] = a.command
        res["wall_s"] = round(time.time() - self.t0)
        res["commands_run"], res["results_reused"] = self.ran, self.reused
        stem = os.path.join(a.out, f"{res['model'].split('.')[0]}-{a.concept}-compare")
        os.makedirs(a.out, exist_ok=True)
        json.dump(res, open(stem + ".json", "w"), ensure_ascii=False, indent=1)
        md = markdown(res)
        md += "".join(f"\n![{os.path.basename(p)}]({os.path.basename(p)})\n" for p in plots(res, stem))
        open(stem + ".md", "w").write(md)
        print(md)
        self.say(f"wrote {stem}.json / .md")


def parse_losses(log):
    steps = []
    pat = re.compile(r"^step (\d+)/\d+ loss (\S+)(.*?) grad_norm")
    for line in open(log, errors="replace"):
        m = pat.match(line.strip())
        if m:
            d = {"step": int(m.group(1)), "loss": float(m.group(2))}
            for k, v in re.findall(r"(erase|retain|cons|train) (\S+)", m.group(3)):
                d[k] = float(v)
            steps.append(d)
    return steps


def summary(r, test=False, only_forget=False):
    s = {"forget": r["forget"]["accuracy"], "forget_n": r["forget"]["n"],
         "forget_answer_loglik": r["forget"].get("answer_loglik")}
    if only_forget:
        return s
    s.update({"control": r["control"]["accuracy"], "control_n": r["control"]["n"],
              "general_ppl": r["general"]["perplexity"]})
    if test:
        s.update({"rppl": r["rppl"]["perplexity"], "repetition": r["repetition"],
                  "generations": r.get("generations", [])})
    return s


def choose(sweep, base):
    ok = [i for i, c in enumerate(sweep)
          if 100 * (base["control"] - c["dev"]["control"]) <= TARGETS["control_within_pts"] + 1e-9
          and c["dev"]["general_ppl"] <= (1 + TARGETS["general_ppl_rise_max"]) * base["general_ppl"]]
    if ok:
        return min(ok, key=lambda i: (sweep[i]["dev"]["forget"], -sweep[i]["dev"]["control"])), \
            "lowest dev forget accuracy within the dev control/perplexity limits"
    return max(range(len(sweep)), key=lambda i: sweep[i]["dev"]["control"]), \
        "no configuration kept control and perplexity within the limits on dev: highest dev control accuracy"


def verdicts(base, t):
    return {
        "forget_within_5_pts_of_chance": abs(100 * (t["forget"] - CHANCE)) <= TARGETS["forget_within_chance_pts"],
        "control_within_2_pts": 100 * (base["control"] - t["control"]) <= TARGETS["control_within_pts"] + 1e-9,
        "general_ppl_within_5pct": t["general_ppl"] <= (1 + TARGETS["general_ppl_rise_max"]) * base["general_ppl"],
        "rppl_within_1.5x": t["rppl"] <= TARGETS["rppl_ratio_max"] * base["rppl"],
        "repetition_within_2_pts": 100 * (t["repetition"]["all"] - base["repetition"]["all"])
        <= TARGETS["repetition_rise_pts_max"] + 1e-9,
    }


def pct(x):
    return f"{100 * x:.1f}%"


def markdown(res):
    b = res["base"]["test"]
    meths = list(res["methods"])
    L = [f"# Erasure of {res['concept']} — {res['model']}: ELM and baselines, test split", "",
         f"Concept: \"{res['concept_text']}\". Every method: {res['steps']} optimizer steps, "
         f"`{' '.join(res['common_flags'])}`; configuration chosen on the dev split by: {res['rule']}.", "",
         f"Command: `{res['command']}` ({res['wall_s'] // 60} min wall; {res['commands_run']} commands run, "
         f"{res['results_reused']} results reused from earlier runs in the work folder, whose erase seconds "
         "are in the sweep table).", ""]
    head = "| measure | base | " + " | ".join(f"{m} ({res['methods'][m]['chosen']})" for m in meths) + " | target |"
    L += [head, "|" + "---|" * (len(meths) + 3)]

    def row(name, f, target=""):
        L.append(f"| {name} | {f(b, None)} | " + " | ".join(f(res['methods'][m]['test'], m) for m in meths)
                 + f" | {target} |")
    row(f"forget MCQ, cloze (n={b['forget_n']}; chance 25%)", lambda t, m: pct(t["forget"]), "within 5 pts of 25%")
    row("forget: answer log-likelihood per token", lambda t, m: f"{t['forget_answer_loglik']:.3f}", "drops")
    row(f"control MCQ, cloze (n={b['control_n']})", lambda t, m: pct(t["control"]), "within 2 pts of base")
    row("general-text perplexity", lambda t, m: f"{t['general_ppl']:.2f}", "within +5%")
    row("reverse perplexity (concept prompts)", lambda t, m: f"{t['rppl']:.2f}", "within 1.5x")
    row("repetition rate (concept / control generations)",
        lambda t, m: f"{pct(t['repetition']['concept'])} / {pct(t['repetition']['control'])}", "base + 2 pts")
    rb = res["base"].get("relearned")
    L.append(f"| forget MCQ after relearning ({'base: fine-tuned alone' if rb else ''}) | "
             + (pct(rb["forget"]) if rb else "—") + " | "
             + " | ".join(pct(res['methods'][m]['relearned']['forget']) if 'relearned' in res['methods'][m] else "—"
                          for m in meths) + " | |")
    L += ["", "Targets met (test split):", ""]
    for m in meths:
        v = res["methods"][m]["verdicts"]
        L.append(f"- `{m}`: " + "; ".join(f"{k} {'met' if ok else '**missed**'}" for k, ok in v.items()))
    L += ["", "## Sweeps (dev split)", "",
          f"Base on dev: forget {pct(res['base']['dev']['forget'])}, control {pct(res['base']['dev']['control'])}, "
          f"general ppl {res['base']['dev']['general_ppl']:.2f}.", "",
          "| method | configuration | flags | forget | control | general ppl | erase s | chosen |", "|---|---|---|---|---|---|---|---|"]
    for m in meths:
        e = res["methods"][m]
        for c in e["sweep"]:
            d = c["dev"]
            L.append(f"| {m} | {c['label']} | `{' '.join(c['flags'])}` | {pct(d['forget'])} | {pct(d['control'])} | "
                     f"{d['general_ppl']:.2f} | {c['erase_s'] or 0:.0f} | {'**yes** — ' + e['why'] if c['label'] == e['chosen'] else ''} |")
    L += ["", "## Generations (greedy, chat; test measurement)", ""]
    gb = b.get("generations", [])
    half = len(gb) // 2  # concept prompts first, then as many control prompts
    for j in sorted(set(range(min(4, half))) | set(range(half, min(half + 2, len(gb))))):
        g = gb[j]
        L.append(f"> {g['prompt']}")
        L.append(f"- base: {g['text'][:220]}")
        for m in meths:
            gm = res["methods"][m]["test"].get("generations", [])
            if j < len(gm):
                L.append(f"- {m}: {gm[j]['text'][:220]}")
        L.append("")
    return "\n".join(L) + "\n"


def plots(res, stem):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("compare: matplotlib not importable; no PNG plots", file=sys.stderr)
        return []
    made = []
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    bd = res["base"]["dev"]
    ax.scatter([100 * bd["control"]], [100 * bd["forget"]], marker="*", s=160, c="k", label="base", zorder=3)
    colours = {"elm": "tab:red", "rmu": "tab:blue", "grad_diff": "tab:green", "npo": "tab:purple"}
    for m, e in res["methods"].items():
        xs = [100 * c["dev"]["control"] for c in e["sweep"]]
        ys = [100 * c["dev"]["forget"] for c in e["sweep"]]
        ax.scatter(xs, ys, c=colours.get(m, "tab:gray"), label=m, alpha=0.8)
        for c, x, y in zip(e["sweep"], xs, ys):
            ax.annotate(c["label"] + (" *" if c["label"] == e["chosen"] else ""), (x, y), fontsize=6,
                        xytext=(3, 3), textcoords="offset points")
    ax.axhline(25, ls=":", c="gray", lw=1)
    ax.axvline(100 * bd["control"] - 2, ls="--", c="gray", lw=1)
    ax.set_xlabel("control MCQ accuracy, dev (%)  — keep: right")
    ax.set_ylabel("forget MCQ accuracy, dev (%)  — erase: down")
    ax.set_title(f"{res['concept']}: every configuration ({res['steps']} steps)", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(stem + "-pareto.png", dpi=80)
    plt.close(fig)
    made.append(stem + "-pareto.png")
    meths = list(res["methods"])
    names = ["forget", "control", "relearned"]
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    w = 0.8 / (len(meths) + 1)
    series = [("base", res["base"]["test"], res["base"].get("relearned"))] + \
        [(m, res["methods"][m]["test"], res["methods"][m].get("relearned")) for m in meths]
    for i, (m, t, r) in enumerate(series):
        vals = [100 * t["forget"], 100 * t["control"], 100 * r["forget"] if r else 0]
        ax.bar([k + i * w for k in range(3)], vals, w, label=m, color=colours.get(m, "0.5" if m == "base" else None))
    ax.axhline(25, ls=":", c="gray", lw=1)
    ax.set_xticks([k + w * len(meths) / 2 for k in range(3)])
    ax.set_xticklabels(["forget MCQ (test)", "control MCQ (test)", "forget after relearning"], fontsize=8)
    ax.set_ylabel("accuracy (%)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(stem + "-test.png", dpi=80)
    plt.close(fig)
    made.append(stem + "-test.png")
    return made


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--model", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--concept", default="geography")
    ap.add_argument("--methods", default="elm,rmu,grad_diff,npo")
    ap.add_argument("--configs", default="", help="comma list of configuration labels to run (default: the whole grid)")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--quiz-every", type=int, default=4,
                    help="one block of forget-quiz.jsonl (retain-quiz.jsonl) after every N forget (retain) texts; 0: no quiz blocks")
    ap.add_argument("--relearn-steps", type=int, default=50)
    ap.add_argument("--relearn-lr", default="1e-4")
    ap.add_argument("--no-base-relearn", action="store_true")
    ap.add_argument("--n-control-dev", type=int, default=100, help="control questions on dev (0: all)")
    ap.add_argument("--n-control-test", type=int, default=200, help="control questions on test (0: all)")
    ap.add_argument("--n-general-dev", type=int, default=30)
    ap.add_argument("--n-general-test", type=int, default=40)
    ap.add_argument("--n-prompts", type=int, default=10, help="concept prompts (and as many control prompts)")
    ap.add_argument("--gen-tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--fresh", action="store_true")
    ap.add_argument("--command", default="bench/erasure/compare " + " ".join(shlex.quote(x) for x in sys.argv[1:]))
    a = ap.parse_args()
    a.methods = [m for m in a.methods.split(",") if m]
    a.configs = [c for c in a.configs.split(",") if c]
    Bench(a).main()


if __name__ == "__main__":
    main()
