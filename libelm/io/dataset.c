#include "io/dataset.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/str.h"
#include "core/utf8.h"

struct elm_dataset {
    uint32_t magic; /* ELM_DATASET_MAGIC while live */
    atomic_int refs;
    elm_dataset_kind kind;
    char *path;
    /* TEXT: off[i] is record i; PAIRS: off[2i], off[2i+1] are prompt and
     * continuation. Offsets, not pointers, so the arena may grow. */
    char *arena;
    size_t arena_len, arena_cap;
    size_t *off;
    size_t n_off, cap_off;
    int *group; /* PAIRS: group of each pair */
    size_t cap_group;
    size_t n;
    int n_groups;
    elm_mcq_set *mcq; /* MCQ */
};

/* ---- options -------------------------------------------------------------- */

void elm_data_opts_default(elm_data_opts *o)
{
    o->format = ELM_DATA_AUTO;
    o->text_field = "text";
    o->min_chars = 50;
    o->max_chars = 700;
}

elm_status elm_data_format_parse(const char *name, elm_data_format *out)
{
    static const struct {
        const char *name;
        elm_data_format f;
    } names[] = {{"auto", ELM_DATA_AUTO},       {"jsonl", ELM_DATA_JSONL},
                 {"text", ELM_DATA_TEXT},       {"paragraphs", ELM_DATA_PARAGRAPHS},
                 {"json", ELM_DATA_JSON},       {"consistency", ELM_DATA_CONSISTENCY},
                 {"mcq", ELM_DATA_MCQ}};
    ELM_CHECK_ARG(name && out, "name/out");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].f;
            return ELM_OK;
        }
    return elm_err(ELM_E_INVALID,
                   "data.format: unknown format '%s' (choices: auto|jsonl|text|paragraphs|json|consistency|mcq)",
                   name);
}

/* ---- file and UTF-8 helpers ---------------------------------------------------- */

elm_status elm_data_read_file(const char *path, char **buf, size_t *len)
{
    struct stat sb;
    ELM_CHECK_ARG(path && buf && len, "path/buf/len");
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return elm_err(ELM_E_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fileno(f), &sb) != 0 || S_ISDIR(sb.st_mode)) {
        fclose(f);
        return elm_err(ELM_E_IO, "%s: not a regular file", path);
    }
    size_t cap = sb.st_size > 0 ? (size_t)sb.st_size + 1 : 4096, n = 0;
    char *b = malloc(cap);
    if (!b) {
        fclose(f);
        return elm_err(ELM_E_NOMEM, "%s: out of memory (%zu bytes)", path, cap);
    }
    for (;;) {
        if (n + 1 >= cap) {
            char *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                fclose(f);
                return elm_err(ELM_E_NOMEM, "%s: out of memory (%zu bytes)", path, cap * 2);
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(b);
        return elm_err(ELM_E_IO, "%s: read error", path);
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return ELM_OK;
}

size_t elm_data_line_of(const char *buf, size_t off)
{
    size_t line = 1;
    for (size_t i = 0; i < off; i++)
        line += buf[i] == '\n';
    return line;
}

elm_status elm_utf8_check(const char *path, const char *buf, size_t len)
{
    const unsigned char *s = (const unsigned char *)buf;
    size_t line = 1;
    for (size_t i = 0; i < len;) {
        if (s[i] < 0x80) {
            line += s[i] == '\n';
            i++;
            continue;
        }
        size_t n = elm_utf8_seq_len(s + i, len - i);
        if (!n)
            return elm_err(ELM_E_FORMAT, "%s:%zu: invalid UTF-8 at byte offset %zu (byte 0x%02X)", path,
                           line, i, s[i]);
        i += n;
    }
    return ELM_OK;
}

/* ---- dataset building ---------------------------------------------------------- */

typedef struct loader {
    const char *path;
    const elm_data_opts *o;
    elm_dataset *ds;
    size_t seen, dropped; /* TEXT records before filtering / dropped by min_chars */
} loader;

static elm_status grow(void **p, size_t *cap, size_t need, size_t elem, const char *path)
{
    if (need <= *cap)
        return ELM_OK;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q)
        return elm_err(ELM_E_NOMEM, "%s: out of memory (%zu bytes)", path, c * elem);
    *p = q;
    *cap = c;
    return ELM_OK;
}

