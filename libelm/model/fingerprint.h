/* A 64-bit content fingerprint of a loaded model: its configuration, its
 * compute dtype and every weight tensor's dtype, shape and bytes (a tied
 * lm_head once), hashed with core/hash.h. Two models with the same print
 * compute the same; erase.frozen_cache keys its entries with it. Reads every
 * weight (copied to the host 32 MiB at a time): seconds on a large model. */
#ifndef ELM_MODEL_FINGERPRINT_H
#define ELM_MODEL_FINGERPRINT_H

#include "model/model.h"

#include <stdint.h>

/* *out = the fingerprint of m with the hash seeded by seed, after the
 * string tag (the caller's format name: a new format gives new prints).
 * Errors: copying a weight to the host (context "model fingerprint"), out
 * of memory. */
elm_status elm_model_fingerprint(const elm_model *m, uint64_t seed, const char *tag, uint64_t *out);

#endif
