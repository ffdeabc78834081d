#!/usr/bin/env python3
"""summarize.py RAW.jsonl CONFIG.json — the table of bench/elm_step/run.

FLOPs counted per optimizer step (matmuls only; attention's QK^T/PV, about
4·T²·E per layer, left out — under 3% at T ≈ 150 on SmolLM2):
  forward, every token of every pass:   2·P_lin + 2·E·V   (P_lin: q,k,v,o,gate,up,down weights)
  backward, tokens of the trained passes: the input gradient of lm_head
  (2·E·V) and of the layers from the first LoRA layer up (2·P_lin·(L−4)/L);
  LoRA's own matmuls are left out (rank 256 on 4 layers: ~4% more).
The same count is used for both sides (they do the same passes).
"""
import json
import statistics
import sys


def main():
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    c = json.load(open(sys.argv[2]))
    E, F, L, V = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"], c["vocab_size"]
    H, KV = c["num_attention_heads"], c["num_key_value_heads"]
    D = c.get("head_dim", E // H)
    p_lin = L * (E * H * D * 2 + 2 * E * KV * D + 3 * E * F)
    first_lora = 4
    runs, cur = [], []
    gemm = {}
    for r in rows:
        if r["kind"] == "gemm":
            gemm.setdefault(r["dtype"], []).append(r)
        elif r["kind"] == "step":
            cur.append(r)
        elif r["kind"] == "summary":
            runs.append((r, cur))
            cur = []
    ref_trained = {}
    for s, steps in runs:
        if s["side"].startswith("reference"):
            for st in steps:
                if "trained_tokens" in st:
                    ref_trained[st["tokens"]] = st["trained_tokens"]
    res = {}
    for s, steps in runs:
        timed = [x for x in steps if not x["warmup"]] or steps  # a single step: the warm-up is all there is
        t = statistics.median(x["seconds"] for x in timed)
        cpu = statistics.median(x["cpu_seconds"] for x in timed) if all("cpu_seconds" in x for x in timed) else float("nan")
        tok = statistics.median(x["tokens"] for x in timed)
        tr = statistics.median(x.get("trained_tokens", ref_trained.get(x["tokens"], x["tokens"] / 3.5)) for x in timed)
        flops = tok * (2 * p_lin + 2 * E * V) + tr * (2 * E * V + 2 * p_lin * (L - first_lora) / L)
        res.setdefault((s["dtype"], s["side"]), []).append(
            dict(t=t, cpu=cpu, tok=tok, flops=flops, rss=s["peak_rss_kb"], load=s["load_seconds"], n=len(timed),
                 warm=not all(x["warmup"] for x in timed)))
    print("GEMM rate at the model's shapes (best of 10, GFLOP/s, this run):\n")
    print("| dtype | " + " | ".join(f"{g['T']}×{g['K']}·{g['K']}×{g['N']}" for g in gemm.get("bfloat16", [])) + " |")
    print("|---" * (1 + len(gemm.get("bfloat16", []))) + "|")
    for dt, gs in gemm.items():
        print(f"| {dt} | " + " | ".join(f"{g['gflops']:.0f}" for g in gs) + " |")
    peak = {dt: max(g["gflops"] for g in gs) for dt, gs in gemm.items()}
    print("\nPer optimizer step (4 micro-steps), median of timed steps:\n")
    print("| dtype | side | s/step | CPU s/step | tokens/s | GFLOP/s (vs best GEMM) | peak RSS MiB | load s | steps (warm?) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (dt, side), rs in sorted(res.items()):
        for r in rs:
            print(f"| {dt} | {side} | {r['t']:.1f} | {r['cpu']:.1f} | {r['tok'] / r['t']:.0f} | {r['flops'] / r['t'] / 1e9:.1f} "
                  f"({100 * r['flops'] / r['t'] / 1e9 / peak.get(dt, float('nan')):.0f}%) | {r['rss'] / 1024:.0f} | "
                  f"{r['load']:.1f} | {r['n']} ({'yes' if r['warm'] else 'no: first step'}) |")
    print("\nRatios (reference / libelm time, wall and CPU; libelm / reference peak RSS):\n")

    def med(side, key):
        return statistics.median(x[key] for x in side)

    refs = sorted({k[1] for k in res if k[1].startswith("reference")})
    stack = {s["side"]: f"torch {s['torch']}, transformers {s['transformers']}, peft {s['peft']}"
             for s, _ in runs if s["side"].startswith("reference") and "torch" in s}
    for ref in refs:
        tag = f"{ref} ({stack[ref]})" if ref in stack else ref
        for dt in sorted({k[0] for k in res}):
            b = res.get((dt, ref))
            for lib in ("libelm", "libelm+", "libelm-torch2"):
                a = res.get((dt, lib))
                if a and b:
                    print(f"- {dt}, {lib} vs {tag}: {med(b, 't') / med(a, 't'):.2f}× faster (CPU time "
                          f"{med(b, 'cpu') / med(a, 'cpu'):.2f}×); RSS ratio {a[0]['rss'] / b[0]['rss']:.2f}")
        b = res.get(("float32", ref))
        for lib in ("libelm", "libelm+", "libelm-torch2"):
            a = res.get(("bfloat16", lib))
            if a and b:
                print(f"- {lib} bf16 vs {tag} default (fp32): {med(b, 't') / med(a, 't'):.2f}× faster (CPU time "
                      f"{med(b, 'cpu') / med(a, 'cpu'):.2f}×); RSS ratio {a[0]['rss'] / b[0]['rss']:.2f}")
    la = [r["load1"] for r in rows if r["kind"] == "loadavg"]
    if la:
        print(f"\nLoad average (1 min) at start/end of the run: {la}")
    for r in rows:
        if r["kind"] == "env":
            print(f"Environment: OMP_WAIT_POLICY={r['OMP_WAIT_POLICY'] or '(unset: libgomp default)'}, "
                  f"GOMP_SPINCOUNT={r['GOMP_SPINCOUNT'] or '(unset)'}, {r['nproc']} CPUs")


if __name__ == "__main__":
    main()
