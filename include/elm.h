/*
 * elm.h — the public C API of libelm, a native implementation of ELM
 * (Erasure of Language Memory): erase a concept from a causal language
 * model with a LoRA adapter, evaluate and generate.
 *
 * This is the only public header. It is C11, compiles as C++ and with
 * -pedantic. Conventions:
 *   - every fallible call returns an elm_status; results come back through
 *     out-parameters; elm_last_error() gives the message of the last call
 *     that failed on this thread (a later successful call leaves it as it is:
 *     read it right after the failure);
 *   - handles are opaque; elm_*_free(NULL) is a no-op;
 *   - threads: calls on one model and on what was made from it (its
 *     sessions, streams, datasets used with it) must not overlap; distinct
 *     models may be used from distinct threads at once;
 *   - "Ownership:" next to each function says who frees what;
 *   - public structs start with a `uint32_t size` field, and one size policy
 *     holds for every one of them. Structs the caller passes to be filled
 *     (elm_key_info, elm_model_info, elm_step_stats, elm_ppl_result): set
 *     size to sizeof(struct) (ELM_STRUCT_INIT does that); libelm writes the
 *     first min(size, its own sizeof) bytes and never past them, so a
 *     program built against an older, shorter struct keeps working; size 0
 *     (not initialised) is ELM_E_INVALID. Structs libelm hands out
 *     (elm_mcq_result, elm_progress) carry libelm's own sizeof in size: a
 *     reader checks size before it reads a field newer than its header;
 *   - enum values are pinned and append-only; fields are only appended.
 */
#ifndef ELM_H
#define ELM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h> /* memset in ELM_STRUCT_INIT */

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the exported functions. Predefine it (e.g. -DELM_API=) to read the
 * header without compiler attributes, as cffi's cdef() needs. */
#ifndef ELM_API
#if defined(_WIN32)
#define ELM_API
#elif defined(__GNUC__)
#define ELM_API __attribute__((visibility("default")))
#else
#define ELM_API
#endif
#define ELM_ATTRIBUTES_ 1
#endif

/* Marks a name kept for one release after its rename; predefine it empty
 * (or ELM_API, as above) to read the header without the attribute. */
#ifndef ELM_DEPRECATED
#if defined(ELM_ATTRIBUTES_) && defined(__GNUC__)
#define ELM_DEPRECATED(use) __attribute__((deprecated("use " use)))
#else
#define ELM_DEPRECATED(use)
#endif
#endif

#define ELM_VERSION_MAJOR 0
#define ELM_VERSION_MINOR 1
#define ELM_VERSION_PATCH 0
/* Encoded as major*10000 + minor*100 + patch. */
#define ELM_VERSION_NUMBER \
    (ELM_VERSION_MAJOR * 10000 + ELM_VERSION_MINOR * 100 + ELM_VERSION_PATCH)

/* Zero a public struct and set its size field. */
#define ELM_STRUCT_INIT(ptr) \
    do { memset((ptr), 0, sizeof(*(ptr))); (ptr)->size = (uint32_t)sizeof(*(ptr)); } while (0)

/* ------------------------------------------------------------------------ */
/* Status and errors                                                        */
/* ------------------------------------------------------------------------ */

typedef enum elm_status {
    ELM_OK = 0,
    ELM_E_INVALID = -1,     /* invalid argument or configuration value */
    ELM_E_IO = -2,          /* file system error (open, read, write, rename) */
    ELM_E_FORMAT = -3,      /* malformed input file or data */
    ELM_E_UNSUPPORTED = -4, /* valid but unsupported (architecture, dtype, ...) */
    ELM_E_NOMEM = -5,       /* out of memory (host or device) */
    ELM_E_DEVICE = -6,      /* device unavailable or device error */
    ELM_E_NUMERIC = -7,     /* non-finite loss or gradient; step refused */
    ELM_E_CANCELLED = -8,   /* cancelled by a progress callback */
    ELM_E_STATE = -9,       /* call not valid in the object's current state */
    ELM_E_INTERNAL = -10    /* a bug in libelm; please report */
} elm_status;

