/* elm_config: values keyed by the schema, validated on every set. */
#include "config/config.h"
#include "config/schema.h"
#include "core/error.h"
#include "core/struct_size.h"

#include <ctype.h>
#include <pthread.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct cfg_value {
    int set;
    int64_t i;
    double d;
    char *s;
} cfg_value;

#define ELM_CONFIG_MAGIC 0x46434c45u /* "ELCF" */

struct elm_config {
    uint32_t magic; /* ELM_CONFIG_MAGIC while live; cleared by elm_config_free */
    cfg_value *v;   /* elm_schema_count entries */
};

/* Entry check of a handle. NULL is ELM_E_INVALID unless null_ok (getters: a
 * NULL config reads the defaults); a non-NULL handle must carry the tag. */
static elm_status check(const elm_config *cfg, const char *fn, int null_ok)
{
    if (!cfg)
        return null_ok ? ELM_OK : elm_err(ELM_E_INVALID, "%s: invalid argument '%s'", fn, "cfg");
    if (cfg->magic != ELM_CONFIG_MAGIC || !cfg->v)
        return elm_err(ELM_E_INVALID, "%s: not a valid config handle (freed or corrupted?)", fn);
    return ELM_OK;
}

static const char *type_name(elm_type t)
{
    switch (t) {
    case ELM_TYPE_INT: return "int";
    case ELM_TYPE_DOUBLE: return "double";
    case ELM_TYPE_STRING: return "string";
    case ELM_TYPE_BOOL: return "bool";
    case ELM_TYPE_CHOICE: return "choice";
    }
    return "?";
}

/* Whether the edit distance of a and b (lb = strlen(b)) is at most max, for
 * "did you mean" suggestions. Cheap on long or distant keys: the distance is
 * at least the length difference, and no later row of the table goes below
 * the smallest entry of the current one, so the table stops once that passes
 * max. Keys of 127 characters or more are never close (as before). */
static int lev_within(const char *a, const char *b, size_t lb, size_t max)
{
    size_t la = strlen(a);
    size_t row[128];
    if (lb >= 127 || (la > lb ? la - lb : lb - la) > max)
        return 0;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t prev = row[0];
        size_t low = row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cur = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = prev + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            prev = cur;
            if (best < low)
                low = best;
        }
        if (low > max)
            return 0;
    }
    return row[lb] <= max;
}

static elm_status unknown_key(const char *key)
{
    char sugg[1024] = "";
    size_t used = 0;
    const char *dot = key ? strchr(key, '.') : NULL;
    size_t klen = key ? strlen(key) : 0;
    for (size_t i = 0; key && i < elm_schema_count; i++) {
        const char *k = elm_schema[i].key;
        int same_section = dot && strncmp(k, key, (size_t)(dot - key) + 1) == 0;
        if (same_section || lev_within(k, key, klen, 3)) {
            int n = snprintf(sugg + used, sizeof sugg - used, "%s%s", used ? ", " : "", k);
            if (n < 0 || (size_t)n >= sizeof sugg - used)
                break;
            used += (size_t)n;
        }
    }
    if (used)
        return elm_err(ELM_E_INVALID, "unknown configuration key '%s'; valid keys include: %s (see `elm help keys`)",
                       key ? key : "(null)", sugg);
    return elm_err(ELM_E_INVALID, "unknown configuration key '%s' (see `elm help keys` for the %zu valid keys)",
                   key ? key : "(null)", elm_schema_count);
}

static elm_status lookup(const char *key, long *idx)
{
    *idx = elm_schema_index(key);
    if (*idx < 0)
        return unknown_key(key);
    return ELM_OK;
}

static elm_status wrong_type(const elm_schema_entry *e, const char *want)
{
    return elm_err(ELM_E_INVALID, "configuration key '%s' has type %s, not %s", e->key,
                   type_name(e->type), want);
}

static int choice_ok(const char *choices, const char *v)
{
    size_t n = strlen(v);
    const char *p = choices;
    while (p && *p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0)
            return 1;
        p = bar ? bar + 1 : NULL;
    }
    return 0;
}

static elm_status parse_int(const char *text, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 0);
    if (errno || end == text || *end)
        return ELM_E_INVALID;
    *out = (int64_t)v;
    return ELM_OK;
}

static elm_status parse_double(const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno == ERANGE || end == text || *end)
        return ELM_E_INVALID;
    *out = v;
    return ELM_OK;
}

static elm_status parse_bool(const char *text, int *out)
{
    static const char *yes[] = {"1", "true", "yes", "on"};
    static const char *no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0) { *out = 1; return ELM_OK; }
        if (strcasecmp(text, no[i]) == 0) { *out = 0; return ELM_OK; }
    }
    return ELM_E_INVALID;
}

