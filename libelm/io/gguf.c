#include "io/gguf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/file.h"

#define GGUF_MAX_NESTING 8

static const struct {
    const char *name;
    uint32_t size; /* bytes of a scalar; for STRING/ARRAY the minimum encoded size */
} vtypes[ELM_GGUF_VTYPE_COUNT] = {
    [ELM_GGUF_U8] = {"u8", 1},      [ELM_GGUF_I8] = {"i8", 1},
    [ELM_GGUF_U16] = {"u16", 2},    [ELM_GGUF_I16] = {"i16", 2},
    [ELM_GGUF_U32] = {"u32", 4},    [ELM_GGUF_I32] = {"i32", 4},
    [ELM_GGUF_F32] = {"f32", 4},    [ELM_GGUF_BOOL] = {"bool", 1},
    [ELM_GGUF_STRING] = {"string", 8}, [ELM_GGUF_ARRAY] = {"array", 12},
    [ELM_GGUF_U64] = {"u64", 8},    [ELM_GGUF_I64] = {"i64", 8},
    [ELM_GGUF_F64] = {"f64", 8},
};

const char *elm_gguf_vtype_name(elm_gguf_vtype t)
{
    return (unsigned)t < ELM_GGUF_VTYPE_COUNT ? vtypes[t].name : "?";
}

typedef struct gkv {
    char *key;
    elm_gguf_vtype type;
    uint64_t pos;        /* scalar value, string bytes or array elements */
    char *str;           /* STRING: NUL-terminated copy */
    elm_gguf_vtype atype; /* ARRAY: element type */
    uint64_t count;      /* ARRAY: element count */
    uint64_t *str_off;   /* ARRAY of STRING: file offset of each element's length */
} gkv;

typedef struct gidx {
    const char *name;
    size_t i;
} gidx;

struct elm_gguf {
    elm_mmap_file map;
    uint32_t version;
    uint32_t alignment;
    gkv *kv;
    size_t n_kv;
    gidx *kv_sorted; /* sorted by key */
    elm_gguf_tensor *t;
    size_t n_t;
    gidx *t_sorted; /* sorted by name */
    uint64_t data_start;
};

/* ---- cursor ---------------------------------------------------------------- */

typedef struct cur {
    const uint8_t *p;
    uint64_t size, pos;
    const char *path;
} cur;

static uint64_t left(const cur *c)
{
    return c->size - c->pos;
}

static elm_status need(cur *c, uint64_t n, const char *what)
{
    if (n > left(c))
        return elm_err(ELM_E_FORMAT, "%s: offset %llu: file truncated reading %s (%llu bytes needed, %llu left)",
                       c->path, (unsigned long long)c->pos, what, (unsigned long long)n,
                       (unsigned long long)left(c));
    return ELM_OK;
}

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static elm_status rd_u32(cur *c, uint32_t *v, const char *what)
{
    ELM_TRY(need(c, 4, what));
    *v = (uint32_t)le(c->p + c->pos, 4);
    c->pos += 4;
    return ELM_OK;
}

static elm_status rd_u64(cur *c, uint64_t *v, const char *what)
{
    ELM_TRY(need(c, 8, what));
    *v = le(c->p + c->pos, 8);
    c->pos += 8;
    return ELM_OK;
}

/* A gguf string: u64 length, bytes. *s points into the mapping. */
static elm_status rd_str(cur *c, const char **s, uint64_t *len, const char *what)
{
    uint64_t at = c->pos;
    ELM_TRY(rd_u64(c, len, what));
    if (*len > left(c))
        return elm_err(ELM_E_FORMAT, "%s: offset %llu: %s length %llu runs past the end of the file",
                       c->path, (unsigned long long)at, what, (unsigned long long)*len);
    *s = (const char *)c->p + c->pos;
    c->pos += *len;
    return ELM_OK;
}

static char *dup_n(const char *s, uint64_t n)
{
    char *d = malloc((size_t)n + 1);
    if (d) {
        memcpy(d, s, (size_t)n);
        d[n] = '\0';
    }
    return d;
}

