#include "io/safetensors.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/str.h"
#include "io/atomic.h"
#include "io/file.h"
#include "io/json.h"

static const struct {
    const char *name;
    size_t size;
} dtypes[ELM_ST_DTYPE_COUNT] = {
    [ELM_ST_F64] = {"F64", 8},         [ELM_ST_F32] = {"F32", 4},
    [ELM_ST_F16] = {"F16", 2},         [ELM_ST_BF16] = {"BF16", 2},
    [ELM_ST_I64] = {"I64", 8},         [ELM_ST_I32] = {"I32", 4},
    [ELM_ST_I16] = {"I16", 2},         [ELM_ST_I8] = {"I8", 1},
    [ELM_ST_U8] = {"U8", 1},           [ELM_ST_BOOL] = {"BOOL", 1},
    [ELM_ST_F8_E4M3] = {"F8_E4M3", 1}, [ELM_ST_F8_E5M2] = {"F8_E5M2", 1},
};

const char *elm_st_dtype_name(elm_st_dtype t)
{
    return (unsigned)t < ELM_ST_DTYPE_COUNT ? dtypes[t].name : "?";
}

size_t elm_st_dtype_size(elm_st_dtype t)
{
    return (unsigned)t < ELM_ST_DTYPE_COUNT ? dtypes[t].size : 0;
}

elm_status elm_st_dtype_parse(const char *name, elm_st_dtype *out)
{
    for (int i = 0; i < ELM_ST_DTYPE_COUNT; i++) {
        if (name && strcmp(name, dtypes[i].name) == 0) {
            *out = (elm_st_dtype)i;
            return ELM_OK;
        }
    }
    return elm_err(ELM_E_FORMAT,
                   "unknown dtype '%s' (known: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, "
                   "F8_E4M3, F8_E5M2)",
                   name ? name : "(null)");
}

/* ---- reader -------------------------------------------------------------- */

typedef struct meta_kv {
    char *key;
    char *value;
} meta_kv;

struct elm_safetensors {
    elm_mmap_file map;
    elm_st_tensor *t; /* sorted by name; names owned */
    size_t n;
    meta_kv *meta; /* sorted by key */
    size_t n_meta;
};

static int tensor_name_cmp(const void *a, const void *b)
{
    return strcmp(((const elm_st_tensor *)a)->name, ((const elm_st_tensor *)b)->name);
}

static int meta_cmp(const void *a, const void *b)
{
    return strcmp(((const meta_kv *)a)->key, ((const meta_kv *)b)->key);
}

typedef struct span {
    uint64_t begin, end;
    size_t idx;
} span;

static int span_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return 0;
}

void elm_st_close(elm_safetensors *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->n; i++)
        free((char *)st->t[i].name);
    free(st->t);
    for (size_t i = 0; i < st->n_meta; i++) {
        free(st->meta[i].key);
        free(st->meta[i].value);
    }
    free(st->meta);
    elm_mmap_close(&st->map);
    free(st);
}

static elm_status parse_metadata(elm_safetensors *st, json_object *m)
{
    const char *path = st->map.path;
    if (!json_object_is_type(m, json_type_object))
        return elm_err(ELM_E_FORMAT, "%s: '__metadata__' must be an object of strings, got %s", path,
                       elm_json_type_name(m));
    size_t n = (size_t)json_object_object_length(m);
    st->meta = calloc(n ? n : 1, sizeof *st->meta);
    if (!st->meta)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", path);
    json_object_object_foreach(m, key, val)
    {
        if (!json_object_is_type(val, json_type_string))
            return elm_err(ELM_E_FORMAT, "%s: '__metadata__' entry '%s': expected string, got %s",
                           path, key, elm_json_type_name(val));
        meta_kv *kv = &st->meta[st->n_meta];
        kv->key = strdup(key);
        kv->value = strdup(json_object_get_string(val));
        st->n_meta++;
        if (!kv->key || !kv->value)
            return elm_err(ELM_E_NOMEM, "%s: out of memory", path);
    }
    qsort(st->meta, st->n_meta, sizeof *st->meta, meta_cmp);
    return ELM_OK;
}