/* Message of the last failed call on this thread. Never NULL ("" if none).
 * Ownership: borrowed, valid until the next libelm call on this thread. */
ELM_API const char *elm_last_error(void);

/* Short name of a status ("ELM_E_FORMAT"). Never NULL. Ownership: static. */
ELM_API const char *elm_status_name(elm_status status);

/* Version of the library at run time. */
ELM_API int elm_version(void); /* ELM_VERSION_NUMBER of the library */
ELM_API const char *elm_version_string(void); /* "0.1.0"; static */

/* Free memory that libelm allocated for the caller (strings, id arrays). */
ELM_API void elm_free(void *ptr);

/* ------------------------------------------------------------------------ */
/* Logging                                                                  */
/* ------------------------------------------------------------------------ */

typedef enum elm_log_level {
    ELM_LOG_ERROR = 0,
    ELM_LOG_WARN = 1,
    ELM_LOG_INFO = 2,
    ELM_LOG_DEBUG = 3
} elm_log_level;

typedef void (*elm_log_fn)(elm_log_level level, const char *message, void *user);

/* Install a process-wide log callback (NULL: discard). Messages above
 * `max_level` are not produced. The library itself never prints. */
ELM_API void elm_set_log_callback(elm_log_fn fn, void *user, elm_log_level max_level);

/* ------------------------------------------------------------------------ */
/* Configuration                                                            */
/* ------------------------------------------------------------------------ */

/* An opaque set of key/value settings checked against one schema table.
 * Keys are dotted ("lora.rank"); `elm help keys` lists them all. */
typedef struct elm_config elm_config;

typedef enum elm_type {
    ELM_TYPE_INT = 0,
    ELM_TYPE_DOUBLE = 1,
    ELM_TYPE_STRING = 2,
    ELM_TYPE_BOOL = 3,
    ELM_TYPE_CHOICE = 4 /* a string restricted to a list of choices */
} elm_type;

/* One schema entry. Ownership: all strings are static. */
typedef struct elm_key_info {
    uint32_t size;
    const char *key;          /* "lora.rank" */
    elm_type type;
    const char *default_text; /* default value as text */
    double min, max;          /* range for INT and DOUBLE */
    const char *choices;      /* "|"-separated for CHOICE, else NULL */
    const char *doc;          /* one line */
} elm_key_info;

/* Number of schema entries; entry i (0-based) into *out. */
ELM_API size_t elm_config_key_count(void);
ELM_API elm_status elm_config_key_info(size_t index, elm_key_info *out);
/* Entry by key name; ELM_E_INVALID (listing close keys) if unknown. */
ELM_API elm_status elm_config_find_key(const char *key, elm_key_info *out);

/* Ownership: caller frees with elm_config_free. */
ELM_API elm_status elm_config_new(elm_config **out);
ELM_API elm_status elm_config_clone(const elm_config *cfg, elm_config **out);
ELM_API void elm_config_free(elm_config *cfg);

/* Typed setters. Unknown key, wrong type or out-of-range value → ELM_E_INVALID
 * with a message naming the key and the valid keys / range / choices. */
ELM_API elm_status elm_config_set_int(elm_config *cfg, const char *key, int64_t value);
ELM_API elm_status elm_config_set_double(elm_config *cfg, const char *key, double value);
ELM_API elm_status elm_config_set_bool(elm_config *cfg, const char *key, int value);
ELM_API elm_status elm_config_set_string(elm_config *cfg, const char *key, const char *value);
/* Parse `text` according to the key's type ("4", "1e-4", "true", "q,k,v"). */
ELM_API elm_status elm_config_set(elm_config *cfg, const char *key, const char *text);

/* Getters return the set value or the schema default. */
ELM_API elm_status elm_config_get_int(const elm_config *cfg, const char *key, int64_t *out);
ELM_API elm_status elm_config_get_double(const elm_config *cfg, const char *key, double *out);
ELM_API elm_status elm_config_get_bool(const elm_config *cfg, const char *key, int *out);
/* Ownership: borrowed from cfg (or static default), valid until cfg changes. */
ELM_API elm_status elm_config_get_string(const elm_config *cfg, const char *key, const char **out);
/* Value as text, whatever its type. Ownership: caller frees with elm_free. */
ELM_API elm_status elm_config_get_text(const elm_config *cfg, const char *key, char **out);

