/* The sampling defaults a Hugging Face model ships in generation_config.json,
 * resolved as transformers' GenerationConfig does: a field the file sets
 * wins, every other field keeps the library's default (temperature 1,
 * top_k 50, top_p 1); top_k null turns the top-k warper off. */
#ifndef ELM_MODEL_GEN_CONFIG_H
#define ELM_MODEL_GEN_CONFIG_H

#include <stdint.h>

#include "core/error.h"

typedef struct elm_gen_defaults {
    double temperature;
    int64_t top_k; /* 0: off */
    double top_p;
    int from_file; /* 1 when generation_config.json was read */
} elm_gen_defaults;

/* transformers' GenerationConfig defaults. */
void elm_gen_defaults_hf(elm_gen_defaults *d);

/* dir/generation_config.json over the defaults; no such file leaves the
 * defaults (ELM_OK). Invalid JSON or a field of the wrong type or range:
 * ELM_E_FORMAT naming the file and the field. */
elm_status elm_gen_defaults_load(const char *dir, elm_gen_defaults *d);

#endif
