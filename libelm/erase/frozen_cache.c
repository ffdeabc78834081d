#include "erase/frozen_cache.h"

#include "core/clock.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/log.h"
#include "io/safetensors.h"
#include "io/st_tensor.h"
#include "model/fingerprint.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#define FC_TAG "libelm-fcache-1"
#define FC_SEED_FINGERPRINT 0x5f1d0e7c2a9b4c31ull
#define FC_SEED_NAME 0x9e4c2b17d3a85f06ull
#define FC_SEED_CONTENT 0x3b8e51a0c7d2964full
/* A writer's temporary older than this was left by a crash (a put takes
 * well under a second). */
#define FC_STALE_TMP_S (60 * 60)

struct elm_fcache {
    char *dir;
    const elm_model *m;
    int have_fp;
    uint64_t fp;
    elm_fcache_stats stats;
};

/* ---- fingerprint --------------------------------------------------------- */

elm_status elm_fcache_fingerprint(elm_fcache *c, uint64_t *out)
{
    ELM_CHECK_ARG(c, "c");
    ELM_CHECK_ARG(out, "out");
    if (!c->have_fp) {
        double t0 = elm_clock_s();
        elm_status st = elm_model_fingerprint(c->m, FC_SEED_FINGERPRINT, FC_TAG, &c->fp);
        if (st != ELM_OK)
            return elm_err_context(st, "frozen cache");
        c->stats.fingerprint_s = elm_clock_s() - t0;
        c->have_fp = 1;
    }
    *out = c->fp;
    return ELM_OK;
}

/* ---- open / free ---------------------------------------------------------- */

/* Whether name is a temporary of elm_st_write for one of our entries:
 * ".<16 hex>.safetensors.tmp.<6 chars>" (io/atomic.c's sibling name). */
static int is_entry_tmp(const char *name)
{
    static const char mid[] = ".safetensors.tmp.";
    if (name[0] != '.')
        return 0;
    for (int i = 1; i <= 16; i++)
        if (!isxdigit((unsigned char)name[i]))
            return 0;
    return strncmp(name + 17, mid, sizeof mid - 1) == 0 && strlen(name + 17 + sizeof mid - 1) == 6;
}

/* Remove our temporaries that a crashed writer left (older than
 * FC_STALE_TMP_S, so a running writer's is never touched). Best effort:
 * failures are ignored (the next open tries again). */
static void sweep_stale(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    time_t now = time(NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_entry_tmp(e->d_name))
            continue;
        struct stat sb;
        if (fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode) &&
            now - sb.st_mtime > FC_STALE_TMP_S) {
            if (unlinkat(dirfd(d), e->d_name, 0) == 0)
                elm_log(ELM_LOG_INFO, "frozen cache: removed %s/%s (left by an interrupted write)", dir,
                        e->d_name);
        }
    }
    closedir(d);
}

