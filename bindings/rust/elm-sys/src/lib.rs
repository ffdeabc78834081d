//! Raw declarations of libelm's C API (`include/elm.h`), written by hand
//! (no bindgen: it needs libclang). Each function carries its C prototype.
//! `tests/header.rs` checks names and parameter counts against elm.h, using
//! [`FUNCTIONS`], which lists every declaration below; `tests/layout.rs`
//! checks every struct's size, alignment and field offsets and every constant
//! against the C compiler's view of elm.h (bindings/abi/elm_abi_dump.c).
//!
//! Everything here is `unsafe` and follows elm.h's ownership notes; use the
//! `elm` crate for owned, safe types.

#![allow(non_camel_case_types)]

use std::os::raw::{c_char, c_double, c_int, c_uint, c_void};

// ---------------------------------------------------------------------------
// Versions
// ---------------------------------------------------------------------------

pub const ELM_VERSION_MAJOR: c_int = 0;
pub const ELM_VERSION_MINOR: c_int = 1;
pub const ELM_VERSION_PATCH: c_int = 0;
pub const ELM_VERSION_NUMBER: c_int =
    ELM_VERSION_MAJOR * 10000 + ELM_VERSION_MINOR * 100 + ELM_VERSION_PATCH;

// ---------------------------------------------------------------------------
// Enums: C enums are ints; values pinned and append-only, so plain constants
// (a Rust enum would be undefined behaviour for a value added later).
// ---------------------------------------------------------------------------

pub type elm_status = c_int;
pub const ELM_OK: elm_status = 0;
pub const ELM_E_INVALID: elm_status = -1;
pub const ELM_E_IO: elm_status = -2;
pub const ELM_E_FORMAT: elm_status = -3;
pub const ELM_E_UNSUPPORTED: elm_status = -4;
pub const ELM_E_NOMEM: elm_status = -5;
pub const ELM_E_DEVICE: elm_status = -6;
pub const ELM_E_NUMERIC: elm_status = -7;
pub const ELM_E_CANCELLED: elm_status = -8;
pub const ELM_E_STATE: elm_status = -9;
pub const ELM_E_INTERNAL: elm_status = -10;

pub type elm_log_level = c_int;
pub const ELM_LOG_ERROR: elm_log_level = 0;
pub const ELM_LOG_WARN: elm_log_level = 1;
pub const ELM_LOG_INFO: elm_log_level = 2;
pub const ELM_LOG_DEBUG: elm_log_level = 3;

pub type elm_type = c_int;
pub const ELM_TYPE_INT: elm_type = 0;
pub const ELM_TYPE_DOUBLE: elm_type = 1;
pub const ELM_TYPE_STRING: elm_type = 2;
pub const ELM_TYPE_BOOL: elm_type = 3;
pub const ELM_TYPE_CHOICE: elm_type = 4;

pub type elm_tokenize_flags = c_uint;
pub const ELM_TOKENIZE_ADD_SPECIAL: elm_tokenize_flags = 1;
pub const ELM_TOKENIZE_PARSE_SPECIAL: elm_tokenize_flags = 2;
pub type elm_detokenize_flags = c_uint;
pub const ELM_DETOKENIZE_SKIP_SPECIAL: elm_detokenize_flags = 1;

pub type elm_special_token = c_int;
pub const ELM_TOKEN_BOS: elm_special_token = 0;
pub const ELM_TOKEN_EOS: elm_special_token = 1;
pub const ELM_TOKEN_PAD: elm_special_token = 2;
pub const ELM_TOKEN_UNK: elm_special_token = 3;

pub type elm_dataset_kind = c_int;
pub const ELM_DATASET_TEXT: elm_dataset_kind = 0;
pub const ELM_DATASET_PAIRS: elm_dataset_kind = 1;
pub const ELM_DATASET_MCQ: elm_dataset_kind = 2;

pub type elm_role = c_int;
pub const ELM_ROLE_FORGET: elm_role = 0;
pub const ELM_ROLE_RETAIN: elm_role = 1;
pub const ELM_ROLE_CONSISTENCY: elm_role = 2;
pub const ELM_ROLE_TRAIN: elm_role = 3;

// ---------------------------------------------------------------------------
// Opaque handles
// ---------------------------------------------------------------------------

