/* An erasure / fine-tuning session inside libelm: the ELM objective
 * (docs/erase.md), its LoRA adapter, AdamW, data positions, save/resume and
 * merge. The public handle (api/session_api.c) wraps one of these. */
#ifndef ELM_ERASE_SESSION_H
#define ELM_ERASE_SESSION_H

#include <stdint.h>

#include "elm.h"
#include "erase/objective.h"
#include "erase/options.h"
#include "erase/prng.h"
#include "erase/templates.h"
#include "model/model.h"

#define ELM_N_ROLES 4

typedef enum elm_erase_loss { ELM_LOSS_SOFT_CE = 0, ELM_LOSS_KL, ELM_LOSS_HARD } elm_erase_loss;
/* erase.objective, in the schema's order. */
typedef enum elm_objective_kind {
    ELM_OBJ_ELM = 0,
    ELM_OBJ_FINETUNE,
    ELM_OBJ_RMU,       /* baselines (erase/baselines.c) from here on */
    ELM_OBJ_GRAD_DIFF,
    ELM_OBJ_NPO
} elm_objective_kind;
#define ELM_OBJ_IS_BASELINE(k) ((k) >= ELM_OBJ_RMU)

typedef enum elm_erase_action { ELM_ACTION_ERASE = 0, ELM_ACTION_ENHANCE, ELM_ACTION_RANDOM } elm_erase_action;

typedef struct elm_erase_group {
    elm_dataset *ds[ELM_N_ROLES];   /* a reference each, or NULL */
    size_t *pair_idx;               /* consistency: the pairs used by this group */
    size_t n_pairs;
    char *concept;                  /* NULL: erase.concept */
    int64_t pos[ELM_N_ROLES];       /* next record (cycled modulo the size) */
} elm_erase_group;

/* Options read from the config once, at creation. */
typedef struct elm_erase_opts {
    elm_objective_kind objective;
    int finetune;          /* objective == ELM_OBJ_FINETUNE */
    int64_t rmu_layer;     /* erase.rmu_layer, erase.rmu_coeff, erase.rmu_alpha */
    double rmu_coeff, rmu_alpha;
    double npo_beta;       /* erase.npo_beta */
    double eta, tau;
    int eta_ramp;
    int64_t top_k;
    double plausibility; /* erase.plausibility: alpha of the plausibility mask (0: off) */
    elm_erase_loss loss;
    elm_erase_action action;
    int retain_soft;
    double lam_erase, lam_retain, lam_cons;
    int tmpl_cycle;
    int align_separate;
    int cons_reference; /* erase.consistency_tokens = reference (erase.py's joint tokenization) */
    int cons_online;    /* erase.consistency = online: pairs from e->cons_source */
    int *mix;
    int n_mix;
    char *mix_text;        /* erase.mix as given, for messages */
    int64_t max_tokens;
    double lr, beta1, beta2, eps, wd, clip;
    int64_t accum, warmup, steps;
    elm_lr_schedule sched;
    uint64_t seed;
    int rank;
    double alpha, dropout;
    int lora_model_dtype;  /* lora.compute_dtype = model */
    unsigned module_mask;
    unsigned *layer_mask;
    char *init_from;
    char *concept;
    char *base_model_id;   /* lora.base_model_id, "" when unset */
    char *expert_file, *novice_file;
    int64_t batch;         /* erase.batch: micro-steps run together (texts per forward) */
    int prefix_cache;      /* erase.prefix_cache: reuse the prefixes' frozen K/V */
    char *frozen_cache;    /* erase.frozen_cache: directory, or NULL */
} elm_erase_opts;

struct elm_micro_result;
struct elm_prefix_table;
struct elm_fcache;