static elm_status json_u64(json_object *v, uint64_t *out)
{
    if (!json_object_is_type(v, json_type_int))
        return ELM_E_FORMAT;
    errno = 0;
    int64_t x = json_object_get_int64(v);
    if (x < 0)
        return ELM_E_FORMAT;
    if (x == INT64_MAX) {
        /* json-c saturates; read the exact unsigned value when it can. */
        *out = json_object_get_uint64(v);
        return ELM_OK;
    }
    *out = (uint64_t)x;
    return ELM_OK;
}

static elm_status parse_tensor(elm_safetensors *st, const char *name, json_object *info,
                               uint64_t data_size, elm_st_tensor *t, span *sp)
{
    const char *path = st->map.path;
    if (!json_object_is_type(info, json_type_object))
        return elm_err(ELM_E_FORMAT, "%s: tensor '%s': expected an object, got %s", path, name,
                       elm_json_type_name(info));
    json_object *jd, *js, *jo;
    if (!json_object_object_get_ex(info, "dtype", &jd) || !json_object_is_type(jd, json_type_string))
        return elm_err(ELM_E_FORMAT, "%s: tensor '%s': field 'dtype' missing or not a string", path,
                       name);
    if (elm_st_dtype_parse(json_object_get_string(jd), &t->dtype) != ELM_OK)
        return elm_err_context(ELM_E_FORMAT, "%s: tensor '%s'", path, name);
    if (!json_object_object_get_ex(info, "shape", &js) || !json_object_is_type(js, json_type_array))
        return elm_err(ELM_E_FORMAT, "%s: tensor '%s': field 'shape' missing or not an array", path,
                       name);
    size_t nd = json_object_array_length(js);
    if (nd > ELM_ST_MAX_DIMS)
        return elm_err(ELM_E_UNSUPPORTED, "%s: tensor '%s': %zu dimensions (at most %d supported)",
                       path, name, nd, ELM_ST_MAX_DIMS);
    t->ndim = (int)nd;
    uint64_t numel = 1;
    int overflow = 0;
    for (size_t i = 0; i < nd; i++) {
        uint64_t d;
        if (json_u64(json_object_array_get_idx(js, i), &d) != ELM_OK || d > (uint64_t)INT64_MAX)
            return elm_err(ELM_E_FORMAT,
                           "%s: tensor '%s': shape[%zu] must be a non-negative integer", path, name, i);
        t->shape[i] = (int64_t)d;
        if (d != 0 && numel > UINT64_MAX / d)
            overflow = 1;
        else
            numel *= d;
    }
    /* A zero dimension makes the product 0 whatever overflowed before it. */
    for (size_t i = 0; i < nd; i++)
        if (t->shape[i] == 0)
            numel = 0, overflow = 0;
    size_t esz = dtypes[t->dtype].size;
    if (overflow || numel > UINT64_MAX / esz)
        return elm_err(ELM_E_FORMAT, "%s: tensor '%s': shape overflows the byte count", path, name);
    uint64_t nbytes = numel * esz;
    if (!json_object_object_get_ex(info, "data_offsets", &jo) ||
        !json_object_is_type(jo, json_type_array) || json_object_array_length(jo) != 2)
        return elm_err(ELM_E_FORMAT, "%s: tensor '%s': field 'data_offsets' must be [begin, end]",
                       path, name);
    uint64_t b, e;
    if (json_u64(json_object_array_get_idx(jo, 0), &b) != ELM_OK ||
        json_u64(json_object_array_get_idx(jo, 1), &e) != ELM_OK)
        return elm_err(ELM_E_FORMAT,
                       "%s: tensor '%s': data_offsets must be non-negative integers", path, name);
    if (b > e)
        return elm_err(ELM_E_FORMAT, "%s: tensor '%s': data_offsets begin %llu > end %llu", path,
                       name, (unsigned long long)b, (unsigned long long)e);
    if (e > data_size)
        return elm_err(ELM_E_FORMAT,
                       "%s: tensor '%s': data_offsets end %llu beyond the data section (%llu bytes)",
                       path, name, (unsigned long long)e, (unsigned long long)data_size);
    if (e - b != nbytes)
        return elm_err(ELM_E_FORMAT,
                       "%s: tensor '%s': data_offsets span %llu bytes but %s shape needs %llu", path,
                       name, (unsigned long long)(e - b), dtypes[t->dtype].name,
                       (unsigned long long)nbytes);
    t->numel = numel;
    t->nbytes = (size_t)nbytes;
    sp->begin = b;
    sp->end = e;
    return ELM_OK;
}

