#!/usr/bin/env python3
"""Write the seed corpora of the fuzz targets into tests/fuzz/corpus/<target>/.

Seeds are copies of the project's own fixtures (valid files and the
malformed corpora of tests/fixtures/*/malformed), small files made here
(safetensors with every dtype, a metadata-only GGUF vocabulary, PEFT
adapters for tests/fixtures/models/llama-tied, a SentencePiece-style
tokenizer.json), and config lines from libelm/config/keys.def.

Targets that take a selector byte (dataset, consistency, tokenizer_encode)
get it prepended here; multi-file targets (tokenizer_json, peft) get their
files joined with the separator of fuzz_common.h. Regression inputs found by
fuzzing are added to the same directories by hand (named regress-*) and are
never touched by this script. Run: python3 tests/fuzz/make_corpus.py
"""
import json
import os
import re
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIX = os.path.join(ROOT, "tests", "fixtures")
OUT = os.path.join(HERE, "corpus")
SEP = b"\n--ELM-SPLIT--\n"
MAX_SEED = 64 * 1024  # keep seeds small: fuzzing speed and repository size


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read(*p):
    with open(os.path.join(*p), "rb") as f:
        return f.read()


def clean(target):
    d = os.path.join(OUT, target)
    if os.path.isdir(d):
        for n in os.listdir(d):
            if not n.startswith("regress-"):
                os.unlink(os.path.join(d, n))


# ---- safetensors -------------------------------------------------------------
ST_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
            "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1}


def safetensors(tensors, metadata=None, pad=True):
    """tensors: list of (name, dtype, shape, bytes)."""
    hdr = {}
    if metadata is not None:
        hdr["__metadata__"] = metadata
    off = 0
    data = b""
    for name, dt, shape, raw in sorted(tensors):
        hdr[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(raw)]}
        off += len(raw)
        data += raw
    h = json.dumps(hdr, separators=(",", ":")).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def seeds_safetensors():
    t = "safetensors"
    clean(t)
    for d in (os.path.join(FIX, "io", "malformed"),):
        for n in sorted(os.listdir(d)):
            if n.endswith(".safetensors"):
                put(t, n, read(d, n))
    tens = []
    for i, (dt, sz) in enumerate(sorted(ST_SIZES.items())):
        tens.append(("t%02d.%s" % (i, dt.lower()), dt, [2, 3] if i % 2 else [3], bytes(range(sz * (6 if i % 2 else 3)))))
    tens.append(("scalar", "F32", [], b"\0\0\x80\x3f"))
    tens.append(("empty", "F32", [0, 4], b""))
    put(t, "all_dtypes.safetensors", safetensors(tens, {"format": "pt", "note": "seed"}))
    put(t, "unpadded.safetensors", safetensors([("a", "F32", [1], b"\0\0\0\0")], pad=False))
    put(t, "index.json", json.dumps({"metadata": {"total_size": 16}, "weight_map": {"t00.bf16": "a.safetensors"}}))
    put(t, "index_missing_shard.json", json.dumps({"weight_map": {"x": "missing.safetensors"}}))
    put(t, "index_traversal.json", json.dumps({"weight_map": {"x": "../a.safetensors", "y": "/etc/passwd"}}))
    put(t, "index_not_in_shard.json", json.dumps({"weight_map": {"nope": "a.safetensors"}}))