/* ------------------------------------------------------------------------ */
/* Progress and cancellation                                                */
/* ------------------------------------------------------------------------ */

typedef struct elm_progress {
    uint32_t size;
    const char *what;  /* "erase", "generate", "eval", "prepare" */
    uint64_t done;     /* units done so far */
    uint64_t total;    /* units in all (0: unknown) */
    double seconds;    /* wall time since the work started */
    const char *detail;/* free text ("loss 1.23"), may be NULL */
} elm_progress;

/* Return 0 to go on, non-zero to cancel (the call then returns
 * ELM_E_CANCELLED and leaves nothing half-written). */
typedef int (*elm_progress_fn)(const elm_progress *progress, void *user);

/* ------------------------------------------------------------------------ */
/* Runtime                                                                  */
/* ------------------------------------------------------------------------ */

/* 1 if libelm was built with CUDA and a CUDA device is usable. */
ELM_API int elm_cuda_available(void);
/* Number of CUDA devices (0 without CUDA). */
ELM_API int elm_cuda_device_count(void);
/* Threads used for intra-op parallelism (0: the CPUs this process may use). */
ELM_API elm_status elm_set_num_threads(int n);
ELM_API int elm_get_num_threads(void);
/* Name of the libtorch the library was built with ("1.13.1"). Static. */
ELM_API const char *elm_backend_version(void);

/* ------------------------------------------------------------------------ */
/* Models                                                                   */
/* ------------------------------------------------------------------------ */

/* A loaded causal LM (Llama, Mistral, Qwen2 families) with its tokenizer. */
typedef struct elm_model elm_model;

typedef struct elm_model_info {
    uint32_t size;
    const char *architecture; /* "LlamaForCausalLM"; borrowed from model */
    const char *dtype;        /* compute dtype: "float32", "bfloat16", "float16" */
    const char *device;       /* "cpu", "cuda:0" */
    int32_t n_layers;
    int32_t n_embd;
    int32_t n_heads;
    int32_t n_kv_heads;
    int32_t head_dim;
    int32_t n_ff;
    int32_t n_vocab;
    int32_t n_ctx;            /* max positions */
    int64_t n_params;         /* base parameters (without adapters) */
    int32_t tied_embeddings;
    int32_t has_adapter;      /* a LoRA adapter is attached */
    /* Appended in 0.1 (read only when size covers it): */
    const char *source_dtype; /* dtype(s) of the weights in the file: "F32", "BF16", "F32+Q4_1+Q8_0" */
} elm_model_info;

/* Load a model from a Hugging Face directory (config.json + safetensors,
 * single or sharded) or a GGUF file. cfg may be NULL (defaults); keys used:
 * runtime.device, runtime.dtype, runtime.threads, runtime.cpu_cache_mb. The
 * last two are per process: a load changes them only when cfg sets them (or,
 * with their defaults, when nothing has set them yet), so a count chosen with
 * elm_set_num_threads stays.
 * Ownership: caller frees with elm_model_free (the model is reference-counted
 * internally: sessions keep it alive after elm_model_free). */
ELM_API elm_status elm_model_load(const char *path, const elm_config *cfg, elm_model **out);
ELM_API void elm_model_free(elm_model *model);
/* Ownership: strings in *out are borrowed from the model. */
ELM_API elm_status elm_model_get_info(const elm_model *model, elm_model_info *out);

/* Logits for a batch of token sequences. `ids` holds the sequences one after
 * another, `lens[i]` tokens each; `out` receives sum(lens) × n_vocab floats
 * (fp32), sequence after sequence, position after position. */
ELM_API elm_status elm_model_logits(elm_model *model, const int32_t *ids, const size_t *lens,
                                    size_t n_seqs, float *out);