static elm_status parse_header(elm_safetensors *st)
{
    const char *path = st->map.path;
    const unsigned char *p = st->map.data;
    size_t size = st->map.size;
    if (size < 8)
        return elm_err(ELM_E_FORMAT, "%s: file too small (%zu bytes) for a safetensors header", path,
                       size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | p[i];
    if (hlen > ELM_ST_MAX_HEADER)
        return elm_err(ELM_E_FORMAT, "%s: header length %llu exceeds the %u-byte limit", path,
                       (unsigned long long)hlen, ELM_ST_MAX_HEADER);
    if (hlen > size - 8)
        return elm_err(ELM_E_FORMAT, "%s: header length %llu exceeds the file (%zu bytes)", path,
                       (unsigned long long)hlen, size);
    const char *hdr = (const char *)p + 8;
    uint64_t data_size = size - 8 - hlen;
    const unsigned char *data = p + 8 + hlen;

    size_t nlen = strlen(path) + 16;
    char *hname = malloc(nlen);
    if (!hname)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", path);
    snprintf(hname, nlen, "%s (header)", path);
    json_object *root = NULL;
    elm_status st_ = elm_json_parse_buffer(hname, hdr, (size_t)hlen, &root);
    if (st_ == ELM_OK && !json_object_is_type(root, json_type_object))
        st_ = elm_err(ELM_E_FORMAT, "%s: header must be a JSON object, got %s", path,
                      elm_json_type_name(root));
    if (st_ == ELM_OK)
        st_ = elm_json_check_duplicate_keys(hname, hdr, (size_t)hlen);
    free(hname);
    if (st_ != ELM_OK) {
        json_object_put(root);
        return st_;
    }

    size_t cap = (size_t)json_object_object_length(root);
    span *spans = NULL;
    st->t = calloc(cap ? cap : 1, sizeof *st->t);
    spans = calloc(cap ? cap : 1, sizeof *spans);
    if (!st->t || !spans) {
        st_ = elm_err(ELM_E_NOMEM, "%s: out of memory", path);
        goto out;
    }
    json_object_object_foreach(root, key, val)
    {
        if (strcmp(key, "__metadata__") == 0) {
            if ((st_ = parse_metadata(st, val)) != ELM_OK)
                goto out;
            continue;
        }
        elm_st_tensor *t = &st->t[st->n];
        if ((st_ = parse_tensor(st, key, val, data_size, t, &spans[st->n])) != ELM_OK)
            goto out;
        t->name = strdup(key);
        if (!t->name) {
            st_ = elm_err(ELM_E_NOMEM, "%s: out of memory", path);
            goto out;
        }
        spans[st->n].idx = st->n;
        t->data = data + spans[st->n].begin;
        st->n++;
    }
    /* Tensors may leave gaps but never share bytes. Empty tensors occupy
     * nothing and cannot overlap. */
    qsort(spans, st->n, sizeof *spans, span_cmp);
    uint64_t prev_end = 0;
    size_t prev = (size_t)-1;
    for (size_t i = 0; i < st->n; i++) {
        if (spans[i].begin == spans[i].end)
            continue;
        if (prev != (size_t)-1 && spans[i].begin < prev_end) {
            st_ = elm_err(ELM_E_FORMAT, "%s: tensors '%s' and '%s' overlap (bytes %llu..%llu)", path,
                          st->t[spans[prev].idx].name, st->t[spans[i].idx].name,
                          (unsigned long long)spans[i].begin, (unsigned long long)prev_end);
            goto out;
        }
        prev = i;
        prev_end = spans[i].end;
    }
    qsort(st->t, st->n, sizeof *st->t, tensor_name_cmp);
out:
    free(spans);
    json_object_put(root);
    return st_;
}

elm_status elm_st_open(const char *path, elm_safetensors **out)
{
    if (!out)
        return elm_err(ELM_E_INVALID, "elm_st_open: invalid argument 'out'");
    *out = NULL;
    elm_safetensors *st = calloc(1, sizeof *st);
    if (!st)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", path ? path : "(null)");
    elm_status s = elm_mmap_open(path, &st->map);
    if (s == ELM_OK)
        s = parse_header(st);
    if (s != ELM_OK) {
        elm_st_close(st);
        return s;
    }
    *out = st;
    return ELM_OK;
}

const char *elm_st_path(const elm_safetensors *st)
{
    return st ? st->map.path : NULL;
}

size_t elm_st_count(const elm_safetensors *st)
{
    return st ? st->n : 0;
}

const elm_st_tensor *elm_st_at(const elm_safetensors *st, size_t i)
{
    return st && i < st->n ? &st->t[i] : NULL;
}

const elm_st_tensor *elm_st_find(const elm_safetensors *st, const char *name)
{
    if (!st || !name)
        return NULL;
    elm_st_tensor key = {.name = name};
    return bsearch(&key, st->t, st->n, sizeof *st->t, tensor_name_cmp);
}

elm_status elm_st_get(const elm_safetensors *st, const char *name, const elm_st_tensor **out)
{
    *out = elm_st_find(st, name);
    if (!*out)
        return elm_err(ELM_E_FORMAT, "%s: no tensor '%s'", st ? st->map.path : "(null)",
                       name ? name : "(null)");
    return ELM_OK;
}

const char *elm_st_metadata(const elm_safetensors *st, const char *key)
{
    if (!st || !key)
        return NULL;
    meta_kv k = {.key = (char *)key};
    meta_kv *m = bsearch(&k, st->meta, st->n_meta, sizeof *st->meta, meta_cmp);
    return m ? m->value : NULL;
}

size_t elm_st_metadata_count(const elm_safetensors *st)
{
    return st ? st->n_meta : 0;
}

elm_status elm_st_metadata_at(const elm_safetensors *st, size_t i, const char **key, const char **value)
{
    if (!st || i >= st->n_meta)
        return elm_err(ELM_E_INVALID, "elm_st_metadata_at: index %zu out of range", i);
    *key = st->meta[i].key;
    *value = st->meta[i].value;
    return ELM_OK;
}

/* ---- sharded checkpoints --------------------------------------------------- */

typedef struct set_entry {
    const char *name;        /* borrowed from the shard's tensor */
    const elm_st_tensor *t;
} set_entry;

struct elm_st_set {
    elm_safetensors **shards;
    size_t n_shards;
    set_entry *e; /* sorted by name */
    size_t n;
};

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const set_entry *)a)->name, ((const set_entry *)b)->name);
}

