#include "io/json.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/atomic.h"
#include "io/file.h"

#define ELM_JSON_MAX_DEPTH 64

void elm_json_line_col(const char *buf, size_t len, size_t off, int *line, int *col)
{
    int l = 1;
    size_t start = 0;
    if (off > len)
        off = len;
    for (size_t i = 0; i < off; i++) {
        if (buf[i] == '\n') {
            l++;
            start = i + 1;
        }
    }
    *line = l;
    *col = (int)(off - start) + 1;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

elm_status elm_json_parse_buffer(const char *name, const char *buf, size_t len, json_object **out)
{
    if (!out)
        return elm_err(ELM_E_INVALID, "elm_json_parse_buffer: invalid argument 'out'");
    *out = NULL;
    if (!name)
        name = "<json>";
    if (!buf && len)
        return elm_err(ELM_E_INVALID, "elm_json_parse_buffer: invalid argument 'buf'");
    if (len > (size_t)INT32_MAX)
        return elm_err(ELM_E_UNSUPPORTED, "%s: JSON text of %zu bytes is too large", name, len);
    size_t first = 0;
    while (first < len && is_space(buf[first]))
        first++;
    if (first == len)
        return elm_err(ELM_E_FORMAT, "%s: empty JSON document", name);
    json_tokener *tok = json_tokener_new_ex(ELM_JSON_MAX_DEPTH);
    if (!tok)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", name);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *obj = json_tokener_parse_ex(tok, buf, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    int line, col;
    if (!obj) {
        /* A number at the very end is only complete once input ends. */
        if (jerr == json_tokener_continue) {
            elm_json_line_col(buf, len, len, &line, &col);
            return elm_err(ELM_E_FORMAT, "%s: line %d, column %d: unexpected end of JSON input", name,
                           line, col);
        }
        elm_json_line_col(buf, len, end, &line, &col);
        return elm_err(ELM_E_FORMAT, "%s: line %d, column %d: %s", name, line, col,
                       json_tokener_error_desc(jerr));
    }
    while (end < len && is_space(buf[end]))
        end++;
    if (end < len) {
        json_object_put(obj);
        elm_json_line_col(buf, len, end, &line, &col);
        return elm_err(ELM_E_FORMAT, "%s: line %d, column %d: unexpected data after the JSON value",
                       name, line, col);
    }
    *out = obj;
    return ELM_OK;
}

elm_status elm_json_parse_file(const char *path, json_object **out)
{
    if (!out)
        return elm_err(ELM_E_INVALID, "elm_json_parse_file: invalid argument 'out'");
    *out = NULL;
    elm_mmap_file f;
    ELM_TRY(elm_mmap_open(path, &f));
    elm_status st = elm_json_parse_buffer(path, (const char *)f.data, f.size, out);
    elm_mmap_close(&f);
    return st;
}

/* ---- duplicate keys ------------------------------------------------------ */

typedef struct key_slice {
    const char *p;
    size_t n;
} key_slice;

/* Skip a JSON string starting at buf[i] == '"'; returns the index after the
 * closing quote. */
static size_t skip_string(const char *buf, size_t len, size_t i)
{
    i++;
    while (i < len && buf[i] != '"') {
        if (buf[i] == '\\')
            i++;
        i++;
    }
    return i < len ? i + 1 : len;
}

static size_t skip_value(const char *buf, size_t len, size_t i)
{
    int depth = 0;
    while (i < len) {
        char c = buf[i];
        if (c == '"') {
            i = skip_string(buf, len, i);
            if (depth == 0)
                return i;
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return i;
            depth--;
            if (depth == 0)
                return i + 1;
        } else if (depth == 0 && (c == ',')) {
            return i;
        }
        i++;
    }
    return i;
}

static int slice_cmp(const void *a, const void *b)
{
    const key_slice *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->p, y->p, n);
    if (c)
        return c;
    return (x->n > y->n) - (x->n < y->n);
}

/* Keys containing escapes are decoded (so "a" and "\u0061" collide) into a
 * side buffer that `owned` tracks. */