/* Skip one value of type t (bounds-checked; nesting limited). */
static elm_status skip_value(cur *c, uint32_t t, int depth, const char *key)
{
    if (t >= ELM_GGUF_VTYPE_COUNT)
        return elm_err(ELM_E_FORMAT, "%s: key '%s': unknown value type %u", c->path, key, t);
    if (t == ELM_GGUF_STRING) {
        const char *s;
        uint64_t n;
        return rd_str(c, &s, &n, "string");
    }
    if (t != ELM_GGUF_ARRAY) {
        ELM_TRY(need(c, vtypes[t].size, vtypes[t].name));
        c->pos += vtypes[t].size;
        return ELM_OK;
    }
    if (depth >= GGUF_MAX_NESTING)
        return elm_err(ELM_E_FORMAT, "%s: key '%s': arrays nested deeper than %d", c->path, key,
                       GGUF_MAX_NESTING);
    uint32_t at;
    uint64_t n;
    ELM_TRY(rd_u32(c, &at, "array type"));
    ELM_TRY(rd_u64(c, &n, "array count"));
    if (at >= ELM_GGUF_VTYPE_COUNT)
        return elm_err(ELM_E_FORMAT, "%s: key '%s': unknown array element type %u", c->path, key, at);
    if (n > left(c) / vtypes[at].size)
        return elm_err(ELM_E_FORMAT, "%s: key '%s': array of %llu %s elements cannot fit in the %llu bytes left",
                       c->path, key, (unsigned long long)n, vtypes[at].name, (unsigned long long)left(c));
    if (at != ELM_GGUF_STRING && at != ELM_GGUF_ARRAY) {
        c->pos += n * vtypes[at].size;
        return ELM_OK;
    }
    for (uint64_t i = 0; i < n; i++)
        ELM_TRY(skip_value(c, at, depth + 1, key));
    return ELM_OK;
}

static int gidx_cmp(const void *a, const void *b)
{
    return strcmp(((const gidx *)a)->name, ((const gidx *)b)->name);
}

static const gidx *gidx_find(const gidx *v, size_t n, const char *name)
{
    gidx key = {name, 0};
    return bsearch(&key, v, n, sizeof *v, gidx_cmp);
}

typedef struct tspan {
    uint64_t b, e;
    size_t i;
} tspan;

static int tspan_cmp(const void *a, const void *b)
{
    const tspan *x = a, *y = b;
    if (x->b != y->b)
        return x->b < y->b ? -1 : 1;
    return (x->e > y->e) - (x->e < y->e);
}