/* Attach a PEFT LoRA adapter directory (adapter_config.json +
 * adapter_model.safetensors) to the model; replaces any attached adapter. */
ELM_API elm_status elm_model_load_adapter(elm_model *model, const char *dir);
ELM_API elm_status elm_model_unload_adapter(elm_model *model);

/* ------------------------------------------------------------------------ */
/* Tokenizers                                                               */
/* ------------------------------------------------------------------------ */

typedef struct elm_tokenizer elm_tokenizer;

typedef enum elm_tokenize_flags {
    ELM_TOKENIZE_ADD_SPECIAL = 1,   /* apply the post-processor (BOS/EOS) */
    ELM_TOKENIZE_PARSE_SPECIAL = 2  /* special-token text in input becomes special ids */
} elm_tokenize_flags;

typedef enum elm_detokenize_flags {
    ELM_DETOKENIZE_SKIP_SPECIAL = 1
} elm_detokenize_flags;

typedef enum elm_special_token {
    ELM_TOKEN_BOS = 0,
    ELM_TOKEN_EOS = 1,
    ELM_TOKEN_PAD = 2,
    ELM_TOKEN_UNK = 3
} elm_special_token;

/* Load from a model directory, a bare tokenizer.json or a GGUF file. No key
 * of cfg changes how a tokenizer loads today: cfg is reserved (pass NULL).
 * Ownership: caller frees with elm_tokenizer_free. */
ELM_API elm_status elm_tokenizer_load(const char *path, const elm_config *cfg, elm_tokenizer **out);
/* The model's own tokenizer (a new reference). Ownership: elm_tokenizer_free. */
ELM_API elm_status elm_model_tokenizer(elm_model *model, elm_tokenizer **out);
ELM_API void elm_tokenizer_free(elm_tokenizer *tok);

/* Ownership: *ids is allocated; caller frees with elm_free. */
ELM_API elm_status elm_tokenizer_encode(const elm_tokenizer *tok, const char *text, size_t len,
                                        unsigned flags, int32_t **ids, size_t *n_ids);
/* Ownership: *text is NUL-terminated and allocated; caller frees with elm_free. */
ELM_API elm_status elm_tokenizer_decode(const elm_tokenizer *tok, const int32_t *ids, size_t n_ids,
                                        unsigned flags, char **text);
/* Vocabulary piece of an id. Ownership: borrowed from tok. */
ELM_API elm_status elm_tokenizer_piece(const elm_tokenizer *tok, int32_t id, const char **piece);
ELM_API int32_t elm_tokenizer_vocab_size(const elm_tokenizer *tok);
/* Id of a special token, or -1 if the tokenizer has none. */
ELM_API int32_t elm_tokenizer_special(const elm_tokenizer *tok, elm_special_token which);

/* Streaming detokenizer: feed ids one by one; text is released only when it
 * is complete UTF-8. The stream holds its own reference to tok, so tok may be
 * freed before the stream. One thread at a time per stream.
 * Ownership: elm_detok_stream_free. */
typedef struct elm_detok_stream elm_detok_stream;
ELM_API elm_status elm_detok_stream_new(const elm_tokenizer *tok, unsigned flags, elm_detok_stream **out);
/* Ownership: *text allocated (possibly ""), caller frees with elm_free. */
ELM_API elm_status elm_detok_stream_push(elm_detok_stream *st, int32_t id, char **text);
ELM_API elm_status elm_detok_stream_flush(elm_detok_stream *st, char **text);
ELM_API void elm_detok_stream_free(elm_detok_stream *st);

typedef struct elm_chat_message {
    const char *role;    /* "system", "user", "assistant" */
    const char *content;
} elm_chat_message;

/* Apply the tokenizer's chat template (ChatML, Zephyr, Llama-2, Llama-3,
 * recognised from its text). An unrecognised template is ELM_E_UNSUPPORTED
 * unless cfg's chat.fallback names one. Ownership: *out freed with elm_free. */
ELM_API elm_status elm_tokenizer_apply_chat(const elm_tokenizer *tok, const elm_chat_message *msgs,
                                            size_t n_msgs, int add_generation_prompt,
                                            const elm_config *cfg, char **out);

