#!/usr/bin/env python3
"""make_tiny_models.py — tiny random-weight Llama-family models for libelm's tests.

Makes, under tests/fixtures/models/:
  llama/       LlamaForCausalLM, GQA (4 heads, 2 KV heads), untied lm_head,
               rope_scaling {rope_type: llama3}
  llama-tied/  LlamaForCausalLM with tied embeddings (SmolLM2's layout)
  mistral/     MistralForCausalLM, untied
  qwen2/       Qwen2ForCausalLM, q/k/v biases, tied embeddings
  llama-tied.gguf  the llama-tied weights written as GGUF v3 with llama.cpp
               names, q/k rows permuted as llama.cpp's converter does, all
               tensors F32 except blk.0.ffn_down.weight in Q8_0, and the
               tokenizer under tokenizer.ggml.* (model "gpt2").
Each HF directory holds config.json, generation_config.json,
model.safetensors (fp32), tokenizer.json, tokenizer_config.json (with a
ChatML chat_template) and special_tokens_map.json.

Shapes: hidden 32, 8 layers, 4 attention heads (head_dim 8), 2 KV heads,
intermediate 64, vocab 512, max positions 512. (hidden 64/intermediate 128
would make each model ~1.4 MB; 32/64 keeps all five files near 2 MB.)
Weights are drawn from a seeded normal (std 0.2), RMSNorm weights around 1
and biases non-zero, so that a missing norm weight, bias or rope detail shows
up in the logits.

The tokenizer is a byte-level BPE (GPT-2/SmolLM2 style: ByteLevel
pre-tokenizer without prefix space, ByteLevel decoder) with 512 tokens,
trained with HF `tokenizers` on tools/reference/corpus/*.txt; special tokens
<|endoftext|>=0, <|im_start|>=1, <|im_end|>=2.

Run (from the repository root):
  tools/reference/setup-venv
  "${ELM_CACHE:-$HOME/.cache/libelm}/refvenv/bin/python" tools/reference/make_tiny_models.py
"""
import glob
import json
import os
import shutil

import numpy as np
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    GenerationConfig,
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    PreTrainedTokenizerFast,
    Qwen2Config,
    Qwen2ForCausalLM,
)
import gguf

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "models")
CORPUS = sorted(glob.glob(os.path.join(ROOT, "tools", "reference", "corpus", "*.txt")))

VOCAB = 512
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

COMMON = dict(
    vocab_size=VOCAB,
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=8,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=512,
    hidden_act="silu",
    initializer_range=0.2,
    bos_token_id=1,
    eos_token_id=2,
    pad_token_id=0,
    torch_dtype="float32",
)

FAMILIES = {
    "llama": (
        LlamaForCausalLM,
        LlamaConfig(
            **COMMON,
            rms_norm_eps=1e-5,
            rope_theta=500000.0,
            # head_dim 8 -> wavelengths 6.3, 63, 628, 6283: with these numbers one
            # frequency is kept, one smoothed and two divided by the factor.
            rope_scaling={
                "rope_type": "llama3",
                "factor": 8.0,
                "low_freq_factor": 1.0,
                "high_freq_factor": 4.0,
                "original_max_position_embeddings": 128,
            },
            tie_word_embeddings=False,
        ),
        1001,
    ),
    "llama-tied": (
        LlamaForCausalLM,
        LlamaConfig(**COMMON, rms_norm_eps=1e-5, rope_theta=100000.0, tie_word_embeddings=True),
        1002,
    ),
    "mistral": (
        MistralForCausalLM,
        MistralConfig(
            **COMMON, rms_norm_eps=1e-6, rope_theta=10000.0, sliding_window=None, tie_word_embeddings=False
        ),
        1003,
    ),
    "qwen2": (
        Qwen2ForCausalLM,
        Qwen2Config(
            **COMMON,
            rms_norm_eps=1e-6,
            rope_theta=1000000.0,
            use_sliding_window=False,
            tie_word_embeddings=True,
        ),
        1004,
    ),
}


def read_corpus():
    lines = []
    for path in CORPUS:
        with open(path, encoding="utf-8") as f:
            lines.extend(line.strip() for line in f if line.strip())
    return lines


def train_tokenizer():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(read_corpus(), trainer=trainer)
    assert tok.get_vocab_size() == VOCAB, tok.get_vocab_size()
    for i, s in enumerate(SPECIALS):
        assert tok.token_to_id(s) == i, (s, tok.token_to_id(s))
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        unk_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>", "<|im_end|>"],
        chat_template=CHATML,
        clean_up_tokenization_spaces=False,
        model_max_length=512,
        add_prefix_space=False,
    )


