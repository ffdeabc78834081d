#!/usr/bin/env python3
"""check_model_card.py — do the Hub's and PEFT's own readers accept the model card and
the directories libelm writes?

  ELM=build/tools/elm/elm FX=tests/fixtures
  $ELM erase --model $FX/models/llama-tied --forget $FX/erase/forget0.jsonl --retain $FX/erase/retain.jsonl \
      --concept "hobbits" --steps 2 --lora-rank 4 --base-model-id HuggingFaceTB/SmolLM2-135M-Instruct \
      --out /tmp/card-adapter --merged /tmp/card-merged
  "${ELM_CACHE:-$HOME/.cache/libelm}/refvenv-pypi/bin/python" tools/reference/check_model_card.py \
      --adapter /tmp/card-adapter --merged /tmp/card-merged --base $FX/models/llama-tied \
      --base-model-id HuggingFaceTB/SmolLM2-135M-Instruct

Checks: huggingface_hub.ModelCard.load reads both README.md files, with base_model, library_name
(peft / transformers) and the tags libelm writes; PeftModel.from_pretrained loads the adapter
directory (README.md and elm_state.* beside it) on the local base; AutoModelForCausalLM loads the
merged directory, and its logits equal base + adapter within 1e-4 (max abs).
"""
import argparse
import sys

import torch
from huggingface_hub import ModelCard
from peft import PeftModel
from transformers import AutoModelForCausalLM


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--adapter", required=True)
    ap.add_argument("--merged", required=True)
    ap.add_argument("--base", required=True, help="local base model directory")
    ap.add_argument("--base-model-id", required=True)
    a = ap.parse_args()
    bad = []

    for d, lib in ((a.adapter, "peft"), (a.merged, "transformers")):
        card = ModelCard.load(f"{d}/README.md")
        data = card.data.to_dict()
        print(f"{d}/README.md: {data}")
        if data.get("base_model") != a.base_model_id:
            bad.append(f"{d}: base_model {data.get('base_model')!r}")
        if data.get("library_name") != lib:
            bad.append(f"{d}: library_name {data.get('library_name')!r}, want {lib}")
        for t in ("libelm", "unlearning"):
            if t not in data.get("tags", []):
                bad.append(f"{d}: tag {t} missing")

    base = AutoModelForCausalLM.from_pretrained(a.base, torch_dtype=torch.float32)
    peft = PeftModel.from_pretrained(base, a.adapter).eval()
    if peft.peft_config["default"].base_model_name_or_path != a.base_model_id:
        bad.append(f"adapter_config.json: base_model_name_or_path {peft.peft_config['default'].base_model_name_or_path!r}")
    merged = AutoModelForCausalLM.from_pretrained(a.merged, torch_dtype=torch.float32).eval()
    ids = torch.arange(3, 40).unsqueeze(0) % base.config.vocab_size
    with torch.no_grad():
        d = (peft(ids).logits - merged(ids).logits).abs().max().item()
    print(f"merged vs base + adapter, max abs logits: {d:.3g} (tolerance 1e-4)")
    if not d <= 1e-4:
        bad.append(f"merged logits differ by {d}")
    for b in bad:
        print("FAIL:", b, file=sys.stderr)
    print("ok" if not bad else f"{len(bad)} failure(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