void elm_st_set_close(elm_st_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_shards; i++)
        elm_st_close(s->shards[i]);
    free(s->shards);
    free(s->e);
    free(s);
}

static elm_status set_from_single(elm_st_set *s, const char *path)
{
    s->shards = calloc(1, sizeof *s->shards);
    if (!s->shards)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", path);
    ELM_TRY(elm_st_open(path, &s->shards[0]));
    s->n_shards = 1;
    size_t n = elm_st_count(s->shards[0]);
    s->e = calloc(n ? n : 1, sizeof *s->e);
    if (!s->e)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < n; i++) {
        s->e[i].t = elm_st_at(s->shards[0], i);
        s->e[i].name = s->e[i].t->name;
    }
    s->n = n;
    return ELM_OK;
}

static elm_status set_from_index(elm_st_set *s, const char *index_path)
{
    json_object *root = NULL;
    ELM_TRY(elm_json_parse_file(index_path, &root));
    elm_status st = ELM_OK;
    char *dir = NULL, *shard_path = NULL;
    const char **shard_names = NULL;
    json_object *wm;
    if (!json_object_is_type(root, json_type_object)) {
        st = elm_err(ELM_E_FORMAT, "%s: expected a JSON object, got %s", index_path,
                     elm_json_type_name(root));
        goto out;
    }
    if ((st = elm_json_get_object(index_path, root, "weight_map", &wm)) != ELM_OK)
        goto out;
    const char *slash = strrchr(index_path, '/');
    size_t dlen = slash ? (size_t)(slash - index_path) : 1;
    dir = malloc(dlen + 1);
    size_t n = (size_t)json_object_object_length(wm);
    shard_names = calloc(n ? n : 1, sizeof *shard_names);
    s->shards = calloc(n ? n : 1, sizeof *s->shards);
    s->e = calloc(n ? n : 1, sizeof *s->e);
    if (!dir || !shard_names || !s->shards || !s->e) {
        st = elm_err(ELM_E_NOMEM, "%s: out of memory", index_path);
        goto out;
    }
    memcpy(dir, slash ? index_path : ".", dlen);
    dir[dlen] = '\0';
    json_object_object_foreach(wm, name, jshard)
    {
        if (!json_object_is_type(jshard, json_type_string)) {
            st = elm_err(ELM_E_FORMAT, "%s: weight_map['%s']: expected string, got %s", index_path,
                         name, elm_json_type_name(jshard));
            goto out;
        }
        const char *shard = json_object_get_string(jshard);
        if (!*shard || strchr(shard, '/') || strcmp(shard, "..") == 0) {
            st = elm_err(ELM_E_FORMAT,
                         "%s: weight_map['%s']: shard '%s' must be a file name in the same directory",
                         index_path, name, shard);
            goto out;
        }
        size_t k = 0;
        while (k < s->n_shards && strcmp(shard_names[k], shard) != 0)
            k++;
        if (k == s->n_shards) {
            free(shard_path);
            size_t pl = strlen(dir) + strlen(shard) + 2;
            shard_path = malloc(pl);
            if (!shard_path) {
                st = elm_err(ELM_E_NOMEM, "%s: out of memory", index_path);
                goto out;
            }
            snprintf(shard_path, pl, "%s/%s", dir, shard);
            struct stat sb;
            if (stat(shard_path, &sb) != 0) {
                st = elm_err(ELM_E_IO, "%s: shard '%s' (of tensor '%s') is missing: %s", index_path,
                             shard, name, shard_path);
                goto out;
            }
            if ((st = elm_st_open(shard_path, &s->shards[k])) != ELM_OK)
                goto out;
            shard_names[k] = shard;
            s->n_shards++;
        }
        const elm_st_tensor *t = elm_st_find(s->shards[k], name);
        if (!t) {
            st = elm_err(ELM_E_FORMAT, "%s: tensor '%s' is mapped to shard '%s' but not in it",
                         index_path, name, shard);
            goto out;
        }
        s->e[s->n].name = t->name;
        s->e[s->n].t = t;
        s->n++;
    }
    qsort(s->e, s->n, sizeof *s->e, entry_cmp);
out:
    free(shard_path);
    free(shard_names);
    free(dir);
    json_object_put(root);
    return st;
}

