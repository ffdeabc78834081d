#!/usr/bin/env python3
"""bench_reference_step.py — the reference side of bench/elm_step/run.

Per micro-step the same work as the authors' erase.py (through
elm_reference.Reference, written from the method docs): three frozen
forwards (original, expert-prefixed, novice-prefixed text) for the erase
target in float64, one trained forward/backward each for the erase, retain
and consistency losses, batch 1, gradient accumulation optim.accum, PEFT
LoRA (rank/alpha/dropout/layers from the libelm schema defaults unless
given), torch.optim.AdamW.

  bench_reference_step.py MODEL_DIR DATA_DIR STEPS [--dtype float32|bfloat16] [--threads N] [--side NAME]
                          [key=value ...]

MODEL_DIR is an HF directory (config.json, safetensors, tokenizer.json);
DATA_DIR holds forget.jsonl, retain.jsonl, consistency.json (make_data.py).
At bfloat16 the model is loaded with from_pretrained(torch_dtype=bfloat16)
as erase.py does with its dtype flag; PEFT then makes the LoRA weights
bf16 too, and AdamW keeps bf16 state.
Prints one JSON line per optimizer step (the first is a warm-up) and a
summary with peak RSS (getrusage ru_maxrss) and load time.
"""
import json
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import elm_reference  # noqa: E402

DEFAULTS = {  # libelm schema defaults = the reference code's defaults
    "runtime.seed": "0", "data.min_chars": "50", "data.max_chars": "700",
    "lora.rank": "256", "lora.alpha": "16", "lora.dropout": "0.05",
    "lora.targets": "q,k,v,o,gate,up,down", "lora.layers": "4-7",
    "erase.objective": "elm", "erase.eta": "1000", "erase.eta_schedule": "ramp",
    "erase.tau": "1.2", "erase.top_k": "50", "erase.loss": "soft_ce", "erase.action": "erase",
    "erase.retain_loss": "hard", "erase.lambda_erase": "1", "erase.lambda_retain": "1",
    "erase.lambda_consistency": "1", "erase.template_choice": "random", "erase.mix": "0",
    "erase.max_tokens": "0", "optim.lr": "5e-5", "optim.weight_decay": "0.01",
    "optim.accum": "4", "optim.clip": "0", "optim.schedule": "constant", "optim.warmup": "0",
    "optim.steps": "0",
}


def main():
    args = sys.argv[1:]
    dtype = torch.float32
    if "--dtype" in args:
        i = args.index("--dtype")
        dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[args[i + 1]]
        del args[i:i + 2]
    threads = len(os.sched_getaffinity(0))
    if "--threads" in args:  # 0: the CPUs this process may use (libelm's runtime.threads=0)
        i = args.index("--threads")
        threads = int(args[i + 1]) or threads
        del args[i:i + 2]
    side = "reference"
    if "--side" in args:  # the name in the output (bench/elm_step/run: reference, reference-pypi)
        i = args.index("--side")
        side = args[i + 1]
        del args[i:i + 2]
    model_dir, data_dir, steps = args[0], args[1], int(args[2])
    cfg = dict(DEFAULTS)
    for kv in args[3:]:
        k, v = kv.split("=", 1)
        cfg[k] = v
    torch.set_num_threads(threads)
    orig = elm_reference.AutoModelForCausalLM.from_pretrained

    class Loader:  # Reference loads fp32; give it the benchmark's dtype
        @staticmethod
        def from_pretrained(d, **kw):
            kw["torch_dtype"] = dtype
            return orig(d, **kw)

    elm_reference.AutoModelForCausalLM = Loader
    data = {"forget": {0: "forget.jsonl"}, "retain": {0: "retain.jsonl"},
            "consistency": {0: "consistency.json"}, "concept": {0: "the island country of Orvanne"}}
    t0 = time.monotonic()
    ref = elm_reference.Reference(model_dir, cfg, data, data_dir, "concat", init_b_std=0.0)
    t_load = time.monotonic() - t0
    rss_load = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ref.model.train()  # LoRA dropout on, as in training
    for i in range(steps + 1):
        m0 = len(ref.trace["micro"])
        a, ca = time.monotonic(), time.process_time()
        ref.step()
        b, cb = time.monotonic() - a, time.process_time() - ca
        micro = ref.trace["micro"][m0:]
        print(json.dumps({"kind": "step", "side": side, "warmup": i == 0, "step": i + 1,
                          "seconds": round(b, 4), "cpu_seconds": round(cb, 4), "tokens": sum(r["tokens"] for r in micro),
                          "trained_tokens": sum(r["n_x"] + r.get("n_r", 0) + r.get("n_c", 0) for r in micro),
                          "loss": sum(r["total"] for r in micro) / len(micro)}), flush=True)
    import peft
    import transformers
    print(json.dumps({"kind": "summary", "side": side, "dtype": str(dtype).replace("torch.", ""),
                      "torch": torch.__version__, "transformers": transformers.__version__,
                      "peft": peft.__version__,
                      "load_seconds": round(t_load, 3), "rss_after_load_kb": rss_load,
                      "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}), flush=True)


if __name__ == "__main__":
    main()