typedef struct elm_erase {
    elm_model *m;                 /* a reference */
    elm_config *cfg;              /* a copy of the creation config */
    elm_erase_opts o;
    elm_lora *lora;
    et_tensor **params;           /* borrowed from lora, in optimizer order */
    size_t n_params;
    et_adamw *opt;
    elm_erase_group *groups;
    int n_groups;
    elm_template_set expert, novice;
    elm_prng prng;
    int64_t step, micro;
    elm_progress_fn progress;
    void *user;
    double t_start;               /* wall clock of the first step (progress) */
    elm_step_stats last;          /* the last step this process ran (model card) */
    int have_last;
    /* erase.consistency = online: the pair for forget text `index` of
     * `group` (its text and the group's concept given), strings valid for
     * the session's life. Installed by the api layer (generate/online.h);
     * the erase layer only calls it. */
    elm_status (*cons_source)(void *user, int group, size_t index, const char *text, const char *concept,
                              const char **prompt, const char **cont);
    void *cons_user;
    /* internal hook (tests): called after every micro-step */
    void (*on_micro)(const struct elm_micro_result *r, void *user);
    void *on_micro_user;
    /* objective.c's caches of frozen work (elm_objective_release frees them) */
    struct elm_prefix_table *pkv; /* frozen K/V of expert/novice prefixes */
    struct elm_fcache *fcache;    /* erase.frozen_cache, or NULL */
    float *rmu_cu;                /* objective rmu: c * u [n_embd] (baselines.c), or NULL */
    elm_objective_opts xo;        /* the objective's internal switches (erase/objective.h) */
    elm_objective_counters xc;    /* and its counters */
} elm_erase;

/* erase.*, lora.*, optim.* and runtime.seed of c (erase_opts.c, the layer's
 * one config reader; m gives the layer count); elm_erase_opts_free releases
 * what it allocated. */
elm_status elm_erase_opts_from_config(const elm_config *c, const elm_model *m, elm_erase_opts *o);
void elm_erase_opts_free(elm_erase_opts *o);
/* erase.objective's name of k ("elm", "rmu", ...). */
const char *elm_objective_name(elm_objective_kind k);

elm_status elm_erase_create(elm_model *m, const elm_config *cfg, elm_erase **out);
void elm_erase_free(elm_erase *e);

/* ---- card.c: the model card (README.md) of a saved directory ---- */
/* base_model_name_or_path of e's adapter: lora.base_model_id, else the
 * model's path. */
const char *elm_erase_base_model(const elm_erase *e);
/* Write dir/README.md: YAML metadata as the Hub and PEFT read it
 * (base_model when lora.base_model_id is set, library_name peft for an
 * adapter or transformers for a merged model, tags), then the concept, the
 * objective, the last step's losses, the configuration keys that differ
 * from their defaults, and how to load it. */
/* Calls fn(ud, key, value) for each configuration key of cfg in key order,
 * its value as text; with changed_only, only the keys that differ from
 * their defaults (doubles compared as numbers, shown in shortest form). */
elm_status elm_erase_opts_each_key(const elm_config *cfg, int changed_only,
                                   void (*fn)(void *ud, const char *key, const char *value), void *ud);
elm_status elm_erase_write_card(const elm_erase *e, const char *dir, int merged);
elm_status elm_erase_attach(elm_erase *e, elm_role role, int group, elm_dataset *ds);
elm_status elm_erase_set_concept(elm_erase *e, int group, const char *concept);
/* Checks before training: data present for every group of the mix, etc. */
elm_status elm_erase_validate(elm_erase *e);
elm_status elm_erase_step(elm_erase *e, elm_step_stats *stats);
elm_status elm_erase_save(elm_erase *e, const char *dir);
elm_status elm_erase_resume(elm_erase *e, const char *dir);
elm_status elm_erase_save_merged(elm_erase *e, const char *dir);

/* ---- objective.c: one micro-step's losses (gradients accumulate) ---- */
struct elm_micro_result {
    double erase, retain, cons, train; /* NaN where not computed */
    double total;                      /* sum of lambda * term */
    int64_t tokens;
};
typedef struct elm_micro_result elm_micro_result;

elm_status elm_erase_micro_step(elm_erase *e, elm_micro_result *r);
/* Micro-steps e->micro .. e->micro+nb-1 at once (erase.batch): each term's
 * texts go through one right-padded, attention-masked forward; r[0..nb) get
 * each micro-step's own results, and the gradients are the sum of the nb
 * micro-steps' (as nb calls of elm_erase_micro_step, up to rounding; with
 * dropout or action random the random draws come in another order). */
elm_status elm_erase_micro_batch(elm_erase *e, int nb, elm_micro_result *r);
/* Open what the objective keeps between steps (erase.frozen_cache). */
elm_status elm_objective_init(elm_erase *e);
/* Free what the objective keeps between steps (prefix K/V, disk cache). */
void elm_objective_release(elm_erase *e);

#endif
