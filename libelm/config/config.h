/* Config layer: the configuration store of elm.h (elm_config_*) and its
 * schema (config/keys.def, config/schema.h). It sits right above core/ so
 * that each layer's one reader (io/data_opts.c, generate/gen_opts.c and
 * prepare_opts.c, model/model_opts.c, erase/erase_opts.c, eval/eval_opts.c)
 * reads it from below and hands the rest of its layer typed options; api/
 * re-exports it through elm.h (tests/layers checks who reads). The public
 * functions are declared in elm.h; this header adds what only the library
 * uses. */
#ifndef ELM_CONFIG_CONFIG_H
#define ELM_CONFIG_CONFIG_H

#include "elm.h"
#include "config/schema.h"

/* 1 when key was given a value in cfg (by a setter, elm_config_set, or a
 * clone of a config where it was set), even one equal to its default; 0 when
 * cfg holds the key's schema default, cfg is NULL (the defaults) or the key
 * is unknown (no error is set). */
int elm_config_is_set(const elm_config *cfg, const char *key);

/* The library's own readers, by key id (config/keys.def): no string search,
 * no allocation (a NULL cfg reads the defaults, parsed once per process).
 * The same types as the public getters: _int for INT and BOOL keys, _double
 * for DOUBLE and INT, _string for STRING and CHOICE; another type is
 * ELM_E_INVALID naming the key. Strings are borrowed from cfg (or the
 * schema) and live as long as cfg. */
elm_status elm_config_int(const elm_config *cfg, elm_key_id id, int64_t *out);
elm_status elm_config_double(const elm_config *cfg, elm_key_id id, double *out);
elm_status elm_config_bool(const elm_config *cfg, elm_key_id id, int *out);
elm_status elm_config_string(const elm_config *cfg, elm_key_id id, const char **out);
int elm_config_id_is_set(const elm_config *cfg, elm_key_id id);

#endif