static elm_status put_str(loader *L, const char *s, size_t len)
{
    elm_dataset *ds = L->ds;
    ELM_TRY(grow((void **)&ds->arena, &ds->arena_cap, ds->arena_len + len + 1, 1, L->path));
    ELM_TRY(grow((void **)&ds->off, &ds->cap_off, ds->n_off + 1, sizeof *ds->off, L->path));
    memcpy(ds->arena + ds->arena_len, s, len);
    ds->arena[ds->arena_len + len] = '\0';
    ds->off[ds->n_off++] = ds->arena_len;
    ds->arena_len += len + 1;
    return ELM_OK;
}

static elm_status add_text(loader *L, const char *s, size_t len, const char *where)
{
    if (memchr(s, '\0', len))
        return elm_err(ELM_E_FORMAT, "%s: text contains a NUL character", where);
    L->seen++;
    /* the reference keeps texts with len(text) > min_chars, then text[:max_chars] */
    size_t cps = elm_utf8_count(s, len);
    if ((int64_t)cps <= L->o->min_chars) {
        L->dropped++;
        return ELM_OK;
    }
    if (L->o->max_chars > 0 && (int64_t)cps > L->o->max_chars)
        len = elm_utf8_prefix(s, len, (size_t)L->o->max_chars);
    ELM_TRY(put_str(L, s, len));
    L->ds->n++;
    return ELM_OK;
}

static elm_status add_pair(loader *L, const char *p, size_t plen, const char *c, size_t clen, int group,
                           const char *where)
{
    elm_dataset *ds = L->ds;
    if (memchr(p, '\0', plen) || memchr(c, '\0', clen))
        return elm_err(ELM_E_FORMAT, "%s: text contains a NUL character", where);
    ELM_TRY(grow((void **)&ds->group, &ds->cap_group, ds->n + 1, sizeof *ds->group, L->path));
    ELM_TRY(put_str(L, p, plen));
    ELM_TRY(put_str(L, c, clen));
    ds->group[ds->n++] = group;
    if (group + 1 > ds->n_groups)
        ds->n_groups = group + 1;
    return ELM_OK;
}

static const char *type_name(struct json_object *o)
{
    return o ? json_type_to_name(json_object_get_type(o)) : "null";
}

static elm_status str_field(struct json_object *rec, const char *field, const char *where,
                            const char **s, size_t *len)
{
    struct json_object *v;
    if (!json_object_object_get_ex(rec, field, &v))
        return elm_err(ELM_E_FORMAT, "%s: field '%s' missing", where, field);
    if (!json_object_is_type(v, json_type_string))
        return elm_err(ELM_E_FORMAT, "%s: field '%s' must be a string, not %s", where, field, type_name(v));
    *s = json_object_get_string(v);
    *len = (size_t)json_object_get_string_len(v);
    return ELM_OK;
}

static int is_pair_record(struct json_object *rec)
{
    return json_object_is_type(rec, json_type_object) &&
           json_object_object_get_ex(rec, "prompt", NULL) &&
           (json_object_object_get_ex(rec, "consistence_prompt", NULL) ||
            json_object_object_get_ex(rec, "continuation", NULL));
}

/* Kind of a collection decided by its first record. */
static elm_dataset_kind kind_of_record(const loader *L, struct json_object *rec)
{
    if (L->o->format == ELM_DATA_CONSISTENCY)
        return ELM_DATASET_PAIRS;
    if (L->o->format == ELM_DATA_MCQ)
        return ELM_DATASET_MCQ;
    if (json_object_is_type(rec, json_type_object) &&
        !json_object_object_get_ex(rec, L->o->text_field, NULL)) {
        if (is_pair_record(rec))
            return ELM_DATASET_PAIRS;
        if (elm_mcq_is_record(rec))
            return ELM_DATASET_MCQ;
    }
    return ELM_DATASET_TEXT;
}

