/* The one configuration schema: every key libelm understands, its type,
 * default, range and doc. The CLI flags, `elm help keys`, the man page, the
 * Python keyword arguments and the Rust builder are all generated from it. */
#ifndef ELM_CONFIG_SCHEMA_H
#define ELM_CONFIG_SCHEMA_H

#include "elm.h"

typedef struct elm_schema_entry {
    const char *key;
    elm_type type;
    const char *def;     /* default as text */
    double min, max;     /* INT/DOUBLE range (inclusive) */
    const char *choices; /* CHOICE: "a|b|c" */
    const char *doc;
} elm_schema_entry;

/* Ids of the keys, in table order: elm_schema[ELM_KEY_LORA_RANK].key is
 * "lora.rank" (both from config/keys.def). */
typedef enum elm_key_id {
#define ELM_KEY(id, ...) ELM_KEY_##id,
#include "config/keys.def"
#undef ELM_KEY
    ELM_KEY_COUNT
} elm_key_id;

extern const elm_schema_entry elm_schema[];
extern const size_t elm_schema_count;

/* Index of key in elm_schema, or -1. */
long elm_schema_index(const char *key);

#endif