elm_status elm_json_check_duplicate_keys(const char *name, const char *buf, size_t len)
{
    size_t i = 0;
    while (i < len && is_space(buf[i]))
        i++;
    if (i >= len || buf[i] != '{')
        return ELM_OK;
    i++;
    size_t cap = 64, n = 0;
    key_slice *keys = malloc(cap * sizeof *keys);
    char **owned = NULL;
    size_t n_owned = 0;
    elm_status st = ELM_OK;
    if (!keys)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", name);
    for (;;) {
        while (i < len && (is_space(buf[i]) || buf[i] == ','))
            i++;
        if (i >= len || buf[i] != '"')
            break;
        size_t ks = i, ke = skip_string(buf, len, i);
        key_slice k = {buf + ks + 1, ke - ks >= 2 ? ke - ks - 2 : 0};
        if (memchr(k.p, '\\', k.n)) {
            json_tokener *tok = json_tokener_new();
            json_object *js = tok ? json_tokener_parse_ex(tok, buf + ks, (int)(ke - ks)) : NULL;
            if (tok)
                json_tokener_free(tok);
            if (js && json_object_is_type(js, json_type_string)) {
                size_t dn = (size_t)json_object_get_string_len(js);
                char *d = malloc(dn + 1);
                char **no = realloc(owned, (n_owned + 1) * sizeof *owned);
                if (no)
                    owned = no;
                if (d && no) {
                    memcpy(d, json_object_get_string(js), dn + 1);
                    owned[n_owned++] = d;
                    k.p = d;
                    k.n = dn;
                } else {
                    free(d);
                }
            }
            if (js)
                json_object_put(js);
        }
        if (n == cap) {
            key_slice *nk = realloc(keys, 2 * cap * sizeof *keys);
            if (!nk) {
                st = elm_err(ELM_E_NOMEM, "%s: out of memory", name);
                goto out;
            }
            keys = nk;
            cap *= 2;
        }
        keys[n++] = k;
        i = ke;
        while (i < len && is_space(buf[i]))
            i++;
        if (i < len && buf[i] == ':')
            i++;
        while (i < len && is_space(buf[i]))
            i++;
        i = skip_value(buf, len, i);
    }
    qsort(keys, n, sizeof *keys, slice_cmp);
    for (size_t j = 1; j < n; j++) {
        if (slice_cmp(&keys[j - 1], &keys[j]) == 0) {
            st = elm_err(ELM_E_FORMAT, "%s: duplicate key '%.*s'", name, (int)keys[j].n, keys[j].p);
            break;
        }
    }
out:
    for (size_t j = 0; j < n_owned; j++)
        free(owned[j]);
    free(owned);
    free(keys);
    return st;
}

/* ---- typed getters ------------------------------------------------------- */

const char *elm_json_type_name(const json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null: return "null";
    case json_type_boolean: return "boolean";
    case json_type_double: return "number";
    case json_type_int: return "integer";
    case json_type_object: return "object";
    case json_type_array: return "array";
    case json_type_string: return "string";
    }
    return "unknown";
}

static elm_status wrong_type(const char *ctx, const char *key, const char *want, json_object *v)
{
    return elm_err(ELM_E_FORMAT, "%s: field '%s': expected %s, got %s", ctx ? ctx : "<json>", key,
                   want, elm_json_type_name(v));
}

/* 1: found (non-null), 0: missing or null; errors if obj is not an object. */
static elm_status lookup(const char *ctx, json_object *obj, const char *key, int required,
                         json_object **v)
{
    *v = NULL;
    if (!json_object_is_type(obj, json_type_object))
        return elm_err(ELM_E_FORMAT, "%s: expected an object holding field '%s', got %s",
                       ctx ? ctx : "<json>", key, elm_json_type_name(obj));
    json_object *x = NULL;
    if (!json_object_object_get_ex(obj, key, &x) || (!required && x == NULL)) {
        if (required)
            return elm_err(ELM_E_FORMAT, "%s: field '%s': missing", ctx ? ctx : "<json>", key);
        return ELM_OK;
    }
    if (x == NULL && required)
        return elm_err(ELM_E_FORMAT, "%s: field '%s': expected a value, got null",
                       ctx ? ctx : "<json>", key);
    *v = x;
    return ELM_OK;
}

static elm_status as_int(const char *ctx, const char *key, json_object *v, int64_t *out)
{
    if (!json_object_is_type(v, json_type_int))
        return wrong_type(ctx, key, "integer", v);
    *out = json_object_get_int64(v);
    return ELM_OK;
}

static elm_status as_double(const char *ctx, const char *key, json_object *v, double *out)
{
    if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
        return wrong_type(ctx, key, "number", v);
    *out = json_object_get_double(v);
    return ELM_OK;
}

