#!/usr/bin/env python3
"""make_data.py OUTDIR — the benchmark's data, from the project's data/ folder.

ELM cuts forget/retain texts to 700 characters; the project's texts are
shorter (~240-300 characters), so consecutive records are joined until a
text reaches 700 characters, giving the reference's per-micro-step lengths.
Consistency pairs (reference JSON, group "0"): a forget text cut to 50-300
characters as the prompt, ". <change-of-subject sentence> <general text>"
(~300 characters) as the continuation. Timing depends only on lengths, so
the continuation is project text rather than model output. Deterministic.
"""
import json
import os
import random
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def texts(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l)["text"] for l in f if l.strip()]


def joined(recs, n=700):
    out, cur = [], ""
    for t in recs:
        cur = (cur + " " + t).strip()
        if len(cur) >= n:
            out.append(cur)
            cur = ""
    return out


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rnd = random.Random(0)
    forget = joined(texts(os.path.join(ROOT, "data", "fictional", "train.jsonl")))
    retain = joined(texts(os.path.join(ROOT, "data", "retain.jsonl")))
    general = texts(os.path.join(ROOT, "data", "general-text.jsonl"))
    for name, recs in (("forget.jsonl", forget), ("retain.jsonl", retain)):
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            for t in recs:
                f.write(json.dumps({"text": t}) + "\n")
    pairs = []
    for i, t in enumerate(forget):
        cut = rnd.randint(50, 300)
        pairs.append({"prompt": t[:cut],
                      "consistence_prompt": ". Let's talk about something else instead, " + general[i % len(general)][:300]})
    with open(os.path.join(out, "consistency.json"), "w", encoding="utf-8") as f:
        json.dump({"0": pairs}, f, indent=1)
    print(f"{out}: {len(forget)} forget, {len(retain)} retain, {len(pairs)} pairs")


if __name__ == "__main__":
    main()
