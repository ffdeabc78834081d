/* Frozen K/V of the expert/novice prefixes (erase.prefix_cache), kept by
 * the session between steps (e->pkv). Internal to erase/. */
#ifndef ELM_ERASE_PREFIX_KV_H
#define ELM_ERASE_PREFIX_KV_H

#include "erase/objective_int.h"

typedef struct pkv_entry {
    char *text;          /* the filled template */
    ids_buf ids;         /* tok(text), with special tokens */
    elm_kv_cache *kv;    /* the frozen model's K/V of ids ([1, kv_heads, n, head_dim] per layer) */
} pkv_entry;

struct elm_prefix_table {
    pkv_entry *v;        /* PKV_MAX slots (entries never move) */
    int n;
};

/* Free the table (NULL ok). */
void elm_obj_pkv_free(struct elm_prefix_table *t);
/* *out = the entry of prefix `text`, its K/V computed at the first use;
 * NULL when erase.prefix_cache is off, the table is full or the prefix has
 * no tokens. */
elm_status elm_obj_prefix_kv(elm_erase *e, const char *text, const pkv_entry **out);

#endif
