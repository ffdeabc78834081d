#!/usr/bin/env python3
"""golden_tokenize.py — golden token ids for a tokenizer and a text corpus.

Makes: a JSONL file with one {"ids": [...]} object per corpus line, in order
(an empty line gives {"ids": []}, so line N of the output belongs to line N of
the corpus). Special tokens are not added.

Corpus format: UTF-8, one sample per line. A line that starts with a double
quote and parses as a JSON string is replaced by the decoded string, so a
sample can hold newlines, tabs or other escapes: "line one\\nline two".

Tokenizers:
  --tokenizer-json PATH   HF `tokenizers`: Tokenizer.from_file(PATH)
                          .encode(line, add_special_tokens=False).ids
  --gguf PATH             transformers AutoTokenizer.from_pretrained(dir,
                          gguf_file=name), tok(line, add_special_tokens=False).
                          Note: transformers 4.46 rebuilds a "gpt2" GGUF
                          vocabulary with GPT-2's pre-tokenizer, so e.g.
                          SmolLM2's Digits pre-tokenizer is not applied
                          (ids can still coincide: its vocabulary has only
                          single-digit tokens).

Run (from the repository root), e.g.:
  PY="${ELM_CACHE:-$HOME/.cache/libelm}/refvenv/bin/python"
  $PY tools/reference/golden_tokenize.py --corpus tests/fixtures/tokenizer/corpus.txt \\
      --tokenizer-json "${ELM_CACHE:-$HOME/.cache/libelm}/tokenizers/llama3/tokenizer.json" \\
      --out tests/fixtures/tokenizer/llama3.ids.jsonl
  $PY tools/reference/golden_tokenize.py --corpus tests/fixtures/tokenizer/corpus.txt \\
      --gguf "${ELM_CACHE:-$HOME/.cache/libelm}/models/SmolLM2-135M-Instruct.Q4_1.gguf" \\
      --out tests/fixtures/tokenizer/smollm2-gguf.ids.jsonl
(needs tools/reference/setup-venv, scripts/fetch-tokenizers, scripts/fetch-model)
"""
import argparse
import json
import os
import sys


def read_samples(path):
    samples = []
    with open(path, encoding="utf-8", newline="") as f:
        for raw in f.read().split("\n"):
            line = raw[:-1] if raw.endswith("\r") else raw
            if line.startswith('"'):
                try:
                    decoded = json.loads(line)
                    if isinstance(decoded, str):
                        line = decoded
                except json.JSONDecodeError:
                    pass
            samples.append(line)
    if samples and samples[-1] == "":
        samples.pop()  # the final newline does not start a sample
    return samples


def encoder_from_json(path):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(path)
    return lambda s: tok.encode(s, add_special_tokens=False).ids


def encoder_from_gguf(path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(os.path.dirname(os.path.abspath(path)), gguf_file=os.path.basename(path))
    return lambda s: tok(s, add_special_tokens=False).input_ids


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--out", required=True)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--tokenizer-json")
    g.add_argument("--gguf")
    a = ap.parse_args()

    encode = encoder_from_json(a.tokenizer_json) if a.tokenizer_json else encoder_from_gguf(a.gguf)
    samples = read_samples(a.corpus)
    tmp = a.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for s in samples:
            f.write(json.dumps({"ids": list(encode(s))}) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, a.out)
    print(f"{a.out}: {len(samples)} samples", file=sys.stderr)


if __name__ == "__main__":
    main()
