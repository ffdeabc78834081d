"""Loading libelm and the ctypes mirror of include/elm.h.

Every function of elm.h is listed once in PROTOTYPES below, with its C
prototype quoted beside it. Symbols are resolved lazily: a library that lacks
one (an older or partly built libelm) loads fine, and only a call of the
missing function fails, with an ElmError that names it.
"""

import ctypes
import ctypes.util
import os
import threading
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_char_p,
    c_double,
    c_int,
    c_int32,
    c_int64,
    c_size_t,
    c_uint,
    c_uint32,
    c_uint64,
    c_void_p,
)

from ._errors import ElmError, Status

# The package's version; the library's major version must match it.
PACKAGE_VERSION = "0.1.0"
PACKAGE_MAJOR = int(PACKAGE_VERSION.split(".")[0])

# ---------------------------------------------------------------------------
# Opaque handles and enums (enums are C ints)
# ---------------------------------------------------------------------------

elm_status = c_int
elm_type = c_int
elm_log_level = c_int
elm_special_token = c_int
elm_dataset_kind = c_int
elm_role = c_int

# Opaque handle types: distinct pointer types so that ctypes rejects mixing
# (a Model's handle passed where a session is expected).
class elm_config(Structure):
    pass


class elm_model(Structure):
    pass


class elm_tokenizer(Structure):
    pass


class elm_detok_stream(Structure):
    pass


class elm_dataset(Structure):
    pass


class elm_session(Structure):
    pass


elm_config_p = POINTER(elm_config)
elm_model_p = POINTER(elm_model)
elm_tokenizer_p = POINTER(elm_tokenizer)
elm_detok_stream_p = POINTER(elm_detok_stream)
elm_dataset_p = POINTER(elm_dataset)
elm_session_p = POINTER(elm_session)

# ---------------------------------------------------------------------------
# Public structs (each begins with uint32_t size, set by new_struct())
# ---------------------------------------------------------------------------


class elm_key_info(Structure):
    _fields_ = [
        ("size", c_uint32),
        ("key", c_char_p),
        ("type", elm_type),
        ("default_text", c_char_p),
        ("min", c_double),
        ("max", c_double),
        ("choices", c_char_p),
        ("doc", c_char_p),
    ]


class elm_progress(Structure):
    _fields_ = [
        ("size", c_uint32),
        ("what", c_char_p),
        ("done", c_uint64),
        ("total", c_uint64),
        ("seconds", c_double),
        ("detail", c_char_p),
    ]


class elm_model_info(Structure):
    _fields_ = [
        ("size", c_uint32),
        ("architecture", c_char_p),
        ("dtype", c_char_p),
        ("device", c_char_p),
        ("n_layers", c_int32),
        ("n_embd", c_int32),
        ("n_heads", c_int32),
        ("n_kv_heads", c_int32),
        ("head_dim", c_int32),
        ("n_ff", c_int32),
        ("n_vocab", c_int32),
        ("n_ctx", c_int32),
        ("n_params", c_int64),
        ("tied_embeddings", c_int32),
        ("has_adapter", c_int32),
        # appended in 0.1 (read only when size covers it)
        ("source_dtype", c_char_p),
    ]


class elm_chat_message(Structure):
    _fields_ = [("role", c_char_p), ("content", c_char_p)]


class elm_step_stats(Structure):
    _fields_ = [
        ("size", c_uint32),
        ("step", c_int64),
        ("micro_steps", c_int64),
        ("loss", c_double),
        ("loss_erase", c_double),
        ("loss_retain", c_double),
        ("loss_consistency", c_double),
        ("loss_train", c_double),
        ("grad_norm", c_double),
        ("lr", c_double),
        ("tokens", c_int64),
        ("seconds", c_double),
    ]