elm_status elm_st_set_open(const char *path, elm_st_set **out)
{
    if (!out)
        return elm_err(ELM_E_INVALID, "elm_st_set_open: invalid argument 'out'");
    *out = NULL;
    if (!path)
        return elm_err(ELM_E_INVALID, "elm_st_set_open: invalid argument 'path'");
    elm_st_set *s = calloc(1, sizeof *s);
    if (!s)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", path);
    elm_status st;
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        size_t pl = strlen(path) + 64;
        char *p = malloc(pl);
        if (!p) {
            elm_st_set_close(s);
            return elm_err(ELM_E_NOMEM, "%s: out of memory", path);
        }
        snprintf(p, pl, "%s/model.safetensors.index.json", path);
        if (stat(p, &sb) == 0) {
            st = set_from_index(s, p);
        } else {
            snprintf(p, pl, "%s/model.safetensors", path);
            if (stat(p, &sb) == 0)
                st = set_from_single(s, p);
            else
                st = elm_err(ELM_E_IO,
                             "%s: no model.safetensors.index.json or model.safetensors in directory",
                             path);
        }
        free(p);
    } else if (elm_str_has_suffix(path, ".json")) {
        st = set_from_index(s, path);
    } else {
        st = set_from_single(s, path);
    }
    if (st != ELM_OK) {
        elm_st_set_close(s);
        return st;
    }
    *out = s;
    return ELM_OK;
}