static elm_status parse_kv(elm_gguf *g, cur *c, gkv *kv)
{
    const char *ks;
    uint64_t kl;
    uint64_t at = c->pos;
    ELM_TRY(rd_str(c, &ks, &kl, "key"));
    kv->key = dup_n(ks, kl);
    if (!kv->key)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", c->path);
    if (kl == 0 || strlen(kv->key) != kl)
        return elm_err(ELM_E_FORMAT, "%s: offset %llu: empty key or key with a NUL byte", c->path,
                       (unsigned long long)at);
    uint32_t t;
    ELM_TRY(rd_u32(c, &t, "value type"));
    if (t >= ELM_GGUF_VTYPE_COUNT)
        return elm_err(ELM_E_FORMAT, "%s: key '%s': unknown value type %u", c->path, kv->key, t);
    kv->type = (elm_gguf_vtype)t;
    if (t == ELM_GGUF_STRING) {
        const char *s;
        uint64_t n;
        ELM_TRY(rd_str(c, &s, &n, "string value"));
        kv->pos = (uint64_t)((const uint8_t *)s - c->p);
        kv->count = n;
        kv->str = dup_n(s, n);
        if (!kv->str)
            return elm_err(ELM_E_NOMEM, "%s: out of memory", c->path);
        return ELM_OK;
    }
    if (t != ELM_GGUF_ARRAY) {
        kv->pos = c->pos;
        return skip_value(c, t, 0, kv->key);
    }
    uint32_t et;
    uint64_t n;
    ELM_TRY(rd_u32(c, &et, "array type"));
    ELM_TRY(rd_u64(c, &n, "array count"));
    if (et >= ELM_GGUF_VTYPE_COUNT)
        return elm_err(ELM_E_FORMAT, "%s: key '%s': unknown array element type %u", c->path,
                       kv->key, et);
    /* Before allocating anything per element: can that many fit at all? */
    if (n > left(c) / vtypes[et].size)
        return elm_err(ELM_E_FORMAT,
                       "%s: key '%s': array of %llu %s elements cannot fit in the %llu bytes left",
                       c->path, kv->key, (unsigned long long)n, vtypes[et].name,
                       (unsigned long long)left(c));
    kv->atype = (elm_gguf_vtype)et;
    kv->count = n;
    kv->pos = c->pos;
    if (et == ELM_GGUF_STRING) {
        kv->str_off = malloc((size_t)(n ? n : 1) * sizeof *kv->str_off);
        if (!kv->str_off)
            return elm_err(ELM_E_NOMEM, "%s: out of memory", c->path);
        for (uint64_t i = 0; i < n; i++) {
            kv->str_off[i] = c->pos;
            ELM_TRY(skip_value(c, ELM_GGUF_STRING, 1, kv->key));
        }
        return ELM_OK;
    }
    if (et == ELM_GGUF_ARRAY) {
        for (uint64_t i = 0; i < n; i++)
            ELM_TRY(skip_value(c, ELM_GGUF_ARRAY, 1, kv->key));
        return ELM_OK;
    }
    c->pos += n * vtypes[et].size;
    (void)g;
    return ELM_OK;
}

static elm_status parse_tensor_info(cur *c, elm_gguf_tensor *t, size_t idx)
{
    const char *ns;
    uint64_t nl;
    ELM_TRY(rd_str(c, &ns, &nl, "tensor name"));
    t->name = dup_n(ns, nl);
    if (!t->name)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", c->path);
    if (nl == 0 || strlen(t->name) != nl)
        return elm_err(ELM_E_FORMAT, "%s: tensor %zu: empty name or name with a NUL byte", c->path,
                       idx);
    uint32_t nd;
    ELM_TRY(rd_u32(c, &nd, "tensor n_dims"));
    if (nd > ELM_GGUF_MAX_DIMS)
        return elm_err(ELM_E_FORMAT, "%s: tensor '%s': n_dims %u exceeds %d", c->path, t->name, nd,
                       ELM_GGUF_MAX_DIMS);
    t->n_dims = (int)nd;
    for (int d = 0; d < ELM_GGUF_MAX_DIMS; d++)
        t->ne[d] = 1;
    uint64_t numel = 1;
    for (uint32_t d = 0; d < nd; d++) {
        uint64_t v;
        ELM_TRY(rd_u64(c, &v, "tensor dimension"));
        if (v > (uint64_t)INT64_MAX)
            return elm_err(ELM_E_FORMAT, "%s: tensor '%s': dimension %u is negative", c->path,
                           t->name, d);
        if (v && numel > (uint64_t)INT64_MAX / v)
            return elm_err(ELM_E_FORMAT, "%s: tensor '%s': element count overflows", c->path, t->name);
        numel *= v;
        t->ne[d] = (int64_t)v;
    }
    /* A zero dimension after an overflow check above: numel is exact. */
    t->numel = numel;
    uint32_t type;
    ELM_TRY(rd_u32(c, &type, "tensor type"));
    if (!elm_ggml_type_known(type))
        return elm_err(ELM_E_FORMAT, "%s: tensor '%s': unknown ggml type %u", c->path, t->name, type);
    t->type = type;
    if (t->ne[0] % elm_ggml_block_size(type))
        return elm_err(ELM_E_FORMAT,
                       "%s: tensor '%s': ne[0] = %lld is not a multiple of the %s block size %u",
                       c->path, t->name, (long long)t->ne[0], elm_ggml_type_name(type),
                       elm_ggml_block_size(type));
    uint64_t nbytes;
    if (elm_ggml_type_size(type, numel, &nbytes) != ELM_OK)
        return elm_err_context(ELM_E_FORMAT, "%s: tensor '%s'", c->path, t->name);
    t->nbytes = (size_t)nbytes;
    if ((uint64_t)t->nbytes != nbytes)
        return elm_err(ELM_E_FORMAT, "%s: tensor '%s': too large", c->path, t->name);
    ELM_TRY(rd_u64(c, &t->offset, "tensor offset"));
    return ELM_OK;
}

