/* Config layer: the configuration store of elm.h (elm_config_*) and its
 * schema (config/schema.h). It sits right above core/ so that every layer
 * that reads a config (io, tokenizer, model, erase, generate, eval) reads it
 * from below; api/ only re-exports it through elm.h. The public functions
 * are declared in elm.h; this header adds what only the library uses. */
#ifndef ELM_CONFIG_CONFIG_H
#define ELM_CONFIG_CONFIG_H

#include "elm.h"

/* 1 when key was given a value in cfg (by a setter, elm_config_set, or a
 * clone of a config where it was set), even one equal to its default; 0 when
 * cfg holds the key's schema default, cfg is NULL (the defaults) or the key
 * is unknown (no error is set). */
int elm_config_is_set(const elm_config *cfg, const char *key);

#endif