size_t elm_st_set_count(const elm_st_set *s)
{
    return s ? s->n : 0;
}

size_t elm_st_set_shard_count(const elm_st_set *s)
{
    return s ? s->n_shards : 0;
}

const elm_st_tensor *elm_st_set_at(const elm_st_set *s, size_t i)
{
    return s && i < s->n ? s->e[i].t : NULL;
}

const elm_st_tensor *elm_st_set_find(const elm_st_set *s, const char *name)
{
    if (!s || !name)
        return NULL;
    set_entry key = {.name = name};
    set_entry *e = bsearch(&key, s->e, s->n, sizeof *s->e, entry_cmp);
    return e ? e->t : NULL;
}

elm_status elm_st_set_get(const elm_st_set *s, const char *name, const elm_st_tensor **out)
{
    *out = elm_st_set_find(s, name);
    if (!*out)
        return elm_err(ELM_E_FORMAT, "%s: no tensor '%s'",
                       s && s->n_shards ? elm_st_path(s->shards[0]) : "(checkpoint)",
                       name ? name : "(null)");
    return ELM_OK;
}

const char *elm_st_set_metadata(const elm_st_set *s, const char *key)
{
    return s && s->n_shards ? elm_st_metadata(s->shards[0], key) : NULL;
}

/* ---- writer ---------------------------------------------------------------- */

static int wtensor_cmp(const void *a, const void *b)
{
    const elm_st_write_tensor *x = *(const elm_st_write_tensor *const *)a;
    const elm_st_write_tensor *y = *(const elm_st_write_tensor *const *)b;
    return strcmp(x->name, y->name);
}