def randomize(model, seed):
    """Seeded weights with enough spread that logits are far from uniform."""
    g = torch.Generator().manual_seed(seed)
    std = model.config.initializer_range
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith(".bias"):
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(std * torch.randn(p.shape, generator=g))
    if model.config.tie_word_embeddings:
        assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()


def save_family(name, cls, config, seed, tokenizer):
    torch.manual_seed(seed)
    model = cls(config).eval()
    randomize(model, seed)
    out = os.path.join(OUT, name)
    shutil.rmtree(out, ignore_errors=True)
    model.save_pretrained(out, safe_serialization=True)
    GenerationConfig(bos_token_id=1, eos_token_id=2, pad_token_id=0, do_sample=False).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return model


# llama.cpp stores q/k rows of each head as (half 0 interleaved with half 1);
# HF keeps the two rotary halves contiguous. Same permutation as llama.cpp's
# converter: view rows as [heads, 2, head_dim/2] and swap the last two axes.
def permute_rows(w, n_head):
    rows = w.shape[0]
    return w.reshape(n_head, 2, rows // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def write_gguf(model, tokenizer, path):
    cfg = model.config
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    w = gguf.GGUFWriter(path + ".tmp", "llama")
    w.add_name("libelm tiny llama-tied")
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_rope_freq_base(cfg.rope_theta)
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    w.add_vocab_size(cfg.vocab_size)
    w.add_rope_dimension_count(cfg.hidden_size // cfg.num_attention_heads)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)

    tj = json.loads(tokenizer.backend_tokenizer.to_str())
    vocab = tj["model"]["vocab"]
    tokens = [None] * len(vocab)
    for t, i in vocab.items():
        tokens[i] = t
    merges = [m if isinstance(m, str) else " ".join(m) for m in tj["model"]["merges"]]
    special_ids = {a["id"] for a in tj["added_tokens"] if a["special"]}
    types = [gguf.TokenType.CONTROL if i in special_ids else gguf.TokenType.NORMAL for i in range(len(tokens))]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_pad_token_id(0)
    w.add_add_bos_token(False)
    w.add_chat_template(CHATML)

    nh, nkv = cfg.num_attention_heads, cfg.num_key_value_heads
    names = [("model.embed_tokens.weight", "token_embd.weight")]
    for i in range(cfg.num_hidden_layers):
        p, b = f"model.layers.{i}.", f"blk.{i}."
        names += [
            (p + "input_layernorm.weight", b + "attn_norm.weight"),
            (p + "self_attn.q_proj.weight", b + "attn_q.weight"),
            (p + "self_attn.k_proj.weight", b + "attn_k.weight"),
            (p + "self_attn.v_proj.weight", b + "attn_v.weight"),
            (p + "self_attn.o_proj.weight", b + "attn_output.weight"),
            (p + "post_attention_layernorm.weight", b + "ffn_norm.weight"),
            (p + "mlp.gate_proj.weight", b + "ffn_gate.weight"),
            (p + "mlp.up_proj.weight", b + "ffn_up.weight"),
            (p + "mlp.down_proj.weight", b + "ffn_down.weight"),
        ]
    names.append(("model.norm.weight", "output_norm.weight"))
    for hf, gg in names:
        t = sd[hf]
        if gg.endswith("attn_q.weight"):
            t = permute_rows(t, nh)
        elif gg.endswith("attn_k.weight"):
            t = permute_rows(t, nkv)
        if gg == "blk.0.ffn_down.weight":
            q = gguf.quants.quantize(t, gguf.GGMLQuantizationType.Q8_0)
            w.add_tensor(gg, q, raw_shape=q.shape, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        else:
            w.add_tensor(gg, np.ascontiguousarray(t))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.replace(path + ".tmp", path)


def main():
    os.makedirs(OUT, exist_ok=True)
    tokenizer = train_tokenizer()
    for name, (cls, config, seed) in FAMILIES.items():
        model = save_family(name, cls, config, seed, tokenizer)
        if name == "llama-tied":
            write_gguf(model, tokenizer, os.path.join(OUT, "llama-tied.gguf"))
    for entry in sorted(os.listdir(OUT)):
        full = os.path.join(OUT, entry)
        size = sum(os.path.getsize(os.path.join(full, f)) for f in os.listdir(full)) if os.path.isdir(full) else os.path.getsize(full)
        print(f"{entry}: {size} bytes")


if __name__ == "__main__":
    main()
