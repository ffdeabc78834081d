#!/usr/bin/env bash
# Model-written forget texts for a knowledge concept: the base model answers every prompt of
# data/knowledge/CONCEPT/forget-prompts.txt (chat, temperature 0.8, seed 1000, 80 new tokens,
# bfloat16, as scripts/demo's write_set does), and every answer of at least 50 characters that
# does not name the subject and the answer of a test fact (make_knowledge.states_fact, the
# check applied to forget.jsonl) goes to data/knowledge/CONCEPT/forget-model.jsonl as {"text"}.
#
# Usage: tools/data/model_texts.sh CONCEPT [ELM_BINARY]
#   ELM_BINARY defaults to $ELM, then build/tools/elm/elm. The model is scripts/fetch-model's.
set -euo pipefail
concept="${1:?usage: tools/data/model_texts.sh CONCEPT [ELM_BINARY]}"
elm="${2:-${ELM:-build/tools/elm/elm}}"
dir="data/knowledge/$concept"
py=/usr/bin/python3
[ -x "$elm" ] || { echo "model_texts: no elm binary at $elm (build it, or pass its path)" >&2; exit 1; }
[ -s "$dir/forget-prompts.txt" ] || { echo "model_texts: $dir/forget-prompts.txt missing (run tools/data/make_knowledge.py)" >&2; exit 1; }
[ -s "$dir/facts.json" ] || { echo "model_texts: $dir/facts.json missing (run tools/data/make_knowledge.py)" >&2; exit 1; }
model="$(scripts/fetch-model)"
raw="$(mktemp)"
trap 'rm -f "$raw"' EXIT
mapfile -t prompts < <(grep -v '^[[:space:]]*$' "$dir/forget-prompts.txt")
"$elm" generate --model "$model" --runtime-dtype bfloat16 --chat --temperature 0.8 --seed 1000 \
    --max-new-tokens 80 "${prompts[@]}" >"$raw"
"$py" - "$raw" "$dir" <<'PY'
import json, os, re, sys
sys.path.insert(0, "tools/data")
import make_knowledge as MK
raw, d = sys.argv[1:3]
parts = re.split(r"^=== \d+: .*$\n?", open(raw, encoding="utf-8").read(), flags=re.M)[1:]
tests = [f for f in json.load(open(os.path.join(d, "facts.json"), encoding="utf-8")) if f["split"] == "test"]
rows, short, dropped = [], 0, 0
for p in parts:
    t = " ".join(p.strip().split())
    if len(t) < 50:
        short += 1
    elif any(MK.states_fact(t, f) for f in tests):
        dropped += 1
    else:
        rows.append({"text": t})
if not rows:
    sys.exit(f"model_texts: no usable text among {len(parts)} answers")
out = os.path.join(d, "forget-model.jsonl")
with open(out + ".tmp", "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
os.replace(out + ".tmp", out)
print(f"{out}: {len(rows)} texts kept of {len(parts)} answers "
      f"({dropped} named a test fact, {short} shorter than 50 characters)")
PY