static elm_status parse(elm_gguf *g)
{
    cur c = {g->map.data, g->map.size, 0, g->map.path};
    const char *path = g->map.path;
    if (c.size < 4 || memcmp(c.p, ELM_GGUF_MAGIC, 4) != 0)
        return elm_err(ELM_E_FORMAT, "%s: not a GGUF file (bad magic)", path);
    c.pos = 4;
    ELM_TRY(rd_u32(&c, &g->version, "version"));
    if (g->version == 1)
        return elm_err(ELM_E_UNSUPPORTED, "%s: GGUF version 1 is not supported (convert to v3)", path);
    if (g->version != 2 && g->version != 3)
        return elm_err(ELM_E_FORMAT, "%s: unknown GGUF version %u", path, g->version);
    uint64_t n_t, n_kv;
    ELM_TRY(rd_u64(&c, &n_t, "tensor count"));
    ELM_TRY(rd_u64(&c, &n_kv, "metadata count"));
    /* A key-value pair takes at least 8 (key length) + 1 + 4 (type) + 1
     * bytes; a tensor info 8 (name length) + 1 + 4 + 4 + 8. */
    if (n_kv > left(&c) / 14)
        return elm_err(ELM_E_FORMAT, "%s: metadata count %llu cannot fit in a %llu-byte file", path,
                       (unsigned long long)n_kv, (unsigned long long)c.size);
    if (n_t > left(&c) / 25)
        return elm_err(ELM_E_FORMAT, "%s: tensor count %llu cannot fit in a %llu-byte file", path,
                       (unsigned long long)n_t, (unsigned long long)c.size);
    g->kv = calloc((size_t)(n_kv ? n_kv : 1), sizeof *g->kv);
    g->kv_sorted = calloc((size_t)(n_kv ? n_kv : 1), sizeof *g->kv_sorted);
    if (!g->kv || !g->kv_sorted)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", path);
    for (uint64_t i = 0; i < n_kv; i++) {
        elm_status st = parse_kv(g, &c, &g->kv[i]);
        g->n_kv = (size_t)i + 1; /* so close frees a partial entry */
        if (st != ELM_OK)
            return st;
        g->kv_sorted[i] = (gidx){g->kv[i].key, (size_t)i};
    }
    qsort(g->kv_sorted, g->n_kv, sizeof *g->kv_sorted, gidx_cmp);
    for (size_t i = 1; i < g->n_kv; i++)
        if (strcmp(g->kv_sorted[i - 1].name, g->kv_sorted[i].name) == 0)
            return elm_err(ELM_E_FORMAT, "%s: duplicate key '%s'", path, g->kv_sorted[i].name);

    g->alignment = ELM_GGUF_DEFAULT_ALIGNMENT;
    if (elm_gguf_has(g, "general.alignment")) {
        uint32_t a;
        ELM_TRY(elm_gguf_get_u32(g, "general.alignment", &a));
        if (a == 0 || (a & (a - 1)) != 0)
            return elm_err(ELM_E_FORMAT, "%s: general.alignment %u is not a power of two", path, a);
        g->alignment = a;
    }

    if (n_t > left(&c) / 25)
        return elm_err(ELM_E_FORMAT, "%s: tensor count %llu cannot fit in the %llu bytes left", path,
                       (unsigned long long)n_t, (unsigned long long)left(&c));
    g->t = calloc((size_t)(n_t ? n_t : 1), sizeof *g->t);
    g->t_sorted = calloc((size_t)(n_t ? n_t : 1), sizeof *g->t_sorted);
    if (!g->t || !g->t_sorted)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", path);
    for (uint64_t i = 0; i < n_t; i++) {
        elm_status st = parse_tensor_info(&c, &g->t[i], (size_t)i);
        g->n_t = (size_t)i + 1;
        if (st != ELM_OK)
            return st;
        g->t_sorted[i] = (gidx){g->t[i].name, (size_t)i};
    }
    qsort(g->t_sorted, g->n_t, sizeof *g->t_sorted, gidx_cmp);
    for (size_t i = 1; i < g->n_t; i++)
        if (strcmp(g->t_sorted[i - 1].name, g->t_sorted[i].name) == 0)
            return elm_err(ELM_E_FORMAT, "%s: duplicate tensor name '%s'", path, g->t_sorted[i].name);

    uint64_t a = g->alignment;
    uint64_t ds = c.pos + (a - c.pos % a) % a;
    g->data_start = ds;
    uint64_t data_size = ds <= c.size ? c.size - ds : 0;
    tspan *sp = calloc(g->n_t ? g->n_t : 1, sizeof *sp);
    if (!sp)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", path);
    elm_status st = ELM_OK;
    for (size_t i = 0; i < g->n_t && st == ELM_OK; i++) {
        elm_gguf_tensor *t = &g->t[i];
        if (t->offset % a)
            st = elm_err(ELM_E_FORMAT, "%s: tensor '%s': offset %llu is not a multiple of the alignment %u",
                         path, t->name, (unsigned long long)t->offset, g->alignment);
        else if (t->offset > data_size || t->nbytes > data_size - t->offset)
            st = elm_err(ELM_E_FORMAT,
                         "%s: tensor '%s': bytes %llu..%llu of the data section lie beyond the end of the file (data section: %llu bytes)",
                         path, t->name, (unsigned long long)t->offset,
                         (unsigned long long)(t->offset + t->nbytes), (unsigned long long)data_size);
        else {
            t->data = g->map.data + ds + t->offset;
            sp[i] = (tspan){t->offset, t->offset + t->nbytes, i};
        }
    }
    if (st == ELM_OK) {
        qsort(sp, g->n_t, sizeof *sp, tspan_cmp);
        uint64_t end = 0;
        size_t prev = (size_t)-1;
        for (size_t i = 0; i < g->n_t; i++) {
            if (sp[i].b == sp[i].e)
                continue;
            if (prev != (size_t)-1 && sp[i].b < end) {
                st = elm_err(ELM_E_FORMAT, "%s: tensors '%s' and '%s' overlap", path,
                             g->t[sp[prev].i].name, g->t[sp[i].i].name);
                break;
            }
            prev = i;
            end = sp[i].e;
        }
    }
    free(sp);
    return st;
}