/* Validate-and-store cores shared by the typed setters and the text setter. */
static elm_status store_int(elm_config *cfg, long idx, int64_t v)
{
    const elm_schema_entry *e = &elm_schema[idx];
    if ((double)v < e->min || (double)v > e->max)
        return elm_err(ELM_E_INVALID, "configuration key '%s': %lld is out of range [%.17g, %.17g] (%s)",
                       e->key, (long long)v, e->min, e->max, e->doc);
    cfg->v[idx].i = v;
    cfg->v[idx].set = 1;
    return ELM_OK;
}

static elm_status store_double(elm_config *cfg, long idx, double v)
{
    const elm_schema_entry *e = &elm_schema[idx];
    if (!isfinite(v))
        return elm_err(ELM_E_INVALID, "configuration key '%s': value must be finite", e->key);
    if (v < e->min || v > e->max)
        return elm_err(ELM_E_INVALID, "configuration key '%s': %.17g is out of range [%.17g, %.17g] (%s)",
                       e->key, v, e->min, e->max, e->doc);
    cfg->v[idx].d = v;
    cfg->v[idx].set = 1;
    return ELM_OK;
}

static elm_status store_string(elm_config *cfg, long idx, const char *v)
{
    const elm_schema_entry *e = &elm_schema[idx];
    if (e->type == ELM_TYPE_CHOICE && !choice_ok(e->choices, v))
        return elm_err(ELM_E_INVALID, "configuration key '%s': '%s' is not one of %s", e->key, v, e->choices);
    char *copy = strdup(v);
    if (!copy)
        return elm_err(ELM_E_NOMEM, "configuration key '%s': out of memory", e->key);
    free(cfg->v[idx].s);
    cfg->v[idx].s = copy;
    cfg->v[idx].set = 1;
    return ELM_OK;
}

static elm_status store_text(elm_config *cfg, long idx, const char *text)
{
    const elm_schema_entry *e = &elm_schema[idx];
    switch (e->type) {
    case ELM_TYPE_INT: {
        int64_t v;
        if (parse_int(text, &v) != ELM_OK)
            return elm_err(ELM_E_INVALID, "configuration key '%s': '%s' is not an integer", e->key, text);
        return store_int(cfg, idx, v);
    }
    case ELM_TYPE_DOUBLE: {
        double v;
        if (parse_double(text, &v) != ELM_OK)
            return elm_err(ELM_E_INVALID, "configuration key '%s': '%s' is not a number", e->key, text);
        return store_double(cfg, idx, v);
    }
    case ELM_TYPE_BOOL: {
        int v;
        if (parse_bool(text, &v) != ELM_OK)
            return elm_err(ELM_E_INVALID, "configuration key '%s': '%s' is not a boolean (true/false)", e->key, text);
        cfg->v[idx].i = v;
        cfg->v[idx].set = 1;
        return ELM_OK;
    }
    case ELM_TYPE_STRING:
    case ELM_TYPE_CHOICE:
        return store_string(cfg, idx, text);
    }
    return elm_err(ELM_E_INTERNAL, "configuration key '%s': bad schema type", e->key);
}

/* ---- public API ---- */

size_t elm_config_key_count(void) { return elm_schema_count; }

static void fill_info(long idx, elm_key_info *out)
{
    const elm_schema_entry *e = &elm_schema[idx];
    elm_key_info full;
    memset(&full, 0, sizeof full);
    full.key = e->key;
    full.type = e->type;
    full.default_text = e->def;
    full.min = e->min;
    full.max = e->max;
    full.choices = e->choices;
    full.doc = e->doc;
    elm_struct_fill(out, &full, sizeof full);
}

elm_status elm_config_key_info(size_t index, elm_key_info *out)
{
    ELM_TRY(elm_struct_check(__func__, "out", out));
    if (index >= elm_schema_count)
        return elm_err(ELM_E_INVALID, "elm_config_key_info: index %zu out of range (0..%zu)", index, elm_schema_count - 1);
    fill_info((long)index, out);
    return ELM_OK;
}

elm_status elm_config_find_key(const char *key, elm_key_info *out)
{
    long idx;
    ELM_CHECK_ARG(key, "key");
    ELM_TRY(elm_struct_check(__func__, "out", out));
    ELM_TRY(lookup(key, &idx));
    fill_info(idx, out);
    return ELM_OK;
}

elm_status elm_config_new(elm_config **out)
{
    ELM_CHECK_ARG(out, "out");
    *out = NULL;
    elm_config *cfg = calloc(1, sizeof *cfg);
    if (cfg) {
        cfg->magic = ELM_CONFIG_MAGIC;
        cfg->v = calloc(elm_schema_count, sizeof *cfg->v);
    }
    if (!cfg || !cfg->v) {
        free(cfg);
        return elm_err(ELM_E_NOMEM, "elm_config_new: out of memory");
    }
    /* Defaults are parsed into typed values once, so getters never fail. */
    for (size_t i = 0; i < elm_schema_count; i++) {
        if (store_text(cfg, (long)i, elm_schema[i].def) != ELM_OK) {
            elm_config_free(cfg);
            return elm_err(ELM_E_INTERNAL, "schema default of '%s' is invalid", elm_schema[i].key);
        }
        cfg->v[i].set = 0;
    }
    *out = cfg;
    return ELM_OK;
}