/* ------------------------------------------------------------------------ */
/* Datasets                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct elm_dataset elm_dataset;

typedef enum elm_dataset_kind {
    ELM_DATASET_TEXT = 0,        /* records of text */
    ELM_DATASET_PAIRS = 1,       /* (prompt, continuation) consistency pairs */
    ELM_DATASET_MCQ = 2          /* multiple-choice questions */
} elm_dataset_kind;

/* Open JSONL, plain text, JSON lists, the reference's consistency JSON or its
 * JSONL form. Keys used: data.format, data.text_field, data.min_chars,
 * data.max_chars. Errors name the file and line.
 * Ownership: caller frees with elm_dataset_free. */
ELM_API elm_status elm_dataset_load(const char *path, const elm_config *cfg, elm_dataset **out);
ELM_API void elm_dataset_free(elm_dataset *ds);
ELM_API elm_dataset_kind elm_dataset_get_kind(const elm_dataset *ds);
ELM_API size_t elm_dataset_size(const elm_dataset *ds);
/* Record i of a TEXT dataset. Ownership: borrowed from ds. */
ELM_API elm_status elm_dataset_text(const elm_dataset *ds, size_t i, const char **text);
/* Pair i of a PAIRS dataset. Ownership: borrowed from ds. */
ELM_API elm_status elm_dataset_pair(const elm_dataset *ds, size_t i, const char **prompt,
                                    const char **continuation);
/* A concept given as keywords: read a keyword file in the shape of the
 * authors' wmdp-keywords.json (a JSON list of strings, or an object of such
 * lists) and set *concept_out to one list's keywords joined by ", ". key names
 * the list of an object (NULL or "": a bare list, or an object's only list).
 * Errors name the file: ELM_E_IO, ELM_E_FORMAT (not JSON or UTF-8, a
 * duplicate key, a field or item of the wrong type), ELM_E_INVALID (no such
 * key, listing the keys; several lists and no key; an empty list).
 * Ownership: caller frees *concept_out with elm_free. */
ELM_API elm_status elm_keywords_read(const char *path, const char *key, char **concept_out);

/* ------------------------------------------------------------------------ */
/* Erasure sessions                                                         */
/* ------------------------------------------------------------------------ */

typedef struct elm_session elm_session;

typedef enum elm_role {
    ELM_ROLE_FORGET = 0,      /* text about the concept (erase loss) */
    ELM_ROLE_RETAIN = 1,      /* unrelated text (retain loss) */
    ELM_ROLE_CONSISTENCY = 2, /* pregenerated pairs (consistency loss) */
    ELM_ROLE_TRAIN = 3        /* plain next-token fine-tuning (objective "finetune") */
} elm_role;

typedef struct elm_step_stats {
    uint32_t size;
    int64_t step;            /* optimizer steps done, after this one */
    int64_t micro_steps;     /* micro-steps done in all */
    double loss;             /* weighted total, mean over the step's micro-steps */
    double loss_erase;
    double loss_retain;
    double loss_consistency;
    double loss_train;       /* objective "finetune" */
    double grad_norm;        /* before clipping */
    double lr;
    int64_t tokens;          /* tokens processed in this step (all passes) */
    double seconds;          /* wall time of this step */
} elm_step_stats;

/* A training session over a model: the objective and LoRA set by cfg
 * (erase.*, lora.*, optim.*, data.*). Keeps its own reference to the model.
 * Ownership: caller frees with elm_session_free. */
ELM_API elm_status elm_session_new(elm_model *model, const elm_config *cfg, elm_session **out);
ELM_API void elm_session_free(elm_session *s);

/* Attach a dataset for a role to dataset group `group` (0-based; groups are
 * mixed by erase.mix, e.g. "0,0,1"). The session keeps its own reference.
 * The concept text of a group comes from erase.concept (or set per group). */
ELM_API elm_status elm_session_attach(elm_session *s, elm_role role, int group, elm_dataset *ds);
ELM_API elm_status elm_session_set_concept(elm_session *s, int group, const char *concept_text);