elm_status elm_gguf_open(const char *path, elm_gguf **out)
{
    if (!out)
        return elm_err(ELM_E_INVALID, "elm_gguf_open: invalid argument 'out'");
    *out = NULL;
    elm_gguf *g = calloc(1, sizeof *g);
    if (!g)
        return elm_err(ELM_E_NOMEM, "out of memory");
    elm_status st = elm_mmap_open(path, &g->map);
    if (st == ELM_OK)
        st = parse(g);
    if (st != ELM_OK) {
        elm_gguf_close(g);
        return st;
    }
    *out = g;
    return ELM_OK;
}

void elm_gguf_close(elm_gguf *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n_kv; i++) {
        free(g->kv[i].key);
        free(g->kv[i].str);
        free(g->kv[i].str_off);
    }
    free(g->kv);
    free(g->kv_sorted);
    for (size_t i = 0; i < g->n_t; i++)
        free((char *)g->t[i].name);
    free(g->t);
    free(g->t_sorted);
    elm_mmap_close(&g->map);
    free(g);
}

int elm_gguf_file_has_magic(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    char magic[4] = {0};
    size_t n = fread(magic, 1, 4, f);
    fclose(f);
    return n == 4 && memcmp(magic, ELM_GGUF_MAGIC, 4) == 0;
}

