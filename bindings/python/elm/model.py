"""Model and Tokenizer."""

import ctypes
from dataclasses import dataclass

from . import _lib
from ._errors import ElmError, Status
from ._handle import Handle
from ._lib import lib
from .config import config_arg

try:  # optional: logits come back as NumPy arrays when NumPy is there
    import numpy as _np
except Exception:  # noqa: BLE001
    _np = None

TOKENIZE_ADD_SPECIAL = 1
TOKENIZE_PARSE_SPECIAL = 2
DETOKENIZE_SKIP_SPECIAL = 1
TOKEN_BOS, TOKEN_EOS, TOKEN_PAD, TOKEN_UNK = 0, 1, 2, 3


@dataclass(frozen=True)
class ModelInfo:
    architecture: str
    dtype: str
    device: str
    n_layers: int
    n_embd: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    n_ff: int
    n_vocab: int
    n_ctx: int
    n_params: int
    tied_embeddings: bool
    has_adapter: bool
    source_dtype: str = ""  # weights' dtype(s) in the file: "F32", "F32+Q8_0"


def _s(b):
    return b.decode("utf-8", "replace") if b is not None else ""


class Model(Handle):
    """A loaded causal LM: Model(path, config=None, **keywords) or Model.load(...).

    Keywords are config keys (runtime_device="cpu", runtime_dtype="float32")."""

    _free_fn = "elm_model_free"

    def __init__(self, path, config=None, **kwargs):
        cfg, keep = config_arg(config, kwargs)
        h = _lib.elm_model_p()
        _lib.check(lib.elm_model_load(_lib.enc(path), cfg, ctypes.byref(h)))
        del keep
        super().__init__(h)
        self.path = str(path)
        self._tokenizer = None

    @classmethod
    def load(cls, path, config=None, **kwargs):
        return cls(path, config, **kwargs)

    def _release(self):
        # The tokenizer holds its own C reference: it stays usable after close().
        self._tokenizer = None

    @property
    def info(self):
        i = _lib.new_struct(_lib.elm_model_info)
        with self._lock:
            _lib.check(lib.elm_model_get_info(self._ptr(), ctypes.byref(i)))
            return ModelInfo(
                architecture=_s(i.architecture),
                dtype=_s(i.dtype),
                device=_s(i.device),
                n_layers=i.n_layers,
                n_embd=i.n_embd,
                n_heads=i.n_heads,
                n_kv_heads=i.n_kv_heads,
                head_dim=i.head_dim,
                n_ff=i.n_ff,
                n_vocab=i.n_vocab,
                n_ctx=i.n_ctx,
                n_params=i.n_params,
                tied_embeddings=bool(i.tied_embeddings),
                has_adapter=bool(i.has_adapter),
                source_dtype=_s(i.source_dtype),
            )

    @property
    def tokenizer(self):
        """The model's own tokenizer (one Tokenizer per Model, kept alive by it)."""
        with self._lock:
            if self._tokenizer is None or self._tokenizer.closed:
                h = _lib.elm_tokenizer_p()
                _lib.check(lib.elm_model_tokenizer(self._ptr(), ctypes.byref(h)))
                self._tokenizer = Tokenizer._from_handle(h)
            return self._tokenizer

    def logits(self, ids):
        """Logits of one sequence (a list of ids) -> array [len, n_vocab], or of
        a batch (a list of lists) -> list of such arrays. NumPy float32 arrays if
        NumPy is importable, else nested lists of floats."""
        single = len(ids) == 0 or not isinstance(ids[0], (list, tuple)) and not (
            _np is not None and isinstance(ids[0], _np.ndarray)
        )
        seqs = [list(ids)] if single else [list(s) for s in ids]
        lens = [len(s) for s in seqs]
        total = sum(lens)
        flat = (ctypes.c_int32 * max(total, 1))(*[int(t) for s in seqs for t in s])
        c_lens = (ctypes.c_size_t * max(len(seqs), 1))(*lens)
        n_vocab = self.info.n_vocab
        if _np is not None:
            out = _np.empty((total, n_vocab), dtype=_np.float32)
            buf = out.ctypes.data_as(ctypes.c_void_p)
        else:
            out = (ctypes.c_float * max(total * n_vocab, 1))()
            buf = ctypes.cast(out, ctypes.c_void_p)
        with self._lock:
            _lib.check(lib.elm_model_logits(self._ptr(), flat, c_lens, len(seqs), buf))
        pieces = []
        start = 0
        for n in lens:
            if _np is not None:
                pieces.append(out[start : start + n])
            else:
                pieces.append([list(out[(start + r) * n_vocab : (start + r + 1) * n_vocab]) for r in range(n)])
            start += n
        return pieces[0] if single else pieces

    def load_adapter(self, directory):
        """Attach a PEFT LoRA adapter directory (replaces any attached one)."""
        with self._lock:
            _lib.check(lib.elm_model_load_adapter(self._ptr(), _lib.enc(directory)))

    def unload_adapter(self):
        with self._lock:
            _lib.check(lib.elm_model_unload_adapter(self._ptr()))

    def generate(self, prompts, config=None, on_token=None, **kwargs):
        from .ops import generate

        return generate(self, prompts, config, on_token=on_token, **kwargs)