static elm_status as_bool(const char *ctx, const char *key, json_object *v, int *out)
{
    if (!json_object_is_type(v, json_type_boolean))
        return wrong_type(ctx, key, "boolean", v);
    *out = json_object_get_boolean(v) ? 1 : 0;
    return ELM_OK;
}

static elm_status as_string(const char *ctx, const char *key, json_object *v, const char **out)
{
    if (!json_object_is_type(v, json_type_string))
        return wrong_type(ctx, key, "string", v);
    *out = json_object_get_string(v);
    return ELM_OK;
}

elm_status elm_json_get_int(const char *ctx, json_object *obj, const char *key, int64_t *out)
{
    json_object *v;
    ELM_TRY(lookup(ctx, obj, key, 1, &v));
    return as_int(ctx, key, v, out);
}

elm_status elm_json_get_double(const char *ctx, json_object *obj, const char *key, double *out)
{
    json_object *v;
    ELM_TRY(lookup(ctx, obj, key, 1, &v));
    return as_double(ctx, key, v, out);
}

elm_status elm_json_get_bool(const char *ctx, json_object *obj, const char *key, int *out)
{
    json_object *v;
    ELM_TRY(lookup(ctx, obj, key, 1, &v));
    return as_bool(ctx, key, v, out);
}

elm_status elm_json_get_string(const char *ctx, json_object *obj, const char *key, const char **out)
{
    json_object *v;
    ELM_TRY(lookup(ctx, obj, key, 1, &v));
    return as_string(ctx, key, v, out);
}

elm_status elm_json_get_object(const char *ctx, json_object *obj, const char *key, json_object **out)
{
    json_object *v;
    ELM_TRY(lookup(ctx, obj, key, 1, &v));
    if (!json_object_is_type(v, json_type_object))
        return wrong_type(ctx, key, "object", v);
    *out = v;
    return ELM_OK;
}

elm_status elm_json_get_array(const char *ctx, json_object *obj, const char *key, json_object **out)
{
    json_object *v;
    ELM_TRY(lookup(ctx, obj, key, 1, &v));
    if (!json_object_is_type(v, json_type_array))
        return wrong_type(ctx, key, "array", v);
    *out = v;
    return ELM_OK;
}

elm_status elm_json_opt_int(const char *ctx, json_object *obj, const char *key, int64_t def, int64_t *out)
{
    json_object *v;
    ELM_TRY(lookup(ctx, obj, key, 0, &v));
    if (!v) {
        *out = def;
        return ELM_OK;
    }
    return as_int(ctx, key, v, out);
}

elm_status elm_json_opt_double(const char *ctx, json_object *obj, const char *key, double def, double *out)
{
    json_object *v;
    ELM_TRY(lookup(ctx, obj, key, 0, &v));
    if (!v) {
        *out = def;
        return ELM_OK;
    }
    return as_double(ctx, key, v, out);
}

elm_status elm_json_opt_bool(const char *ctx, json_object *obj, const char *key, int def, int *out)
{
    json_object *v;
    ELM_TRY(lookup(ctx, obj, key, 0, &v));
    if (!v) {
        *out = def;
        return ELM_OK;
    }
    return as_bool(ctx, key, v, out);
}

elm_status elm_json_opt_string(const char *ctx, json_object *obj, const char *key, const char *def,
                               const char **out)
{
    json_object *v;
    ELM_TRY(lookup(ctx, obj, key, 0, &v));
    if (!v) {
        *out = def;
        return ELM_OK;
    }
    return as_string(ctx, key, v, out);
}

/* ---- writer -------------------------------------------------------------- */

elm_status elm_json_to_string(json_object *obj, char **out)
{
    if (!out)
        return elm_err(ELM_E_INVALID, "elm_json_to_string: invalid argument 'out'");
    const char *s =
        json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
    *out = s ? strdup(s) : NULL;
    if (!*out)
        return elm_err(ELM_E_NOMEM, "elm_json_to_string: out of memory");
    return ELM_OK;
}

elm_status elm_json_write_file(const char *path, json_object *obj)
{
    char *s;
    ELM_TRY(elm_json_to_string(obj, &s));
    elm_atomic_file f;
    elm_status st = elm_atomic_open(path, &f);
    if (st == ELM_OK) {
        st = elm_atomic_puts(&f, s);
        if (st == ELM_OK)
            st = elm_atomic_puts(&f, "\n");
        st = st == ELM_OK ? elm_atomic_commit(&f) : (elm_atomic_abort(&f), st);
    }
    free(s);
    return st;
}