const char *elm_gguf_path(const elm_gguf *g) { return g ? g->map.path : NULL; }
uint32_t elm_gguf_version(const elm_gguf *g) { return g ? g->version : 0; }
uint32_t elm_gguf_alignment(const elm_gguf *g) { return g ? g->alignment : 0; }
size_t elm_gguf_kv_count(const elm_gguf *g) { return g ? g->n_kv : 0; }

const char *elm_gguf_kv_key(const elm_gguf *g, size_t i)
{
    return g && i < g->n_kv ? g->kv[i].key : NULL;
}

elm_gguf_vtype elm_gguf_kv_type(const elm_gguf *g, size_t i)
{
    return g && i < g->n_kv ? g->kv[i].type : ELM_GGUF_VTYPE_COUNT;
}

long elm_gguf_find_key(const elm_gguf *g, const char *key)
{
    if (!g || !key)
        return -1;
    const gidx *x = gidx_find(g->kv_sorted, g->n_kv, key);
    return x ? (long)x->i : -1;
}

int elm_gguf_has(const elm_gguf *g, const char *key)
{
    return elm_gguf_find_key(g, key) >= 0;
}

static elm_status find_kv(const elm_gguf *g, const char *key, const gkv **kv)
{
    if (!g || !key)
        return elm_err(ELM_E_INVALID, "gguf: invalid argument");
    long i = elm_gguf_find_key(g, key);
    if (i < 0)
        return elm_err(ELM_E_FORMAT, "%s: key '%s': missing", g->map.path, key);
    *kv = &g->kv[i];
    return ELM_OK;
}

/* Integer at p of type t as sign/magnitude: *neg set for negatives. */
static int read_int(const uint8_t *p, elm_gguf_vtype t, int64_t *s, uint64_t *u, int *is_unsigned)
{
    *is_unsigned = 0;
    switch (t) {
    case ELM_GGUF_U8: *u = p[0]; *is_unsigned = 1; return 1;
    case ELM_GGUF_U16: *u = le(p, 2); *is_unsigned = 1; return 1;
    case ELM_GGUF_U32: *u = le(p, 4); *is_unsigned = 1; return 1;
    case ELM_GGUF_U64: *u = le(p, 8); *is_unsigned = 1; return 1;
    case ELM_GGUF_I8: *s = (int8_t)p[0]; return 1;
    case ELM_GGUF_I16: *s = (int16_t)(uint16_t)le(p, 2); return 1;
    case ELM_GGUF_I32: *s = (int32_t)(uint32_t)le(p, 4); return 1;
    case ELM_GGUF_I64: *s = (int64_t)le(p, 8); return 1;
    default: return 0;
    }
}

static elm_status get_int(const elm_gguf *g, const char *key, int64_t lo, uint64_t hi,
                          const char *want, int64_t *s_out, uint64_t *u_out, int *is_neg)
{
    const gkv *kv = NULL;
    ELM_TRY(find_kv(g, key, &kv));
    int64_t s = 0;
    uint64_t u = 0;
    int uns;
    if (!read_int(g->map.data + kv->pos, kv->type, &s, &u, &uns))
        return elm_err(ELM_E_FORMAT, "%s: key '%s': expected an integer (%s), got %s", g->map.path,
                       key, want, elm_gguf_vtype_name(kv->type));
    if (uns) {
        if (u > hi)
            return elm_err(ELM_E_FORMAT, "%s: key '%s': value %llu out of range for %s", g->map.path,
                           key, (unsigned long long)u, want);
        *is_neg = 0;
        *u_out = u;
        *s_out = (int64_t)(u > (uint64_t)INT64_MAX ? INT64_MAX : u);
        return ELM_OK;
    }
    if (s < lo || (s >= 0 && (uint64_t)s > hi))
        return elm_err(ELM_E_FORMAT, "%s: key '%s': value %lld out of range for %s", g->map.path, key,
                       (long long)s, want);
    *is_neg = s < 0;
    *s_out = s;
    *u_out = (uint64_t)(s < 0 ? 0 : s);
    return ELM_OK;
}

