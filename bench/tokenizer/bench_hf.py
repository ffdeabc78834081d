#!/usr/bin/env python3
"""bench_hf.py — HF tokenizers encoding throughput on the same corpus, one
thread (RAYON_NUM_THREADS=1, encode_batch: the Rust core without a Python
call per line). Usage: bench_hf.py TOKENIZER CORPUS.jsonl [REPS]
TOKENIZER: a tokenizer.json, or a .gguf (rebuilt as make_golden.py does).
Prints "<MB/s> <bytes> <ids>"."""
import importlib.util
import json
import os
import sys
import time

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ["TOKENIZERS_PARALLELISM"] = "false"


def main():
    path, corpus = sys.argv[1], sys.argv[2]
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    if path.endswith(".gguf"):
        here = os.path.dirname(os.path.abspath(__file__))
        spec = importlib.util.spec_from_file_location(
            "make_golden", os.path.join(here, "..", "..", "tests", "fixtures", "tokenizer", "make_golden.py"))
        mg = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mg)
        tok, _ = mg.gguf_tokenizer(path)
    else:
        from tokenizers import Tokenizer
        tok = Tokenizer.from_file(path)
    texts = [json.loads(l)["text"] for l in open(corpus, encoding="utf-8")]
    nbytes = sum(len(t.encode("utf-8")) for t in texts)
    best, nids = 1e30, 0
    for _ in range(reps):
        t0 = time.perf_counter()
        enc = tok.encode_batch(texts, add_special_tokens=False)
        best = min(best, time.perf_counter() - t0)
        nids = sum(len(e.ids) for e in enc)
    print(f"{nbytes / best / 1e6:.2f} {nbytes} {nids}")


if __name__ == "__main__":
    main()
