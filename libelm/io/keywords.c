#include "io/keywords.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/dataset.h"
#include "io/json.h"

/* The object's keys, ", "-separated, for messages (malloc'd; NULL: none). */
static char *key_list(json_object *obj)
{
    size_t n = 1;
    json_object_object_foreach(obj, k, v)
    {
        (void)v;
        n += strlen(k) + 2;
    }
    char *s = malloc(n);
    if (!s)
        return NULL;
    s[0] = 0;
    json_object_object_foreach(obj, k2, v2)
    {
        (void)v2;
        if (s[0])
            strcat(s, ", ");
        strcat(s, k2);
    }
    return s;
}

/* list's strings joined by ", " into *out; field names the list. */
static elm_status join_list(const char *path, const char *field, json_object *list, char **out)
{
    size_t n = json_object_array_length(list), len = 1;
    if (n == 0)
        return elm_err(ELM_E_INVALID, "%s: %s is empty", path, field);
    for (size_t i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(list, i);
        if (!json_object_is_type(v, json_type_string))
            return elm_err(ELM_E_FORMAT, "%s: %s, item %zu: expected a string, got %s", path, field, i,
                           elm_json_type_name(v));
        len += (size_t)json_object_get_string_len(v) + 2;
    }
    char *s = malloc(len), *p = s;
    if (!s)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(list, i);
        size_t k = (size_t)json_object_get_string_len(v);
        if (i) {
            memcpy(p, ", ", 2);
            p += 2;
        }
        memcpy(p, json_object_get_string(v), k);
        p += k;
    }
    *p = 0;
    *out = s;
    return ELM_OK;
}

static elm_status pick(const char *path, const char *key, json_object *root, char **concept)
{
    if (json_object_is_type(root, json_type_array)) {
        if (key)
            return elm_err(ELM_E_INVALID, "%s: is a list of strings, not an object: it has no key '%s'", path, key);
        return join_list(path, "the keyword list", root, concept);
    }
    if (!json_object_is_type(root, json_type_object))
        return elm_err(ELM_E_FORMAT, "%s: expected a list of strings or an object of such lists, got %s", path,
                       elm_json_type_name(root));
    int n_keys = json_object_object_length(root);
    json_object *list = NULL;
    const char *name = key;
    if (key) {
        json_object_object_get_ex(root, key, &list);
    } else if (n_keys == 1) {
        json_object_object_foreach(root, k, v)
        {
            name = k;
            list = v;
        }
    }
    if (!list) {
        char *keys = key_list(root);
        elm_status st = key ? elm_err(ELM_E_INVALID, "%s: no key '%s' (keys: %s)", path, key,
                                      keys && keys[0] ? keys : "none")
                            : elm_err(ELM_E_INVALID, "%s: an object of %d lists: give a key (keys: %s)", path,
                                      n_keys, keys && keys[0] ? keys : "none");
        free(keys);
        return st;
    }
    size_t cap = strlen(name) + 16;
    char *field = malloc(cap);
    if (!field)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", path);
    snprintf(field, cap, "field '%s'", name);
    elm_status st = json_object_is_type(list, json_type_array)
                        ? join_list(path, field, list, concept)
                        : elm_err(ELM_E_FORMAT, "%s: %s: expected a list of strings, got %s", path, field,
                                  elm_json_type_name(list));
    free(field);
    return st;
}

elm_status elm_keywords_load(const char *path, const char *key, char **concept)
{
    ELM_CHECK_ARG(concept, "concept");
    *concept = NULL;
    ELM_CHECK_ARG(path && path[0], "path");
    if (key && !key[0])
        key = NULL;
    char *buf = NULL;
    size_t len = 0;
    ELM_TRY(elm_data_read_file(path, &buf, &len));
    const char *b = buf;
    if (len >= 3 && memcmp(b, "\xEF\xBB\xBF", 3) == 0) { /* UTF-8 byte order mark */
        b += 3;
        len -= 3;
    }
    json_object *root = NULL;
    elm_status st = elm_utf8_check(path, b, len);
    const char *nul = st == ELM_OK ? memchr(b, 0, len) : NULL;
    if (nul) {
        int line, col;
        elm_json_line_col(b, len, (size_t)(nul - b), &line, &col);
        st = elm_err(ELM_E_FORMAT, "%s: line %d, column %d: NUL byte (not a JSON text file)", path, line, col);
    }
    if (st == ELM_OK)
        st = elm_json_parse_buffer(path, b, len, &root);
    if (st == ELM_OK && json_object_is_type(root, json_type_object))
        st = elm_json_check_duplicate_keys(path, b, len);
    if (st == ELM_OK)
        st = pick(path, key, root, concept);
    json_object_put(root);
    free(buf);
    return st;
}