elm_status elm_fcache_open(const char *dir, const elm_model *m, elm_fcache **out)
{
    ELM_CHECK_ARG(out, "out");
    *out = NULL;
    ELM_CHECK_ARG(dir && *dir, "dir");
    ELM_CHECK_ARG(m, "m");
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return elm_err(ELM_E_IO, "%s: cannot create the frozen cache directory: %s", dir, strerror(errno));
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return elm_err(ELM_E_IO, "%s: frozen cache directory: %s", dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return elm_err(ELM_E_IO, "%s: frozen cache directory: %s", dir, strerror(ENOTDIR));
    if (access(dir, R_OK | W_OK | X_OK) != 0)
        return elm_err(ELM_E_IO, "%s: frozen cache directory is not usable: %s", dir, strerror(errno));
    elm_fcache *c = calloc(1, sizeof *c);
    if (c)
        c->dir = strdup(dir);
    if (!c || !c->dir) {
        free(c);
        return elm_err(ELM_E_NOMEM, "%s: out of memory", dir);
    }
    c->m = m;
    sweep_stale(dir);
    *out = c;
    return ELM_OK;
}

void elm_fcache_free(elm_fcache *c)
{
    if (!c)
        return;
    free(c->dir);
    free(c);
}

void elm_fcache_stats_get(const elm_fcache *c, elm_fcache_stats *s)
{
    if (!s)
        return;
    if (!c) {
        memset(s, 0, sizeof *s);
        return;
    }
    *s = c->stats;
}

/* ---- keys ------------------------------------------------------------------ */

/* Room for `extra` more bytes. */
static elm_status key_reserve(elm_fcache_key *k, size_t extra)
{
    if (extra > SIZE_MAX / 2 - k->n)
        return elm_err(ELM_E_NOMEM, "frozen cache: key too long");
    size_t want = k->n + extra;
    if (want <= k->cap)
        return ELM_OK;
    size_t cap = k->cap ? k->cap : 256;
    while (cap < want)
        cap *= 2;
    unsigned char *b = realloc(k->b, cap);
    if (!b)
        return elm_err(ELM_E_NOMEM, "frozen cache: out of memory for a key of %zu bytes", want);
    k->b = b;
    k->cap = cap;
    return ELM_OK;
}

elm_status elm_fcache_key_add(elm_fcache_key *k, const void *p, size_t n)
{
    ELM_CHECK_ARG(k, "k");
    ELM_CHECK_ARG(p || n == 0, "p");
    ELM_TRY(key_reserve(k, n));
    if (n)
        memcpy(k->b + k->n, p, n);
    k->n += n;
    return ELM_OK;
}

static elm_status key_u64(elm_fcache_key *k, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    return elm_fcache_key_add(k, b, 8);
}

elm_status elm_fcache_key_add_i64(elm_fcache_key *k, int64_t v)
{
    return key_u64(k, (uint64_t)v);
}

elm_status elm_fcache_key_add_f64(elm_fcache_key *k, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return key_u64(k, u);
}

elm_status elm_fcache_key_add_str(elm_fcache_key *k, const char *s)
{
    ELM_CHECK_ARG(s, "s");
    size_t n = strlen(s);
    ELM_TRY(key_u64(k, n));
    return elm_fcache_key_add(k, s, n);
}

elm_status elm_fcache_key_add_i32s(elm_fcache_key *k, const int32_t *v, size_t n)
{
    ELM_CHECK_ARG(k, "k");
    ELM_CHECK_ARG(v || n == 0, "v");
    ELM_TRY(key_u64(k, n));
    if (n > SIZE_MAX / 8)
        return elm_err(ELM_E_NOMEM, "frozen cache: key too long");
    /* Reserve once, then write the little-endian bytes in place. */
    ELM_TRY(key_reserve(k, 4 * n));
    size_t at = k->n;
    for (size_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)v[i];
        unsigned char *d = k->b + at + 4 * i;
        d[0] = (unsigned char)u;
        d[1] = (unsigned char)(u >> 8);
        d[2] = (unsigned char)(u >> 16);
        d[3] = (unsigned char)(u >> 24);
    }
    k->n = at + 4 * n;
    return ELM_OK;
}

elm_status elm_fcache_key_add_i64s(elm_fcache_key *k, const int64_t *v, size_t n)
{
    ELM_CHECK_ARG(k, "k");
    ELM_CHECK_ARG(v || n == 0, "v");
    ELM_TRY(key_u64(k, n));
    if (n > SIZE_MAX / 16)
        return elm_err(ELM_E_NOMEM, "frozen cache: key too long");
    ELM_TRY(key_reserve(k, 8 * n));
    for (size_t i = 0; i < n; i++)
        ELM_TRY(key_u64(k, (uint64_t)v[i]));
    return ELM_OK;
}

void elm_fcache_key_free(elm_fcache_key *k)
{
    if (!k)
        return;
    free(k->b);
    k->b = NULL;
    k->n = k->cap = 0;
}

elm_status elm_fcache_key_begin(elm_fcache *c, const char *kind, elm_fcache_key *k)
{
    ELM_CHECK_ARG(c, "c");
    ELM_CHECK_ARG(kind, "kind");
    ELM_CHECK_ARG(k, "k");
    if (k->cap == 0)
        k->b = NULL;
    k->n = 0;
    uint64_t fp;
    ELM_TRY(elm_fcache_fingerprint(c, &fp));
    ELM_TRY(elm_fcache_key_add_str(k, FC_TAG));
    ELM_TRY(elm_fcache_key_add_str(k, kind));
    ELM_TRY(key_u64(k, fp));
    ELM_TRY(elm_fcache_key_add_str(k, et_dtype_name(c->m->dtype)));
    ELM_TRY(elm_fcache_key_add_i64(k, c->m->device.kind));
    const char *ver = et_backend_version();
    return elm_fcache_key_add_str(k, ver ? ver : "?");
}

/* ---- entries ---------------------------------------------------------------- */