ELM_API elm_status elm_session_set_progress(elm_session *s, elm_progress_fn fn, void *user);

/* One optimizer step (optim.accum micro-steps). A non-finite loss or
 * gradient gives ELM_E_NUMERIC and leaves weights and optimizer untouched. */
ELM_API elm_status elm_session_step(elm_session *s, elm_step_stats *stats);

/* Save the adapter as a PEFT directory (adapter_config.json,
 * adapter_model.safetensors) plus libelm's resume state (elm_state.safetensors,
 * elm_state.json). Atomic: a failed save leaves any previous directory intact. */
ELM_API elm_status elm_session_save(elm_session *s, const char *dir);
/* Restore adapter, optimizer, RNG and data position saved by elm_session_save. */
ELM_API elm_status elm_session_resume(elm_session *s, const char *dir);
/* Merge the adapter into the base weights and save an HF safetensors
 * model directory (config.json, model.safetensors, tokenizer files). */
ELM_API elm_status elm_session_save_merged(elm_session *s, const char *dir);
/* Attach the session's current adapter to its model for logits/generation. */
ELM_API elm_status elm_session_apply_to_model(elm_session *s);

/* ------------------------------------------------------------------------ */
/* Generation                                                               */
/* ------------------------------------------------------------------------ */

/* Called for each generated token of prompt `index`; `text` is the newly
 * completed UTF-8 text (may be ""). Return non-zero to stop everything. */
typedef int (*elm_token_fn)(size_t index, int32_t id, const char *text, void *user);

/* Generate continuations for n prompts (batched with a KV cache). Keys used:
 * gen.max_new_tokens, gen.temperature (0: greedy), gen.top_k, gen.top_p,
 * gen.seed, gen.stop (";"-separated strings), gen.chat.
 * Ownership: outputs[i] (generated text only) freed with elm_free each. */
ELM_API elm_status elm_generate(elm_model *model, const char *const *prompts, size_t n_prompts,
                                const elm_config *cfg, elm_token_fn on_token, void *user,
                                char **outputs);

/* Erase-guided generation of consistency data (method §4) for every text of
 * `forget`, written to `out_path` (reference JSON, or JSONL by extension);
 * an existing partial file is resumed. Keys: prepare.*, erase.concept, gen.seed. */
ELM_API elm_status elm_prepare_consistency(elm_model *model, elm_dataset *forget,
                                           const elm_config *cfg, const char *out_path,
                                           elm_progress_fn progress, void *user);

/* ------------------------------------------------------------------------ */
/* Evaluation                                                               */
/* ------------------------------------------------------------------------ */

typedef struct elm_mcq_result {
    uint32_t size;
    size_t n;             /* questions */
    size_t n_correct;
    double accuracy;
    double ci_low, ci_high; /* 95% Wilson interval */
    int32_t *predicted;   /* n predicted indices */
    int32_t *answers;     /* n gold indices */
    double *margins;      /* n: best minus second-best score (cloze: of loglik / characters) */
    double seconds;
    /* Appended in 0.1 (read only when size covers it): */
    size_t stride;        /* columns of the n × stride matrices below: the most choices of a question */
    double *loglik;       /* n × stride: each choice's score: the sum of its continuation tokens'
                           * log-probabilities (loglik, cloze) or its letter's logit
                           * (letter_logits); NaN past a question's choices */
    int32_t *n_tokens;    /* n × stride: continuation tokens scored per choice (letter_logits: 1;
                           * 0 past a question's choices) */
    int32_t *predicted_unnormalized; /* n: argmax of loglik (lm-eval's acc); = predicted unless cloze */
    size_t n_correct_unnormalized;
    double accuracy_unnormalized;
} elm_mcq_result;

/* Multiple-choice accuracy on a question file (JSON/JSONL: question,
 * choices, answer). Keys: eval.mcq_subject, eval.mcq_scoring (loglik,
 * letter_logits, cloze), eval.limit, eval.batch. cloze is lm-eval's acc_norm:
 * predicted = argmax of loglik / (characters of the choice text), with
 * predicted_unnormalized its acc (docs/eval.md).
 * Ownership: *out freed with elm_mcq_result_free. */
