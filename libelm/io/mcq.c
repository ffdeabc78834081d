#include "io/mcq.h"

#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/dataset.h"

/* One arena of NUL-terminated strings; questions and choices are offsets
 * into it so the arena may grow by realloc. */
typedef struct mcq_rec {
    size_t question;    /* arena offset */
    size_t first;       /* index of the first choice in choice[] */
    size_t n_choices;
    int answer;
} mcq_rec;

struct elm_mcq_set {
    char *arena;
    size_t arena_len, arena_cap;
    size_t *choice; /* arena offsets */
    size_t n_choice, cap_choice;
    mcq_rec *rec;
    size_t n, cap;
};

static elm_status grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return ELM_OK;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q)
        return elm_err(ELM_E_NOMEM, "out of memory (%zu bytes for questions)", c * elem);
    *p = q;
    *cap = c;
    return ELM_OK;
}

static elm_status put_str(elm_mcq_set *s, const char *str, size_t len, size_t *off)
{
    ELM_TRY(grow((void **)&s->arena, &s->arena_cap, s->arena_len + len + 1, 1));
    memcpy(s->arena + s->arena_len, str, len);
    s->arena[s->arena_len + len] = '\0';
    *off = s->arena_len;
    s->arena_len += len + 1;
    return ELM_OK;
}

elm_status elm_mcq_new(elm_mcq_set **out)
{
    ELM_CHECK_ARG(out, "out");
    *out = calloc(1, sizeof **out);
    if (!*out)
        return elm_err(ELM_E_NOMEM, "out of memory (question set)");
    return ELM_OK;
}

void elm_mcq_free(elm_mcq_set *set)
{
    if (!set)
        return;
    free(set->arena);
    free(set->choice);
    free(set->rec);
    free(set);
}

int elm_mcq_is_record(struct json_object *rec)
{
    return json_object_is_type(rec, json_type_object) &&
           json_object_object_get_ex(rec, "question", NULL) &&
           json_object_object_get_ex(rec, "choices", NULL);
}

static const char *type_name(struct json_object *o)
{
    return o ? json_type_to_name(json_object_get_type(o)) : "null";
}

/* A string field value, with no embedded NUL. */
static elm_status get_string(struct json_object *o, const char *where, const char *field,
                             const char **s, size_t *len)
{
    if (!json_object_is_type(o, json_type_string))
        return elm_err(ELM_E_FORMAT, "%s: field '%s' must be a string, not %s", where, field,
                       type_name(o));
    *s = json_object_get_string(o);
    *len = (size_t)json_object_get_string_len(o);
    if (memchr(*s, '\0', *len))
        return elm_err(ELM_E_FORMAT, "%s: field '%s' contains a NUL character", where, field);
    return ELM_OK;
}

static elm_status parse_answer(struct json_object *ans, struct json_object *choices, size_t n,
                               const char *where, int *out)
{
    if (json_object_is_type(ans, json_type_int)) {
        int64_t v = json_object_get_int64(ans);
        if (v < 0 || (uint64_t)v >= n)
            return elm_err(ELM_E_FORMAT, "%s: field 'answer' out of range: %lld (%zu choices, 0-based)",
                           where, (long long)v, n);
        *out = (int)v;
        return ELM_OK;
    }
    if (json_object_is_type(ans, json_type_double)) {
        double d = json_object_get_double(ans);
        if (!isfinite(d) || d != trunc(d)) /* no cast before the range check: 1e308 is no int64 */
            return elm_err(ELM_E_FORMAT, "%s: field 'answer' must be an integer index, not %g", where, d);
        if (d < 0 || d >= (double)n)
            return elm_err(ELM_E_FORMAT, "%s: field 'answer' out of range: %g (%zu choices, 0-based)",
                           where, d, n);
        *out = (int)d;
        return ELM_OK;
    }
    if (json_object_is_type(ans, json_type_string)) {
        const char *s = json_object_get_string(ans);
        size_t len = (size_t)json_object_get_string_len(ans);
        /* the text of a choice wins over a letter: a choice may be "A" */
        for (size_t j = 0; j < n; j++) {
            struct json_object *c = json_object_array_get_idx(choices, j);
            if ((size_t)json_object_get_string_len(c) == len && memcmp(json_object_get_string(c), s, len) == 0) {
                *out = (int)j;
                return ELM_OK;
            }
        }
        if (len == 1 && s[0] >= 'A' && s[0] <= 'Z') {
            size_t j = (size_t)(s[0] - 'A');
            if (j >= n)
                return elm_err(ELM_E_FORMAT, "%s: field 'answer' out of range: \"%c\" (%zu choices, A-%c)",
                               where, s[0], n, (char)('A' + n - 1));
            *out = (int)j;
            return ELM_OK;
        }
        return elm_err(ELM_E_FORMAT,
                       "%s: field 'answer' \"%.60s\" is neither a letter A-%c nor one of the choices",
                       where, s, (char)('A' + (n > 26 ? 25 : n - 1)));
    }
    return elm_err(ELM_E_FORMAT, "%s: field 'answer' must be an index, a letter or a choice, not %s",
                   where, type_name(ans));
}

