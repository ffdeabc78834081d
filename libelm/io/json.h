/* Small helpers over json-c: strict parsing with positioned errors, typed
 * field getters with messages that name the file and field, and a writer.
 *
 * `ctx` arguments name what is being read (usually the file, e.g.
 * "config.json"); messages look like
 *   "config.json: field 'hidden_size': expected integer, got string". */
#ifndef ELM_IO_JSON_H
#define ELM_IO_JSON_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "elm.h"

/* Parse len bytes (strict JSON; trailing non-space data is an error).
 * Errors: ELM_E_FORMAT "name: line L, column C: <reason>".
 * Ownership: *out is a new reference; release with json_object_put. */
elm_status elm_json_parse_buffer(const char *name, const char *buf, size_t len, json_object **out);
/* Read and parse a whole file (the message names the path). */
elm_status elm_json_parse_file(const char *path, json_object **out);

/* 1-based line and column of byte offset `off` in buf. */
void elm_json_line_col(const char *buf, size_t len, size_t off, int *line, int *col);

/* Reject duplicate keys in the top-level object of buf (json-c silently keeps
 * the last one). ELM_E_FORMAT "name: duplicate key 'k'". buf must already
 * have parsed as JSON. */
elm_status elm_json_check_duplicate_keys(const char *name, const char *buf, size_t len);

/* "null", "boolean", "number", "integer", "object", "array", "string". */
const char *elm_json_type_name(const json_object *v);

/* Required fields: a missing field is ELM_E_FORMAT "ctx: field 'key': missing".
 * A wrong type is ELM_E_FORMAT "ctx: field 'key': expected T, got U".
 * Strings, objects and arrays are borrowed from obj. */
elm_status elm_json_get_int(const char *ctx, json_object *obj, const char *key, int64_t *out);
elm_status elm_json_get_double(const char *ctx, json_object *obj, const char *key, double *out);
elm_status elm_json_get_bool(const char *ctx, json_object *obj, const char *key, int *out);
elm_status elm_json_get_string(const char *ctx, json_object *obj, const char *key, const char **out);
elm_status elm_json_get_object(const char *ctx, json_object *obj, const char *key, json_object **out);
elm_status elm_json_get_array(const char *ctx, json_object *obj, const char *key, json_object **out);

/* Optional fields: a missing field or JSON null yields the default (and
 * returns ELM_OK); a present field of the wrong type is still an error. */
elm_status elm_json_opt_int(const char *ctx, json_object *obj, const char *key, int64_t def, int64_t *out);
elm_status elm_json_opt_double(const char *ctx, json_object *obj, const char *key, double def, double *out);
elm_status elm_json_opt_bool(const char *ctx, json_object *obj, const char *key, int def, int *out);
elm_status elm_json_opt_string(const char *ctx, json_object *obj, const char *key, const char *def,
                               const char **out);

/* Serialise (pretty, no slash escaping). Ownership: *out is malloc'd; free(). */
elm_status elm_json_to_string(json_object *obj, char **out);
/* Serialise and write atomically, with a trailing newline. */
elm_status elm_json_write_file(const char *path, json_object *obj);

#endif
