/* Consistency pairs made during training (erase.consistency = online; see
 * online.h). Entry (group, k) is elm_prepare_entry on forget text k with the
 * stream elm_prepare_entry_seed(gen.seed, group, k) — the entry that
 * `elm prepare-consistency` would write for that text — so a pair does not
 * depend on when it is made, and a resumed run that makes it again gets the
 * same one.
 *
 * The cache file is a journal: one JSON line per pair,
 *   {"group": g, "index": k, "settings": "<hex>", "text_hash": "<hex>",
 *    "concept": "...", "prompt": "...", "consistence_prompt": "..."}
 * appended (one write each) as the pair is made. "settings" hashes the model
 * (model/fingerprint.h) and every option the pair depends on; "text_hash" the
 * forget text. A line with other settings, or whose text or concept differ
 * from what training asks for, is an error naming the file and line rather
 * than a stale pair silently used. A kill during an append leaves at most a
 * last line without its newline: it is dropped (and cut off before the next
 * append). The lines are also a valid JSONL consistency file for
 * elm_dataset_load (data.format consistency reads group, prompt and
 * consistence_prompt). */
#include "generate/online.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/hash.h"
#include "core/str.h"
#include "io/dataset.h"
#include "io/json.h"
#include "model/fingerprint.h"

typedef struct entry {
    int group;
    size_t index;
    uint64_t text_hash;
    char *concept, *prompt, *cont;
} entry;

struct elm_cons_online {
    elm_model *m; /* a reference */
    elm_prepare_opts o;
    char **strs;  /* the templates' strings, owned */
    size_t n_strs;
    elm_guide_templates tp; /* pointing into strs */
    char *path;   /* NULL: memory only */
    int settings_known;
    uint64_t settings;
    int loaded;
    entry *e;
    size_t n, cap;
    size_t generated;
};

static void entry_clear(entry *x)
{
    free(x->concept);
    free(x->prompt);
    free(x->cont);
}

void elm_cons_online_free(elm_cons_online *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        entry_clear(&c->e[i]);
    free(c->e);
    for (size_t i = 0; i < c->n_strs; i++)
        free(c->strs[i]);
    free(c->strs);
    free((void *)c->tp.expert);
    free((void *)c->tp.novice);
    free((void *)c->tp.redirect);
    free(c->path);
    elm_model_unref(c->m);
    free(c);
}

/* A copy of n strings into c->strs; *list points at them. */
static elm_status copy_list(elm_cons_online *c, const char *const *src, size_t n, const char *const **list)
{
    *list = NULL;
    if (!src || n == 0)
        return ELM_OK;
    const char **l = calloc(n, sizeof *l);
    char **grown = realloc(c->strs, (c->n_strs + n) * sizeof *grown);
    if (!l || !grown) {
        free(l);
        if (grown)
            c->strs = grown;
        return elm_err(ELM_E_NOMEM, "online consistency: out of memory");
    }
    c->strs = grown;
    for (size_t i = 0; i < n; i++) {
        char *d = strdup(src[i]);
        if (!d) {
            free(l);
            return elm_err(ELM_E_NOMEM, "online consistency: out of memory");
        }
        c->strs[c->n_strs++] = d;
        l[i] = d;
    }
    *list = l;
    return ELM_OK;
}

elm_status elm_cons_online_new(elm_model *m, const elm_prepare_opts *o, const elm_guide_templates *tp,
                               const char *cache_path, elm_cons_online **out)
{
    *out = NULL;
    elm_cons_online *c = calloc(1, sizeof *c);
    if (!c)
        return elm_err(ELM_E_NOMEM, "online consistency: out of memory");
    elm_model_ref(m);
    c->m = m;
    c->o = *o;
    c->o.concept = NULL; /* per call: the group's concept */
    c->o.online = 1;
    elm_status st = copy_list(c, tp->expert, tp->n_expert, &c->tp.expert);
    if (st == ELM_OK)
        st = copy_list(c, tp->novice, tp->n_novice, &c->tp.novice);
    if (st == ELM_OK)
        st = copy_list(c, tp->redirect, tp->n_redirect, &c->tp.redirect);
    c->tp.n_expert = tp->n_expert;
    c->tp.n_novice = tp->n_novice;
    c->tp.n_redirect = tp->redirect ? tp->n_redirect : 0;
    if (st == ELM_OK && cache_path && cache_path[0] && !(c->path = strdup(cache_path)))
        st = elm_err(ELM_E_NOMEM, "online consistency: out of memory");
    if (st != ELM_OK) {
        elm_cons_online_free(c);
        return st;
    }
    *out = c;
    return ELM_OK;
}