ELM_API elm_status elm_eval_mcq(elm_model *model, const char *path, const elm_config *cfg,
                                elm_progress_fn progress, void *user, elm_mcq_result **out);
ELM_API void elm_mcq_result_free(elm_mcq_result *r);

typedef struct elm_ppl_result {
    uint32_t size;
    double perplexity;
    double nll;           /* mean negative log-likelihood per token */
    int64_t n_tokens;
    double seconds;
} elm_ppl_result;

/* Token-level perplexity of a text dataset (sliding window eval.window,
 * stride eval.stride). */
ELM_API elm_status elm_eval_perplexity(elm_model *model, elm_dataset *ds, const elm_config *cfg,
                                       elm_progress_fn progress, void *user, elm_ppl_result *out);

/* Reverse perplexity: `generator` continues each prompt of `prompts`
 * (gen.* keys), `scorer` scores the generated text. */
ELM_API elm_status elm_eval_reverse_perplexity(elm_model *generator, elm_model *scorer,
                                               elm_dataset *prompts, const elm_config *cfg,
                                               elm_progress_fn progress, void *user,
                                               elm_ppl_result *out);

/* ------------------------------------------------------------------------ */
/* Inspection                                                               */
/* ------------------------------------------------------------------------ */

/* Recognise and describe any input libelm reads — model directory or file
 * (HF safetensors, single or sharded; GGUF), bare safetensors file,
 * tokenizer.json, text dataset, multiple-choice file, consistency file, PEFT
 * adapter directory — as one JSON object with "kind" ("model",
 * "safetensors", "tokenizer", "dataset", "mcq", "consistency", "adapter"),
 * "path" and that kind's fields. Models and adapters are checked from their
 * configuration and tensor index only (every tensor present, shaped and
 * typed as the loader needs); no weight is read. Errors are the readers'
 * own, naming the file and the problem. cfg may be NULL; keys used: data.*.
 * Ownership: *json_out (NUL-terminated) freed with elm_free. */
ELM_API elm_status elm_inspect(const char *path, const elm_config *cfg, char **json_out);

/* ------------------------------------------------------------------------ */
/* Deprecated names (0.1 -> 0.2), removed in the release after 0.2          */
/* ------------------------------------------------------------------------ */
/* One scheme: elm_<object>_<verb>; constructors _new (in memory) or _load
 * (from a file); `_get_` only where the noun is itself a type name
 * (elm_model_get_info: elm_model_info is its struct); process-wide
 * calls carry no object (elm_set_num_threads). The old names below are the
 * same functions, still exported. */
ELM_DEPRECATED("elm_tokenizer_encode")
ELM_API elm_status elm_tokenize(const elm_tokenizer *tok, const char *text, size_t len,
                                unsigned flags, int32_t **ids, size_t *n_ids);
ELM_DEPRECATED("elm_tokenizer_decode")
ELM_API elm_status elm_detokenize(const elm_tokenizer *tok, const int32_t *ids, size_t n_ids,
                                  unsigned flags, char **text);
ELM_DEPRECATED("elm_tokenizer_piece")
ELM_API elm_status elm_token_piece(const elm_tokenizer *tok, int32_t id, const char **piece);
ELM_DEPRECATED("elm_tokenizer_apply_chat")
ELM_API elm_status elm_chat_apply(const elm_tokenizer *tok, const elm_chat_message *msgs,
                                  size_t n_msgs, int add_generation_prompt,
                                  const elm_config *cfg, char **out);
ELM_DEPRECATED("elm_dataset_load")
ELM_API elm_status elm_dataset_open(const char *path, const elm_config *cfg, elm_dataset **out);
ELM_DEPRECATED("elm_session_new")
ELM_API elm_status elm_session_create(elm_model *model, const elm_config *cfg, elm_session **out);

#ifdef __cplusplus
}
#endif

#endif /* ELM_H */