static elm_status add_record(loader *L, struct json_object *rec, int group, const char *where)
{
    const char *a, *b;
    size_t al, bl;
    switch (L->ds->kind) {
    case ELM_DATASET_TEXT:
        if (json_object_is_type(rec, json_type_string))
            return add_text(L, json_object_get_string(rec), (size_t)json_object_get_string_len(rec), where);
        if (!json_object_is_type(rec, json_type_object))
            return elm_err(ELM_E_FORMAT, "%s: a record must be a string or an object, not %s", where,
                           type_name(rec));
        ELM_TRY(str_field(rec, L->o->text_field, where, &a, &al));
        return add_text(L, a, al, where);
    case ELM_DATASET_PAIRS: {
        struct json_object *g;
        if (!json_object_is_type(rec, json_type_object))
            return elm_err(ELM_E_FORMAT, "%s: a pair must be an object {prompt, consistence_prompt}, not %s",
                           where, type_name(rec));
        ELM_TRY(str_field(rec, "prompt", where, &a, &al));
        if (json_object_object_get_ex(rec, "consistence_prompt", NULL))
            ELM_TRY(str_field(rec, "consistence_prompt", where, &b, &bl));
        else if (json_object_object_get_ex(rec, "continuation", NULL))
            ELM_TRY(str_field(rec, "continuation", where, &b, &bl));
        else
            return elm_err(ELM_E_FORMAT, "%s: field 'consistence_prompt' missing (or 'continuation')", where);
        if (group < 0) {
            group = 0;
            if (json_object_object_get_ex(rec, "group", &g)) {
                int64_t v = json_object_get_int64(g);
                if (!json_object_is_type(g, json_type_int) || v < 0 || v > 1000000)
                    return elm_err(ELM_E_FORMAT, "%s: field 'group' must be an integer in [0, 1000000]", where);
                group = (int)v;
            }
        }
        return add_pair(L, a, al, b, bl, group, where);
    }
    case ELM_DATASET_MCQ:
        return elm_mcq_add(L->ds->mcq, rec, where);
    }
    return elm_err(ELM_E_INTERNAL, "%s: unknown dataset kind", where);
}

static elm_status set_kind(loader *L, elm_dataset_kind kind)
{
    L->ds->kind = kind;
    if (kind == ELM_DATASET_MCQ && !L->ds->mcq)
        ELM_TRY(elm_mcq_new(&L->ds->mcq));
    return ELM_OK;
}

/* ---- formats ------------------------------------------------------------------- */

static int is_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n' && s[i] != '\f' && s[i] != '\v')
            return 0;
    return 1;
}

/* Next line of buf from *pos: [*b, *e) without "\n" or "\r\n". */
static int next_line(const char *buf, size_t len, size_t *pos, size_t *b, size_t *e)
{
    if (*pos >= len)
        return 0;
    const char *nl = memchr(buf + *pos, '\n', len - *pos);
    size_t end = nl ? (size_t)(nl - buf) : len;
    *b = *pos;
    *e = end;
    if (*e > *b && buf[*e - 1] == '\r')
        (*e)--;
    *pos = end + 1;
    return 1;
}

static elm_status load_text(loader *L, const char *buf, size_t len)
{
    size_t pos = 0, b, e, line = 0;
    char where[512];
    ELM_TRY(set_kind(L, ELM_DATASET_TEXT));
    while (next_line(buf, len, &pos, &b, &e)) {
        line++;
        snprintf(where, sizeof where, "%s:%zu", L->path, line);
        ELM_TRY(add_text(L, buf + b, e - b, where));
    }
    return ELM_OK;
}

static elm_status load_paragraphs(loader *L, const char *buf, size_t len)
{
    size_t pos = 0, b, e, line = 0, first = 0;
    char where[512];
    char *tmp = NULL;
    size_t tlen = 0, tcap = 0;
    elm_status st = set_kind(L, ELM_DATASET_TEXT);
    int more = 1;
    while (st == ELM_OK && more) {
        more = next_line(buf, len, &pos, &b, &e);
        if (more)
            line++;
        if (!more || is_blank(buf + b, e - b)) {
            if (tlen) {
                snprintf(where, sizeof where, "%s:%zu", L->path, first);
                st = add_text(L, tmp, tlen, where);
                tlen = 0;
            }
            continue;
        }
        if (!tlen)
            first = line;
        st = grow((void **)&tmp, &tcap, tlen + (e - b) + 2, 1, L->path);
        if (st != ELM_OK)
            break;
        if (tlen)
            tmp[tlen++] = '\n';
        memcpy(tmp + tlen, buf + b, e - b);
        tlen += e - b;
    }
    free(tmp);
    return st;
}

