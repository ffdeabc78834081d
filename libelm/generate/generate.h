/* Generation inside libelm: HF-style sampling warpers, batched KV-cached
 * decoding with left padding, and erase-guided decoding (method §4) for
 * consistency data. Used by api/generate_api.c and eval/ (reverse perplexity).
 *
 * Randomness: every call that samples first seeds the global torch generator
 * with et_manual_seed(seed), so a call's output depends only on its inputs
 * and seed (not on what ran before it). Host-side draws (cut lengths,
 * sentences, templates) use a splitmix64 stream seeded per entry. */
#ifndef ELM_GENERATE_GENERATE_H
#define ELM_GENERATE_GENERATE_H

#include <stddef.h>
#include <stdint.h>

#include "elm.h"
#include "generate/prepare_opts.h"
#include "model/model.h"
#include "tensor/shim.h"

typedef struct elm_gen_params {
    int64_t max_new_tokens;
    double temperature;  /* 0: greedy */
    int64_t top_k;       /* 0: off */
    double top_p;        /* 1: off */
    uint64_t seed;
    const char *stop;    /* ";"-separated stop strings, may be NULL/"" */
    int chat;            /* wrap prompts in the chat template (text API only) */
    int no_eos;          /* do not stop at EOS (golden tests) */
    elm_chat_kind chat_fallback; /* chat.fallback (ELM_CHAT_NONE: none) */
} elm_gen_params;

/* gen.* keys (NULL cfg: defaults). p->stop is borrowed from cfg. */
elm_status elm_gen_params_from_config(const elm_config *cfg, elm_gen_params *p);

/* HF logits warpers and the draw, on logits [B, V] fp32:
 * temperature (scores / T), then top-k (keep >= the k-th largest), then
 * top-p (drop the sorted-ascending prefix whose cumulative probability is
 * <= 1 - top_p, always keeping the most likely token), then
 * multinomial(softmax). temperature 0: argmax. out[B]. */
elm_status elm_sample_rows(et_scope *s, const et_tensor *logits, double temperature, int64_t top_k,
                           double top_p, int64_t *out);

/* Result of one prompt. Ownership: ids and text malloc'd (elm_gen_result_clear). */
typedef struct elm_gen_result {
    int32_t *ids;   /* generated ids, without the stopping EOS */
    size_t n_ids;
    char *text;     /* streamed text, cut before a stop string */
    int stopped;    /* 1 EOS, 2 stop string, 0 length */
} elm_gen_result;
void elm_gen_result_clear(elm_gen_result *r);

/* Batched generation from token ids (left padding, attention mask,
 * positions = cumsum(mask) - 1, one KV cache; finished rows leave the
 * batch). Uses the model's attached adapter. `out` has n entries.
 * on_token may be NULL; a non-zero return stops with ELM_E_CANCELLED. */
elm_status elm_gen_ids(elm_model *m, const int32_t *const *prompts, const size_t *lens, size_t n,
                       const elm_gen_params *p, elm_token_fn on_token, void *user,
                       elm_gen_result *out);

/* Tokenize a prompt the way elm_generate does (chat template when p->chat).
 * Ownership: *ids with free(). */
elm_status elm_gen_tokenize_prompt(elm_model *m, const char *prompt, const elm_gen_params *p,
                                   int32_t **ids, size_t *n);

/* ---- erase-guided decoding (method §4) ---------------------------------- */

typedef struct elm_guided_params {
    double guidance;     /* gamma */
    int64_t n_new;       /* tokens to generate (stops earlier at EOS unless no_eos) */
    int greedy;          /* argmax instead of a draw */
    int no_eos;
    /* Warpers applied to the guided score before the draw, in transformers'
     * order (a custom logits processor, then temperature → top-k → top-p):
     * temperature 1, top_k 0 and top_p 1 leave the score as it is. */
    double temperature;
    int64_t top_k;
    double top_p;
} elm_guided_params;

/* score = lsm(P(p ⊕ y)) − γ·(lsm(P(e ⊕ y)) − lsm(P(v ⊕ y))), three
 * streams each with its own KV cache (batch 1, no padding). The model's
 * attached adapter is NOT used (the frozen base generates). The caller seeds
 * the generator. Ownership: *out with free(). */
elm_status elm_guided_ids(elm_model *m, const int32_t *p, size_t np, const int32_t *e, size_t ne,
                          const int32_t *v, size_t nv, const elm_guided_params *gp, int32_t **out,
                          size_t *n_out);

/* Prefix for the expert/novice streams: template with {concept} replaced and
 * a trailing ":\n" (and trailing whitespace) removed. Ownership: free(). */
char *elm_guided_prefix(const char *tmpl, const char *concept);

/* The project's own change-of-subject sentences (static). */
#define ELM_GUIDE_SENTENCES 20
extern const char *const elm_guide_builtin_sentences[ELM_GUIDE_SENTENCES];
size_t elm_guide_n_sentences(void); /* 20 */
const char *elm_guide_sentence(size_t i);

/* ---- consistency data (prepare.c) --------------------------------------- */

/* Expert and novice templates (with {concept} and a trailing ":\n"). */
typedef struct elm_guide_templates {
    const char *const *expert;
    size_t n_expert;
    const char *const *novice;
    size_t n_novice;
    const char *const *redirect; /* change-of-subject sentences (NULL: the built-in 20) */
    size_t n_redirect;
} elm_guide_templates;

/* One entry from one forget text, all draws from `seed`. Ownership: both
 * strings with free(). */
elm_status elm_prepare_entry(elm_model *m, const char *text, const elm_prepare_opts *o,
                             const elm_guide_templates *tp, uint64_t seed, char **prompt_out, char **cont_out);
/* The seed of entry i of group `group` under gen.seed `seed`: the stream
 * elm_prepare_entry draws from, the same for a file and online. */
uint64_t elm_prepare_entry_seed(uint64_t seed, int64_t group, size_t i);
/* The body of elm_prepare_consistency (see prepare.c). */
elm_status elm_prepare_run(elm_model *m, elm_dataset *forget, const elm_prepare_opts *o, const char *out_path,
                           const elm_guide_templates *tp, elm_progress_fn progress, void *user);

/* splitmix64 stream for host-side draws. */
typedef struct elm_rng {
    uint64_t s;
} elm_rng;
void elm_rng_seed(elm_rng *r, uint64_t seed);
uint64_t elm_rng_next(elm_rng *r);
/* Uniform integer in [lo, hi] (inclusive). */
int64_t elm_rng_range(elm_rng *r, int64_t lo, int64_t hi);

/* Ids that end generation: the model's eos id, the tokenizer's EOS, and
 * (chat) "<|im_end|>" / "<|eot_id|>" when the vocabulary has them. */
size_t elm_gen_eos_ids(elm_model *m, int chat, int32_t *ids, size_t cap);

#endif