class elm_mcq_result(Structure):
    _fields_ = [
        ("size", c_uint32),
        ("n", c_size_t),
        ("n_correct", c_size_t),
        ("accuracy", c_double),
        ("ci_low", c_double),
        ("ci_high", c_double),
        ("predicted", POINTER(c_int32)),
        ("answers", POINTER(c_int32)),
        ("margins", POINTER(c_double)),
        ("seconds", c_double),
        # appended in 0.1 (read only when size covers them)
        ("stride", c_size_t),
        ("loglik", POINTER(c_double)),
        ("n_tokens", POINTER(c_int32)),
        ("predicted_unnormalized", POINTER(c_int32)),
        ("n_correct_unnormalized", c_size_t),
        ("accuracy_unnormalized", c_double),
    ]


class elm_ppl_result(Structure):
    _fields_ = [
        ("size", c_uint32),
        ("perplexity", c_double),
        ("nll", c_double),
        ("n_tokens", c_int64),
        ("seconds", c_double),
    ]


def new_struct(cls):
    """A zeroed public struct with its size field set (ELM_STRUCT_INIT)."""
    s = cls()
    s.size = ctypes.sizeof(cls)
    return s


# ---------------------------------------------------------------------------
# Callback types
# ---------------------------------------------------------------------------

# typedef void (*elm_log_fn)(elm_log_level level, const char *message, void *user);
elm_log_fn = CFUNCTYPE(None, elm_log_level, c_char_p, c_void_p)
# typedef int (*elm_progress_fn)(const elm_progress *progress, void *user);
elm_progress_fn = CFUNCTYPE(c_int, POINTER(elm_progress), c_void_p)
# typedef int (*elm_token_fn)(size_t index, int32_t id, const char *text, void *user);
elm_token_fn = CFUNCTYPE(c_int, c_size_t, c_int32, c_char_p, c_void_p)

_pp = POINTER

# ---------------------------------------------------------------------------
# Prototypes: name -> (restype, argtypes). One line per function of elm.h,
# in the header's order, with the C prototype quoted beside it.
# ---------------------------------------------------------------------------