char *elm_fcache_entry_path(const elm_fcache *c, const elm_fcache_key *k)
{
    if (!c || !k)
        return NULL;
    uint64_t h = elm_hash64(k->b, k->n, FC_SEED_NAME);
    size_t len = strlen(c->dir) + 1 + 16 + sizeof ".safetensors";
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%s/%016" PRIx64 ".safetensors", c->dir, h);
    return p;
}

/* Hash of the stored tensors (dtype, shape, bytes of t0..t{n-1}, in order),
 * kept in the file's metadata as "content": a flipped bit in the data (which
 * the container cannot see) makes the entry damaged, not a wrong answer. */
static void content_add(elm_hasher *h, elm_st_dtype dt, int ndim, const int64_t *shape, const void *data,
                        size_t nbytes)
{
    elm_hasher_i64(h, (int64_t)dt);
    elm_hasher_i64(h, ndim);
    for (int d = 0; d < ndim; d++)
        elm_hasher_i64(h, shape[d]);
    elm_hasher_u64(h, nbytes);
    elm_hasher_update(h, data, nbytes);
}

static void hex64(uint64_t v, char out[17])
{
    snprintf(out, 17, "%016" PRIx64, v);
}

/* Why the opened entry does not answer (k, n), or NULL when it does. */
static const char *check_entry(const elm_safetensors *st, const elm_fcache_key *k, int n, char *why,
                               size_t cap)
{
    const elm_st_tensor *key = elm_st_find(st, "key");
    if (!key)
        return "no tensor 'key'";
    if (key->dtype != ELM_ST_U8 || key->ndim != 1 || key->nbytes != k->n ||
        (k->n && memcmp(key->data, k->b, k->n) != 0))
        return "a different key (hash collision or foreign file)";
    if (elm_st_count(st) != (size_t)n + 1) {
        snprintf(why, cap, "%zu tensors besides 'key', expected %d", elm_st_count(st) - 1, n);
        return why;
    }
    elm_hasher h;
    elm_hasher_init(&h, FC_SEED_CONTENT);
    for (int i = 0; i < n; i++) {
        char name[24];
        snprintf(name, sizeof name, "t%d", i);
        const elm_st_tensor *t = elm_st_find(st, name);
        et_dtype dt;
        if (!t) {
            snprintf(why, cap, "no tensor '%s'", name);
            return why;
        }
        if (!elm_st_dtype_to_et(t->dtype, &dt)) {
            snprintf(why, cap, "tensor '%s' has dtype %s", name, elm_st_dtype_name(t->dtype));
            return why;
        }
        content_add(&h, t->dtype, t->ndim, t->shape, t->data, t->nbytes);
    }
    const char *fmt = elm_st_metadata(st, "format");
    if (!fmt || strcmp(fmt, FC_TAG) != 0)
        return "metadata 'format' is not '" FC_TAG "'";
    const char *want = elm_st_metadata(st, "content");
    char got[17];
    hex64(elm_hasher_final(&h), got);
    if (!want || strcmp(want, got) != 0) {
        snprintf(why, cap, "content hash %s, metadata says %.20s", got, want ? want : "(none)");
        return why;
    }
    return NULL;
}

