/* Options of consistency-data preparation (prepare.c), typed: read once from
 * an elm_config by elm_prepare_opts_from_config (prepare_opts.c). */
#ifndef ELM_GENERATE_PREPARE_OPTS_H
#define ELM_GENERATE_PREPARE_OPTS_H

#include <stdint.h>

#include "elm.h"

typedef enum elm_prepare_cut { ELM_CUT_AUTO = 0, ELM_CUT_PREFIX, ELM_CUT_WHOLE } elm_prepare_cut;

typedef struct elm_prepare_opts {
    const char *concept;      /* erase.concept (borrowed from the config); elm_prepare_run refuses it empty */
    int64_t group, limit;     /* prepare.group; prepare.limit (0: all) */
    uint64_t seed;            /* gen.seed */
    int64_t min_cut, max_cut; /* prepare.min_cut <= prepare.max_cut (code points) */
    int64_t min_new, max_new; /* prepare.min_new_tokens <= prepare.max_new_tokens */
    double guidance;          /* prepare.guidance (gamma) */
    /* Warpers after the guidance; -1: the model's generation_config.json */
    double temperature, top_p;
    int64_t top_k;
    int reference_join;       /* prepare.join = reference */
    elm_prepare_cut cut;      /* prepare.cut */
    int online;               /* set by the caller, not the config: entries made during training
                               * (erase.consistency = online), which changes what auto and the
                               * reference join mean (prepare.c) */
} elm_prepare_opts;

/* prepare.*, erase.concept and gen.seed (NULL cfg: defaults). ELM_E_INVALID
 * names the key of a bad value. */
elm_status elm_prepare_opts_from_config(const elm_config *cfg, elm_prepare_opts *o);

#endif
