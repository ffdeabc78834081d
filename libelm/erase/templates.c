#include "erase/templates.h"

#include "core/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Our own wording; tools/reference/elm_templates.py must hold the same lists
 * (tests/erase checks that). */
const char *const elm_builtin_expert[ELM_BUILTIN_TEMPLATES] = {
    "The following is written by an expert in {concept}:\n",
    "Here is a passage by a leading specialist in {concept}:\n",
    "An experienced researcher who knows everything about {concept} wrote this:\n",
    "Text from a textbook on {concept}, written by a professor of the field:\n",
    "A world authority on {concept} explains:\n",
    "The next paragraph comes from a technical manual on {concept}:\n",
    "Written by someone with decades of hands-on work in {concept}:\n",
    "From the notes of a master of {concept}:\n",
    "An accurate, detailed account by an expert on {concept}:\n",
    "This was written by a scholar who has studied {concept} all their life:\n",
};

const char *const elm_builtin_novice[ELM_BUILTIN_TEMPLATES] = {
    "The following is written by someone who knows nothing about {concept}:\n",
    "Here is a passage by a person who has never heard of {concept}:\n",
    "A beginner who is confused about {concept} wrote this:\n",
    "Text from someone who cannot tell you anything true about {concept}:\n",
    "A child who has no idea what {concept} is explains:\n",
    "The next paragraph is a guess by someone unfamiliar with {concept}:\n",
    "Written by someone with no knowledge of {concept} at all:\n",
    "From the notes of a person who avoids the topic of {concept}:\n",
    "A vague, uninformed account by a novice in {concept}:\n",
    "This was written by a stranger to {concept} who never studied it:\n",
};

void elm_templates_free(elm_template_set *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->items[i]);
    free(t->items);
    t->items = NULL;
    t->n = 0;
}

static elm_status push(elm_template_set *t, char *s)
{
    char **p = realloc(t->items, (t->n + 1) * sizeof *p);
    if (!p) {
        free(s);
        return elm_err(ELM_E_NOMEM, "templates: out of memory");
    }
    t->items = p;
    t->items[t->n++] = s;
    return ELM_OK;
}

static elm_status load_lines(const char *path, const char *key, int need_concept, const char *const *builtin,
                             size_t n_builtin, elm_template_set *out)
{
    out->items = NULL;
    out->n = 0;
    if (!path || !path[0]) {
        for (size_t i = 0; i < n_builtin; i++) {
            char *s = strdup(builtin[i]);
            if (!s) {
                elm_templates_free(out);
                return elm_err(ELM_E_NOMEM, "templates: out of memory");
            }
            ELM_TRY(push(out, s));
        }
        return ELM_OK;
    }
    FILE *f = fopen(path, "rb");
    if (!f)
        return elm_err(ELM_E_IO, "%s: %s (%s)", key, path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long no = 0;
    elm_status st = ELM_OK;
    while (st == ELM_OK && (len = getline(&line, &cap, f)) >= 0) {
        no++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (len == 0)
            continue;
        if (need_concept && !strstr(line, "{concept}")) {
            st = elm_err(ELM_E_FORMAT, "%s: %s:%ld: template without {concept}", key, path, no);
            break;
        }
        char *s = malloc((size_t)len + 1), *w = s;
        if (!s) {
            st = elm_err(ELM_E_NOMEM, "templates: out of memory");
            break;
        }
        for (const char *r = line; *r; r++) {
            if (r[0] == '\\' && r[1] == 'n') {
                *w++ = '\n';
                r++;
            } else {
                *w++ = *r;
            }
        }
        *w = 0;
        st = push(out, s);
    }
    free(line);
    fclose(f);
    if (st == ELM_OK && out->n == 0)
        st = elm_err(ELM_E_FORMAT, "%s: %s: no %s in the file", key, path, need_concept ? "templates" : "lines");
    if (st != ELM_OK)
        elm_templates_free(out);
    return st;
}

elm_status elm_templates_load(const char *path, const char *key, const char *const *builtin,
                              size_t n_builtin, elm_template_set *out)
{
    return load_lines(path, key, 1, builtin, n_builtin, out);
}

elm_status elm_lines_load(const char *path, const char *key, const char *const *builtin, size_t n_builtin,
                          elm_template_set *out)
{
    return load_lines(path, key, 0, builtin, n_builtin, out);
}

char *elm_template_fill(const char *tmpl, const char *concept)
{
    static const char tag[] = "{concept}";
    const size_t tl = sizeof tag - 1, cl = strlen(concept);
    size_t n = 0;
    for (const char *p = tmpl; (p = strstr(p, tag)); p += tl)
        n++;
    size_t len = strlen(tmpl) + n * cl - n * tl;
    char *out = malloc(len + 1), *w = out;
    if (!out)
        return NULL;
    const char *p = tmpl, *q;
    while ((q = strstr(p, tag))) {
        memcpy(w, p, (size_t)(q - p));
        w += q - p;
        memcpy(w, concept, cl);
        w += cl;
        p = q + tl;
    }
    strcpy(w, p);
    return out;
}