static elm_status load_jsonl(loader *L, const char *buf, size_t len)
{
    struct json_tokener *tok = json_tokener_new();
    if (!tok)
        return elm_err(ELM_E_NOMEM, "out of memory (JSON parser)");
    size_t pos = 0, b, e, line = 0;
    int decided = 0;
    char where[512];
    elm_status st = ELM_OK;
    while (st == ELM_OK && next_line(buf, len, &pos, &b, &e)) {
        size_t start = b;
        line++;
        while (b < e && (buf[b] == ' ' || buf[b] == '\t'))
            b++;
        while (e > b && (buf[e - 1] == ' ' || buf[e - 1] == '\t' || buf[e - 1] == '\r'))
            e--;
        if (b == e)
            continue;
        snprintf(where, sizeof where, "%s:%zu", L->path, line);
        json_tokener_reset(tok);
        struct json_object *rec = json_tokener_parse_ex(tok, buf + b, (int)(e - b));
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        if (jerr == json_tokener_continue)
            st = elm_err(ELM_E_FORMAT, "%s: invalid JSON: the record does not end on its line", where);
        else if (jerr != json_tokener_success)
            st = elm_err(ELM_E_FORMAT, "%s: invalid JSON at column %zu: %s", where,
                         b - start + json_tokener_get_parse_end(tok) + 1, json_tokener_error_desc(jerr));
        else if (json_tokener_get_parse_end(tok) < e - b)
            st = elm_err(ELM_E_FORMAT, "%s: invalid JSON at column %zu: data after the record", where,
                         b - start + json_tokener_get_parse_end(tok) + 1);
        else {
            if (!decided) {
                st = set_kind(L, kind_of_record(L, rec));
                decided = 1;
            }
            if (st == ELM_OK)
                st = add_record(L, rec, -1, where);
        }
        json_object_put(rec);
    }
    json_tokener_free(tok);
    if (st == ELM_OK && !decided)
        st = set_kind(L, L->o->format == ELM_DATA_CONSISTENCY ? ELM_DATASET_PAIRS : ELM_DATASET_TEXT);
    return st;
}

/* The reference's consistency file: {"0": [{prompt, consistence_prompt}], ...}. */
static elm_status load_consistency(loader *L, struct json_object *root)
{
    char where[512];
    ELM_TRY(set_kind(L, ELM_DATASET_PAIRS));
    json_object_object_foreach(root, key, val)
    {
        char *end;
        errno = 0;
        long g = strtol(key, &end, 10);
        if (!key[0] || *end || errno || g < 0 || g > 1000000)
            return elm_err(ELM_E_FORMAT,
                           "%s: consistency JSON: key \"%s\" is not a dataset index (\"0\", \"1\", ...)",
                           L->path, key);
        if (!json_object_is_type(val, json_type_array))
            return elm_err(ELM_E_FORMAT,
                           "%s: consistency JSON: value of \"%s\" must be a list of {prompt, consistence_prompt}, not %s",
                           L->path, key, type_name(val));
        size_t n = json_object_array_length(val);
        for (size_t i = 0; i < n; i++) {
            snprintf(where, sizeof where, "%s: \"%s\"[%zu]", L->path, key, i);
            ELM_TRY(add_record(L, json_object_array_get_idx(val, i), (int)g, where));
        }
    }
    return ELM_OK;
}

static elm_status load_json_value(loader *L, struct json_object *root)
{
    char where[512];
    if (json_object_is_type(root, json_type_object)) {
        if (L->o->format == ELM_DATA_MCQ || elm_mcq_is_record(root) ||
            (L->o->format != ELM_DATA_CONSISTENCY && json_object_object_get_ex(root, L->o->text_field, NULL)))
            return elm_err(ELM_E_FORMAT,
                           "%s: a JSON file must hold a list of records (or the consistency object); "
                           "for one record per line use JSONL", L->path);
        return load_consistency(L, root);
    }
    if (!json_object_is_type(root, json_type_array))
        return elm_err(ELM_E_FORMAT, "%s: expected a JSON list of records or the consistency object, not %s",
                       L->path, type_name(root));
    size_t n = json_object_array_length(root);
    ELM_TRY(set_kind(L, n ? kind_of_record(L, json_object_array_get_idx(root, 0))
                          : (L->o->format == ELM_DATA_CONSISTENCY ? ELM_DATASET_PAIRS : ELM_DATASET_TEXT)));
    for (size_t i = 0; i < n; i++) {
        snprintf(where, sizeof where, "%s: record %zu", L->path, i);
        ELM_TRY(add_record(L, json_object_array_get_idx(root, i), -1, where));
    }
    return ELM_OK;
}

/* Parse buf as one JSON value. *several: it parsed a first value but more
 * follows (JSONL). On other errors the message names line and column. */