size_t elm_cons_online_generated(const elm_cons_online *c)
{
    return c ? c->generated : 0;
}

static uint64_t text_hash(const char *s)
{
    elm_hasher h;
    elm_hasher_init(&h, 0x7e47);
    elm_hasher_str(&h, s);
    return elm_hasher_final(&h);
}

static void hash_list(elm_hasher *h, const char *const *l, size_t n)
{
    elm_hasher_u64(h, n);
    for (size_t i = 0; i < n; i++)
        elm_hasher_str(h, l[i]);
}

/* The model and every option a pair depends on. */
static elm_status settings_of(elm_cons_online *c)
{
    if (c->settings_known)
        return ELM_OK;
    uint64_t fp = 0;
    ELM_TRY(elm_model_fingerprint(c->m, 0, "libelm-online-consistency-1", &fp));
    const elm_prepare_opts *o = &c->o;
    elm_hasher h;
    elm_hasher_init(&h, 0xc0a5);
    elm_hasher_u64(&h, fp);
    elm_hasher_u64(&h, o->seed);
    elm_hasher_i64(&h, o->min_cut);
    elm_hasher_i64(&h, o->max_cut);
    elm_hasher_i64(&h, o->min_new);
    elm_hasher_i64(&h, o->max_new);
    elm_hasher_f64(&h, o->guidance);
    elm_hasher_f64(&h, o->temperature);
    elm_hasher_i64(&h, o->top_k);
    elm_hasher_f64(&h, o->top_p);
    elm_hasher_i64(&h, o->reference_join);
    elm_hasher_i64(&h, (int64_t)o->cut);
    hash_list(&h, c->tp.expert, c->tp.n_expert);
    hash_list(&h, c->tp.novice, c->tp.n_novice);
    hash_list(&h, c->tp.redirect, c->tp.n_redirect);
    c->settings = elm_hasher_final(&h);
    c->settings_known = 1;
    return ELM_OK;
}

static entry *find(elm_cons_online *c, int group, size_t index)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->e[i].group == group && c->e[i].index == index)
            return &c->e[i];
    return NULL;
}

static elm_status push(elm_cons_online *c, entry *x)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        entry *g = realloc(c->e, cap * sizeof *g);
        if (!g)
            return elm_err(ELM_E_NOMEM, "online consistency: out of memory");
        c->e = g;
        c->cap = cap;
    }
    c->e[c->n++] = *x;
    return ELM_OK;
}

static int parse_hex(const char *s, uint64_t *v)
{
    char *end = NULL;
    if (!s || !s[0])
        return 0;
    errno = 0;
    *v = strtoull(s, &end, 16);
    return errno == 0 && end && *end == 0;
}

static elm_status get_str(const char *where, json_object *o, const char *key, const char **v)
{
    json_object *x;
    if (!json_object_object_get_ex(o, key, &x) || !json_object_is_type(x, json_type_string))
        return elm_err(ELM_E_FORMAT, "%s: field \"%s\": expected a string", where, key);
    *v = json_object_get_string(x);
    return ELM_OK;
}

static elm_status get_int(const char *where, json_object *o, const char *key, int64_t *v)
{
    json_object *x;
    if (!json_object_object_get_ex(o, key, &x) || !json_object_is_type(x, json_type_int) ||
        json_object_get_int64(x) < 0)
        return elm_err(ELM_E_FORMAT, "%s: field \"%s\": expected a non-negative integer", where, key);
    *v = json_object_get_int64(x);
    return ELM_OK;
}

