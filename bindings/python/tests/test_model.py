"""Model, logits and tokenizer on the tiny llama-tied fixture."""

import array
import os
import shutil
import subprocess

import pytest

import elm
from conftest import GOLDEN_DIR, MODEL_DIR, REPO, read_safetensors

np = pytest.importorskip("numpy")


def test_info(model):
    i = model.info
    assert i.architecture == "LlamaForCausalLM"
    assert (i.n_layers, i.n_embd, i.n_heads, i.n_kv_heads, i.head_dim, i.n_vocab) == (8, 32, 4, 2, 8, 512)
    assert i.tied_embeddings and not i.has_adapter
    assert i.dtype == "float32" and i.device == "cpu"
    assert i.n_params > 0
    assert i.source_dtype == "F32"  # the fixture is fp32 safetensors


def _golden():
    g = read_safetensors(os.path.join(GOLDEN_DIR, "llama-tied.logits.safetensors"))
    ids = np.frombuffer(g["input_ids"][2], dtype=np.int64).reshape(g["input_ids"][1])
    mask = np.frombuffer(g["attention_mask"][2], dtype=np.int64).reshape(g["attention_mask"][1])
    logits = np.frombuffer(g["logits_fp32"][2], dtype=np.float32).reshape(g["logits_fp32"][1])
    return ids, mask, logits


def test_logits_match_transformers(model):
    ids, mask, want = _golden()
    seqs = [ids[b][mask[b] == 1].tolist() for b in range(ids.shape[0])]
    got = model.logits(seqs)
    assert len(got) == len(seqs)
    for b, s in enumerate(seqs):
        assert got[b].shape == (len(s), 512) and got[b].dtype == np.float32
        # fp32 on CPU: different kernels and summation order than transformers.
        np.testing.assert_allclose(got[b], want[b][mask[b] == 1], atol=1e-4, rtol=1e-4)


def test_batch_equals_single(model):
    ids, mask, _ = _golden()
    seqs = [ids[b][mask[b] == 1].tolist() for b in range(2)]
    batch = model.logits(seqs)
    for b, s in enumerate(seqs):
        np.testing.assert_allclose(batch[b], model.logits(s), atol=1e-5)


def test_logits_equal_the_c_api_bit_for_bit(model, tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc")
    lib = os.path.abspath(os.environ.get("ELM_LIBRARY") or elm.library_path)
    if cc is None or not os.path.exists(lib):
        pytest.skip("needs a C compiler and the library's path")
    exe = str(tmp_path / "logits_dump")
    here = os.path.dirname(os.path.abspath(__file__))
    subprocess.run(
        [cc, "-std=c11", "-o", exe, os.path.join(here, "logits_dump.c"), "-I", os.path.join(REPO, "include"),
         lib, "-Wl,-rpath," + os.path.dirname(os.path.abspath(lib))],
        check=True,
    )
    ids = model.tokenizer.encode("Zephyrite hums in the valley of Orlenmoor.")
    out = str(tmp_path / "logits.f32")
    subprocess.run([exe, MODEL_DIR, out] + [str(i) for i in ids], check=True, timeout=120)
    c = np.fromfile(out, dtype=np.float32).reshape(len(ids), 512)
    py = model.logits(ids)
    assert np.array_equal(c, py)


def test_logits_without_numpy(model, monkeypatch):
    import elm.model as m

    monkeypatch.setattr(m, "_np", None)
    ids = [1, 5, 9]
    rows = model.logits(ids)
    assert isinstance(rows, list) and len(rows) == 3 and len(rows[0]) == 512
    monkeypatch.undo()
    ref = model.logits(ids)
    assert np.array_equal(np.array(rows, dtype=np.float32), ref)


def test_tokenizer_roundtrip(model):
    tok = model.tokenizer
    assert tok is model.tokenizer  # one per model
    assert tok.vocab_size == 512 == len(tok)
    text = "Zephyrite is a pale blue crystal."
    ids = tok.encode(text)
    assert ids and all(0 <= i < 512 for i in ids)
    assert tok.decode(ids, skip_special=True) == text
    plain = tok.encode(text, add_special=False)
    assert plain and ids[len(ids) - len(plain):] == plain  # specials, if any, only around the text
    assert isinstance(tok.piece(ids[-1]), str)
    s = tok.stream(skip_special=True)
    pieces = "".join(s.push(i) for i in ids) + s.flush()
    assert pieces == text
    s.close()


def test_standalone_tokenizer_matches_model_one(model):
    with elm.Tokenizer(MODEL_DIR) as t:
        assert t.encode("hello world") == model.tokenizer.encode("hello world")


def test_adapter_changes_logits(model):
    adapter = os.path.join(REPO, "tests", "fixtures", "erase", "golden_concat", "final_adapter")
    ids = [1, 20, 30, 40]
    base = model.logits(ids)
    model.load_adapter(adapter)
    try:
        assert model.info.has_adapter
        assert not np.array_equal(model.logits(ids), base)
    finally:
        model.unload_adapter()
    assert not model.info.has_adapter
    assert np.array_equal(model.logits(ids), base)
