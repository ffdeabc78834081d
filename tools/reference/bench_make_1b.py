#!/usr/bin/env python3
"""bench_make_1b.py OUT_DIR TOKENIZER_DIR — a random-weight model with
Llama-3.2-1B's shapes (16 layers, d 2048, heads 32/8, head_dim 64, MLP 8192,
vocabulary 128256, tied embeddings), saved as an HF directory in bfloat16
(model.safetensors + config.json) for bench/elm_step/run --model.

The tokenizer files are copied from TOKENIZER_DIR (the benchmark uses
SmolLM2's, so both models see the same token counts; its ids are all below
128256). Weights: N(0, 0.02²) from a fixed seed, norms 1: timing is what
matters, not what the model says. Runs on the CPU in ~1 minute, ~2.5 GB.
"""
import json
import os
import shutil
import sys
import time

import torch
from safetensors.torch import save_file

E, F, L, H, KV, D, V = 2048, 8192, 16, 32, 8, 64, 128256


def main():
    out, tok = sys.argv[1], sys.argv[2]
    if os.path.exists(os.path.join(out, "model.safetensors")):
        print(f"{out}: already made")
        return
    os.makedirs(out, exist_ok=True)
    t0 = time.time()
    g = torch.Generator().manual_seed(0)

    def w(*shape):
        return (torch.randn(*shape, generator=g) * 0.02).to(torch.bfloat16)

    t = {"model.embed_tokens.weight": w(V, E), "model.norm.weight": torch.ones(E, dtype=torch.bfloat16)}
    for i in range(L):
        p = f"model.layers.{i}."
        t[p + "self_attn.q_proj.weight"] = w(H * D, E)
        t[p + "self_attn.k_proj.weight"] = w(KV * D, E)
        t[p + "self_attn.v_proj.weight"] = w(KV * D, E)
        t[p + "self_attn.o_proj.weight"] = w(E, H * D)
        t[p + "mlp.gate_proj.weight"] = w(F, E)
        t[p + "mlp.up_proj.weight"] = w(F, E)
        t[p + "mlp.down_proj.weight"] = w(E, F)
        t[p + "input_layernorm.weight"] = torch.ones(E, dtype=torch.bfloat16)
        t[p + "post_attention_layernorm.weight"] = torch.ones(E, dtype=torch.bfloat16)
    tmp = os.path.join(out, "model.safetensors.tmp")
    save_file(t, tmp, metadata={"format": "pt"})
    cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": E,
           "intermediate_size": F, "num_hidden_layers": L, "num_attention_heads": H,
           "num_key_value_heads": KV, "head_dim": D, "vocab_size": V, "rms_norm_eps": 1e-5,
           "rope_theta": 500000.0, "max_position_embeddings": 8192, "tie_word_embeddings": True,
           "hidden_act": "silu", "attention_bias": False, "mlp_bias": False,
           "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "bfloat16"}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    for n in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if os.path.exists(os.path.join(tok, n)):
            shutil.copy(os.path.join(tok, n), out)
    os.replace(tmp, os.path.join(out, "model.safetensors"))
    n = sum(x.numel() for x in t.values())
    print(f"{out}: random 1B-shape model, {n / 1e9:.2f}B parameters, made in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
