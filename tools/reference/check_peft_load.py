#!/usr/bin/env python3
"""check_peft_load.py — does HF PEFT load an adapter saved by libelm and
give the logits libelm computes with it?

Make the inputs with the erase test suite (it saves its trained sessions and
libelm's logits when ELM_ERASE_EXPORT is set):
  ELM_ERASE_EXPORT=/tmp/elm-export build/tests/erase/test_erase
Then:
  "${ELM_CACHE:-$HOME/.cache/libelm}/refvenv/bin/python" tools/reference/check_peft_load.py /tmp/elm-export
For each <mode> in the folder: PeftModel.from_pretrained(base, <dir>/<mode>)
(elm_session_save's directory, which also holds elm_state.*), logits on the
saved input ids, compared with <mode>.libelm_logits.safetensors; fails above
1e-4 (max absolute difference). Base model: tests/fixtures/models/llama-tied
unless --model is given.
"""
import argparse
import os
import sys

import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("export")
    ap.add_argument("--model", default=os.path.join(ROOT, "tests", "fixtures", "models", "llama-tied"))
    ap.add_argument("--tol", type=float, default=1e-4)
    a = ap.parse_args()
    torch.set_num_threads(1)
    worst = 0.0
    modes = sorted(d for d in os.listdir(a.export) if os.path.isdir(os.path.join(a.export, d)))
    if not modes:
        sys.exit(f"{a.export}: no adapter directories")
    for mode in modes:
        base = AutoModelForCausalLM.from_pretrained(a.model, torch_dtype=torch.float32)
        model = PeftModel.from_pretrained(base, os.path.join(a.export, mode))
        model.eval()
        ref = load_file(os.path.join(a.export, f"{mode}.libelm_logits.safetensors"))
        with torch.no_grad():
            logits = model(ref["input_ids"][None]).logits[0]
        d = float((logits - ref["logits"]).abs().max())
        worst = max(worst, d)
        print(f"{mode}: PEFT loaded libelm's adapter; max |logits diff| {d:.3g}")
    if worst > a.tol:
        sys.exit(f"FAIL: {worst:.3g} > {a.tol}")
    print("OK")


if __name__ == "__main__":
    main()
