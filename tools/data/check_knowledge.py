#!/usr/bin/env python3
"""Check data/knowledge/<concept>/ and, with --model, measure the base model on it.

Checks (exit 1 with every problem listed, naming file and item):
  - mcq.dev.json / mcq.test.json: {question, choices[4] distinct, answer 0..3, category};
    no duplicate question (normalised: lower case, punctuation dropped) within a split,
    across the splits and concepts, or with data/control-mcq.json; answer positions
    balanced in each split (every letter's count within 1 of n/4); test >= 150 and
    dev + test >= 200 questions
  - forget.jsonl (300-600 characters each, >= 100), forget-quiz.jsonl (>= 20) and
    forget-model.jsonl when present: no text names both the subject and the answer of a
    test fact (facts.json), the check make_knowledge.py applies when writing them;
    retain-quiz.jsonl (>= 20): no text names both the subject and the answer of any of the
    concept's facts
  - control.dev.json / control.test.json: no category of the concept, no question shared
    with the concept's sets; retain.jsonl: no retain topic of the concept
  - concept.txt, prompts.jsonl, forget-prompts.txt are there and non-empty

--model M [--elm E]: base cloze accuracy (`elm eval mcq --eval-mcq-scoring cloze`, lm-eval's acc_norm)
per set and per category, printed as a Markdown table (and --json FILE).
Run:  scripts/python tools/data/check_knowledge.py [--dir data/knowledge] [--model M [--elm build/tools/elm/elm]]
"""
import argparse
import collections
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_knowledge as MK  # noqa: E402


def load_json(path, problems):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        problems.append(f"{path}: {e}")
        return None


def load_jsonl(path, problems, need=("text",)):
    rows = []
    try:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    r = json.loads(line)
                except ValueError as e:
                    problems.append(f"{path}:{n}: {e}")
                    continue
                for k in need:
                    if not isinstance(r.get(k), str) or not r[k].strip():
                        problems.append(f"{path}:{n}: field {k!r} missing or empty")
                rows.append(r)
    except OSError as e:
        problems.append(f"{path}: {e}")
    return rows


def check_mcq(path, items, problems):
    for i, it in enumerate(items or []):
        where = f"{path}[{i}]"
        if not isinstance(it.get("question"), str) or not it["question"].strip():
            problems.append(f"{where}: question missing")
        ch = it.get("choices")
        if not isinstance(ch, list) or len(ch) != 4 or len(set(map(str, ch))) != 4:
            problems.append(f"{where}: choices must be 4 distinct strings")
        if it.get("answer") not in (0, 1, 2, 3):
            problems.append(f"{where}: answer must be 0..3")
        if not isinstance(it.get("category"), str):
            problems.append(f"{where}: category missing")
    if items:
        cnt = collections.Counter(it.get("answer") for it in items)
        n = len(items)
        if any(abs(cnt.get(k, 0) - n / 4) > 1 for k in range(4)):
            problems.append(f"{path}: answer positions not balanced: {dict(sorted(cnt.items()))} of {n}")