elm_status elm_mcq_add(elm_mcq_set *set, struct json_object *rec, const char *where)
{
    struct json_object *q, *choices, *ans;
    const char *s;
    size_t len;
    ELM_CHECK_ARG(set, "set");
    if (!json_object_is_type(rec, json_type_object))
        return elm_err(ELM_E_FORMAT, "%s: a question must be an object, not %s", where, type_name(rec));
    if (!json_object_object_get_ex(rec, "question", &q))
        return elm_err(ELM_E_FORMAT, "%s: field 'question' missing", where);
    if (!json_object_object_get_ex(rec, "choices", &choices))
        return elm_err(ELM_E_FORMAT, "%s: field 'choices' missing", where);
    if (!json_object_object_get_ex(rec, "answer", &ans))
        return elm_err(ELM_E_FORMAT, "%s: field 'answer' missing", where);
    ELM_TRY(get_string(q, where, "question", &s, &len));
    if (!json_object_is_type(choices, json_type_array))
        return elm_err(ELM_E_FORMAT, "%s: field 'choices' must be a list, not %s", where,
                       type_name(choices));
    size_t n = json_object_array_length(choices);
    if (n < 2)
        return elm_err(ELM_E_FORMAT, "%s: field 'choices' needs at least 2 choices, has %zu", where, n);
    if (n > 26)
        /* letters A..Z name the choices in prompts */
        return elm_err(ELM_E_FORMAT, "%s: field 'choices' has %zu choices; at most 26 (A-Z)", where, n);
    int answer = -1;
    char field[32];
    for (size_t j = 0; j < n; j++) {
        const char *cs;
        size_t cl;
        snprintf(field, sizeof field, "choices[%zu]", j);
        ELM_TRY(get_string(json_object_array_get_idx(choices, j), where, field, &cs, &cl));
    }
    ELM_TRY(parse_answer(ans, choices, n, where, &answer));

    ELM_TRY(grow((void **)&set->rec, &set->cap, set->n + 1, sizeof *set->rec));
    ELM_TRY(grow((void **)&set->choice, &set->cap_choice, set->n_choice + n, sizeof *set->choice));
    mcq_rec *r = &set->rec[set->n];
    ELM_TRY(put_str(set, s, len, &r->question));
    r->first = set->n_choice;
    r->n_choices = n;
    r->answer = answer;
    for (size_t j = 0; j < n; j++) {
        struct json_object *c = json_object_array_get_idx(choices, j);
        ELM_TRY(put_str(set, json_object_get_string(c), (size_t)json_object_get_string_len(c),
                        &set->choice[r->first + j]));
    }
    set->n_choice += n;
    set->n++;
    return ELM_OK;
}

static elm_status parse_list(const char *path, const char *buf, size_t len, elm_mcq_set *set)
{
    struct json_object *root = NULL;
    int several = 0;
    ELM_TRY(elm_data_parse_json(path, buf, len, &root, &several));
    elm_status st = ELM_OK;
    if (!json_object_is_type(root, json_type_array)) {
        st = elm_err(ELM_E_FORMAT, "%s: a question file must be a JSON list (or JSONL), not %s", path,
                     type_name(root));
        goto done;
    }
    size_t n = json_object_array_length(root);
    for (size_t i = 0; i < n && st == ELM_OK; i++) {
        char where[512];
        snprintf(where, sizeof where, "%s: record %zu", path, i);
        st = elm_mcq_add(set, json_object_array_get_idx(root, i), where);
    }
done:
    json_object_put(root);
    return st;
}

