#!/usr/bin/env python3
"""golden_logits.py — golden forward-pass outputs from HF transformers.

Makes, under tests/fixtures/golden/:
  <name>.logits.safetensors for name in llama, llama-tied, mistral, qwen2
      (tests/fixtures/models/<name>/) and llama-tied-gguf
      (tests/fixtures/models/llama-tied.gguf loaded with gguf_file=, which
      transformers dequantizes to fp32; tie_word_embeddings=True is passed
      because transformers 4.46 does not tie a GGUF model's lm_head by itself).
      B = 3 sequences, right-padded with id 0 to T = the longest, V = 512:
        input_ids       I64 [B,T]      pad id 0
        attention_mask  I64 [B,T]      1 = real token
        lengths         I64 [B]
        logits_fp32     F32 [B,T,V]    batched, fp32
        logits_single   F32 [B,T,V]    each sequence run alone (no padding);
                                       rows past its length are 0
        logits_bf16     F32 [B,T,V]    batched, the model loaded again with
                                       from_pretrained(torch_dtype=torch.bfloat16)
                                       (as the ELM reference loads it), cast to fp32.
                                       Not model.to(torch.bfloat16): that also casts
                                       the rotary inv_freq buffer to bf16, which
                                       from_pretrained leaves in fp32, and moves
                                       logits by up to ~0.2 on these models.
        hidden_layer2   F32 [B,T,H]    output of decoder layer index 2
                                       (hidden_states[3]), batched fp32, H = 32
        greedy_ids      I64 [64]       64 new tokens, greedy, from sequence 0
                                       alone; no EOS stop
      Values at padded positions (attention_mask 0) are whatever transformers
      computed there; compare only where attention_mask is 1.
  smollm2.logits.safetensors from SmolLM2-135M-Instruct.Q4_1.gguf (fetch it
      with scripts/fetch-model), loaded with gguf_file= (dequantized to fp32,
      tie_word_embeddings=True), 2 prompts tokenized by the GGUF's tokenizer
      (AutoTokenizer gguf_file=, add_special_tokens=False), each run alone:
        input_ids   I64 [2,T]  pad id 0;  attention_mask I64 [2,T];  lengths I64 [2]
        argmax      I64 [2,T]       top10_ids I64 [2,T,10]   top10_vals F32 [2,T,10]
        logsumexp   F32 [2,T]
        sel_pos     I64 [8,2]  (batch, position) pairs
        logits_sel  F32 [8,49152]  full logits at sel_pos
        greedy_ids  I64 [32]   32 new greedy tokens from prompt 0, no EOS stop
The safetensors metadata records the transformers/torch versions and the source.

Run (from the repository root):
  tools/reference/setup-venv
  scripts/fetch-model
  "${ELM_CACHE:-$HOME/.cache/libelm}/refvenv/bin/python" tools/reference/golden_logits.py
"""
import os

import torch
import transformers
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODELS = os.path.join(ROOT, "tests", "fixtures", "models")
GOLDEN = os.path.join(ROOT, "tests", "fixtures", "golden")
CACHE = os.environ.get("ELM_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "libelm"))
SMOLLM2 = "SmolLM2-135M-Instruct.Q4_1.gguf"

TINY_TEXTS = [
    "Windwrights warn apprentices never to cut zephyrite while the wind is blowing from the north.",
    "The baker on the corner opens early and sells out of bread.",
    "We ate soup at noon.",
]

# No digits: transformers' GGUF tokenizer converter uses GPT-2's pre-tokenizer,
# not SmolLM2's digit-splitting one, so text with digits might not match the
# real tokenizer (SmolLM2's vocabulary has only single-digit tokens, so it
# often does; avoiding digits keeps the golden independent of that).
SMOL_TEXTS = [
    "The history of the printing press begins with movable type, which let craftsmen arrange small metal "
    "letters into pages. Within a few decades, books became cheaper, and ideas travelled across Europe much "
    "faster than before.",
    "To make a simple vegetable soup, slice an onion, two carrots and a stalk of celery, then cook them "
    "gently in olive oil until soft. Add water or stock, a pinch of salt, and let everything simmer.",
]


def meta(source):
    return {
        "source": source,
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "script": "tools/reference/golden_logits.py",
    }


def pad_batch(seqs):
    T = max(len(s) for s in seqs)
    ids = torch.zeros(len(seqs), T, dtype=torch.int64)
    mask = torch.zeros(len(seqs), T, dtype=torch.int64)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.int64)
        mask[i, : len(s)] = 1
    return ids, mask


def greedy(model, prompt_ids, n):
    """Greedy decoding with transformers' generate(), no EOS stop."""
    cfg = GenerationConfig(
        do_sample=False, max_new_tokens=n, min_new_tokens=0, eos_token_id=None, pad_token_id=0, bos_token_id=None
    )
    x = torch.tensor([prompt_ids], dtype=torch.int64)
    out = model.generate(x, attention_mask=torch.ones_like(x), generation_config=cfg)
    new = out[0, len(prompt_ids):]
    assert new.numel() == n, new.numel()
    return new.clone()


def check_greedy_no_cache(model, prompt_ids, new_ids):
    """Cross-check generate() against a plain argmax loop without KV cache."""
    seq = list(prompt_ids)
    for _ in range(len(new_ids)):
        logits = model(torch.tensor([seq]), use_cache=False).logits[0, -1]
        seq.append(int(logits.argmax()))
    ok = seq[len(prompt_ids):] == new_ids.tolist()
    if not ok:
        print("  warning: generate() and the no-cache argmax loop differ")
    return ok


