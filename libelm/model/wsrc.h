/* wsrc.h — where a model's weights come from: a safetensors checkpoint
 * (single file or shards) or a GGUF file, seen the same way by the loader.
 * A source is reference counted so that tensors wrapping its mapping
 * (zero-copy) keep it alive after the loader is done. Private to model/. */
#ifndef ELM_MODEL_WSRC_H
#define ELM_MODEL_WSRC_H

#include "model/model.h"

typedef struct elm_wsrc elm_wsrc;

typedef struct elm_wtensor {
    const char *name;
    int ndim;
    int64_t shape[8];   /* torch order (GGUF dims already reversed) */
    const char *dtype;  /* the file's name for it: "F32", "BF16", "Q4_1" */
    int et_dt;          /* et_dtype when the bytes are plain, else -1 */
    const void *data;
    size_t nbytes;
} elm_wtensor;

elm_status elm_wsrc_open_safetensors(const char *path, elm_wsrc **out);
elm_status elm_wsrc_open_gguf(const char *path, elm_wsrc **out);
void elm_wsrc_ref(elm_wsrc *w);
void elm_wsrc_unref(elm_wsrc *w); /* also the release callback for et_from_blob */
const char *elm_wsrc_path(const elm_wsrc *w);
int elm_wsrc_is_gguf(const elm_wsrc *w);
size_t elm_wsrc_count(const elm_wsrc *w);
int elm_wsrc_at(const elm_wsrc *w, size_t i, elm_wtensor *out);
/* 1 and *out when present, else 0. */
int elm_wsrc_find(const elm_wsrc *w, const char *name, elm_wtensor *out);
/* The loader is done with t's bytes (they were copied or converted): drop
 * the mapping's pages that lie wholly inside them from the resident set
 * (MADV_DONTNEED; the mapping is read-only, so a later read faults the same
 * bytes back in from the file). Without it a converting load (fp32 file,
 * bf16 model; any GGUF) has the whole file resident at its end, next to the
 * converted weights. Best effort: never fails. */
void elm_wsrc_drop_pages(const elm_wsrc *w, const elm_wtensor *t);
/* Dequantize/convert any tensor to fp32 (numel floats). */
elm_status elm_wsrc_to_f32(const elm_wsrc *w, const elm_wtensor *t, float *dst);
/* GGUF only: the model configuration from metadata. */
elm_status elm_wsrc_gguf_config(const elm_wsrc *w, elm_llama_config *out);

/* GGUF only: llama.cpp's rope_freqs.weight (llama3 scaling stored as
 * per-frequency divisors), applied to inv_freq; no-op when absent. */
elm_status elm_wsrc_gguf_rope_factors(const elm_wsrc *w, const elm_llama_config *c, float *inv_freq);

#endif
