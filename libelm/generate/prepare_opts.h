/* Options of consistency-data preparation (prepare.c), typed: read once from
 * an elm_config by elm_prepare_opts_from_config (prepare_opts.c). */
#ifndef ELM_GENERATE_PREPARE_OPTS_H
#define ELM_GENERATE_PREPARE_OPTS_H

#include <stdint.h>

#include "elm.h"

typedef struct elm_prepare_opts {
    const char *concept;      /* erase.concept (borrowed from the config), not empty */
    int64_t group, limit;     /* prepare.group; prepare.limit (0: all) */
    uint64_t seed;            /* gen.seed */
    int64_t min_cut, max_cut; /* prepare.min_cut <= prepare.max_cut (code points) */
    int64_t min_new, max_new; /* prepare.min_new_tokens <= prepare.max_new_tokens */
    double guidance;          /* prepare.guidance (gamma) */
    /* Warpers after the guidance; -1: the model's generation_config.json */
    double temperature, top_p;
    int64_t top_k;
    int reference_join;       /* prepare.join = reference */
} elm_prepare_opts;

/* prepare.*, erase.concept and gen.seed (NULL cfg: defaults, and then the
 * empty concept is refused). ELM_E_INVALID names the key of a bad value. */
elm_status elm_prepare_opts_from_config(const elm_config *cfg, elm_prepare_opts *o);

#endif
