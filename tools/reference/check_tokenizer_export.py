#!/usr/bin/env python3
"""check_tokenizer_export.py — do HF tokenizers and transformers read the tokenizer files
libelm writes into a merged model saved from a GGUF base, and tokenize as the golden ids say?

  M=$(scripts/fetch-model); FX=tests/fixtures
  build/tools/elm/elm erase --model $M --forget $FX/erase/forget0.jsonl --retain $FX/erase/retain.jsonl \
      --concept "hobbits" --steps 1 --lora-rank 4 --out /tmp/tok-adapter --merged /tmp/tok-merged
  "${ELM_CACHE:-$HOME/.cache/libelm}/refvenv-pypi/bin/python" tools/reference/check_tokenizer_export.py \
      --dir /tmp/tok-merged --golden $FX/tokenizer/smollm2-gguf.ids.jsonl.gz

Checks, on every line of tests/fixtures/tokenizer/corpus.jsonl: tokenizers.Tokenizer.from_file
(DIR/tokenizer.json).encode(text, add_special_tokens=False).ids equals the golden ids (made by
HF tokenizers from the GGUF vocabulary, make_golden.py), and decode(ids) equals the original
tokenizer's decode; transformers' AutoTokenizer loads DIR (PreTrainedTokenizerFast, the special
tokens of special_tokens_map.json) and its chat template renders as the golden chat fixture.
"""
import argparse
import gzip
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True, help="a folder with libelm's tokenizer.json (a merged save)")
    ap.add_argument("--golden", required=True, help="tests/fixtures/tokenizer/<name>.ids.jsonl.gz")
    ap.add_argument("--chat-golden", default=os.path.join(ROOT, "tests/fixtures/tokenizer/chat.golden.json"))
    ap.add_argument("--chat-name", default="smollm2-gguf")
    a = ap.parse_args()

    import tokenizers
    import transformers
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    corpus = [json.loads(l)["text"] for l in open(os.path.join(ROOT, "tests/fixtures/tokenizer/corpus.jsonl"),
                                                   encoding="utf-8") if l.strip()]
    gold = [json.loads(l)["ids"] for l in gzip.open(a.golden, "rt", encoding="utf-8") if l.strip()]
    if len(gold) != len(corpus):
        raise SystemExit(f"{a.golden}: {len(gold)} lines, corpus {len(corpus)}")
    tok = Tokenizer.from_file(os.path.join(a.dir, "tokenizer.json"))
    bad = 0
    for i, (text, ids) in enumerate(zip(corpus, gold)):
        got = tok.encode(text, add_special_tokens=False).ids
        if got != ids:
            bad += 1
            if bad <= 3:
                print(f"line {i + 1} differs: {text[:60]!r}\n  got  {got[:20]}\n  want {ids[:20]}", file=sys.stderr)
    print(f"tokenizers {tokenizers.__version__}: {len(corpus) - bad}/{len(corpus)} corpus lines equal to the golden ids")

    ht = AutoTokenizer.from_pretrained(a.dir)
    kind = type(ht).__name__
    chat_ok = True
    chats = json.load(open(a.chat_golden, encoding="utf-8"))
    conv = chats["conversations"]
    want = chats["outputs"][a.chat_name]  # per conversation: [without, with the generation prompt]
    n = 0
    for c, pair in zip(conv, want):
        for g, w in zip((False, True), pair):
            if w is None:
                continue
            n += 1
            got = ht.apply_chat_template(c, tokenize=False, add_generation_prompt=g)
            if got != w:
                chat_ok = False
                print(f"chat differs:\n  got  {got[:120]!r}\n  want {w[:120]!r}", file=sys.stderr)
    chat_ok = chat_ok and n > 0
    print(f"transformers {transformers.__version__}: AutoTokenizer -> {kind}, eos {ht.eos_token!r}, "
          f"{n} chat renderings {'equal' if chat_ok else 'DIFFER'}")
    ok = bad == 0 and chat_ok and getattr(ht, "is_fast", False)
    print("ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