elm_status elm_gguf_get_u32(const elm_gguf *g, const char *key, uint32_t *out)
{
    int64_t s;
    uint64_t u;
    int neg;
    ELM_TRY(get_int(g, key, 0, UINT32_MAX, "u32", &s, &u, &neg));
    *out = (uint32_t)u;
    return ELM_OK;
}

elm_status elm_gguf_get_i64(const elm_gguf *g, const char *key, int64_t *out)
{
    int64_t s;
    uint64_t u;
    int neg;
    ELM_TRY(get_int(g, key, INT64_MIN, (uint64_t)INT64_MAX, "i64", &s, &u, &neg));
    *out = s;
    return ELM_OK;
}

elm_status elm_gguf_get_u64(const elm_gguf *g, const char *key, uint64_t *out)
{
    int64_t s;
    uint64_t u;
    int neg;
    ELM_TRY(get_int(g, key, 0, UINT64_MAX, "u64", &s, &u, &neg));
    *out = u;
    return ELM_OK;
}

static double read_float(const uint8_t *p, elm_gguf_vtype t)
{
    if (t == ELM_GGUF_F32) {
        uint32_t b = (uint32_t)le(p, 4);
        float f;
        memcpy(&f, &b, 4);
        return f;
    }
    uint64_t b = le(p, 8);
    double d;
    memcpy(&d, &b, 8);
    return d;
}

elm_status elm_gguf_get_f64(const elm_gguf *g, const char *key, double *out)
{
    const gkv *kv = NULL;
    ELM_TRY(find_kv(g, key, &kv));
    if (kv->type != ELM_GGUF_F32 && kv->type != ELM_GGUF_F64)
        return elm_err(ELM_E_FORMAT, "%s: key '%s': expected a float, got %s", g->map.path, key,
                       elm_gguf_vtype_name(kv->type));
    *out = read_float(g->map.data + kv->pos, kv->type);
    return ELM_OK;
}

elm_status elm_gguf_get_f32(const elm_gguf *g, const char *key, float *out)
{
    double d;
    ELM_TRY(elm_gguf_get_f64(g, key, &d));
    *out = (float)d;
    return ELM_OK;
}

elm_status elm_gguf_get_bool(const elm_gguf *g, const char *key, int *out)
{
    const gkv *kv = NULL;
    ELM_TRY(find_kv(g, key, &kv));
    if (kv->type != ELM_GGUF_BOOL)
        return elm_err(ELM_E_FORMAT, "%s: key '%s': expected bool, got %s", g->map.path, key,
                       elm_gguf_vtype_name(kv->type));
    *out = g->map.data[kv->pos] != 0;
    return ELM_OK;
}

elm_status elm_gguf_get_str(const elm_gguf *g, const char *key, const char **out)
{
    const gkv *kv = NULL;
    ELM_TRY(find_kv(g, key, &kv));
    if (kv->type != ELM_GGUF_STRING)
        return elm_err(ELM_E_FORMAT, "%s: key '%s': expected string, got %s", g->map.path, key,
                       elm_gguf_vtype_name(kv->type));
    *out = kv->str;
    return ELM_OK;
}