macro_rules! opaque {
    ($($name:ident),*) => {$(
        #[repr(C)]
        pub struct $name {
            _private: [u8; 0],
            // not Send, not Sync, not Unpin: the owner decides
            _marker: core::marker::PhantomData<(*mut u8, core::marker::PhantomPinned)>,
        }
    )*};
}
opaque!(elm_config, elm_model, elm_tokenizer, elm_detok_stream, elm_dataset, elm_session);

// ---------------------------------------------------------------------------
// Public structs (first field: size = size_of::<Self>())
// ---------------------------------------------------------------------------

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct elm_key_info {
    pub size: u32,
    pub key: *const c_char,
    pub type_: elm_type,
    pub default_text: *const c_char,
    pub min: c_double,
    pub max: c_double,
    pub choices: *const c_char,
    pub doc: *const c_char,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct elm_progress {
    pub size: u32,
    pub what: *const c_char,
    pub done: u64,
    pub total: u64,
    pub seconds: c_double,
    pub detail: *const c_char,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct elm_model_info {
    pub size: u32,
    pub architecture: *const c_char,
    pub dtype: *const c_char,
    pub device: *const c_char,
    pub n_layers: i32,
    pub n_embd: i32,
    pub n_heads: i32,
    pub n_kv_heads: i32,
    pub head_dim: i32,
    pub n_ff: i32,
    pub n_vocab: i32,
    pub n_ctx: i32,
    pub n_params: i64,
    pub tied_embeddings: i32,
    pub has_adapter: i32,
    // Appended in 0.1 (read only when size covers it):
    /// dtype(s) of the weights in the file: "F32", "BF16", "F32+Q4_1+Q8_0".
    pub source_dtype: *const c_char,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct elm_chat_message {
    pub role: *const c_char,
    pub content: *const c_char,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct elm_step_stats {
    pub size: u32,
    pub step: i64,
    pub micro_steps: i64,
    pub loss: c_double,
    pub loss_erase: c_double,
    pub loss_retain: c_double,
    pub loss_consistency: c_double,
    pub loss_train: c_double,
    pub grad_norm: c_double,
    pub lr: c_double,
    pub tokens: i64,
    pub seconds: c_double,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct elm_mcq_result {
    pub size: u32,
    pub n: usize,
    pub n_correct: usize,
    pub accuracy: c_double,
    pub ci_low: c_double,
    pub ci_high: c_double,
    pub predicted: *mut i32,
    pub answers: *mut i32,
    pub margins: *mut c_double,
    pub seconds: c_double,
    // Appended in 0.1 (read only when size covers them):
    /// Columns of the n × stride matrices `loglik` and `n_tokens`.
    pub stride: usize,
    /// n × stride: per-choice log-likelihood sums (letter_logits: logits); NaN past a row's choices.
    pub loglik: *mut c_double,
    /// n × stride: continuation tokens scored per choice (0 past a row's choices).
    pub n_tokens: *mut i32,
    /// n: argmax of loglik (lm-eval's acc); equal to `predicted` unless cloze.
    pub predicted_unnormalized: *mut i32,
    pub n_correct_unnormalized: usize,
    pub accuracy_unnormalized: c_double,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct elm_ppl_result {
    pub size: u32,
    pub perplexity: c_double,
    pub nll: c_double,
    pub n_tokens: i64,
    pub seconds: c_double,
}

/// ELM_STRUCT_INIT: a zeroed public struct with its size field set.
pub trait SizedStruct: Sized {
    fn set_size(&mut self);
    fn init() -> Self {
        // SAFETY: every public struct is plain data (integers, floats, pointers)
        // for which all-zero bytes are a valid value.
        let mut s: Self = unsafe { core::mem::zeroed() };
        s.set_size();
        s
    }
}
macro_rules! sized {
    ($($t:ty),*) => {$(
        impl SizedStruct for $t {
            fn set_size(&mut self) { self.size = core::mem::size_of::<$t>() as u32; }
        }
    )*};
}
sized!(elm_key_info, elm_progress, elm_model_info, elm_step_stats, elm_mcq_result, elm_ppl_result);

// ---------------------------------------------------------------------------
// Callbacks
// ---------------------------------------------------------------------------

/// typedef void (*elm_log_fn)(elm_log_level level, const char *message, void *user);
pub type elm_log_fn = Option<unsafe extern "C" fn(level: elm_log_level, message: *const c_char, user: *mut c_void)>;
/// typedef int (*elm_progress_fn)(const elm_progress *progress, void *user);
pub type elm_progress_fn = Option<unsafe extern "C" fn(progress: *const elm_progress, user: *mut c_void) -> c_int>;
/// typedef int (*elm_token_fn)(size_t index, int32_t id, const char *text, void *user);
pub type elm_token_fn =
    Option<unsafe extern "C" fn(index: usize, id: i32, text: *const c_char, user: *mut c_void) -> c_int>;

// ---------------------------------------------------------------------------
// Functions, in elm.h's order
// ---------------------------------------------------------------------------

extern "C" {
    // Status and errors
    /// const char *elm_last_error(void);
    pub fn elm_last_error() -> *const c_char;
    /// const char *elm_status_name(elm_status status);
    pub fn elm_status_name(status: elm_status) -> *const c_char;
    /// int elm_version(void);
    pub fn elm_version() -> c_int;
    /// const char *elm_version_string(void);
    pub fn elm_version_string() -> *const c_char;
    /// void elm_free(void *ptr);
    pub fn elm_free(ptr: *mut c_void);

    // Logging
    /// void elm_set_log_callback(elm_log_fn fn, void *user, elm_log_level max_level);
    pub fn elm_set_log_callback(f: elm_log_fn, user: *mut c_void, max_level: elm_log_level);

    // Configuration
    /// size_t elm_config_key_count(void);
    pub fn elm_config_key_count() -> usize;
    /// elm_status elm_config_key_info(size_t index, elm_key_info *out);
    pub fn elm_config_key_info(index: usize, out: *mut elm_key_info) -> elm_status;
    /// elm_status elm_config_find_key(const char *key, elm_key_info *out);
    pub fn elm_config_find_key(key: *const c_char, out: *mut elm_key_info) -> elm_status;
    /// elm_status elm_config_new(elm_config **out);
    pub fn elm_config_new(out: *mut *mut elm_config) -> elm_status;
    /// elm_status elm_config_clone(const elm_config *cfg, elm_config **out);
    pub fn elm_config_clone(cfg: *const elm_config, out: *mut *mut elm_config) -> elm_status;
    /// void elm_config_free(elm_config *cfg);
    pub fn elm_config_free(cfg: *mut elm_config);
    /// elm_status elm_config_set_int(elm_config *cfg, const char *key, int64_t value);
    pub fn elm_config_set_int(cfg: *mut elm_config, key: *const c_char, value: i64) -> elm_status;
    /// elm_status elm_config_set_double(elm_config *cfg, const char *key, double value);
    pub fn elm_config_set_double(cfg: *mut elm_config, key: *const c_char, value: c_double) -> elm_status;
    /// elm_status elm_config_set_bool(elm_config *cfg, const char *key, int value);
    pub fn elm_config_set_bool(cfg: *mut elm_config, key: *const c_char, value: c_int) -> elm_status;
    /// elm_status elm_config_set_string(elm_config *cfg, const char *key, const char *value);
    pub fn elm_config_set_string(cfg: *mut elm_config, key: *const c_char, value: *const c_char) -> elm_status;
    /// elm_status elm_config_set(elm_config *cfg, const char *key, const char *text);
    pub fn elm_config_set(cfg: *mut elm_config, key: *const c_char, text: *const c_char) -> elm_status;
    /// elm_status elm_config_get_int(const elm_config *cfg, const char *key, int64_t *out);
    pub fn elm_config_get_int(cfg: *const elm_config, key: *const c_char, out: *mut i64) -> elm_status;
    /// elm_status elm_config_get_double(const elm_config *cfg, const char *key, double *out);
    pub fn elm_config_get_double(cfg: *const elm_config, key: *const c_char, out: *mut c_double) -> elm_status;
    /// elm_status elm_config_get_bool(const elm_config *cfg, const char *key, int *out);
    pub fn elm_config_get_bool(cfg: *const elm_config, key: *const c_char, out: *mut c_int) -> elm_status;
    /// elm_status elm_config_get_string(const elm_config *cfg, const char *key, const char **out);
    pub fn elm_config_get_string(cfg: *const elm_config, key: *const c_char, out: *mut *const c_char) -> elm_status;
    /// elm_status elm_config_get_text(const elm_config *cfg, const char *key, char **out);
    pub fn elm_config_get_text(cfg: *const elm_config, key: *const c_char, out: *mut *mut c_char) -> elm_status;

    // Runtime
    /// int elm_cuda_available(void);
    pub fn elm_cuda_available() -> c_int;
    /// int elm_cuda_device_count(void);
    pub fn elm_cuda_device_count() -> c_int;
    /// elm_status elm_set_num_threads(int n);
    pub fn elm_set_num_threads(n: c_int) -> elm_status;
    /// int elm_get_num_threads(void);
    pub fn elm_get_num_threads() -> c_int;
    /// const char *elm_backend_version(void);
    pub fn elm_backend_version() -> *const c_char;

    // Models
    /// elm_status elm_model_load(const char *path, const elm_config *cfg, elm_model **out);
    pub fn elm_model_load(path: *const c_char, cfg: *const elm_config, out: *mut *mut elm_model) -> elm_status;
    /// void elm_model_free(elm_model *model);
    pub fn elm_model_free(model: *mut elm_model);
    /// elm_status elm_model_get_info(const elm_model *model, elm_model_info *out);
    pub fn elm_model_get_info(model: *const elm_model, out: *mut elm_model_info) -> elm_status;
    /// elm_status elm_model_logits(elm_model *model, const int32_t *ids, const size_t *lens, size_t n_seqs, float *out);
    pub fn elm_model_logits(
        model: *mut elm_model,
        ids: *const i32,
        lens: *const usize,
        n_seqs: usize,
        out: *mut f32,
    ) -> elm_status;
    /// elm_status elm_model_load_adapter(elm_model *model, const char *dir);
    pub fn elm_model_load_adapter(model: *mut elm_model, dir: *const c_char) -> elm_status;
    /// elm_status elm_model_unload_adapter(elm_model *model);
    pub fn elm_model_unload_adapter(model: *mut elm_model) -> elm_status;

    // Tokenizers
    /// elm_status elm_tokenizer_load(const char *path, const elm_config *cfg, elm_tokenizer **out);
    pub fn elm_tokenizer_load(path: *const c_char, cfg: *const elm_config, out: *mut *mut elm_tokenizer)
        -> elm_status;
    /// elm_status elm_model_tokenizer(elm_model *model, elm_tokenizer **out);
    pub fn elm_model_tokenizer(model: *mut elm_model, out: *mut *mut elm_tokenizer) -> elm_status;
    /// void elm_tokenizer_free(elm_tokenizer *tok);
    pub fn elm_tokenizer_free(tok: *mut elm_tokenizer);
    /// elm_status elm_tokenizer_encode(const elm_tokenizer *tok, const char *text, size_t len, unsigned flags, int32_t **ids, size_t *n_ids);
    pub fn elm_tokenizer_encode(
        tok: *const elm_tokenizer,
        text: *const c_char,
        len: usize,
        flags: c_uint,
        ids: *mut *mut i32,
        n_ids: *mut usize,
    ) -> elm_status;
    /// elm_status elm_tokenizer_decode(const elm_tokenizer *tok, const int32_t *ids, size_t n_ids, unsigned flags, char **text);
    pub fn elm_tokenizer_decode(
        tok: *const elm_tokenizer,
        ids: *const i32,
        n_ids: usize,
        flags: c_uint,
        text: *mut *mut c_char,
    ) -> elm_status;
    /// elm_status elm_tokenizer_piece(const elm_tokenizer *tok, int32_t id, const char **piece);
    pub fn elm_tokenizer_piece(tok: *const elm_tokenizer, id: i32, piece: *mut *const c_char) -> elm_status;
    /// int32_t elm_tokenizer_vocab_size(const elm_tokenizer *tok);
    pub fn elm_tokenizer_vocab_size(tok: *const elm_tokenizer) -> i32;
    /// int32_t elm_tokenizer_special(const elm_tokenizer *tok, elm_special_token which);
    pub fn elm_tokenizer_special(tok: *const elm_tokenizer, which: elm_special_token) -> i32;
    /// elm_status elm_detok_stream_new(const elm_tokenizer *tok, unsigned flags, elm_detok_stream **out);
    pub fn elm_detok_stream_new(tok: *const elm_tokenizer, flags: c_uint, out: *mut *mut elm_detok_stream)
        -> elm_status;
    /// elm_status elm_detok_stream_push(elm_detok_stream *st, int32_t id, char **text);
    pub fn elm_detok_stream_push(st: *mut elm_detok_stream, id: i32, text: *mut *mut c_char) -> elm_status;
    /// elm_status elm_detok_stream_flush(elm_detok_stream *st, char **text);
    pub fn elm_detok_stream_flush(st: *mut elm_detok_stream, text: *mut *mut c_char) -> elm_status;
    /// void elm_detok_stream_free(elm_detok_stream *st);
    pub fn elm_detok_stream_free(st: *mut elm_detok_stream);
    /// elm_status elm_tokenizer_apply_chat(const elm_tokenizer *tok, const elm_chat_message *msgs, size_t n_msgs, int add_generation_prompt, const elm_config *cfg, char **out);
    pub fn elm_tokenizer_apply_chat(
        tok: *const elm_tokenizer,
        msgs: *const elm_chat_message,
        n_msgs: usize,
        add_generation_prompt: c_int,
        cfg: *const elm_config,
        out: *mut *mut c_char,
    ) -> elm_status;

    // Datasets
    /// elm_status elm_dataset_load(const char *path, const elm_config *cfg, elm_dataset **out);
    pub fn elm_dataset_load(path: *const c_char, cfg: *const elm_config, out: *mut *mut elm_dataset) -> elm_status;
    /// void elm_dataset_free(elm_dataset *ds);
    pub fn elm_dataset_free(ds: *mut elm_dataset);
    /// elm_dataset_kind elm_dataset_get_kind(const elm_dataset *ds);
    pub fn elm_dataset_get_kind(ds: *const elm_dataset) -> elm_dataset_kind;
    /// size_t elm_dataset_size(const elm_dataset *ds);
    pub fn elm_dataset_size(ds: *const elm_dataset) -> usize;
    /// elm_status elm_dataset_text(const elm_dataset *ds, size_t i, const char **text);
    pub fn elm_dataset_text(ds: *const elm_dataset, i: usize, text: *mut *const c_char) -> elm_status;
    /// elm_status elm_dataset_pair(const elm_dataset *ds, size_t i, const char **prompt, const char **continuation);
    pub fn elm_dataset_pair(
        ds: *const elm_dataset,
        i: usize,
        prompt: *mut *const c_char,
        continuation: *mut *const c_char,
    ) -> elm_status;
    /// elm_status elm_keywords_read(const char *path, const char *key, char **concept);
    pub fn elm_keywords_read(path: *const c_char, key: *const c_char, concept: *mut *mut c_char) -> elm_status;

    // Erasure sessions
    /// elm_status elm_session_new(elm_model *model, const elm_config *cfg, elm_session **out);
    pub fn elm_session_new(model: *mut elm_model, cfg: *const elm_config, out: *mut *mut elm_session)
        -> elm_status;
    /// void elm_session_free(elm_session *s);
    pub fn elm_session_free(s: *mut elm_session);
    /// elm_status elm_session_attach(elm_session *s, elm_role role, int group, elm_dataset *ds);
    pub fn elm_session_attach(s: *mut elm_session, role: elm_role, group: c_int, ds: *mut elm_dataset) -> elm_status;
    /// elm_status elm_session_set_concept(elm_session *s, int group, const char *concept);
    pub fn elm_session_set_concept(s: *mut elm_session, group: c_int, concept: *const c_char) -> elm_status;
    /// elm_status elm_session_set_progress(elm_session *s, elm_progress_fn fn, void *user);
    pub fn elm_session_set_progress(s: *mut elm_session, f: elm_progress_fn, user: *mut c_void) -> elm_status;
    /// elm_status elm_session_step(elm_session *s, elm_step_stats *stats);
    pub fn elm_session_step(s: *mut elm_session, stats: *mut elm_step_stats) -> elm_status;
    /// elm_status elm_session_save(elm_session *s, const char *dir);
    pub fn elm_session_save(s: *mut elm_session, dir: *const c_char) -> elm_status;
    /// elm_status elm_session_resume(elm_session *s, const char *dir);
    pub fn elm_session_resume(s: *mut elm_session, dir: *const c_char) -> elm_status;
    /// elm_status elm_session_save_merged(elm_session *s, const char *dir);
    pub fn elm_session_save_merged(s: *mut elm_session, dir: *const c_char) -> elm_status;
    /// elm_status elm_session_apply_to_model(elm_session *s);
    pub fn elm_session_apply_to_model(s: *mut elm_session) -> elm_status;

    // Generation
    /// elm_status elm_generate(elm_model *model, const char *const *prompts, size_t n_prompts, const elm_config *cfg, elm_token_fn on_token, void *user, char **outputs);
    pub fn elm_generate(
        model: *mut elm_model,
        prompts: *const *const c_char,
        n_prompts: usize,
        cfg: *const elm_config,
        on_token: elm_token_fn,
        user: *mut c_void,
        outputs: *mut *mut c_char,
    ) -> elm_status;
    /// elm_status elm_prepare_consistency(elm_model *model, elm_dataset *forget, const elm_config *cfg, const char *out_path, elm_progress_fn progress, void *user);
    pub fn elm_prepare_consistency(
        model: *mut elm_model,
        forget: *mut elm_dataset,
        cfg: *const elm_config,
        out_path: *const c_char,
        progress: elm_progress_fn,
        user: *mut c_void,
    ) -> elm_status;

    // Evaluation
    /// elm_status elm_eval_mcq(elm_model *model, const char *path, const elm_config *cfg, elm_progress_fn progress, void *user, elm_mcq_result **out);
    pub fn elm_eval_mcq(
        model: *mut elm_model,
        path: *const c_char,
        cfg: *const elm_config,
        progress: elm_progress_fn,
        user: *mut c_void,
        out: *mut *mut elm_mcq_result,
    ) -> elm_status;
    /// void elm_mcq_result_free(elm_mcq_result *r);
    pub fn elm_mcq_result_free(r: *mut elm_mcq_result);
    /// elm_status elm_eval_perplexity(elm_model *model, elm_dataset *ds, const elm_config *cfg, elm_progress_fn progress, void *user, elm_ppl_result *out);
    pub fn elm_eval_perplexity(
        model: *mut elm_model,
        ds: *mut elm_dataset,
        cfg: *const elm_config,
        progress: elm_progress_fn,
        user: *mut c_void,
        out: *mut elm_ppl_result,
    ) -> elm_status;
    /// elm_status elm_eval_reverse_perplexity(elm_model *generator, elm_model *scorer, elm_dataset *prompts, const elm_config *cfg, elm_progress_fn progress, void *user, elm_ppl_result *out);
    pub fn elm_eval_reverse_perplexity(
        generator: *mut elm_model,
        scorer: *mut elm_model,
        prompts: *mut elm_dataset,
        cfg: *const elm_config,
        progress: elm_progress_fn,
        user: *mut c_void,
        out: *mut elm_ppl_result,
    ) -> elm_status;

    /// elm_status elm_inspect(const char *path, const elm_config *cfg, char **json_out);
    pub fn elm_inspect(path: *const c_char, cfg: *const elm_config, json_out: *mut *mut c_char) -> elm_status;

    // Deprecated names (elm.h), the same functions as the new ones.
    /// elm_status elm_tokenize(const elm_tokenizer *tok, const char *text, size_t len, unsigned flags, int32_t **ids, size_t *n_ids);
    #[deprecated(note = "use elm_tokenizer_encode")]
    pub fn elm_tokenize(
        tok: *const elm_tokenizer,
        text: *const c_char,
        len: usize,
        flags: c_uint,
        ids: *mut *mut i32,
        n_ids: *mut usize,
    ) -> elm_status;
    /// elm_status elm_detokenize(const elm_tokenizer *tok, const int32_t *ids, size_t n_ids, unsigned flags, char **text);
    #[deprecated(note = "use elm_tokenizer_decode")]
    pub fn elm_detokenize(
        tok: *const elm_tokenizer,
        ids: *const i32,
        n_ids: usize,
        flags: c_uint,
        text: *mut *mut c_char,
    ) -> elm_status;
    /// elm_status elm_token_piece(const elm_tokenizer *tok, int32_t id, const char **piece);
    #[deprecated(note = "use elm_tokenizer_piece")]
    pub fn elm_token_piece(tok: *const elm_tokenizer, id: i32, piece: *mut *const c_char) -> elm_status;
    /// elm_status elm_chat_apply(const elm_tokenizer *tok, const elm_chat_message *msgs, size_t n_msgs, int add_generation_prompt, const elm_config *cfg, char **out);
    #[deprecated(note = "use elm_tokenizer_apply_chat")]
    pub fn elm_chat_apply(
        tok: *const elm_tokenizer,
        msgs: *const elm_chat_message,
        n_msgs: usize,
        add_generation_prompt: c_int,
        cfg: *const elm_config,
        out: *mut *mut c_char,
    ) -> elm_status;
    /// elm_status elm_dataset_open(const char *path, const elm_config *cfg, elm_dataset **out);
    #[deprecated(note = "use elm_dataset_load")]
    pub fn elm_dataset_open(path: *const c_char, cfg: *const elm_config, out: *mut *mut elm_dataset) -> elm_status;
    /// elm_status elm_session_create(elm_model *model, const elm_config *cfg, elm_session **out);
    #[deprecated(note = "use elm_session_new")]
    pub fn elm_session_create(model: *mut elm_model, cfg: *const elm_config, out: *mut *mut elm_session)
        -> elm_status;
}

/// Every function declared above with its number of parameters, in elm.h's
/// order. Keep in step with the `extern` block: `tests/header.rs` compares
/// this list with elm.h, and `FUNCTION_POINTERS` below with this list.
pub const FUNCTIONS: &[(&str, usize)] = &[
    ("elm_last_error", 0),
    ("elm_status_name", 1),
    ("elm_version", 0),
    ("elm_version_string", 0),
    ("elm_free", 1),
    ("elm_set_log_callback", 3),
    ("elm_config_key_count", 0),
    ("elm_config_key_info", 2),
    ("elm_config_find_key", 2),
    ("elm_config_new", 1),
    ("elm_config_clone", 2),
    ("elm_config_free", 1),
    ("elm_config_set_int", 3),
    ("elm_config_set_double", 3),
    ("elm_config_set_bool", 3),
    ("elm_config_set_string", 3),
    ("elm_config_set", 3),
    ("elm_config_get_int", 3),
    ("elm_config_get_double", 3),
    ("elm_config_get_bool", 3),
    ("elm_config_get_string", 3),
    ("elm_config_get_text", 3),
    ("elm_cuda_available", 0),
    ("elm_cuda_device_count", 0),
    ("elm_set_num_threads", 1),
    ("elm_get_num_threads", 0),
    ("elm_backend_version", 0),
    ("elm_model_load", 3),
    ("elm_model_free", 1),
    ("elm_model_get_info", 2),
    ("elm_model_logits", 5),
    ("elm_model_load_adapter", 2),
    ("elm_model_unload_adapter", 1),
    ("elm_tokenizer_load", 3),
    ("elm_model_tokenizer", 2),
    ("elm_tokenizer_free", 1),
    ("elm_tokenizer_encode", 6),
    ("elm_tokenizer_decode", 5),
    ("elm_tokenizer_piece", 3),
    ("elm_tokenizer_vocab_size", 1),
    ("elm_tokenizer_special", 2),
    ("elm_detok_stream_new", 3),
    ("elm_detok_stream_push", 3),
    ("elm_detok_stream_flush", 2),
    ("elm_detok_stream_free", 1),
    ("elm_tokenizer_apply_chat", 6),
    ("elm_dataset_load", 3),
    ("elm_dataset_free", 1),
    ("elm_dataset_get_kind", 1),
    ("elm_dataset_size", 1),
    ("elm_dataset_text", 3),
    ("elm_dataset_pair", 4),
    ("elm_keywords_read", 3),
    ("elm_session_new", 3),
    ("elm_session_free", 1),
    ("elm_session_attach", 4),
    ("elm_session_set_concept", 3),
    ("elm_session_set_progress", 3),
    ("elm_session_step", 2),
    ("elm_session_save", 2),
    ("elm_session_resume", 2),
    ("elm_session_save_merged", 2),
    ("elm_session_apply_to_model", 1),
    ("elm_generate", 7),
    ("elm_prepare_consistency", 6),
    ("elm_eval_mcq", 6),
    ("elm_mcq_result_free", 1),
    ("elm_eval_perplexity", 6),
    ("elm_eval_reverse_perplexity", 7),
    ("elm_inspect", 3),
    ("elm_tokenize", 6),
    ("elm_detokenize", 5),
    ("elm_token_piece", 3),
    ("elm_chat_apply", 6),
    ("elm_dataset_open", 3),
    ("elm_session_create", 3),
];

/// Folder of elm.h seen by the build script (ELM_INCLUDE_DIR or pkg-config),
/// "" if unknown.
pub const INCLUDE_DIR: &str = env!("ELM_SYS_INCLUDE_DIR");