elm_status elm_data_parse_json(const char *path, const char *buf, size_t len, struct json_object **out,
                               int *several)
{
    *out = NULL;
    *several = 0;
    if (len > INT_MAX) /* json-c takes an int length */
        return elm_err(ELM_E_UNSUPPORTED, "%s: a JSON document over 2 GiB is not supported; use JSONL", path);
    struct json_tokener *tok = json_tokener_new();
    if (!tok)
        return elm_err(ELM_E_NOMEM, "out of memory (JSON parser)");
    struct json_object *root = json_tokener_parse_ex(tok, buf, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (jerr == json_tokener_continue) {
        json_object_put(root);
        return elm_err(ELM_E_FORMAT, "%s:%zu: invalid JSON: unexpected end of file", path,
                       elm_data_line_of(buf, len));
    }
    if (jerr != json_tokener_success) {
        size_t line = elm_data_line_of(buf, end), col = end;
        while (col > 0 && buf[col - 1] != '\n')
            col--;
        json_object_put(root);
        return elm_err(ELM_E_FORMAT, "%s:%zu: invalid JSON at column %zu: %s", path, line, end - col + 1,
                       json_tokener_error_desc(jerr));
    }
    if (!is_blank(buf + end, len - end)) {
        *several = 1;
        json_object_put(root);
        return elm_err(ELM_E_FORMAT, "%s:%zu: invalid JSON: data after the end of the document", path,
                       elm_data_line_of(buf, end));
    }
    *out = root;
    return ELM_OK;
}

/* path ends with ext (any case) after at least one byte of name: a file
 * named just ".json" has no extension. */
static int has_ext(const char *path, const char *ext)
{
    return strlen(path) > strlen(ext) && elm_str_has_suffix_nocase(path, ext);
}

static elm_status load_buffer(loader *L, const char *buf, size_t len)
{
    elm_data_format f = L->o->format;
    const char *path = L->path;
    size_t k = 0;
    while (k < len && is_blank(buf + k, 1))
        k++;
    if (k == len)
        return elm_err(ELM_E_FORMAT, "%s: empty file", path);
    if (f == ELM_DATA_TEXT)
        return load_text(L, buf, len);
    if (f == ELM_DATA_PARAGRAPHS)
        return load_paragraphs(L, buf, len);
    if (f == ELM_DATA_JSONL)
        return load_jsonl(L, buf, len);
    if (f == ELM_DATA_AUTO) {
        if (has_ext(path, ".jsonl") || has_ext(path, ".ndjson"))
            return load_jsonl(L, buf, len);
        if (has_ext(path, ".txt"))
            return load_text(L, buf, len);
        if (!has_ext(path, ".json") && buf[k] != '[' && buf[k] != '{')
            return load_text(L, buf, len);
    }
    /* json, consistency, mcq, or auto on .json / JSON-looking content */
    struct json_object *root;
    int several;
    elm_status st = elm_data_parse_json(path, buf, len, &root, &several);
    if (st != ELM_OK) {
        /* several values, one per line: JSONL under another name */
        if (several && f != ELM_DATA_JSON)
            return load_jsonl(L, buf, len);
        return st;
    }
    if (f != ELM_DATA_JSON && json_object_is_type(root, json_type_object) &&
        (json_object_object_get_ex(root, L->o->text_field, NULL) || is_pair_record(root) ||
         elm_mcq_is_record(root))) {
        /* one record alone: a JSONL file of one line */
        json_object_put(root);
        return load_jsonl(L, buf, len);
    }
    st = load_json_value(L, root);
    json_object_put(root);
    return st;
}

elm_status elm_dataset_read(const char *path, const elm_data_opts *opts, elm_dataset **out)
{
    elm_data_opts defaults;
    char *buf;
    size_t len;
    ELM_CHECK_ARG(path, "path");
    ELM_CHECK_ARG(out, "out");
    *out = NULL;
    if (!opts) {
        elm_data_opts_default(&defaults);
        opts = &defaults;
    }
    if (!opts->text_field || !opts->text_field[0])
        return elm_err(ELM_E_INVALID, "data.text_field: must not be empty");
    if (opts->min_chars < 0 || opts->max_chars < 0)
        return elm_err(ELM_E_INVALID, "data.min_chars/data.max_chars: must not be negative");

    ELM_TRY(elm_data_read_file(path, &buf, &len));
    elm_status st = elm_utf8_check(path, buf, len);
    if (st != ELM_OK) {
        free(buf);
        return st;
    }
    elm_dataset *ds = calloc(1, sizeof *ds);
    char *p = strdup(path);
    if (!ds || !p) {
        free(ds);
        free(p);
        free(buf);
        return elm_err(ELM_E_NOMEM, "%s: out of memory", path);
    }
    ds->magic = ELM_DATASET_MAGIC;
    atomic_init(&ds->refs, 1);
    ds->path = p;
    loader L = {path, opts, ds, 0, 0};
    size_t bom = (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) ? 3 : 0;
    st = load_buffer(&L, buf + bom, len - bom);
    free(buf);
    if (st == ELM_OK && ds->kind == ELM_DATASET_MCQ)
        ds->n = elm_mcq_count(ds->mcq);
    if (st == ELM_OK && ds->n == 0) {
        if (ds->kind == ELM_DATASET_TEXT && L.dropped)
            st = elm_err(ELM_E_FORMAT,
                         "%s: no records left after filtering (min_chars=%lld): the %zu text(s) all have at most "
                         "%lld characters",
                         path, (long long)opts->min_chars, L.dropped, (long long)opts->min_chars);
        else
            st = elm_err(ELM_E_FORMAT, "%s: no records in the file", path);
    }
    if (st != ELM_OK) {
        elm_dataset_unref(ds);
        return st;
    }
    /* compact: the arena and offsets shrink to what they hold */
    if (ds->arena_len && ds->arena_len < ds->arena_cap) {
        char *a = realloc(ds->arena, ds->arena_len);
        if (a)
            ds->arena = a, ds->arena_cap = ds->arena_len;
    }
    if (ds->n_off && ds->n_off < ds->cap_off) {
        size_t *o = realloc(ds->off, ds->n_off * sizeof *o);
        if (o)
            ds->off = o, ds->cap_off = ds->n_off;
    }
    *out = ds;
    return ELM_OK;
}

/* ---- handle -------------------------------------------------------------------- */

int elm_dataset_valid(const elm_dataset *ds) { return ds && ds->magic == ELM_DATASET_MAGIC; }

elm_status elm_dataset_check(const elm_dataset *ds, const char *fn)
{
    if (!ds)
        return elm_err(ELM_E_INVALID, "%s: dataset is NULL", fn);
    if (ds->magic != ELM_DATASET_MAGIC)
        return elm_err(ELM_E_INVALID, "%s: not a valid dataset handle (freed or corrupted?)", fn);
    return ELM_OK;
}

elm_dataset *elm_dataset_ref(elm_dataset *ds)
{
    if (ds)
        atomic_fetch_add_explicit(&ds->refs, 1, memory_order_relaxed);
    return ds;
}

void elm_dataset_unref(elm_dataset *ds)
{
    if (!ds)
        return;
    if (atomic_fetch_sub_explicit(&ds->refs, 1, memory_order_acq_rel) != 1)
        return;
    ds->magic = 0;
    free(ds->path);
    free(ds->arena);
    free(ds->off);
    free(ds->group);
    elm_mcq_free(ds->mcq);
    free(ds);
}

elm_dataset_kind elm_dataset_kind_of(const elm_dataset *ds) { return ds ? ds->kind : ELM_DATASET_TEXT; }

size_t elm_dataset_count(const elm_dataset *ds) { return ds ? ds->n : 0; }

const char *elm_dataset_text_at(const elm_dataset *ds, size_t i)
{
    if (!ds || i >= ds->n)
        return NULL;
    if (ds->kind == ELM_DATASET_TEXT)
        return ds->arena + ds->off[i];
    if (ds->kind == ELM_DATASET_MCQ)
        return elm_mcq_question(ds->mcq, i);
    return NULL;
}

const char *elm_dataset_prompt_at(const elm_dataset *ds, size_t i)
{
    return (ds && ds->kind == ELM_DATASET_PAIRS && i < ds->n) ? ds->arena + ds->off[2 * i] : NULL;
}

const char *elm_dataset_continuation_at(const elm_dataset *ds, size_t i)
{
    return (ds && ds->kind == ELM_DATASET_PAIRS && i < ds->n) ? ds->arena + ds->off[2 * i + 1] : NULL;
}

int elm_dataset_group_at(const elm_dataset *ds, size_t i)
{
    return (ds && ds->kind == ELM_DATASET_PAIRS && i < ds->n) ? ds->group[i] : -1;
}

int elm_dataset_n_groups(const elm_dataset *ds)
{
    return (ds && ds->kind == ELM_DATASET_PAIRS) ? ds->n_groups : 0;
}

const elm_mcq_set *elm_dataset_mcq(const elm_dataset *ds)
{
    return (ds && ds->kind == ELM_DATASET_MCQ) ? ds->mcq : NULL;
}

const char *elm_dataset_path(const elm_dataset *ds) { return ds ? ds->path : NULL; }