elm_status elm_config_clone(const elm_config *cfg, elm_config **out)
{
    ELM_TRY(check(cfg, __func__, 0));
    ELM_TRY(elm_config_new(out));
    for (size_t i = 0; i < elm_schema_count; i++) {
        cfg_value *d = &(*out)->v[i];
        const cfg_value *s = &cfg->v[i];
        char *str = s->s ? strdup(s->s) : NULL;
        if (s->s && !str) {
            elm_config_free(*out);
            *out = NULL;
            return elm_err(ELM_E_NOMEM, "elm_config_clone: out of memory");
        }
        free(d->s);
        *d = *s;
        d->s = str;
    }
    return ELM_OK;
}

void elm_config_free(elm_config *cfg)
{
    if (!cfg || cfg->magic != ELM_CONFIG_MAGIC) /* NULL, or not a config: ignored */
        return;
    cfg->magic = 0;
    for (size_t i = 0; cfg->v && i < elm_schema_count; i++)
        free(cfg->v[i].s);
    free(cfg->v);
    free(cfg);
}

elm_status elm_config_set_int(elm_config *cfg, const char *key, int64_t value)
{
    long idx;
    ELM_TRY(check(cfg, __func__, 0));
    ELM_TRY(lookup(key, &idx));
    switch (elm_schema[idx].type) {
    case ELM_TYPE_INT: return store_int(cfg, idx, value);
    case ELM_TYPE_DOUBLE: return store_double(cfg, idx, (double)value);
    case ELM_TYPE_BOOL: return elm_config_set_bool(cfg, key, value != 0);
    default: return wrong_type(&elm_schema[idx], "int");
    }
}

elm_status elm_config_set_double(elm_config *cfg, const char *key, double value)
{
    long idx;
    ELM_TRY(check(cfg, __func__, 0));
    ELM_TRY(lookup(key, &idx));
    if (elm_schema[idx].type == ELM_TYPE_DOUBLE)
        return store_double(cfg, idx, value);
    if (elm_schema[idx].type == ELM_TYPE_INT) {
        if (!isfinite(value) || value != floor(value) || fabs(value) > 9.0e15)
            return elm_err(ELM_E_INVALID, "configuration key '%s' needs an integer, got %.17g", elm_schema[idx].key, value);
        return store_int(cfg, idx, (int64_t)value);
    }
    return wrong_type(&elm_schema[idx], "double");
}

elm_status elm_config_set_bool(elm_config *cfg, const char *key, int value)
{
    long idx;
    ELM_TRY(check(cfg, __func__, 0));
    ELM_TRY(lookup(key, &idx));
    if (elm_schema[idx].type != ELM_TYPE_BOOL)
        return wrong_type(&elm_schema[idx], "bool");
    cfg->v[idx].i = value != 0;
    cfg->v[idx].set = 1;
    return ELM_OK;
}

elm_status elm_config_set_string(elm_config *cfg, const char *key, const char *value)
{
    long idx;
    ELM_TRY(check(cfg, __func__, 0));
    ELM_CHECK_ARG(value, "value");
    ELM_TRY(lookup(key, &idx));
    if (elm_schema[idx].type != ELM_TYPE_STRING && elm_schema[idx].type != ELM_TYPE_CHOICE)
        return wrong_type(&elm_schema[idx], "string");
    return store_string(cfg, idx, value);
}

elm_status elm_config_set(elm_config *cfg, const char *key, const char *text)
{
    long idx;
    ELM_TRY(check(cfg, __func__, 0));
    ELM_CHECK_ARG(text, "text");
    ELM_TRY(lookup(key, &idx));
    return store_text(cfg, idx, text);
}

int elm_config_is_set(const elm_config *cfg, const char *key)
{
    long idx = key ? elm_schema_index(key) : -1;
    if (!cfg || cfg->magic != ELM_CONFIG_MAGIC || !cfg->v || idx < 0)
        return 0;
    return cfg->v[idx].set != 0;
}

/* A NULL cfg reads the schema defaults, so library code can take `const
 * elm_config *cfg` that may be NULL: one defaults config per process, made on
 * first use and kept (reachable, never freed). */
static pthread_once_t defaults_once = PTHREAD_ONCE_INIT;
static elm_config *defaults_cfg;