elm_status elm_gguf_get_arr(const elm_gguf *g, const char *key, elm_gguf_arr *out)
{
    const gkv *kv = NULL;
    ELM_TRY(find_kv(g, key, &kv));
    if (kv->type != ELM_GGUF_ARRAY)
        return elm_err(ELM_E_FORMAT, "%s: key '%s': expected array, got %s", g->map.path, key,
                       elm_gguf_vtype_name(kv->type));
    out->type = kv->atype;
    out->count = kv->count;
    out->data = g->map.data + kv->pos;
    out->owner = g;
    out->str_off = kv->str_off;
    out->key = kv->key;
    return ELM_OK;
}

static elm_status arr_check(const elm_gguf_arr *a, uint64_t i)
{
    if (!a || !a->owner)
        return elm_err(ELM_E_INVALID, "gguf array: invalid argument");
    if (i >= a->count)
        return elm_err(ELM_E_INVALID, "%s: key '%s': index %llu out of range (%llu elements)",
                       a->owner->map.path, a->key, (unsigned long long)i, (unsigned long long)a->count);
    return ELM_OK;
}

elm_status elm_gguf_arr_i64(const elm_gguf_arr *a, uint64_t i, int64_t *out)
{
    ELM_TRY(arr_check(a, i));
    int64_t s = 0;
    uint64_t u = 0;
    int uns;
    if (a->type == ELM_GGUF_STRING || a->type == ELM_GGUF_ARRAY ||
        !read_int((const uint8_t *)a->data + i * vtypes[a->type].size, a->type, &s, &u, &uns))
        return elm_err(ELM_E_FORMAT, "%s: key '%s': expected integer elements, got %s",
                       a->owner->map.path, a->key, elm_gguf_vtype_name(a->type));
    if (uns) {
        if (u > (uint64_t)INT64_MAX)
            return elm_err(ELM_E_FORMAT, "%s: key '%s'[%llu]: value out of range", a->owner->map.path,
                           a->key, (unsigned long long)i);
        s = (int64_t)u;
    }
    *out = s;
    return ELM_OK;
}

elm_status elm_gguf_arr_f64(const elm_gguf_arr *a, uint64_t i, double *out)
{
    ELM_TRY(arr_check(a, i));
    if (a->type != ELM_GGUF_F32 && a->type != ELM_GGUF_F64)
        return elm_err(ELM_E_FORMAT, "%s: key '%s': expected float elements, got %s",
                       a->owner->map.path, a->key, elm_gguf_vtype_name(a->type));
    *out = read_float((const uint8_t *)a->data + i * vtypes[a->type].size, a->type);
    return ELM_OK;
}

elm_status elm_gguf_arr_str(const elm_gguf_arr *a, uint64_t i, const char **s, size_t *len)
{
    ELM_TRY(arr_check(a, i));
    if (a->type != ELM_GGUF_STRING || !a->str_off)
        return elm_err(ELM_E_FORMAT, "%s: key '%s': expected string elements, got %s",
                       a->owner->map.path, a->key, elm_gguf_vtype_name(a->type));
    const uint8_t *p = a->owner->map.data + a->str_off[i];
    *len = (size_t)le(p, 8);
    *s = (const char *)p + 8;
    return ELM_OK;
}

size_t elm_gguf_tensor_count(const elm_gguf *g) { return g ? g->n_t : 0; }

const elm_gguf_tensor *elm_gguf_tensor_at(const elm_gguf *g, size_t i)
{
    return g && i < g->n_t ? &g->t[i] : NULL;
}

const elm_gguf_tensor *elm_gguf_find_tensor(const elm_gguf *g, const char *name)
{
    if (!g || !name)
        return NULL;
    const gidx *x = gidx_find(g->t_sorted, g->n_t, name);
    return x ? &g->t[x->i] : NULL;
}

elm_status elm_gguf_get_tensor(const elm_gguf *g, const char *name, const elm_gguf_tensor **out)
{
    *out = elm_gguf_find_tensor(g, name);
    if (!*out)
        return elm_err(ELM_E_FORMAT, "%s: no tensor '%s'", g ? g->map.path : "(null)",
                       name ? name : "(null)");
    return ELM_OK;
}
