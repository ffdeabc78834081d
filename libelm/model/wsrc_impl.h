/* The inside of elm_wsrc, shared by wsrc_st.c and wsrc_gguf.c. */
#ifndef ELM_MODEL_WSRC_IMPL_H
#define ELM_MODEL_WSRC_IMPL_H

#include "model/wsrc.h"

#include <stdatomic.h>

struct elm_st_set;
struct elm_gguf;

struct elm_wsrc {
    atomic_int refs;
    char *path;
    struct elm_st_set *st;   /* safetensors checkpoint, or NULL */
    void *gguf;              /* GGUF side (wsrc_gguf.c), or NULL */
};

void elm_wsrc_gguf_close(elm_wsrc *w);
size_t elm_wsrc_gguf_count(const elm_wsrc *w);
int elm_wsrc_gguf_at(const elm_wsrc *w, size_t i, elm_wtensor *out);
int elm_wsrc_gguf_find(const elm_wsrc *w, const char *name, elm_wtensor *out);
elm_status elm_wsrc_gguf_to_f32(const elm_wsrc *w, const elm_wtensor *t, float *dst);

#endif