PROTOTYPES = {
    # Status and errors
    "elm_last_error": (c_char_p, []),  # const char *elm_last_error(void);
    "elm_status_name": (c_char_p, [elm_status]),  # const char *elm_status_name(elm_status status);
    "elm_version": (c_int, []),  # int elm_version(void);
    "elm_version_string": (c_char_p, []),  # const char *elm_version_string(void);
    "elm_free": (None, [c_void_p]),  # void elm_free(void *ptr);
    # Logging
    "elm_set_log_callback": (None, [elm_log_fn, c_void_p, elm_log_level]),  # void elm_set_log_callback(elm_log_fn fn, void *user, elm_log_level max_level);
    # Configuration
    "elm_config_key_count": (c_size_t, []),  # size_t elm_config_key_count(void);
    "elm_config_key_info": (elm_status, [c_size_t, _pp(elm_key_info)]),  # elm_status elm_config_key_info(size_t index, elm_key_info *out);
    "elm_config_find_key": (elm_status, [c_char_p, _pp(elm_key_info)]),  # elm_status elm_config_find_key(const char *key, elm_key_info *out);
    "elm_config_new": (elm_status, [_pp(elm_config_p)]),  # elm_status elm_config_new(elm_config **out);
    "elm_config_clone": (elm_status, [elm_config_p, _pp(elm_config_p)]),  # elm_status elm_config_clone(const elm_config *cfg, elm_config **out);
    "elm_config_free": (None, [elm_config_p]),  # void elm_config_free(elm_config *cfg);
    "elm_config_set_int": (elm_status, [elm_config_p, c_char_p, c_int64]),  # elm_status elm_config_set_int(elm_config *cfg, const char *key, int64_t value);
    "elm_config_set_double": (elm_status, [elm_config_p, c_char_p, c_double]),  # elm_status elm_config_set_double(elm_config *cfg, const char *key, double value);
    "elm_config_set_bool": (elm_status, [elm_config_p, c_char_p, c_int]),  # elm_status elm_config_set_bool(elm_config *cfg, const char *key, int value);
    "elm_config_set_string": (elm_status, [elm_config_p, c_char_p, c_char_p]),  # elm_status elm_config_set_string(elm_config *cfg, const char *key, const char *value);
    "elm_config_set": (elm_status, [elm_config_p, c_char_p, c_char_p]),  # elm_status elm_config_set(elm_config *cfg, const char *key, const char *text);
    "elm_config_get_int": (elm_status, [elm_config_p, c_char_p, _pp(c_int64)]),  # elm_status elm_config_get_int(const elm_config *cfg, const char *key, int64_t *out);
    "elm_config_get_double": (elm_status, [elm_config_p, c_char_p, _pp(c_double)]),  # elm_status elm_config_get_double(const elm_config *cfg, const char *key, double *out);
    "elm_config_get_bool": (elm_status, [elm_config_p, c_char_p, _pp(c_int)]),  # elm_status elm_config_get_bool(const elm_config *cfg, const char *key, int *out);
    "elm_config_get_string": (elm_status, [elm_config_p, c_char_p, _pp(c_char_p)]),  # elm_status elm_config_get_string(const elm_config *cfg, const char *key, const char **out);
    "elm_config_get_text": (elm_status, [elm_config_p, c_char_p, _pp(c_void_p)]),  # elm_status elm_config_get_text(const elm_config *cfg, const char *key, char **out);
    # Runtime
    "elm_cuda_available": (c_int, []),  # int elm_cuda_available(void);
    "elm_cuda_device_count": (c_int, []),  # int elm_cuda_device_count(void);
    "elm_set_num_threads": (elm_status, [c_int]),  # elm_status elm_set_num_threads(int n);
    "elm_get_num_threads": (c_int, []),  # int elm_get_num_threads(void);
    "elm_backend_version": (c_char_p, []),  # const char *elm_backend_version(void);
    # Models
    "elm_model_load": (elm_status, [c_char_p, elm_config_p, _pp(elm_model_p)]),  # elm_status elm_model_load(const char *path, const elm_config *cfg, elm_model **out);
    "elm_model_free": (None, [elm_model_p]),  # void elm_model_free(elm_model *model);
    "elm_model_get_info": (elm_status, [elm_model_p, _pp(elm_model_info)]),  # elm_status elm_model_get_info(const elm_model *model, elm_model_info *out);
    "elm_model_logits": (elm_status, [elm_model_p, _pp(c_int32), _pp(c_size_t), c_size_t, c_void_p]),  # elm_status elm_model_logits(elm_model *model, const int32_t *ids, const size_t *lens, size_t n_seqs, float *out);
    "elm_model_load_adapter": (elm_status, [elm_model_p, c_char_p]),  # elm_status elm_model_load_adapter(elm_model *model, const char *dir);
    "elm_model_unload_adapter": (elm_status, [elm_model_p]),  # elm_status elm_model_unload_adapter(elm_model *model);
    # Tokenizers
    "elm_tokenizer_load": (elm_status, [c_char_p, elm_config_p, _pp(elm_tokenizer_p)]),  # elm_status elm_tokenizer_load(const char *path, const elm_config *cfg, elm_tokenizer **out);
    "elm_model_tokenizer": (elm_status, [elm_model_p, _pp(elm_tokenizer_p)]),  # elm_status elm_model_tokenizer(elm_model *model, elm_tokenizer **out);
    "elm_tokenizer_free": (None, [elm_tokenizer_p]),  # void elm_tokenizer_free(elm_tokenizer *tok);
    "elm_tokenizer_encode": (elm_status, [elm_tokenizer_p, c_char_p, c_size_t, c_uint, _pp(_pp(c_int32)), _pp(c_size_t)]),  # elm_status elm_tokenizer_encode(const elm_tokenizer *tok, const char *text, size_t len, unsigned flags, int32_t **ids, size_t *n_ids);
    "elm_tokenizer_decode": (elm_status, [elm_tokenizer_p, _pp(c_int32), c_size_t, c_uint, _pp(c_void_p)]),  # elm_status elm_tokenizer_decode(const elm_tokenizer *tok, const int32_t *ids, size_t n_ids, unsigned flags, char **text);
    "elm_tokenizer_piece": (elm_status, [elm_tokenizer_p, c_int32, _pp(c_char_p)]),  # elm_status elm_tokenizer_piece(const elm_tokenizer *tok, int32_t id, const char **piece);
    "elm_tokenizer_vocab_size": (c_int32, [elm_tokenizer_p]),  # int32_t elm_tokenizer_vocab_size(const elm_tokenizer *tok);
    "elm_tokenizer_special": (c_int32, [elm_tokenizer_p, elm_special_token]),  # int32_t elm_tokenizer_special(const elm_tokenizer *tok, elm_special_token which);
    "elm_detok_stream_new": (elm_status, [elm_tokenizer_p, c_uint, _pp(elm_detok_stream_p)]),  # elm_status elm_detok_stream_new(const elm_tokenizer *tok, unsigned flags, elm_detok_stream **out);
    "elm_detok_stream_push": (elm_status, [elm_detok_stream_p, c_int32, _pp(c_void_p)]),  # elm_status elm_detok_stream_push(elm_detok_stream *st, int32_t id, char **text);
    "elm_detok_stream_flush": (elm_status, [elm_detok_stream_p, _pp(c_void_p)]),  # elm_status elm_detok_stream_flush(elm_detok_stream *st, char **text);
    "elm_detok_stream_free": (None, [elm_detok_stream_p]),  # void elm_detok_stream_free(elm_detok_stream *st);
    "elm_tokenizer_apply_chat": (elm_status, [elm_tokenizer_p, _pp(elm_chat_message), c_size_t, c_int, elm_config_p, _pp(c_void_p)]),  # elm_status elm_tokenizer_apply_chat(const elm_tokenizer *tok, const elm_chat_message *msgs, size_t n_msgs, int add_generation_prompt, const elm_config *cfg, char **out);
    # Datasets
    "elm_dataset_load": (elm_status, [c_char_p, elm_config_p, _pp(elm_dataset_p)]),  # elm_status elm_dataset_load(const char *path, const elm_config *cfg, elm_dataset **out);
    "elm_dataset_free": (None, [elm_dataset_p]),  # void elm_dataset_free(elm_dataset *ds);
    "elm_dataset_get_kind": (elm_dataset_kind, [elm_dataset_p]),  # elm_dataset_kind elm_dataset_get_kind(const elm_dataset *ds);
    "elm_dataset_size": (c_size_t, [elm_dataset_p]),  # size_t elm_dataset_size(const elm_dataset *ds);
    "elm_dataset_text": (elm_status, [elm_dataset_p, c_size_t, _pp(c_char_p)]),  # elm_status elm_dataset_text(const elm_dataset *ds, size_t i, const char **text);
    "elm_dataset_pair": (elm_status, [elm_dataset_p, c_size_t, _pp(c_char_p), _pp(c_char_p)]),  # elm_status elm_dataset_pair(const elm_dataset *ds, size_t i, const char **prompt, const char **continuation);
    "elm_keywords_read": (elm_status, [c_char_p, c_char_p, _pp(c_void_p)]),  # elm_status elm_keywords_read(const char *path, const char *key, char **concept);
    # Erasure sessions
    "elm_session_new": (elm_status, [elm_model_p, elm_config_p, _pp(elm_session_p)]),  # elm_status elm_session_new(elm_model *model, const elm_config *cfg, elm_session **out);
    "elm_session_free": (None, [elm_session_p]),  # void elm_session_free(elm_session *s);
    "elm_session_attach": (elm_status, [elm_session_p, elm_role, c_int, elm_dataset_p]),  # elm_status elm_session_attach(elm_session *s, elm_role role, int group, elm_dataset *ds);
    "elm_session_set_concept": (elm_status, [elm_session_p, c_int, c_char_p]),  # elm_status elm_session_set_concept(elm_session *s, int group, const char *concept);
    "elm_session_set_progress": (elm_status, [elm_session_p, elm_progress_fn, c_void_p]),  # elm_status elm_session_set_progress(elm_session *s, elm_progress_fn fn, void *user);
    "elm_session_step": (elm_status, [elm_session_p, _pp(elm_step_stats)]),  # elm_status elm_session_step(elm_session *s, elm_step_stats *stats);
    "elm_session_save": (elm_status, [elm_session_p, c_char_p]),  # elm_status elm_session_save(elm_session *s, const char *dir);
    "elm_session_resume": (elm_status, [elm_session_p, c_char_p]),  # elm_status elm_session_resume(elm_session *s, const char *dir);
    "elm_session_save_merged": (elm_status, [elm_session_p, c_char_p]),  # elm_status elm_session_save_merged(elm_session *s, const char *dir);
    "elm_session_apply_to_model": (elm_status, [elm_session_p]),  # elm_status elm_session_apply_to_model(elm_session *s);
    # Generation
    "elm_generate": (elm_status, [elm_model_p, _pp(c_char_p), c_size_t, elm_config_p, elm_token_fn, c_void_p, _pp(c_void_p)]),  # elm_status elm_generate(elm_model *model, const char *const *prompts, size_t n_prompts, const elm_config *cfg, elm_token_fn on_token, void *user, char **outputs);
    "elm_prepare_consistency": (elm_status, [elm_model_p, elm_dataset_p, elm_config_p, c_char_p, elm_progress_fn, c_void_p]),  # elm_status elm_prepare_consistency(elm_model *model, elm_dataset *forget, const elm_config *cfg, const char *out_path, elm_progress_fn progress, void *user);
    # Evaluation
    "elm_eval_mcq": (elm_status, [elm_model_p, c_char_p, elm_config_p, elm_progress_fn, c_void_p, _pp(_pp(elm_mcq_result))]),  # elm_status elm_eval_mcq(elm_model *model, const char *path, const elm_config *cfg, elm_progress_fn progress, void *user, elm_mcq_result **out);
    "elm_mcq_result_free": (None, [_pp(elm_mcq_result)]),  # void elm_mcq_result_free(elm_mcq_result *r);
    "elm_eval_perplexity": (elm_status, [elm_model_p, elm_dataset_p, elm_config_p, elm_progress_fn, c_void_p, _pp(elm_ppl_result)]),  # elm_status elm_eval_perplexity(elm_model *model, elm_dataset *ds, const elm_config *cfg, elm_progress_fn progress, void *user, elm_ppl_result *out);
    "elm_eval_reverse_perplexity": (elm_status, [elm_model_p, elm_model_p, elm_dataset_p, elm_config_p, elm_progress_fn, c_void_p, _pp(elm_ppl_result)]),  # elm_status elm_eval_reverse_perplexity(elm_model *generator, elm_model *scorer, elm_dataset *prompts, const elm_config *cfg, elm_progress_fn progress, void *user, elm_ppl_result *out);
    "elm_inspect": (elm_status, [c_char_p, elm_config_p, _pp(c_void_p)]),  # elm_status elm_inspect(const char *path, const elm_config *cfg, char **json_out);
    # Deprecated names (elm.h): the same functions, unused by this package
    "elm_tokenize": (elm_status, [elm_tokenizer_p, c_char_p, c_size_t, c_uint, _pp(_pp(c_int32)), _pp(c_size_t)]),  # elm_status elm_tokenize(const elm_tokenizer *tok, const char *text, size_t len, unsigned flags, int32_t **ids, size_t *n_ids);
    "elm_detokenize": (elm_status, [elm_tokenizer_p, _pp(c_int32), c_size_t, c_uint, _pp(c_void_p)]),  # elm_status elm_detokenize(const elm_tokenizer *tok, const int32_t *ids, size_t n_ids, unsigned flags, char **text);
    "elm_token_piece": (elm_status, [elm_tokenizer_p, c_int32, _pp(c_char_p)]),  # elm_status elm_token_piece(const elm_tokenizer *tok, int32_t id, const char **piece);
    "elm_chat_apply": (elm_status, [elm_tokenizer_p, _pp(elm_chat_message), c_size_t, c_int, elm_config_p, _pp(c_void_p)]),  # elm_status elm_chat_apply(const elm_tokenizer *tok, const elm_chat_message *msgs, size_t n_msgs, int add_generation_prompt, const elm_config *cfg, char **out);
    "elm_dataset_open": (elm_status, [c_char_p, elm_config_p, _pp(elm_dataset_p)]),  # elm_status elm_dataset_open(const char *path, const elm_config *cfg, elm_dataset **out);
    "elm_session_create": (elm_status, [elm_model_p, elm_config_p, _pp(elm_session_p)]),  # elm_status elm_session_create(elm_model *model, const elm_config *cfg, elm_session **out);
}