static elm_status parse_line(elm_cons_online *c, const char *where, const char *p, size_t n)
{
    json_object *o = NULL;
    ELM_TRY(elm_json_parse_buffer(where, p, n, &o));
    const char *settings = NULL, *th = NULL, *concept = NULL, *prompt = NULL, *cont = NULL;
    int64_t group = 0, index = 0;
    uint64_t sv = 0, tv = 0;
    elm_status st = json_object_is_type(o, json_type_object)
                        ? ELM_OK
                        : elm_err(ELM_E_FORMAT, "%s: expected a JSON object", where);
    if (st == ELM_OK)
        st = get_int(where, o, "group", &group);
    if (st == ELM_OK)
        st = get_int(where, o, "index", &index);
    if (st == ELM_OK)
        st = get_str(where, o, "settings", &settings);
    if (st == ELM_OK)
        st = get_str(where, o, "text_hash", &th);
    if (st == ELM_OK)
        st = get_str(where, o, "concept", &concept);
    if (st == ELM_OK)
        st = get_str(where, o, "prompt", &prompt);
    if (st == ELM_OK)
        st = get_str(where, o, "consistence_prompt", &cont);
    if (st == ELM_OK && (!parse_hex(settings, &sv) || !parse_hex(th, &tv)))
        st = elm_err(ELM_E_FORMAT, "%s: fields \"settings\" and \"text_hash\" must be hexadecimal", where);
    if (st == ELM_OK && sv != c->settings)
        st = elm_err(ELM_E_STATE,
                     "%s: this pair was made with other settings (model, prepare.*, gen.seed or templates "
                     "differ): delete the file or set erase.consistency_cache to another path",
                     where);
    if (st == ELM_OK && group > 1000000)
        st = elm_err(ELM_E_FORMAT, "%s: field \"group\": %lld is out of range", where, (long long)group);
    if (st == ELM_OK && find(c, (int)group, (size_t)index))
        st = elm_err(ELM_E_FORMAT, "%s: group %lld index %lld appears twice", where, (long long)group,
                     (long long)index);
    if (st == ELM_OK) {
        entry x = {(int)group, (size_t)index, tv, strdup(concept), strdup(prompt), strdup(cont)};
        if (!x.concept || !x.prompt || !x.cont)
            st = elm_err(ELM_E_NOMEM, "online consistency: out of memory");
        if (st == ELM_OK)
            st = push(c, &x);
        if (st != ELM_OK)
            entry_clear(&x);
    }
    json_object_put(o);
    return st;
}

/* Read the journal once; a torn last line (no newline) is cut off. */
static elm_status load(elm_cons_online *c)
{
    if (c->loaded || !c->path)
        return ELM_OK;
    FILE *fp = fopen(c->path, "rb");
    if (!fp) {
        if (errno != ENOENT)
            return elm_err(ELM_E_IO, "erase.consistency_cache: %s: %s", c->path, strerror(errno));
        c->loaded = 1;
        return ELM_OK;
    }
    fclose(fp);
    char *buf = NULL;
    size_t len = 0;
    ELM_TRY(elm_data_read_file(c->path, &buf, &len));
    size_t keep = len;
    while (keep > 0 && buf[keep - 1] != '\n')
        keep--;
    elm_status st = ELM_OK;
    size_t line = 0;
    for (size_t p = 0; p < keep && st == ELM_OK;) {
        const char *nl = memchr(buf + p, '\n', keep - p);
        size_t n = (size_t)(nl - (buf + p));
        line++;
        size_t k = 0;
        while (k < n && (buf[p + k] == ' ' || buf[p + k] == '\t' || buf[p + k] == '\r'))
            k++;
        if (k < n) {
            char where[4200];
            snprintf(where, sizeof where, "%s:%zu", c->path, line);
            st = parse_line(c, where, buf + p, n);
        }
        p += n + 1;
    }
    free(buf);
    if (st == ELM_OK && keep < len && truncate(c->path, (off_t)keep) != 0)
        st = elm_err(ELM_E_IO, "erase.consistency_cache: %s: cutting off a torn last line: %s", c->path,
                     strerror(errno));
    if (st == ELM_OK)
        c->loaded = 1;
    return st;
}

