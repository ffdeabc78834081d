#!/usr/bin/env python3
"""The forget and retain sets of a concept folder (data/knowledge/<concept>/), one recipe for
bench/erasure/compare and scripts/demo.

forget: the project's encyclopedic paragraphs (forget.jsonl) interleaved with the texts the
        model wrote about the concept (forget-model.jsonl, when present), then one quiz block
        (forget-quiz.jsonl) after every `quiz_every` texts;
retain: retain.jsonl with one block of retain-quiz.jsonl after every `quiz_every` texts.
quiz_every 0 leaves the quiz blocks out. Blocks left when the texts run out go at the end.

Run:  scripts/python bench/erasure/sets.py KDIR --forget OUT.jsonl --retain OUT.jsonl [--quiz-every 4]
"""
import argparse
import json
import os
import sys


def rows(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def interleave(texts, blocks, every):
    """One block after every `every` texts while blocks last; the remaining blocks after."""
    out, it = [], iter(blocks)
    for i, t in enumerate(texts, 1):
        out.append(t)
        if i % every == 0:
            out += [b for b in [next(it, None)] if b is not None]
    return out + list(it)


def concept_sets(kdir, quiz_every=4):
    """(forget rows, retain rows) of a concept folder, each row {"text": ...}."""
    def need(name):
        p = os.path.join(kdir, name)
        if not os.path.exists(p):
            raise SystemExit(f"sets: missing {p} (made by tools/data/make_knowledge.py)")
        return rows(p)
    parts = [need("forget.jsonl")]
    if os.path.exists(os.path.join(kdir, "forget-model.jsonl")):
        parts.append(need("forget-model.jsonl"))
    forget = [p[i] for i in range(max(map(len, parts))) for p in parts if i < len(p)]
    retain = need("retain.jsonl")
    if quiz_every:
        forget = interleave(forget, need("forget-quiz.jsonl"), quiz_every)
        retain = interleave(retain, need("retain-quiz.jsonl"), quiz_every)
    return [{"text": r["text"]} for r in forget], [{"text": r["text"]} for r in retain]


def write_jsonl(path, items):
    """Whole or not at all: a temporary file renamed over the target."""
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        for r in items:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kdir")
    ap.add_argument("--forget", required=True)
    ap.add_argument("--retain", required=True)
    ap.add_argument("--quiz-every", type=int, default=4)
    a = ap.parse_args()
    forget, retain = concept_sets(a.kdir, a.quiz_every)
    write_jsonl(a.forget, forget)
    write_jsonl(a.retain, retain)
    quiz = f"a quiz block every {a.quiz_every} texts" if a.quiz_every else "no quiz blocks"
    print(f"sets: {len(forget)} forget texts -> {a.forget}, {len(retain)} retain texts -> {a.retain} ({quiz})",
          file=sys.stderr)


if __name__ == "__main__":
    main()
