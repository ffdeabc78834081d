"""include/elm.h read by cffi: the preprocessed header goes to cffi's cdef()
as it is, and the library is called through it in ABI mode (ffi.dlopen)."""

import math
import os

import pytest

from abi_tools import SYSTEM_HEADERS, c_compiler, header_ffi, header_includes, preprocessed_header
from conftest import HEADER, MODEL_DIR


def library_path():
    """$ELM_LIBRARY, else the library the elm package loaded (same search)."""
    path = os.environ.get("ELM_LIBRARY")
    if not path:
        from elm import _lib

        return _lib.lib.path
    if not os.path.exists(path):
        pytest.fail("ELM_LIBRARY=%s: no such file" % path)
    return path


@pytest.fixture(scope="module")
def ffi(tmp_path_factory):
    return header_ffi(tmp_path_factory.mktemp("cffi"))


@pytest.fixture(scope="module")
def C(ffi):
    return ffi.dlopen(library_path())


def ok(ffi, C, status):
    assert status == C.ELM_OK, "%s: %s" % (ffi.string(C.elm_status_name(status)).decode(),
                                           ffi.string(C.elm_last_error()).decode())


def test_header_needs_only_the_standard_headers_cffi_knows():
    # cffi's cdef gets these as empty files: everything else must be elm.h's own.
    assert header_includes() == list(SYSTEM_HEADERS)


def test_preprocessed_header_has_no_attributes_or_directives(tmp_path):
    text = preprocessed_header(tmp_path)
    assert "__attribute__" not in text
    assert "#" not in text
    assert "elm_model_load" in text