static void make_defaults(void)
{
    if (elm_config_new(&defaults_cfg) != ELM_OK)
        defaults_cfg = NULL;
}

static elm_status entry_of(const elm_config *cfg, elm_key_id id, const elm_schema_entry **e, const cfg_value **v)
{
    ELM_TRY(check(cfg, "elm_config", 1));
    if ((unsigned)id >= ELM_KEY_COUNT)
        return elm_err(ELM_E_INTERNAL, "configuration key id %d out of range", (int)id);
    if (!cfg) {
        pthread_once(&defaults_once, make_defaults);
        if (!defaults_cfg)
            return elm_err(ELM_E_NOMEM, "configuration defaults: out of memory");
        cfg = defaults_cfg;
    }
    *e = &elm_schema[id];
    *v = &cfg->v[id];
    return ELM_OK;
}

elm_status elm_config_int(const elm_config *cfg, elm_key_id id, int64_t *out)
{
    const elm_schema_entry *e = NULL;
    const cfg_value *v = NULL;
    ELM_TRY(entry_of(cfg, id, &e, &v));
    if (e->type != ELM_TYPE_INT && e->type != ELM_TYPE_BOOL)
        return wrong_type(e, "int");
    *out = v->i;
    return ELM_OK;
}

elm_status elm_config_double(const elm_config *cfg, elm_key_id id, double *out)
{
    const elm_schema_entry *e = NULL;
    const cfg_value *v = NULL;
    ELM_TRY(entry_of(cfg, id, &e, &v));
    if (e->type == ELM_TYPE_DOUBLE)
        *out = v->d;
    else if (e->type == ELM_TYPE_INT)
        *out = (double)v->i;
    else
        return wrong_type(e, "double");
    return ELM_OK;
}

elm_status elm_config_bool(const elm_config *cfg, elm_key_id id, int *out)
{
    const elm_schema_entry *e = NULL;
    const cfg_value *v = NULL;
    ELM_TRY(entry_of(cfg, id, &e, &v));
    if (e->type != ELM_TYPE_BOOL)
        return wrong_type(e, "bool");
    *out = (int)v->i;
    return ELM_OK;
}

elm_status elm_config_string(const elm_config *cfg, elm_key_id id, const char **out)
{
    const elm_schema_entry *e = NULL;
    const cfg_value *v = NULL;
    ELM_TRY(entry_of(cfg, id, &e, &v));
    if (e->type != ELM_TYPE_STRING && e->type != ELM_TYPE_CHOICE)
        return wrong_type(e, "string");
    *out = v->set ? v->s : e->def;
    return ELM_OK;
}

int elm_config_id_is_set(const elm_config *cfg, elm_key_id id)
{
    if (!cfg || cfg->magic != ELM_CONFIG_MAGIC || !cfg->v || (unsigned)id >= ELM_KEY_COUNT)
        return 0;
    return cfg->v[id].set != 0;
}

/* The public getters: the key by name, then the reader by id. */
#define GETTER(name, type, reader)                                           \
    elm_status name(const elm_config *cfg, const char *key, type *out)       \
    {                                                                        \
        long idx;                                                            \
        ELM_TRY(check(cfg, #name, 1));                                       \
        ELM_CHECK_ARG(out, "out");                                           \
        ELM_TRY(lookup(key, &idx));                                          \
        return reader(cfg, (elm_key_id)idx, out);                            \
    }

GETTER(elm_config_get_int, int64_t, elm_config_int)
GETTER(elm_config_get_double, double, elm_config_double)
GETTER(elm_config_get_bool, int, elm_config_bool)
GETTER(elm_config_get_string, const char *, elm_config_string)

elm_status elm_config_get_text(const elm_config *cfg, const char *key, char **out)
{
    long idx;
    char buf[64];
    const char *text = buf;
    ELM_TRY(check(cfg, __func__, 1));
    ELM_CHECK_ARG(out, "out");
    ELM_TRY(lookup(key, &idx));
    switch (elm_schema[idx].type) {
    case ELM_TYPE_INT: {
        int64_t v;
        ELM_TRY(elm_config_get_int(cfg, key, &v));
        snprintf(buf, sizeof buf, "%lld", (long long)v);
        break;
    }
    case ELM_TYPE_DOUBLE: {
        double v;
        ELM_TRY(elm_config_get_double(cfg, key, &v));
        snprintf(buf, sizeof buf, "%.17g", v);
        break;
    }
    case ELM_TYPE_BOOL: {
        int v;
        ELM_TRY(elm_config_get_bool(cfg, key, &v));
        text = v ? "true" : "false";
        break;
    }
    default:
        ELM_TRY(elm_config_get_string(cfg, key, &text));
    }
    *out = strdup(text);
    if (!*out)
        return elm_err(ELM_E_NOMEM, "elm_config_get_text: out of memory");
    return ELM_OK;
}