class Tokenizer(Handle):
    """Tokenizer(path) loads a model directory, tokenizer.json or GGUF file;
    Model.tokenizer gives the model's own."""

    _free_fn = "elm_tokenizer_free"

    def __init__(self, path, config=None, **kwargs):
        cfg, keep = config_arg(config, kwargs)
        h = _lib.elm_tokenizer_p()
        _lib.check(lib.elm_tokenizer_load(_lib.enc(path), cfg, ctypes.byref(h)))
        del keep
        super().__init__(h)

    @classmethod
    def load(cls, path, config=None, **kwargs):
        return cls(path, config, **kwargs)

    @classmethod
    def _from_handle(cls, h):
        t = cls.__new__(cls)
        Handle.__init__(t, h)
        return t

    def encode(self, text, add_special=True, parse_special=False):
        data = _lib.enc(text)
        flags = (TOKENIZE_ADD_SPECIAL if add_special else 0) | (TOKENIZE_PARSE_SPECIAL if parse_special else 0)
        ids = ctypes.POINTER(ctypes.c_int32)()
        n = ctypes.c_size_t()
        with self._lock:
            _lib.check(lib.elm_tokenizer_encode(self._ptr(), data, len(data), flags, ctypes.byref(ids), ctypes.byref(n)))
        try:
            return [ids[i] for i in range(n.value)]
        finally:
            lib.elm_free(ctypes.cast(ids, ctypes.c_void_p))

    def decode(self, ids, skip_special=False):
        ids = [int(i) for i in ids]
        arr = (ctypes.c_int32 * max(len(ids), 1))(*ids)
        p = ctypes.c_void_p()
        with self._lock:
            _lib.check(
                lib.elm_tokenizer_decode(
                    self._ptr(), arr, len(ids), DETOKENIZE_SKIP_SPECIAL if skip_special else 0, ctypes.byref(p)
                )
            )
        return _lib.take_string(p.value) or ""

    def piece(self, token_id):
        p = ctypes.c_char_p()
        with self._lock:
            _lib.check(lib.elm_tokenizer_piece(self._ptr(), int(token_id), ctypes.byref(p)))
        return _s(p.value)

    @property
    def vocab_size(self):
        with self._lock:
            return int(lib.elm_tokenizer_vocab_size(self._ptr()))

    def __len__(self):
        return self.vocab_size

    def special(self, which):
        """Id of a special token ("bos", "eos", "pad", "unk" or 0..3), None if absent."""
        if isinstance(which, str):
            which = {"bos": TOKEN_BOS, "eos": TOKEN_EOS, "pad": TOKEN_PAD, "unk": TOKEN_UNK}[which.lower()]
        with self._lock:
            v = lib.elm_tokenizer_special(self._ptr(), int(which))
        return None if v < 0 else int(v)

    bos_id = property(lambda self: self.special(TOKEN_BOS))
    eos_id = property(lambda self: self.special(TOKEN_EOS))
    pad_id = property(lambda self: self.special(TOKEN_PAD))
    unk_id = property(lambda self: self.special(TOKEN_UNK))

    def chat(self, messages, add_generation_prompt=True, config=None, **kwargs):
        """Apply the chat template to [{"role":..., "content":...}, ...] or
        [(role, content), ...]; returns the prompt text."""
        msgs = []
        for m in messages:
            role, content = (m["role"], m["content"]) if isinstance(m, dict) else m
            msgs.append((_lib.enc(role), _lib.enc(content)))
        arr = (_lib.elm_chat_message * max(len(msgs), 1))()
        for i, (r, c) in enumerate(msgs):
            arr[i].role = r
            arr[i].content = c
        cfg, keep = config_arg(config, kwargs)
        p = ctypes.c_void_p()
        with self._lock:
            _lib.check(
                lib.elm_tokenizer_apply_chat(self._ptr(), arr, len(msgs), 1 if add_generation_prompt else 0, cfg, ctypes.byref(p))
            )
        del keep, msgs
        return _lib.take_string(p.value) or ""

    def stream(self, skip_special=False):
        """A streaming detokenizer: push(id) -> text completed so far."""
        return DetokStream(self, skip_special)


class DetokStream(Handle):
    _free_fn = "elm_detok_stream_free"

    def __init__(self, tokenizer, skip_special=False):
        h = _lib.elm_detok_stream_p()
        with tokenizer._lock:
            _lib.check(
                lib.elm_detok_stream_new(
                    tokenizer._ptr(), DETOKENIZE_SKIP_SPECIAL if skip_special else 0, ctypes.byref(h)
                )
            )
        # The C stream borrows the tokenizer (no reference of its own): it
        # shares the tokenizer's lock, and refuses to run once it is closed.
        super().__init__(h, lock=tokenizer._lock)
        self._tokenizer = tokenizer

    def _release(self):
        self._tokenizer = None

    def _stream_ptr(self):
        h = self._ptr()
        t = self._tokenizer
        if t is None or t.closed:
            raise ElmError(Status.E_STATE, "DetokStream: its Tokenizer is closed")
        return h

    def push(self, token_id):
        p = ctypes.c_void_p()
        with self._lock:
            _lib.check(lib.elm_detok_stream_push(self._stream_ptr(), int(token_id), ctypes.byref(p)))
        return _lib.take_string(p.value) or ""

    def flush(self):
        p = ctypes.c_void_p()
        with self._lock:
            _lib.check(lib.elm_detok_stream_flush(self._stream_ptr(), ctypes.byref(p)))
        return _lib.take_string(p.value) or ""