def test_elm_api_still_exports_for_c_users(tmp_path):
    # Without the predefinition a GCC-compatible compiler still sees the
    # visibility attribute: the guard changes nothing for C users.
    import subprocess

    src = tmp_path / "use.c"
    src.write_text('#include "elm.h"\n')
    p = subprocess.run([c_compiler(), "-E", "-dM", "-I", os.path.dirname(HEADER), str(src)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.returncode == 0, p.stderr
    defs = [l for l in p.stdout.splitlines() if l.startswith("#define ELM_API ")]
    assert defs == ['#define ELM_API __attribute__((visibility("default")))']


def test_cdef_declares_every_function(ffi, C):
    from test_library import header_prototypes

    names = sorted(header_prototypes())
    assert len(names) > 50
    missing = [n for n in names if not hasattr(C, n)]
    assert missing == [], "declared in elm.h, not callable through cffi"


def test_version_and_status_names(ffi, C):
    assert C.elm_version() == 100  # ELM_VERSION_NUMBER of 0.1.0
    assert ffi.string(C.elm_version_string()) == b"0.1.0"
    assert ffi.string(C.elm_status_name(C.ELM_E_FORMAT)) == b"ELM_E_FORMAT"
    assert ffi.string(C.elm_status_name(C.ELM_OK)) == b"ELM_OK"
    assert C.ELM_E_INTERNAL == -10


def test_config_through_cffi(ffi, C):
    pcfg = ffi.new("elm_config **")
    ok(ffi, C, C.elm_config_new(pcfg))
    cfg = pcfg[0]
    try:
        ok(ffi, C, C.elm_config_set(cfg, b"lora.rank", b"6"))
        ok(ffi, C, C.elm_config_set_double(cfg, b"optim.lr", 2.5e-4))
        ok(ffi, C, C.elm_config_set_string(cfg, b"lora.targets", b"q,v"))
        i = ffi.new("int64_t *")
        ok(ffi, C, C.elm_config_get_int(cfg, b"lora.rank", i))
        assert i[0] == 6
        d = ffi.new("double *")
        ok(ffi, C, C.elm_config_get_double(cfg, b"optim.lr", d))
        assert d[0] == 2.5e-4
        s = ffi.new("const char **")
        ok(ffi, C, C.elm_config_get_string(cfg, b"lora.targets", s))
        assert ffi.string(s[0]) == b"q,v"
        t = ffi.new("char **")
        ok(ffi, C, C.elm_config_get_text(cfg, b"lora.rank", t))
        assert ffi.string(t[0]) == b"6"
        C.elm_free(t[0])

        # A bad key: ELM_E_INVALID and a message that names it.
        st = C.elm_config_set(cfg, b"lora.rnak", b"4")
        assert st == C.ELM_E_INVALID
        assert b"lora.rnak" in ffi.string(C.elm_last_error())
    finally:
        C.elm_config_free(cfg)
    C.elm_config_free(ffi.NULL)  # documented no-op


def test_key_info_struct(ffi, C):
    info = ffi.new("elm_key_info *")
    info.size = ffi.sizeof("elm_key_info")
    ok(ffi, C, C.elm_config_find_key(b"lora.rank", info))
    assert ffi.string(info.key) == b"lora.rank"
    assert info.type == C.ELM_TYPE_INT
    assert C.elm_config_key_count() > 10


def test_tokenizer_and_model_of_the_fixture(ffi, C):
    if not os.path.isdir(MODEL_DIR):
        pytest.fail("fixture model not found at %s" % MODEL_DIR)
    ptok = ffi.new("elm_tokenizer **")
    ok(ffi, C, C.elm_tokenizer_load(MODEL_DIR.encode(), ffi.NULL, ptok))
    tok = ffi.gc(ptok[0], C.elm_tokenizer_free)
    assert C.elm_tokenizer_vocab_size(tok) == 512
    assert C.elm_tokenizer_special(tok, C.ELM_TOKEN_EOS) == 2  # <|im_end|>, as tokenizer_config.json says
    text = b"glowmoss brewing"
    ids, n = ffi.new("int32_t **"), ffi.new("size_t *")
    ok(ffi, C, C.elm_tokenizer_encode(tok, text, len(text), 0, ids, n))
    try:
        assert n[0] > 0
        back = ffi.new("char **")
        ok(ffi, C, C.elm_tokenizer_decode(tok, ids[0], n[0], 0, back))
        assert ffi.string(back[0]) == text
        C.elm_free(back[0])
        id_list = [ids[0][k] for k in range(n[0])]
    finally:
        C.elm_free(ids[0])

    pcfg = ffi.new("elm_config **")
    ok(ffi, C, C.elm_config_new(pcfg))
    cfg = ffi.gc(pcfg[0], C.elm_config_free)
    for k, v in ((b"runtime.device", b"cpu"), (b"runtime.dtype", b"float32"), (b"runtime.threads", b"1")):
        ok(ffi, C, C.elm_config_set(cfg, k, v))
    pm = ffi.new("elm_model **")
    ok(ffi, C, C.elm_model_load(MODEL_DIR.encode(), cfg, pm))
    model = ffi.gc(pm[0], C.elm_model_free)

    info = ffi.new("elm_model_info *")
    info.size = ffi.sizeof("elm_model_info")
    ok(ffi, C, C.elm_model_get_info(model, info))
    assert ffi.string(info.architecture) == b"LlamaForCausalLM"
    assert (info.n_layers, info.n_embd, info.n_heads, info.n_kv_heads) == (8, 32, 4, 2)
    assert (info.head_dim, info.n_ff, info.n_vocab, info.n_ctx) == (8, 64, 512, 512)
    assert info.tied_embeddings == 1 and info.has_adapter == 0
    assert ffi.string(info.source_dtype) == b"F32"

    c_ids = ffi.new("int32_t[]", id_list)
    lens = ffi.new("size_t[]", [len(id_list)])
    out = ffi.new("float[]", len(id_list) * 512)
    ok(ffi, C, C.elm_model_logits(model, c_ids, lens, 1, out))
    vals = [out[k] for k in range(len(id_list) * 512)]
    assert all(math.isfinite(v) for v in vals)
    assert max(vals) != min(vals)