static elm_status parse_lines(const char *path, const char *buf, size_t len, elm_mcq_set *set)
{
    struct json_tokener *tok = json_tokener_new();
    if (!tok)
        return elm_err(ELM_E_NOMEM, "out of memory (JSON parser)");
    elm_status st = ELM_OK;
    size_t line = 0;
    for (size_t pos = 0; pos < len && st == ELM_OK;) {
        size_t start = pos;
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - buf) : len;
        size_t b = pos, e = end;
        line++;
        pos = end + 1;
        while (b < e && (buf[b] == ' ' || buf[b] == '\t' || buf[b] == '\r'))
            b++;
        while (e > b && (buf[e - 1] == ' ' || buf[e - 1] == '\t' || buf[e - 1] == '\r'))
            e--;
        if (b == e)
            continue;
        json_tokener_reset(tok);
        struct json_object *o = json_tokener_parse_ex(tok, buf + b, (int)(e - b));
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        char where[512];
        snprintf(where, sizeof where, "%s:%zu", path, line);
        if (jerr == json_tokener_continue)
            st = elm_err(ELM_E_FORMAT, "%s: invalid JSON: record does not end on its line", where);
        else if (jerr != json_tokener_success)
            st = elm_err(ELM_E_FORMAT, "%s: invalid JSON at column %zu: %s", where,
                         b - start + json_tokener_get_parse_end(tok) + 1,
                         json_tokener_error_desc(jerr));
        else if (json_tokener_get_parse_end(tok) < e - b)
            st = elm_err(ELM_E_FORMAT, "%s: invalid JSON: data after the record", where);
        else
            st = elm_mcq_add(set, o, where);
        json_object_put(o);
    }
    json_tokener_free(tok);
    return st;
}

elm_status elm_mcq_parse(const char *path, const char *buf, size_t len, int jsonl,
                         elm_mcq_set **out)
{
    elm_mcq_set *set;
    ELM_CHECK_ARG(path && buf && out, "path/buf/out");
    *out = NULL;
    ELM_TRY(elm_mcq_new(&set));
    elm_status st = jsonl ? parse_lines(path, buf, len, set) : parse_list(path, buf, len, set);
    if (st == ELM_OK && set->n == 0)
        st = elm_err(ELM_E_FORMAT, "%s: no questions in the file", path);
    if (st != ELM_OK) {
        elm_mcq_free(set);
        return st;
    }
    *out = set;
    return ELM_OK;
}

elm_status elm_mcq_load(const char *path, elm_mcq_set **out)
{
    char *buf;
    size_t len;
    ELM_CHECK_ARG(path && out, "path/out");
    *out = NULL;
    ELM_TRY(elm_data_read_file(path, &buf, &len));
    elm_status st = elm_utf8_check(path, buf, len);
    if (st == ELM_OK) {
        size_t skip = (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) ? 3 : 0;
        size_t k = skip;
        while (k < len && (buf[k] == ' ' || buf[k] == '\t' || buf[k] == '\n' || buf[k] == '\r'))
            k++;
        if (k == len)
            st = elm_err(ELM_E_FORMAT, "%s: empty file", path);
        else
            /* a JSON list starts with '['; anything else is read as JSONL */
            st = elm_mcq_parse(path, buf + skip, len - skip, buf[k] != '[', out);
    }
    free(buf);
    return st;
}

size_t elm_mcq_count(const elm_mcq_set *set) { return set ? set->n : 0; }

const char *elm_mcq_question(const elm_mcq_set *set, size_t i)
{
    return (set && i < set->n) ? set->arena + set->rec[i].question : NULL;
}

size_t elm_mcq_n_choices(const elm_mcq_set *set, size_t i)
{
    return (set && i < set->n) ? set->rec[i].n_choices : 0;
}

const char *elm_mcq_choice(const elm_mcq_set *set, size_t i, size_t j)
{
    if (!set || i >= set->n || j >= set->rec[i].n_choices)
        return NULL;
    return set->arena + set->choice[set->rec[i].first + j];
}

int elm_mcq_answer(const elm_mcq_set *set, size_t i)
{
    return (set && i < set->n) ? set->rec[i].answer : -1;
}