# ---- GGUF -------------------------------------------------------------------
def gguf_str(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def gguf_kv_skip(buf, off, vtype):
    fixed = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
    if vtype in fixed:
        return off + fixed[vtype]
    if vtype == 8:
        (n,) = struct.unpack_from("<Q", buf, off)
        return off + 8 + n
    if vtype == 9:
        (et, n) = struct.unpack_from("<IQ", buf, off)
        off += 12
        for _ in range(n):
            off = gguf_kv_skip(buf, off, et)
        return off
    raise ValueError("value type %d" % vtype)


def gguf_metadata_only(buf, keep=lambda k: True):
    """The KV section of a GGUF v2/v3 file as a new file without tensors."""
    magic, ver, n_t, n_kv = struct.unpack_from("<4sIQQ", buf, 0)
    off = 24
    kvs = []
    for _ in range(n_kv):
        (kl,) = struct.unpack_from("<Q", buf, off)
        key = buf[off + 8: off + 8 + kl].decode()
        start = off
        off += 8 + kl
        (vt,) = struct.unpack_from("<I", buf, off)
        end = gguf_kv_skip(buf, off + 4, vt)
        if keep(key):
            kvs.append(buf[start:end])
        off = end
    return struct.pack("<4sIQQ", magic, ver, 0, len(kvs)) + b"".join(kvs)


def seeds_gguf():
    t = "gguf"
    clean(t)
    for d in (os.path.join(FIX, "io", "malformed"), os.path.join(FIX, "model", "malformed")):
        for n in sorted(os.listdir(d)):
            if n.endswith(".gguf"):
                put(t, ("model_" if "model" in d else "") + n, read(d, n))
    # one tensor per dequantisable type, from the golden block fixtures
    types = {"F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q5_0": 6, "Q5_1": 7, "Q8_0": 8, "Q4_K": 12, "Q5_K": 13,
             "Q6_K": 14, "BF16": 30}
    dq = os.path.join(FIX, "io", "dequant")
    infos, blobs, off = b"", b"", 0
    n = 0
    for name, ty in sorted(types.items()):
        p = os.path.join(dq, name + ".blocks")
        if not os.path.exists(p):
            continue
        raw = read(p)
        numel = len(read(dq, name + ".f32")) // 4
        infos += gguf_str("w." + name) + struct.pack("<I", 1) + struct.pack("<Q", numel) + struct.pack("<IQ", ty, off)
        pad = -len(raw) % 32
        blobs += raw + b"\0" * pad
        off += len(raw) + pad
        n += 1
    kv = gguf_str("general.architecture") + struct.pack("<I", 8) + gguf_str("llama")
    kv += gguf_str("a.arr") + struct.pack("<IIQ", 9, 5, 3) + struct.pack("<iii", 1, -2, 3)
    kv += gguf_str("a.strs") + struct.pack("<IIQ", 9, 8, 2) + gguf_str("x") + gguf_str("yz")
    kv += gguf_str("a.f64") + struct.pack("<Id", 12, 1.5)
    kv += gguf_str("a.bool") + struct.pack("<IB", 7, 1)
    head = struct.pack("<4sIQQ", b"GGUF", 3, n, 5) + kv + infos
    head += b"\0" * (-len(head) % 32)
    put(t, "dequant_types.gguf", head + blobs)


def seeds_tokenizer_gguf():
    t = "tokenizer_gguf"
    clean(t)
    full = read(FIX, "models", "llama-tied.gguf")
    meta = gguf_metadata_only(full, lambda k: k.startswith("tokenizer.") or k.startswith("general."))
    put(t, "llama_tied_vocab.gguf", meta)
    no_merges = gguf_metadata_only(full, lambda k: k != "tokenizer.ggml.merges")
    put(t, "llama_tied_no_merges.gguf", no_merges)
    # a SentencePiece-style ("llama") vocabulary: scores and token types
    pieces = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % i for i in range(256)] + ["\u2581", "\u2581t", "he", "\u2581the", "a", "b", "\u2581a"]
    types = [2, 3, 3] + [6] * 256 + [1] * 7
    kv = gguf_str("tokenizer.ggml.model") + struct.pack("<I", 8) + gguf_str("llama")
    kv += gguf_str("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, len(pieces)) + b"".join(gguf_str(p) for p in pieces)
    kv += gguf_str("tokenizer.ggml.scores") + struct.pack("<IIQ", 9, 6, len(pieces)) + b"".join(struct.pack("<f", -float(i)) for i in range(len(pieces)))
    kv += gguf_str("tokenizer.ggml.token_type") + struct.pack("<IIQ", 9, 5, len(types)) + b"".join(struct.pack("<i", x) for x in types)
    kv += gguf_str("tokenizer.ggml.bos_token_id") + struct.pack("<II", 4, 1)
    kv += gguf_str("tokenizer.ggml.eos_token_id") + struct.pack("<II", 4, 2)
    kv += gguf_str("tokenizer.ggml.unknown_token_id") + struct.pack("<II", 4, 0)
    put(t, "spm_vocab.gguf", struct.pack("<4sIQQ", b"GGUF", 3, 0, 7) + kv)


# ---- tokenizer.json ---------------------------------------------------------
def spm_tokenizer_json():
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for i in range(256):
        vocab["<0x%02X>" % i] = 3 + i
    extra = ["\u2581", "\u2581t", "h", "e", "he", "\u2581the", "t", "a", "\u2581a", "r", "y", "\u2581H", "H"]
    for p in extra:
        vocab.setdefault(p, len(vocab))
    return {
        "version": "1.0",
        "added_tokens": [
            {"id": 0, "content": "<unk>", "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True},
            {"id": 1, "content": "<s>", "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True},
            {"id": 2, "content": "</s>", "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True},
        ],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "\u2581"}, {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
        "pre_tokenizer": None,
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": vocab,
                  "merges": ["\u2581 t", "h e", "\u2581t he", "\u2581 a", "\u2581 H"]},
    }


def seeds_tokenizer_json():
    t = "tokenizer_json"
    clean(t)
    m = os.path.join(FIX, "models")
    tj = read(m, "llama-tied", "tokenizer.json")
    tc = read(m, "llama-tied", "tokenizer_config.json")
    put(t, "llama_tied.json", tj)
    put(t, "llama_tied_with_config.json", tj + SEP + tc)
    j = json.loads(tj)
    # a smaller byte-level vocabulary: the first 300 pieces and merges among them
    vocab = {k: v for k, v in j["model"]["vocab"].items() if v < 300}
    merges = []
    for mg in j["model"]["merges"]:
        a, b = (mg.split(" ", 1) if isinstance(mg, str) else mg)
        if a in vocab and b in vocab and a + b in vocab:
            merges.append(mg)
    j2 = dict(j)
    j2["model"] = dict(j["model"], vocab=vocab, merges=merges)
    j2["added_tokens"] = [a for a in j.get("added_tokens", []) if a["id"] < 300]
    put(t, "byte_level_small.json", json.dumps(j2, ensure_ascii=False))
    spm = spm_tokenizer_json()
    put(t, "spm_style.json", json.dumps(spm, ensure_ascii=False))
    cfg = {"tokenizer_class": "LlamaTokenizer", "add_bos_token": True, "add_eos_token": True, "bos_token": "<s>",
           "eos_token": {"content": "</s>"}, "unk_token": "<unk>",
           "chat_template": "{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}"}
    put(t, "spm_style_with_config.json", json.dumps(spm, ensure_ascii=False).encode() + SEP + json.dumps(cfg).encode())
    cfg2 = {"chat_template": [{"name": "default", "template": "<|im_start|>"}, {"name": "tool", "template": "x"}],
            "bos_token": None, "pad_token": "<|endoftext|>"}
    put(t, "config_template_list.json", tj + SEP + json.dumps(cfg2).encode())
    for name in ("null_model", "no_model", "not_object"):
        put(t, name + ".json", {"null_model": '{"model": null}', "no_model": "{}", "not_object": "[1,2]"}[name])


def seeds_tokenizer_encode():
    t = "tokenizer_encode"
    clean(t)
    texts = ["Hello world", "Harry Potter and the Philosopher's Stone.\n\n  Indented\ttab",
             "<|im_start|>user\nWho is Dumbledore?<|im_end|>\n<|im_start|>assistant\n",
             "caf\u00e9 e\u0301 \u00c5ngstr\u00f6m \u4f60\u597d \U0001F600 \u0627\u0644\u0639\u0631\u0628\u064a\u0629",
             "1234567890 3.14159 -42 0x1F", "   ", "a" * 300, "don't I'll we've THEY'RE"]
    corpus = os.path.join(FIX, "tokenizer", "corpus.jsonl")
    if os.path.exists(corpus):
        with open(corpus, encoding="utf-8") as f:
            lines = f.readlines()
            step = max(1, len(lines) // 24)
            for i, line in enumerate(lines[::step][:24]):
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                s = rec.get("text") if isinstance(rec, dict) else rec
                if isinstance(s, str):
                    texts.append(s[:2000])
    for i, s in enumerate(texts):
        put(t, "text%02d" % i, bytes([(i % 4) | (8 if i % 3 == 0 else 0)]) + s.encode())
    put(t, "invalid_utf8", b"\x02\xff\xfe\xc3\x28\xe2\x82\xed\xa0\x80\xf4\x90\x80\x80 ok")
    put(t, "ids", b"\x04" + struct.pack("<8i", 0, 1, 2, 3, 100, 511, 512, -1))


# ---- model config.json ------------------------------------------------------
def seeds_model_config():
    t = "model_config"
    clean(t)
    m = os.path.join(FIX, "models")
    for d in sorted(os.listdir(m)):
        p = os.path.join(m, d, "config.json")
        if os.path.isfile(p):
            put(t, d + ".json", read(p))
    mm = os.path.join(FIX, "model", "malformed")
    for d in sorted(os.listdir(mm)):
        p = os.path.join(mm, d, "config.json")
        if os.path.isfile(p):
            put(t, "malformed_" + d + ".json", read(p))
    base = json.loads(read(m, "llama-tied", "config.json"))
    variants = {
        "qwen2_sliding": dict(base, architectures=["Qwen2ForCausalLM"], use_sliding_window=True, sliding_window=16,
                              max_window_layers=1),
        "mistral_window": dict(base, architectures=["MistralForCausalLM"], sliding_window=4096),
        "rope_linear": dict(base, rope_scaling={"type": "linear", "factor": 2.0}),
        "eos_list": dict(base, eos_token_id=[1, 2], bos_token_id=None),
        "model_type_only": {k: v for k, v in dict(base, model_type="mistral").items() if k != "architectures"},
        "huge_sizes": dict(base, hidden_size=2147483647, num_attention_heads=1, head_dim=2147483646),
        "float_sizes": dict(base, hidden_size=32.0),
    }
    for k, v in variants.items():
        put(t, "variant_" + k + ".json", json.dumps(v))


# ---- datasets -----------------------------------------------------------------
EXT = {".jsonl": 0, ".json": 1, ".txt": 2}


def ext_sel(name):
    for e, v in EXT.items():
        if name.endswith(e):
            return v << 3
    return 3 << 3


def seeds_dataset():
    t = "dataset"
    clean(t)
    files = []
    for d in (os.path.join(FIX, "data"), os.path.join(FIX, "data", "malformed"), os.path.join(FIX, "erase")):
        for n in sorted(os.listdir(d)):
            p = os.path.join(d, n)
            if os.path.isfile(p) and n != "MANIFEST.tsv" and os.path.getsize(p) <= MAX_SEED:
                files.append((("bad_" if "malformed" in d else "") + n, read(p)))
    for n, data in files:
        put(t, n, bytes([ext_sel(n)]) + data)  # auto format, min 0/max 0
    # explicit formats with filters on a few files
    by = dict(files)
    for fmt, n in ((1, "text.jsonl"), (2, "lines.txt"), (3, "paragraphs.txt"), (4, "list.json"),
                   (5, "consistency.json"), (6, "questions.json"), (6, "questions.jsonl"), (4, "objects.json")):
        put(t, "fmt%d_%s" % (fmt, n), bytes([fmt | ext_sel(n) | 0x40]) + by[n])
    put(t, "field_content.jsonl", bytes([0x10]) + b'{"content": "caf\xc3\xa9 au lait"}\n{"content": "x"}\n')


def seeds_consistency():
    t = "consistency"
    clean(t)
    srcs = [os.path.join(FIX, "data", "consistency.json"), os.path.join(FIX, "erase", "consistency.json"),
            os.path.join(FIX, "data", "pairs.jsonl")]
    mal = os.path.join(FIX, "data", "malformed")
    srcs += [os.path.join(mal, n) for n in sorted(os.listdir(mal)) if n.startswith(("consistency", "pairs"))]
    for p in srcs:
        n = os.path.basename(p)
        jl = 1 if n.endswith(".jsonl") else 0
        prefix = "bad_" if "malformed" in p else os.path.basename(os.path.dirname(p)) + "_"
        put(t, prefix + n, bytes([jl]) + read(p))
        put(t, "auto_" + prefix + n, bytes([jl | 2]) + read(p))
    put(t, "groups.json", b"\0" + json.dumps({"0": [{"prompt": "a", "consistence_prompt": "b"}],
                                              "3": [{"prompt": "c\u00e9", "consistence_prompt": ""}]}).encode())
    put(t, "groups.jsonl", b"\x01" + b'{"prompt": "p", "consistence_prompt": "c", "group": 2}\n'
        b'{"prompt": "q", "continuation": "d"}\n')


def seeds_mcq():
    t = "mcq"
    clean(t)
    d = os.path.join(FIX, "data")
    for n in ("questions.json", "questions.jsonl"):
        put(t, n, read(d, n))
    mal = os.path.join(d, "malformed")
    for n in sorted(os.listdir(mal)):
        if n.startswith("mcq"):
            put(t, "bad_" + n, read(mal, n))
    hp = "/work/shared/data/hp-questions.dev.json"
    if os.path.exists(hp):
        q = json.loads(read(hp))
        if isinstance(q, list):
            put(t, "hp_dev_head.json", json.dumps(q[:4], ensure_ascii=False))
    put(t, "answers.jsonl", '{"question": "q1", "choices": ["a", "b"], "answer": "B"}\n'
        '{"question": "q2", "choices": ["x", "y", "z"], "answer": "y"}\n'
        '{"question": "q3", "choices": ["x", "y"], "answer": 1}\n')


# ---- PEFT adapters --------------------------------------------------------------
def seeds_peft():
    t = "peft"
    clean(t)
    # llama-tied: hidden 32, heads 4 x head_dim 8, 2 KV heads, intermediate 64, 8 layers
    shapes = {"q_proj": (32, 32), "k_proj": (16, 32), "v_proj": (16, 32), "o_proj": (32, 32),
              "gate_proj": (64, 32), "up_proj": (64, 32), "down_proj": (32, 64)}
    parent = {m: ("mlp" if m in ("gate_proj", "up_proj", "down_proj") else "self_attn") for m in shapes}

    def adapter(r, mods, layers, dtype="F32", cfg_extra=None, drop=None, bad_shape=None):
        cfg = {"peft_type": "LORA", "r": r, "lora_alpha": 2 * r, "lora_dropout": 0.0, "target_modules": mods,
               "bias": "none", "task_type": "CAUSAL_LM", "base_model_name_or_path": "llama-tied",
               "fan_in_fan_out": False, "use_rslora": False, "use_dora": False, "layers_to_transform": layers,
               "modules_to_save": None, "rank_pattern": {}, "alpha_pattern": {}}
        cfg.update(cfg_extra or {})
        sz = ST_SIZES[dtype]
        tens = []
        for L in (layers if isinstance(layers, list) else ([layers] if isinstance(layers, int) else range(8))):
            for m in mods:
                o, i = shapes[m]
                for ab, shp in (("A", [r, i]), ("B", [o, r])):
                    name = "base_model.model.model.layers.%d.%s.%s.lora_%s.weight" % (L, parent[m], m, ab)
                    if name == drop:
                        continue
                    if name == bad_shape:
                        shp = [shp[0] + 1, shp[1]]
                    tens.append((name, dtype, shp, bytes((k * 7) % 61 for k in range(shp[0] * shp[1] * sz))))
        return json.dumps(cfg).encode() + SEP + safetensors(tens)

    put(t, "qv_layers01.peft", adapter(2, ["q_proj", "v_proj"], [0, 1]))
    put(t, "all_layer5.peft", adapter(1, list(shapes), 5))
    put(t, "bf16_down.peft", adapter(2, ["down_proj"], [7], dtype="BF16"))
    put(t, "f16_gate.peft", adapter(1, ["gate_proj"], [3], dtype="F16", cfg_extra={"use_rslora": True}))
    put(t, "missing_B.peft", adapter(2, ["q_proj"], [0], drop="base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"))
    put(t, "bad_shape.peft", adapter(2, ["k_proj"], [0], bad_shape="base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight"))
    put(t, "i32.peft", adapter(1, ["o_proj"], [2], dtype="I32"))
    put(t, "config_only.peft", json.dumps({"peft_type": "LORA", "r": 4, "target_modules": "all-linear"}))
    put(t, "dora.peft", adapter(1, ["q_proj"], [0], cfg_extra={"use_dora": True}))


# ---- config key=value -----------------------------------------------------------
def seeds_config_set():
    t = "config_set"
    clean(t)
    src = read(ROOT, "libelm", "config", "keys.def").decode()
    entries = re.findall(r'ELM_KEY\([A-Z0-9_]+,\s*"([a-z_.0-9]+)",\s*([IDSBC]),\s*"([^"]*)",\s*([^,]+),\s*([^,]+),\s*(NULL|"[^"]*")', src)
    lines = ["%s=%s" % (k, d) for k, _, d, *_ in entries]
    put(t, "defaults", "\n".join(lines))
    odd = {"I": ["-1", "0x10", "1e3", "99999999999999999999", " 4", "4 ", "+4", ""],
           "D": ["1e-4", "nan", "inf", "-0", "1e400", "0x1p-3", ".5", "5."],
           "B": ["true", "false", "1", "0", "yes", "off", "TRUE", ""],
           "S": ["", "q,k,v", "4-7", "0,2,5-9", "all", "7-4", "a" * 300, "\xc3\xa9;;"],
           "C": ["auto", "AUTO", "", "bogus"]}
    for i, (k, ty, d, lo, hi, ch) in enumerate(entries):
        vals = list(odd[ty])
        if ch != "NULL":
            vals += ch.strip('"').split("|")
        put(t, "key%02d" % i, "\n".join("%s=%s" % (k, v) for v in vals))
    put(t, "unknown_keys", "lora.rnak=4\nlora=4\n=4\nlora.rank\n.=.\nruntime.dtype=float32=x")


def main():
    for f in (seeds_safetensors, seeds_gguf, seeds_tokenizer_gguf, seeds_tokenizer_json, seeds_tokenizer_encode,
              seeds_model_config, seeds_dataset, seeds_consistency, seeds_mcq, seeds_peft, seeds_config_set):
        f()
    for d in sorted(os.listdir(OUT)):
        files = os.listdir(os.path.join(OUT, d))
        size = sum(os.path.getsize(os.path.join(OUT, d, n)) for n in files)
        print("%-18s %3d seeds %8d bytes" % (d, len(files), size))


if __name__ == "__main__":
    sys.exit(main())