# ---------------------------------------------------------------------------
# Finding and loading the shared library
# ---------------------------------------------------------------------------

SONAME = "libelm.so.0"


def _candidates():
    """(description, loader) pairs in the order the package tries them."""
    env = os.environ.get("ELM_LIBRARY")
    if env:
        # An explicit choice is final: no silent fallback to another libelm.
        return [("ELM_LIBRARY=" + env, env)]
    out = []
    found = ctypes.util.find_library("elm")
    if found:
        out.append(("find_library('elm')", found))
    out.append(("system loader", SONAME))
    d = os.path.dirname(os.path.abspath(__file__))
    while True:
        cand = os.path.join(d, "build", SONAME)
        if os.path.isfile(cand):
            out.append(("development build", cand))
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    return out


def _load():
    tried = []
    for what, name in _candidates():
        try:
            return ctypes.CDLL(name), name
        except OSError as e:
            tried.append("%s (%s): %s" % (what, name, e))
    raise ImportError(
        "elm: cannot load %s; tried:\n  %s\nSet ELM_LIBRARY to the library's path."
        % (SONAME, "\n  ".join(tried))
    )


class _Lib:
    """The loaded library; attribute access resolves and types a symbol once."""

    def __init__(self):
        self._cdll, self.path = _load()
        self._fns = {}
        self._lock = threading.Lock()

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        fn = self._fns.get(name)
        if fn is not None:
            return fn
        proto = PROTOTYPES.get(name)
        if proto is None:
            raise AttributeError("elm.h declares no function %r" % name)
        with self._lock:
            try:
                fn = getattr(self._cdll, name)
            except AttributeError:
                raise ElmError(
                    Status.E_UNSUPPORTED,
                    "%s: symbol not found in %s (the library predates this function "
                    "or was built without it)" % (name, self.path),
                ) from None
            fn.restype, fn.argtypes = proto
            self._fns[name] = fn
        return fn

    def has(self, name):
        try:
            getattr(self, name)
            return True
        except ElmError:
            return False


lib = _Lib()


def _check_version():
    v = lib.elm_version()
    major = v // 10000
    if major != PACKAGE_MAJOR:
        raise ImportError(
            "elm %s needs libelm %d.x, but %s is version %d.%d.%d"
            % (PACKAGE_VERSION, PACKAGE_MAJOR, lib.path, major, (v // 100) % 100, v % 100)
        )


_check_version()


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def last_error():
    return lib.elm_last_error().decode("utf-8", "replace")


def check(status, what=None):
    """Raise ElmError for a non-zero status, with elm_last_error() (same thread)."""
    if status != 0:
        msg = last_error()
        if not msg and what:
            msg = what
        raise ElmError(status, msg)


def take_string(ptr):
    """Decode a libelm-allocated char* (c_void_p value) and elm_free it."""
    if not ptr:
        return None
    try:
        return ctypes.string_at(ptr).decode("utf-8", "replace")
    finally:
        lib.elm_free(ptr)


def enc(s):
    """str/bytes/PathLike -> bytes (paths through os.fsencode)."""
    if s is None:
        return None
    if isinstance(s, bytes):
        return s
    if isinstance(s, str):
        return s.encode("utf-8")
    return os.fsencode(s)