def check_concept(root, concept, data_dir, seen_global, problems):
    d = os.path.join(root, concept)
    sets = {}
    for split in ("dev", "test"):
        p = os.path.join(d, f"mcq.{split}.json")
        sets[split] = load_json(p, problems) or []
        check_mcq(p, sets[split], problems)
        for it in sets[split]:
            k = MK.norm_q(it.get("question", ""))
            if k in seen_global:
                problems.append(f"{p}: duplicate question {it['question']!r} (also in {seen_global[k]})")
            seen_global[k] = p
    if len(sets["test"]) < 150 or len(sets["dev"]) + len(sets["test"]) < 200:
        problems.append(f"{d}: {len(sets['dev'])} dev + {len(sets['test'])} test questions (need test >= 150, all >= 200)")
    facts = load_json(os.path.join(d, "facts.json"), problems) or []
    test_q = {MK.norm_q(it["question"]) for it in sets["test"]}
    test_facts = [f for f in facts if f.get("split") == "test"]
    asked = {MK.norm_q(q) for f in test_facts for q in f["questions"]}
    if asked != test_q:
        problems.append(f"{d}/facts.json: the test facts' questions differ from mcq.test.json "
                        f"({len(asked ^ test_q)} differ)")
    nchecked = {}
    for name, minimum in (("forget.jsonl", 100), ("forget-model.jsonl", 0), ("forget-quiz.jsonl", 20)):
        p = os.path.join(d, name)
        if name == "forget-model.jsonl" and not os.path.exists(p):
            continue
        rows = load_jsonl(p, problems)
        if len(rows) < minimum:
            problems.append(f"{p}: {len(rows)} texts (need >= {minimum})")
        for n, r in enumerate(rows, 1):
            t = r.get("text", "")
            if name == "forget.jsonl" and not 300 <= len(t) <= 600:
                problems.append(f"{p}:{n}: {len(t)} characters (need 300-600)")
            for f in test_facts:
                if MK.states_fact(t, f):
                    problems.append(f"{p}:{n}: states the test fact {f['subject']!r} -> {f['answer']!r}")
        nchecked[name] = len(rows)
    ctl_cats = MK.CONCEPT_CONTROL_CATEGORIES[concept]
    concept_q = {MK.norm_q(it["question"]) for s in sets.values() for it in s}
    control_q = {}
    for split in ("dev", "test"):
        p = os.path.join(d, f"control.{split}.json")
        items = load_json(p, problems) or []
        for i, it in enumerate(items):
            if it.get("category") in ctl_cats:
                problems.append(f"{p}[{i}]: category {it['category']!r} belongs to the concept")
            k = MK.norm_q(it.get("question", ""))
            if k in concept_q:
                problems.append(f"{p}[{i}]: question also in the concept's sets")
            if k in control_q:
                problems.append(f"{p}[{i}]: question also in {control_q[k]}")
            control_q[k] = p
    for r in load_jsonl(os.path.join(d, "retain.jsonl"), problems, need=("text", "topic")):
        if r.get("topic") in MK.CONCEPT_RETAIN_TOPICS[concept]:
            problems.append(f"{d}/retain.jsonl: topic {r['topic']!r} overlaps the concept")
    p = os.path.join(d, "retain-quiz.jsonl")
    rows = load_jsonl(p, problems)
    if len(rows) < 20:
        problems.append(f"{p}: {len(rows)} texts (need >= 20)")
    for n, r in enumerate(rows, 1):
        for f in facts:
            if MK.states_fact(r.get("text", ""), f):
                problems.append(f"{p}:{n}: states the concept's fact {f['subject']!r} -> {f['answer']!r}")
    nchecked["retain-quiz.jsonl"] = len(rows)
    for name in ("concept.txt", "forget-prompts.txt"):
        p = os.path.join(d, name)
        if not os.path.exists(p) or not open(p, encoding="utf-8").read().strip():
            problems.append(f"{p}: missing or empty")
    load_jsonl(os.path.join(d, "prompts.jsonl"), problems)
    return sets, nchecked


def cloze(args, path):
    cmd = [args.elm, "eval", "mcq", "--model", args.model, "--runtime-dtype", args.dtype,
           "--eval-mcq-scoring", "cloze", "--json", path]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise SystemExit(f"check_knowledge: {' '.join(cmd)} failed (exit {r.returncode})")
    return json.loads(r.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default="data/knowledge")
    ap.add_argument("--data-dir", default="data")
    ap.add_argument("--model", help="GGUF model: also measure base cloze accuracy")
    ap.add_argument("--elm", default="build/tools/elm/elm", help="the elm CLI that scores")
    ap.add_argument("--dtype", default="bfloat16")
    ap.add_argument("--control", action="store_true", help="with --model, measure the control sets too")
    ap.add_argument("--json", help="with --model, write the figures here")
    a = ap.parse_args()
    problems = []
    seen = {}
    for it in load_json(os.path.join(a.data_dir, "control-mcq.json"), problems) or []:
        seen[MK.norm_q(it["question"])] = os.path.join(a.data_dir, "control-mcq.json")
    results = {}
    for c in MK.CONCEPTS:
        sets, nchecked = check_concept(a.dir, c, a.data_dir, seen, problems)
        print(f"{c}: dev {len(sets['dev'])}, test {len(sets['test'])} questions; "
              + ", ".join(f"{k} {v} texts checked" for k, v in nchecked.items()))
        results[c] = sets
    if problems:
        print(f"check_knowledge: {len(problems)} problem(s):", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        sys.exit(1)
    print("check_knowledge: all checks passed")
    if not a.model:
        return
    figures = {}
    print("\n| concept | set | accuracy | per category |\n|---|---|---|---|")
    runs = [(c, n) for c in MK.CONCEPTS for n in ("mcq.dev", "mcq.test")]
    if a.control:   # after every concept's own sets, so those figures come first
        runs += [(c, n) for c in MK.CONCEPTS for n in ("control.dev", "control.test")]
    for c, name in runs:
        path = os.path.join(a.dir, c, name + ".json")
        items = json.load(open(path, encoding="utf-8"))
        r = cloze(a, path)
        per = collections.defaultdict(lambda: [0, 0])
        for it, p in zip(items, r["predictions"]):
            per[it["category"]][1] += 1
            per[it["category"]][0] += int(p == it["answer"])
        figures[f"{c}/{name}"] = {"accuracy": r["accuracy"], "n": r["n"], "n_correct": r["n_correct"],
                                  "by_category": {k: v for k, v in sorted(per.items())},
                                  "accuracy_unnormalized": r["accuracy_unnormalized"]}
        cats = ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in sorted(per.items()))
        print(f"| {c} | {name} | {r['accuracy']:.1%} ({r['n_correct']}/{r['n']}) | {cats} |", flush=True)
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(figures, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
