#!/usr/bin/env python3
"""Where an adapter's general-text perplexity rise comes from: each text's perplexity under
the base model and under base + adapter, the ratio, and the token-weighted perplexity per
topic (data/general-text.jsonl has a "topic" per row).

Run:  scripts/python bench/erasure/ppl_by_text.py --model MODEL --adapter DIR \\
          [--general data/general-text.jsonl] [--rows 50:100] [--top 10] [--out FILE.json]
Needs ELM_LIBRARY pointing at the built libelm (bench/erasure/compare sets it).
"""
import argparse
import json
import math
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
import elm  # noqa: E402


def per_text(model, texts, tmp):
    """(nll sum, tokens) of every text, each scored alone (elm.eval_perplexity of a one-row file)."""
    out = []
    for i, t in enumerate(texts):
        p = os.path.join(tmp, f"{i}.jsonl")
        with open(p, "w", encoding="utf-8") as f:
            f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")
        r = elm.eval_perplexity(model, p, runtime_dtype="auto")
        out.append((r.nll * r.n_tokens, r.n_tokens))
    return out


def ppl(rows):
    nll, n = sum(r[0] for r in rows), sum(r[1] for r in rows)
    return math.exp(nll / n) if n else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--adapter", required=True)
    ap.add_argument("--general", default=os.path.join(ROOT, "data", "general-text.jsonl"))
    ap.add_argument("--rows", default="", help="START:END of the file's rows (compare's test split: 50:100)")
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--out")
    a = ap.parse_args()
    rows = [json.loads(l) for l in open(a.general, encoding="utf-8") if l.strip()]
    idx = list(range(len(rows)))
    if a.rows:
        s, e = (int(x) if x else None for x in a.rows.split(":"))
        idx = idx[s:e]
    texts = [rows[i]["text"] for i in idx]
    if a.threads:
        elm.set_num_threads(a.threads)
    res = {}
    with tempfile.TemporaryDirectory() as tmp:
        for which in ("base", "adapter"):
            m = elm.Model(a.model, runtime_dtype="auto")
            if which == "adapter":
                m.load_adapter(a.adapter)
            res[which] = per_text(m, texts, tmp)
            m.close()
    items = []
    for k, i in enumerate(idx):
        b, d = res["base"][k], res["adapter"][k]
        items.append({"row": i, "topic": rows[i].get("topic", "?"), "base_ppl": ppl([b]), "adapter_ppl": ppl([d]),
                      "ratio": ppl([d]) / ppl([b]), "tokens": b[1]})
    topics = {}
    for k, it in enumerate(items):
        topics.setdefault(it["topic"], ([], []))
        topics[it["topic"]][0].append(res["base"][k])
        topics[it["topic"]][1].append(res["adapter"][k])
    by_topic = {t: {"base_ppl": ppl(b), "adapter_ppl": ppl(d), "ratio": ppl(d) / ppl(b), "texts": len(b)}
                for t, (b, d) in topics.items()}
    total = {"base_ppl": ppl(res["base"]), "adapter_ppl": ppl(res["adapter"])}
    print(f"all {len(items)} texts: perplexity {total['base_ppl']:.2f} -> {total['adapter_ppl']:.2f} "
          f"({100 * (total['adapter_ppl'] / total['base_ppl'] - 1):+.1f}%)")
    print("\n| topic | texts | base | adapter | ratio |\n|---|---|---|---|---|")
    for t, v in sorted(by_topic.items(), key=lambda kv: -kv[1]["ratio"]):
        print(f"| {t} | {v['texts']} | {v['base_ppl']:.2f} | {v['adapter_ppl']:.2f} | {v['ratio']:.2f} |")
    print(f"\ntexts with the largest rise (of {len(items)}):\n\n| row | topic | base | adapter | ratio | text |\n|---|---|---|---|---|---|")
    for it in sorted(items, key=lambda x: -x["ratio"])[:a.top]:
        print(f"| {it['row']} | {it['topic']} | {it['base_ppl']:.2f} | {it['adapter_ppl']:.2f} | {it['ratio']:.2f} | "
              f"{rows[it['row']]['text'][:70]}… |")
    if a.out:
        json.dump({"model": a.model, "adapter": a.adapter, "rows": a.rows, "all": total, "by_topic": by_topic,
                   "texts": items}, open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