elm_status elm_fcache_get(elm_fcache *c, const elm_fcache_key *k, et_scope *sc, et_tensor **out, int n,
                          int *hit)
{
    ELM_CHECK_ARG(hit, "hit");
    *hit = 0;
    ELM_CHECK_ARG(c, "c");
    ELM_CHECK_ARG(k && (k->b || k->n == 0), "k");
    ELM_CHECK_ARG(sc, "sc");
    ELM_CHECK_ARG(n >= 0 && n <= 1000000, "n");
    ELM_CHECK_ARG(out || n == 0, "out");
    char *path = elm_fcache_entry_path(c, k);
    if (!path)
        return elm_err(ELM_E_NOMEM, "frozen cache: out of memory");
    elm_safetensors *st = NULL;
    elm_status s = elm_st_open(path, &st);
    if (s == ELM_E_FORMAT) {
        elm_log(ELM_LOG_WARN, "frozen cache: %s is damaged, ignored (it will be replaced): %s", path,
                elm_last_error());
        elm_err_clear();
        c->stats.damaged++;
        c->stats.misses++;
        free(path);
        return ELM_OK;
    }
    if (s != ELM_OK) {
        struct stat sb;
        if (s == ELM_E_IO && stat(path, &sb) != 0 && errno == ENOENT) {
            elm_err_clear();
            c->stats.misses++;
            s = ELM_OK;
        }
        free(path);
        return s;
    }
    char why[160];
    const char *bad = check_entry(st, k, n, why, sizeof why);
    if (bad) {
        elm_log(ELM_LOG_WARN, "frozen cache: %s does not hold this entry, ignored (it will be replaced): %s",
                path, bad);
        c->stats.damaged++;
        c->stats.misses++;
        elm_st_close(st);
        free(path);
        return ELM_OK;
    }
    et_tensor *tmp[16], **res = n <= 16 ? tmp : malloc((size_t)n * sizeof *res);
    if (!res) {
        elm_st_close(st);
        free(path);
        return elm_err(ELM_E_NOMEM, "frozen cache: out of memory");
    }
    for (int i = 0; i < n; i++) {
        char name[24];
        snprintf(name, sizeof name, "t%d", i);
        const elm_st_tensor *t = elm_st_find(st, name);
        et_dtype dt = ET_F32;
        elm_st_dtype_to_et(t->dtype, &dt);
        res[i] = et_from_data(sc, t->data, dt, t->ndim, t->shape);
        if (!res[i]) {
            s = et_scope_check(sc);
            if (s == ELM_OK)
                s = elm_err(ELM_E_INTERNAL, "%s: tensor '%s' could not be made", path, name);
            else
                elm_err_context(s, "frozen cache: %s tensor '%s'", path, name);
            break;
        }
    }
    if (s == ELM_OK) {
        if (n)
            memcpy(out, res, (size_t)n * sizeof *res);
        *hit = 1;
        c->stats.hits++;
    }
    if (res != tmp)
        free(res);
    elm_st_close(st);
    free(path);
    return s;
}

elm_status elm_fcache_put(elm_fcache *c, const elm_fcache_key *k, et_tensor *const *t, int n)
{
    ELM_CHECK_ARG(c, "c");
    ELM_CHECK_ARG(k && (k->b || k->n == 0), "k");
    ELM_CHECK_ARG(n >= 0 && n <= 1000000, "n");
    ELM_CHECK_ARG(t || n == 0, "t");
    elm_st_host hs = {0};
    int64_t key_len = (int64_t)k->n;
    elm_status s = elm_st_host_add_bytes(&hs, "key", ELM_ST_U8, 1, &key_len, k->b, k->n);
    for (int i = 0; s == ELM_OK && i < n; i++) {
        char name[24];
        snprintf(name, sizeof name, "t%d", i);
        if (!t[i]) {
            s = elm_err(ELM_E_INVALID, "elm_fcache_put: tensor %d is NULL", i);
            break;
        }
        et_dtype dt = et_get_dtype(t[i]);
        elm_st_dtype sdt;
        if (!elm_st_dtype_from_et(dt, &sdt)) {
            s = elm_err(ELM_E_UNSUPPORTED, "elm_fcache_put: tensor %d has dtype %s", i, et_dtype_name(dt));
            break;
        }
        int nd = et_ndim(t[i]);
        if (nd < 0 || nd > ELM_ST_MAX_DIMS) {
            s = elm_err(ELM_E_UNSUPPORTED, "elm_fcache_put: tensor %d has %d dimensions (at most %d)", i, nd,
                        ELM_ST_MAX_DIMS);
            break;
        }
        if ((s = elm_st_host_add(&hs, name, t[i])) != ELM_OK)
            elm_err_context(s, "elm_fcache_put: tensor %d", i);
    }
    if (s == ELM_OK) {
        /* the content hash: entries 1..n, the tensors (entry 0 is the key) */
        elm_hasher h;
        elm_hasher_init(&h, FC_SEED_CONTENT);
        for (size_t i = 1; i < hs.n; i++)
            content_add(&h, hs.e[i].dtype, hs.e[i].ndim, hs.e[i].shape, hs.e[i].data, hs.e[i].nbytes);
        char content[17];
        hex64(elm_hasher_final(&h), content);
        char *path = elm_fcache_entry_path(c, k);
        if (!path) {
            s = elm_err(ELM_E_NOMEM, "frozen cache: out of memory");
        } else {
            const char *meta[] = {"format", FC_TAG, "content", content, NULL};
            s = elm_st_host_write(&hs, path, meta);
            free(path);
        }
        if (s == ELM_OK)
            c->stats.stores++;
    }
    elm_st_host_free(&hs);
    return s;
}