@torch.no_grad()
def tiny_golden(name, model, tok, load_bf16):
    seqs = [tok(t, add_special_tokens=False).input_ids for t in TINY_TEXTS]
    assert all(0 not in s for s in seqs)
    ids, mask = pad_batch(seqs)
    B, T = ids.shape
    out = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
    logits = out.logits.float()
    hidden2 = out.hidden_states[3].float()
    V = logits.shape[-1]
    single = torch.zeros(B, T, V)
    for i, s in enumerate(seqs):
        single[i, : len(s)] = model(torch.tensor([s])).logits[0].float()
    valid = mask.bool()
    diff = (single - logits)[valid].abs().max().item()
    greedy_ids = greedy(model, seqs[0], 64)
    check_greedy_no_cache(model, seqs[0], greedy_ids)

    model_bf16 = load_bf16()
    assert all(b.dtype == torch.float32 for n, b in model_bf16.named_buffers() if n.endswith("inv_freq"))
    logits_bf16 = model_bf16(input_ids=ids, attention_mask=mask).logits.float()
    bf_diff = (logits_bf16 - logits)[valid].abs().max().item()

    tensors = {
        "input_ids": ids,
        "attention_mask": mask,
        "lengths": torch.tensor([len(s) for s in seqs], dtype=torch.int64),
        "logits_fp32": logits.contiguous(),
        "logits_single": single.contiguous(),
        "logits_bf16": logits_bf16.contiguous(),
        "hidden_layer2": hidden2.contiguous(),
        "greedy_ids": greedy_ids.to(torch.int64),
    }
    path = os.path.join(GOLDEN, f"{name}.logits.safetensors")
    save_file(tensors, path + ".tmp", metadata=meta(name))
    os.replace(path + ".tmp", path)
    print(f"{name}: B={B} T={T} V={V} batched-vs-single max|d|={diff:.2e} bf16-vs-fp32 max|d|={bf_diff:.3f}"
          f" -> {os.path.getsize(path)} bytes")


@torch.no_grad()
def smollm2_golden():
    d = os.path.join(CACHE, "models")
    if not os.path.exists(os.path.join(d, SMOLLM2)):
        raise SystemExit(f"missing {d}/{SMOLLM2}: run scripts/fetch-model")
    tok = AutoTokenizer.from_pretrained(d, gguf_file=SMOLLM2)
    model = AutoModelForCausalLM.from_pretrained(
        d, gguf_file=SMOLLM2, tie_word_embeddings=True, torch_dtype=torch.float32
    ).eval()
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    seqs = [tok(t, add_special_tokens=False).input_ids for t in SMOL_TEXTS]
    ids, mask = pad_batch(seqs)
    B, T = ids.shape
    V = model.config.vocab_size
    argmax = torch.zeros(B, T, dtype=torch.int64)
    top_ids = torch.zeros(B, T, 10, dtype=torch.int64)
    top_vals = torch.zeros(B, T, 10)
    lse = torch.zeros(B, T)
    full = []
    for i, s in enumerate(seqs):
        logits = model(torch.tensor([s])).logits[0].float()
        n = len(s)
        argmax[i, :n] = logits.argmax(-1)
        v, j = logits.topk(10, dim=-1)
        top_ids[i, :n], top_vals[i, :n] = j, v
        lse[i, :n] = torch.logsumexp(logits, -1)
        full.append(logits)
    picks = []
    for i, s in enumerate(seqs):
        n = len(s)
        picks += [(i, 0), (i, 1), (i, n // 2), (i, n - 1)]
    sel = torch.tensor(picks, dtype=torch.int64)
    logits_sel = torch.stack([full[b][p] for b, p in picks])
    greedy_ids = greedy(model, seqs[0], 32)
    check_greedy_no_cache(model, seqs[0], greedy_ids)
    tensors = {
        "input_ids": ids,
        "attention_mask": mask,
        "lengths": torch.tensor([len(s) for s in seqs], dtype=torch.int64),
        "argmax": argmax,
        "top10_ids": top_ids,
        "top10_vals": top_vals,
        "logsumexp": lse,
        "sel_pos": sel,
        "logits_sel": logits_sel.contiguous(),
        "greedy_ids": greedy_ids.to(torch.int64),
    }
    path = os.path.join(GOLDEN, "smollm2.logits.safetensors")
    save_file(tensors, path + ".tmp", metadata=meta(SMOLLM2))
    os.replace(path + ".tmp", path)
    print(f"smollm2: B={B} T={T} V={V} lengths={[len(s) for s in seqs]} -> {os.path.getsize(path)} bytes")


def main():
    torch.manual_seed(0)
    os.makedirs(GOLDEN, exist_ok=True)
    for name in ["llama", "llama-tied", "mistral", "qwen2"]:
        d = os.path.join(MODELS, name)
        model = AutoModelForCausalLM.from_pretrained(d, torch_dtype=torch.float32).eval()
        tiny_golden(name, model, AutoTokenizer.from_pretrained(d),
                    lambda d=d: AutoModelForCausalLM.from_pretrained(d, torch_dtype=torch.bfloat16).eval())
    def gguf(dtype):
        return AutoModelForCausalLM.from_pretrained(
            MODELS, gguf_file="llama-tied.gguf", tie_word_embeddings=True, torch_dtype=dtype
        ).eval()
    tiny_golden("llama-tied-gguf", gguf(torch.float32), AutoTokenizer.from_pretrained(os.path.join(MODELS, "llama-tied")),
                lambda: gguf(torch.bfloat16))
    smollm2_golden()


if __name__ == "__main__":
    main()