static elm_status append(elm_cons_online *c, const entry *x)
{
    if (!c->path)
        return ELM_OK;
    char hex[2][17];
    snprintf(hex[0], sizeof hex[0], "%016llx", (unsigned long long)c->settings);
    snprintf(hex[1], sizeof hex[1], "%016llx", (unsigned long long)x->text_hash);
    json_object *o = json_object_new_object();
    if (!o)
        return elm_err(ELM_E_NOMEM, "online consistency: out of memory");
    json_object_object_add(o, "group", json_object_new_int64(x->group));
    json_object_object_add(o, "index", json_object_new_int64((int64_t)x->index));
    json_object_object_add(o, "settings", json_object_new_string(hex[0]));
    json_object_object_add(o, "text_hash", json_object_new_string(hex[1]));
    json_object_object_add(o, "concept", json_object_new_string(x->concept));
    json_object_object_add(o, "prompt", json_object_new_string(x->prompt));
    json_object_object_add(o, "consistence_prompt", json_object_new_string(x->cont));
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    size_t n = strlen(s);
    char *line = malloc(n + 2);
    elm_status st = ELM_OK;
    if (!line) {
        st = elm_err(ELM_E_NOMEM, "online consistency: out of memory");
    } else {
        memcpy(line, s, n);
        line[n] = '\n';
        FILE *fp = fopen(c->path, "ab");
        if (!fp) {
            st = elm_err(ELM_E_IO, "erase.consistency_cache: %s: %s", c->path, strerror(errno));
        } else {
            /* one write: a kill leaves the line whole or torn at its end */
            setvbuf(fp, NULL, _IONBF, 0);
            if (fwrite(line, 1, n + 1, fp) != n + 1)
                st = elm_err(ELM_E_IO, "erase.consistency_cache: %s: write failed: %s", c->path, strerror(errno));
            if (fclose(fp) != 0 && st == ELM_OK)
                st = elm_err(ELM_E_IO, "erase.consistency_cache: %s: %s", c->path, strerror(errno));
        }
    }
    free(line);
    json_object_put(o);
    return st;
}

elm_status elm_cons_online_get(elm_cons_online *c, int group, size_t index, const char *text, const char *concept,
                               const char **prompt, const char **cont)
{
    *prompt = *cont = NULL;
    ELM_TRY(settings_of(c));
    ELM_TRY(load(c));
    const char *cn = concept ? concept : "";
    const uint64_t th = text_hash(text);
    entry *x = find(c, group, index);
    if (x) {
        if (x->text_hash != th)
            return elm_err(ELM_E_STATE,
                           "erase.consistency_cache: %s: group %d index %zu was made from another forget text "
                           "(the forget dataset changed): delete the file or set erase.consistency_cache to "
                           "another path",
                           c->path ? c->path : "(memory)", group, index);
        if (strcmp(x->concept, cn) != 0)
            return elm_err(ELM_E_STATE,
                           "erase.consistency_cache: %s: group %d index %zu was made for concept '%s', not '%s'",
                           c->path ? c->path : "(memory)", group, index, x->concept, cn);
        *prompt = x->prompt;
        *cont = x->cont;
        return ELM_OK;
    }
    /* Made with the frozen model; the global torch generator (dropout,
     * erase.action random) is left as it was found, so a run that finds the
     * pair in the cache draws exactly what one that made it draws. */
    et_scope *sc = et_scope_new();
    et_tensor *rng = sc ? et_rng_get_state(sc) : NULL;
    elm_status st = sc ? et_scope_check(sc) : elm_err(ELM_E_NOMEM, "online consistency: out of memory");
    entry nx = {group, index, th, NULL, NULL, NULL};
    if (st == ELM_OK) {
        elm_prepare_opts o = c->o;
        o.concept = cn;
        st = elm_prepare_entry(c->m, text, &o, &c->tp, elm_prepare_entry_seed(o.seed, group, index), &nx.prompt,
                               &nx.cont);
        elm_status rs = rng ? et_rng_set_state(rng) : ELM_OK;
        if (st == ELM_OK)
            st = rs;
    }
    et_scope_free(sc);
    if (st == ELM_OK && !(nx.concept = strdup(cn)))
        st = elm_err(ELM_E_NOMEM, "online consistency: out of memory");
    if (st == ELM_OK)
        st = append(c, &nx);
    if (st == ELM_OK)
        st = push(c, &nx);
    if (st != ELM_OK) {
        entry_clear(&nx);
        return st;
    }
    c->generated++;
    *prompt = c->e[c->n - 1].prompt;
    *cont = c->e[c->n - 1].cont;
    return ELM_OK;
}