elm_status elm_st_write(const char *path, const elm_st_write_tensor *tensors, size_t n,
                        const char *const *metadata)
{
    if (!path || (n && !tensors))
        return elm_err(ELM_E_INVALID, "elm_st_write: invalid argument");
    const elm_st_write_tensor **order = calloc(n ? n : 1, sizeof *order);
    uint64_t *sizes = calloc(n ? n : 1, sizeof *sizes);
    json_object *root = json_object_new_object();
    elm_status st = ELM_OK;
    char *hdr = NULL;
    if (!order || !sizes || !root) {
        st = elm_err(ELM_E_NOMEM, "%s: out of memory", path);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        order[i] = &tensors[i];
    for (size_t i = 0; i < n; i++) {
        const elm_st_write_tensor *t = order[i];
        if (!t->name || !*t->name || strcmp(t->name, "__metadata__") == 0) {
            st = elm_err(ELM_E_INVALID, "%s: tensor %zu: invalid name", path, i);
            goto out;
        }
        if ((unsigned)t->dtype >= ELM_ST_DTYPE_COUNT || t->ndim < 0 || t->ndim > ELM_ST_MAX_DIMS ||
            (t->ndim && !t->shape)) {
            st = elm_err(ELM_E_INVALID, "%s: tensor '%s': invalid dtype or shape", path, t->name);
            goto out;
        }
        uint64_t numel = 1;
        for (int d = 0; d < t->ndim; d++) {
            if (t->shape[d] < 0) {
                st = elm_err(ELM_E_INVALID, "%s: tensor '%s': negative dimension", path, t->name);
                goto out;
            }
            if (t->shape[d] && numel > UINT64_MAX / (uint64_t)t->shape[d]) {
                st = elm_err(ELM_E_INVALID, "%s: tensor '%s': shape overflows", path, t->name);
                goto out;
            }
            numel *= (uint64_t)t->shape[d];
        }
        sizes[i] = numel * dtypes[t->dtype].size; /* numel fits: data exists in memory */
        if (sizes[i] && !t->data) {
            st = elm_err(ELM_E_INVALID, "%s: tensor '%s': no data", path, t->name);
            goto out;
        }
    }
    qsort(order, n, sizeof *order, wtensor_cmp);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(order[i - 1]->name, order[i]->name) == 0) {
            st = elm_err(ELM_E_INVALID, "%s: duplicate tensor name '%s'", path, order[i]->name);
            goto out;
        }
    }
    if (metadata && metadata[0]) {
        json_object *m = json_object_new_object();
        if (!m || json_object_object_add(root, "__metadata__", m) != 0) {
            json_object_put(m);
            st = elm_err(ELM_E_NOMEM, "%s: out of memory", path);
            goto out;
        }
        for (size_t i = 0; metadata[i]; i += 2) {
            if (!metadata[i + 1]) {
                st = elm_err(ELM_E_INVALID, "%s: metadata key '%s' has no value", path, metadata[i]);
                goto out;
            }
            json_object_object_add(m, metadata[i], json_object_new_string(metadata[i + 1]));
        }
    }
    /* sizes[] was computed in input order; recompute per sorted entry. */
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        const elm_st_write_tensor *t = order[i];
        uint64_t nb = sizes[(size_t)(t - tensors)];
        json_object *info = json_object_new_object();
        json_object *shape = json_object_new_array();
        json_object *offs = json_object_new_array();
        if (!info || !shape || !offs) {
            json_object_put(info);
            json_object_put(shape);
            json_object_put(offs);
            st = elm_err(ELM_E_NOMEM, "%s: out of memory", path);
            goto out;
        }
        json_object_object_add(info, "dtype", json_object_new_string(dtypes[t->dtype].name));
        for (int d = 0; d < t->ndim; d++)
            json_object_array_add(shape, json_object_new_int64(t->shape[d]));
        json_object_object_add(info, "shape", shape);
        json_object_array_add(offs, json_object_new_int64((int64_t)off));
        json_object_array_add(offs, json_object_new_int64((int64_t)(off + nb)));
        json_object_object_add(info, "data_offsets", offs);
        json_object_object_add(root, t->name, info);
        off += nb;
    }
    const char *js =
        json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (!js) {
        st = elm_err(ELM_E_NOMEM, "%s: out of memory", path);
        goto out;
    }
    size_t jl = strlen(js), hl = (jl + 7) & ~(size_t)7;
    hdr = malloc(8 + hl);
    if (!hdr) {
        st = elm_err(ELM_E_NOMEM, "%s: out of memory", path);
        goto out;
    }
    for (int i = 0; i < 8; i++)
        hdr[i] = (char)(((uint64_t)hl >> (8 * i)) & 0xff);
    memcpy(hdr + 8, js, jl);
    memset(hdr + 8 + jl, ' ', hl - jl);

    elm_atomic_file f;
    if ((st = elm_atomic_open(path, &f)) != ELM_OK)
        goto out;
    st = elm_atomic_write(&f, hdr, 8 + hl);
    for (size_t i = 0; i < n && st == ELM_OK; i++)
        st = elm_atomic_write(&f, order[i]->data, (size_t)sizes[(size_t)(order[i] - tensors)]);
    if (st == ELM_OK)
        st = elm_atomic_commit(&f);
    else
        elm_atomic_abort(&f);
out:
    free(hdr);
    json_object_put(root);
    free(sizes);
    free(order);
    return st;
}
