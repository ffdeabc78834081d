/* The frozen-pass cache (erase/frozen_cache.h) on the llama-tied fixture:
 * bit-exact round trips, keys that differ in one id / one double / the kind
 * miss, damaged or foreign files under an entry's name (garbage, every
 * truncation, every single-byte change, another key) are misses (counted and
 * logged) that the next put replaces, open errors, the model
 * fingerprint (stable across opens, different for another dtype or other
 * weights), and no stray files after puts. */
#include "testutil.h"

#include "core/hash.h"
#include "erase/frozen_cache.h"
#include "io/safetensors.h"
#include "model/model.h"
#include "tensor/shim.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MODEL "tests/fixtures/models/llama-tied"

static elm_model *open_model(const char *rel, const char *dtype)
{
    elm_config *cfg;
    ck_assert_elm_ok(elm_config_new(&cfg));
    ck_assert_elm_ok(elm_config_set(cfg, "runtime.dtype", dtype));
    elm_model *m;
    ck_assert_elm_ok(elm_model_open(tu_src(rel), cfg, &m));
    elm_config_free(cfg);
    return m;
}

/* Warnings logged (the damaged-entry messages), with the last one kept. */
static int n_warn;
static char last_warn[1024];

static void on_log(elm_log_level level, const char *msg, void *user)
{
    (void)user;
    if (level == ELM_LOG_WARN) {
        n_warn++;
        snprintf(last_warn, sizeof last_warn, "%s", msg);
    }
}

/* A key as the objective would make it: kind, a few settings, token ids. */
static void make_key(elm_fcache *c, const char *kind, const int32_t *ids, size_t n, double tau,
                     elm_fcache_key *k)
{
    ck_assert_elm_ok(elm_fcache_key_begin(c, kind, k));
    ck_assert_elm_ok(elm_fcache_key_add_f64(k, tau));
    ck_assert_elm_ok(elm_fcache_key_add_i64(k, 32));
    ck_assert_elm_ok(elm_fcache_key_add_i32s(k, ids, n));
}

typedef struct fixture {
    elm_model *m;
    char *dir;
    elm_fcache *c;
    et_scope *s;
    et_tensor *t[3];
    double q[15];
    int64_t idx[15], lab[7];
} fixture;

static void setup(fixture *f)
{
    memset(f, 0, sizeof *f);
    f->m = open_model(MODEL, "float32");
    f->dir = tu_tmpdir();
    ck_assert_elm_ok(elm_fcache_open(f->dir, f->m, &f->c));
    f->s = et_scope_new();
    for (int i = 0; i < 15; i++) {
        f->q[i] = 1.0 / (3.0 + i) + 1e-17 * i; /* full float64 bits */
        f->idx[i] = (int64_t)i * 1000003 - 7;
    }
    f->q[3] = -0.0;
    for (int i = 0; i < 7; i++)
        f->lab[i] = ((int64_t)1 << 40) + i;
    const int64_t s35[] = {3, 5}, s7[] = {7};
    f->t[0] = et_from_data(f->s, f->q, ET_F64, 2, s35);
    f->t[1] = et_from_data(f->s, f->idx, ET_I64, 2, s35);
    f->t[2] = et_from_data(f->s, f->lab, ET_I64, 1, s7);
    ck_assert_elm_ok(et_scope_check(f->s));
    n_warn = 0;
    last_warn[0] = 0;
    elm_set_log_callback(on_log, NULL, ELM_LOG_WARN);
}

static void teardown(fixture *f)
{
    elm_set_log_callback(NULL, NULL, ELM_LOG_ERROR);
    et_scope_free(f->s);
    elm_fcache_free(f->c);
    tu_rmtree(f->dir);
    free(f->dir);
    elm_model_unref(f->m);
}

static void check_same(et_tensor *got, et_dtype dt, int ndim, const int64_t *shape, const void *want,
                       size_t nbytes)
{
    ck_assert_int_eq(et_get_dtype(got), dt);
    ck_assert_int_eq(et_ndim(got), ndim);
    for (int d = 0; d < ndim; d++)
        ck_assert_int_eq(et_size(got, d), shape[d]);
    ck_assert_int_eq(et_get_device(got).kind, 0);
    unsigned char *buf = malloc(nbytes ? nbytes : 1);
    ck_assert_elm_ok(et_to_host(got, buf, dt, nbytes));
    ck_assert_msg(nbytes == 0 || memcmp(buf, want, nbytes) == 0, "tensor bytes differ after the round trip");
    free(buf);
}

static void check_stats(const elm_fcache *c, int64_t hits, int64_t misses, int64_t stores, int64_t damaged)
{
    elm_fcache_stats st;
    elm_fcache_stats_get(c, &st);
    ck_assert_msg(st.hits == hits && st.misses == misses && st.stores == stores && st.damaged == damaged,
                  "stats hits %lld misses %lld stores %lld damaged %lld, want %lld %lld %lld %lld",
                  (long long)st.hits, (long long)st.misses, (long long)st.stores, (long long)st.damaged,
                  (long long)hits, (long long)misses, (long long)stores, (long long)damaged);
}

static const int32_t IDS[] = {1, 17, 42, 99, 3, 250};
#define NIDS (sizeof IDS / sizeof IDS[0])

static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(p, 1, n, fp), n);
    ck_assert_int_eq(fclose(fp), 0);
}

START_TEST(round_trip)
{
    fixture f;
    setup(&f);
    elm_fcache_key k = {0};
    make_key(f.c, "erase", IDS, NIDS, 1.5, &k);
    et_tensor *out[3] = {0};
    int hit = -1;
    ck_assert_elm_ok(elm_fcache_get(f.c, &k, f.s, out, 3, &hit));
    ck_assert_int_eq(hit, 0);
    check_stats(f.c, 0, 1, 0, 0);
    ck_assert_elm_ok(elm_fcache_put(f.c, &k, f.t, 3));
    check_stats(f.c, 0, 1, 1, 0);
    ck_assert_elm_ok(elm_fcache_get(f.c, &k, f.s, out, 3, &hit));
    ck_assert_int_eq(hit, 1);
    check_stats(f.c, 1, 1, 1, 0);
    const int64_t s35[] = {3, 5}, s7[] = {7};
    check_same(out[0], ET_F64, 2, s35, f.q, sizeof f.q);
    check_same(out[1], ET_I64, 2, s35, f.idx, sizeof f.idx);
    check_same(out[2], ET_I64, 1, s7, f.lab, sizeof f.lab);

    /* A second cache on the same directory (another run) hits too. */
    elm_fcache *c2;
    ck_assert_elm_ok(elm_fcache_open(f.dir, f.m, &c2));
    elm_fcache_key k2 = {0};
    make_key(c2, "erase", IDS, NIDS, 1.5, &k2);
    ck_assert_uint_eq(k2.n, k.n);
    ck_assert(memcmp(k2.b, k.b, k.n) == 0);
    et_tensor *out2[3] = {0};
    ck_assert_elm_ok(elm_fcache_get(c2, &k2, f.s, out2, 3, &hit));
    ck_assert_int_eq(hit, 1);
    check_same(out2[0], ET_F64, 2, s35, f.q, sizeof f.q);
    check_stats(c2, 1, 0, 0, 0);
    elm_fcache_key_free(&k2);
    elm_fcache_free(c2);

    /* Other dtypes and shapes: bf16, f32, i32, a 0-d f32 scalar, an empty tensor. */
    uint16_t bf[6] = {0x3f80, 0xbf80, 0x0001, 0x7f7f, 0x8000, 0x4049};
    float f32[4] = {1.5f, -2.25f, 3.0e-38f, 7.0f};
    int32_t i32[5] = {-1, 0, 1, 2147483647, -2147483647 - 1};
    float scalar = 0.125f;
    const int64_t s23[] = {2, 3}, s4[] = {4}, s5[] = {5}, s0[] = {0, 3};
    et_tensor *u[5] = {et_from_data(f.s, bf, ET_BF16, 2, s23), et_from_data(f.s, f32, ET_F32, 1, s4),
                       et_from_data(f.s, i32, ET_I32, 1, s5), et_from_data(f.s, &scalar, ET_F32, 0, NULL),
                       et_zeros(f.s, ET_F64, 2, s0, (et_device){0, 0})};
    ck_assert_elm_ok(et_scope_check(f.s));
    elm_fcache_key k3 = {0};
    make_key(f.c, "retain", IDS, NIDS, 1.5, &k3);
    ck_assert_elm_ok(elm_fcache_put(f.c, &k3, u, 5));
    et_tensor *o3[5] = {0};
    ck_assert_elm_ok(elm_fcache_get(f.c, &k3, f.s, o3, 5, &hit));
    ck_assert_int_eq(hit, 1);
    check_same(o3[0], ET_BF16, 2, s23, bf, sizeof bf);
    check_same(o3[1], ET_F32, 1, s4, f32, sizeof f32);
    check_same(o3[2], ET_I32, 1, s5, i32, sizeof i32);
    check_same(o3[3], ET_F32, 0, NULL, &scalar, sizeof scalar);
    check_same(o3[4], ET_F64, 2, s0, NULL, 0);
    check_stats(f.c, 2, 1, 2, 0);
    ck_assert_int_eq(n_warn, 0);

    /* A put whose tensors are not contiguous stores their values. */
    et_tensor *tr = et_transpose(f.s, f.t[0], 0, 1);
    ck_assert_ptr_nonnull(tr);
    elm_fcache_key k4 = {0};
    make_key(f.c, "erase", IDS, NIDS, 2.5, &k4);
    ck_assert_elm_ok(elm_fcache_put(f.c, &k4, &tr, 1));
    et_tensor *o4 = NULL;
    ck_assert_elm_ok(elm_fcache_get(f.c, &k4, f.s, &o4, 1, &hit));
    ck_assert_int_eq(hit, 1);
    double qt[15];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 5; j++)
            qt[j * 3 + i] = f.q[i * 5 + j];
    const int64_t s53[] = {5, 3};
    check_same(o4, ET_F64, 2, s53, qt, sizeof qt);

    elm_fcache_key_free(&k);
    elm_fcache_key_free(&k3);
    elm_fcache_key_free(&k4);
    elm_fcache_key_free(NULL);
    teardown(&f);
}
END_TEST

START_TEST(other_keys_miss)
{
    fixture f;
    setup(&f);
    elm_fcache_key k = {0};
    make_key(f.c, "erase", IDS, NIDS, 1.5, &k);
    ck_assert_elm_ok(elm_fcache_put(f.c, &k, f.t, 3));
    int32_t ids2[NIDS];
    memcpy(ids2, IDS, sizeof ids2);
    ids2[NIDS - 1]++;
    elm_fcache_key other[5] = {{0}};
    make_key(f.c, "erase", ids2, NIDS, 1.5, &other[0]);           /* one id changed */
    make_key(f.c, "erase", IDS, NIDS, 1.5000000000000002, &other[1]); /* one ulp */
    make_key(f.c, "retain", IDS, NIDS, 1.5, &other[2]);           /* another kind */
    make_key(f.c, "erase", IDS, NIDS - 1, 1.5, &other[3]);        /* a shorter text */
    /* Length prefixes: ids {1,17} + ... is not ids {1} + 17 as raw bytes. */
    ck_assert_elm_ok(elm_fcache_key_begin(f.c, "erase", &other[4]));
    ck_assert_elm_ok(elm_fcache_key_add_f64(&other[4], 1.5));
    ck_assert_elm_ok(elm_fcache_key_add_i64(&other[4], 32));
    ck_assert_elm_ok(elm_fcache_key_add_i32s(&other[4], IDS, NIDS - 1));
    ck_assert_elm_ok(elm_fcache_key_add(&other[4], &IDS[NIDS - 1], 4));
    et_tensor *out[3];
    for (int i = 0; i < 5; i++) {
        ck_assert(other[i].n != k.n || memcmp(other[i].b, k.b, k.n) != 0);
        int hit = -1;
        ck_assert_elm_ok(elm_fcache_get(f.c, &other[i], f.s, out, 3, &hit));
        ck_assert_msg(hit == 0, "key variant %d hit", i);
        elm_fcache_key_free(&other[i]);
    }
    check_stats(f.c, 0, 5, 1, 0);
    /* The stored entry still answers its own key; asking for another count does not. */
    int hit = -1;
    ck_assert_elm_ok(elm_fcache_get(f.c, &k, f.s, out, 3, &hit));
    ck_assert_int_eq(hit, 1);
    ck_assert_elm_ok(elm_fcache_get(f.c, &k, f.s, out, 2, &hit));
    ck_assert_int_eq(hit, 0);
    check_stats(f.c, 1, 6, 1, 1);
    ck_assert_int_eq(n_warn, 1);
    /* Reusing a key struct: begin starts it afresh. */
    ck_assert_elm_ok(elm_fcache_key_begin(f.c, "erase", &k));
    ck_assert_elm_ok(elm_fcache_key_add_f64(&k, 1.5));
    ck_assert_elm_ok(elm_fcache_key_add_i64(&k, 32));
    ck_assert_elm_ok(elm_fcache_key_add_i32s(&k, IDS, NIDS));
    ck_assert_elm_ok(elm_fcache_get(f.c, &k, f.s, out, 3, &hit));
    ck_assert_int_eq(hit, 1);
    elm_fcache_key_free(&k);
    teardown(&f);
}
END_TEST

/* The entry of k is damaged by `damage`; a get misses (counted, logged with
 * the file name), a put replaces the file and a get then hits. */
static void damage_case(fixture *f, elm_fcache_key *k, int which, int64_t *damaged, int64_t *hits,
                        int64_t *misses, int64_t *stores)
{
    char *path = elm_fcache_entry_path(f->c, k);
    ck_assert_ptr_nonnull(path);
    size_t len;
    char *good = tu_read_file(path, &len);
    if (which == 0) {
        /* garbage bytes, including a huge header length */
        unsigned char junk[4096];
        for (size_t i = 0; i < sizeof junk; i++)
            junk[i] = (unsigned char)(i * 131u + 7u);
        write_bytes(path, junk, sizeof junk);
    } else if (which == 1) {
        write_bytes(path, good, len / 2); /* truncated copy */
    } else if (which == 2) {
        write_bytes(path, good, len - 1); /* one byte short */
    } else if (which == 3) {
        write_bytes(path, "", 0); /* empty */
    } else {
        /* a valid entry of another key under this file name (a collision) */
        elm_fcache_key o = {0};
        make_key(f->c, "erase", IDS, NIDS - 2, 9.0, &o);
        unsigned char okey[4096];
        ck_assert_uint_le(o.n, sizeof okey);
        memcpy(okey, o.b, o.n);
        const int64_t ks[] = {(int64_t)o.n}, s35[] = {3, 5}, s7[] = {7};
        elm_st_write_tensor w[4] = {
            {"key", ELM_ST_U8, 1, ks, okey},
            {"t0", ELM_ST_F64, 2, s35, f->q},
            {"t1", ELM_ST_I64, 2, s35, f->idx},
            {"t2", ELM_ST_I64, 1, s7, f->lab},
        };
        ck_assert_elm_ok(elm_st_write(path, w, 4, NULL));
        elm_fcache_key_free(&o);
    }
    free(good);
    int warn0 = n_warn;
    et_tensor *out[3] = {0};
    int hit = -1;
    ck_assert_elm_ok(elm_fcache_get(f->c, k, f->s, out, 3, &hit));
    ck_assert_msg(hit == 0, "damage case %d hit", which);
    ++*damaged;
    ++*misses;
    check_stats(f->c, *hits, *misses, *stores, *damaged);
    ck_assert_int_eq(n_warn, warn0 + 1);
    ck_assert_msg(strstr(last_warn, path) != NULL, "warning does not name %s: %s", path, last_warn);
    ck_assert_elm_ok(elm_fcache_put(f->c, k, f->t, 3));
    ++*stores;
    ck_assert_elm_ok(elm_fcache_get(f->c, k, f->s, out, 3, &hit));
    ck_assert_int_eq(hit, 1);
    ++*hits;
    const int64_t s35[] = {3, 5};
    check_same(out[0], ET_F64, 2, s35, f->q, sizeof f->q);
    check_stats(f->c, *hits, *misses, *stores, *damaged);
    free(path);
}

START_TEST(damaged_entries)
{
    fixture f;
    setup(&f);
    elm_fcache_key k = {0};
    make_key(f.c, "erase", IDS, NIDS, 1.5, &k);
    ck_assert_elm_ok(elm_fcache_put(f.c, &k, f.t, 3));
    int64_t damaged = 0, hits = 0, misses = 0, stores = 1;
    for (int which = 0; which < 5; which++)
        damage_case(&f, &k, which, &damaged, &hits, &misses, &stores);
    ck_assert_int_eq(damaged, 5);
    /* Every truncation of a good entry is a miss, never a crash or a hit. */
    char *path = elm_fcache_entry_path(f.c, &k);
    size_t len;
    char *good = tu_read_file(path, &len);
    for (size_t cut = 0; cut < len; cut += (cut < 128 ? 1 : 61)) {
        write_bytes(path, good, cut);
        et_tensor *out[3];
        int hit = -1;
        ck_assert_elm_ok(elm_fcache_get(f.c, &k, f.s, out, 3, &hit));
        ck_assert_msg(hit == 0, "truncated to %zu bytes of %zu: hit", cut, len);
    }
    /* Every single-byte change of a good entry (header, key or data) is a
     * miss, or a hit with the very same tensors (e.g. a change in the
     * header's padding): never a wrong answer, never a crash. */
    int flip_hits = 0;
    for (size_t i = 0; i < len; i++) {
        for (int b = 0; b < 2; b++) {
            good[i] ^= (char)(b ? 0x80 : 0x01);
            write_bytes(path, good, len);
            good[i] ^= (char)(b ? 0x80 : 0x01);
            et_tensor *out[3];
            int hit = -1;
            ck_assert_elm_ok(elm_fcache_get(f.c, &k, f.s, out, 3, &hit));
            if (hit) {
                const int64_t s35[] = {3, 5}, s7[] = {7};
                check_same(out[0], ET_F64, 2, s35, f.q, sizeof f.q);
                check_same(out[1], ET_I64, 2, s35, f.idx, sizeof f.idx);
                check_same(out[2], ET_I64, 1, s7, f.lab, sizeof f.lab);
                flip_hits++;
            }
        }
    }
    fprintf(stderr, "byte changes of a %zu-byte entry: %d of %zu still hit (same tensors)\n", len, flip_hits,
            2 * len);
    free(good);
    free(path);
    elm_fcache_key_free(&k);
    teardown(&f);
}
END_TEST

START_TEST(open_errors)
{
    elm_model *m = open_model(MODEL, "float32");
    char *dir = tu_tmpdir();
    char bad[4096];
    snprintf(bad, sizeof bad, "%s/missing/cache", dir);
    elm_fcache *c = (elm_fcache *)1;
    ck_assert_elm_status(elm_fcache_open(bad, m, &c), ELM_E_IO);
    ck_assert_ptr_null(c);
    ck_assert_msg(strstr(elm_last_error(), bad) != NULL, "message does not name the path: %s", elm_last_error());
    ck_assert_msg(strstr(elm_last_error(), "No such file") != NULL, "no errno text: %s", elm_last_error());

    char file[4096];
    snprintf(file, sizeof file, "%s/plain", dir);
    write_bytes(file, "x", 1);
    ck_assert_elm_status(elm_fcache_open(file, m, &c), ELM_E_IO);
    ck_assert_msg(strstr(elm_last_error(), file) != NULL, "message does not name the path: %s", elm_last_error());
    ck_assert_msg(strstr(elm_last_error(), "Not a directory") != NULL, "no errno text: %s", elm_last_error());

    /* A missing directory one level down is created; an existing one is used. */
    char fresh[4096];
    snprintf(fresh, sizeof fresh, "%s/cache", dir);
    ck_assert_elm_ok(elm_fcache_open(fresh, m, &c));
    elm_fcache_free(c);
    ck_assert_elm_ok(elm_fcache_open(fresh, m, &c));
    elm_fcache_free(c);
    elm_fcache_free(NULL);
    tu_rmtree(dir);
    free(dir);
    elm_model_unref(m);
}
END_TEST

START_TEST(fingerprint)
{
    char *dir = tu_tmpdir();
    elm_model *a = open_model(MODEL, "float32"), *b = open_model(MODEL, "float32");
    elm_model *h = open_model(MODEL, "bfloat16"), *o = open_model("tests/fixtures/models/llama", "float32");
    elm_model *ms[4] = {a, b, h, o};
    elm_fcache *c[4];
    elm_fcache_key k[4] = {{0}};
    uint64_t fp[4];
    for (int i = 0; i < 4; i++) {
        ck_assert_elm_ok(elm_fcache_open(dir, ms[i], &c[i]));
        make_key(c[i], "erase", IDS, NIDS, 1.5, &k[i]);
        ck_assert_elm_ok(elm_fcache_fingerprint(c[i], &fp[i]));
        elm_fcache_stats st;
        elm_fcache_stats_get(c[i], &st);
        ck_assert(st.fingerprint_s > 0);
        fprintf(stderr, "fingerprint of model %d (%s, %s): %016llx in %.6f s\n", i, ms[i]->path,
                et_dtype_name(ms[i]->dtype), (unsigned long long)fp[i], st.fingerprint_s);
    }
    ck_assert(k[0].n == k[1].n && memcmp(k[0].b, k[1].b, k[0].n) == 0);
    ck_assert(fp[0] == fp[1]);
    ck_assert(fp[0] != fp[2]);
    ck_assert(k[0].n != k[2].n || memcmp(k[0].b, k[2].b, k[0].n) != 0);
    ck_assert(fp[0] != fp[3]);
    ck_assert(k[0].n != k[3].n || memcmp(k[0].b, k[3].b, k[0].n) != 0);
    /* The key of one model's cache misses in another's: an entry of a stays a miss for h. */
    et_scope *s = et_scope_new();
    const int64_t s2[] = {2};
    int64_t v[2] = {5, 6};
    et_tensor *t = et_from_data(s, v, ET_I64, 1, s2);
    ck_assert_elm_ok(elm_fcache_put(c[0], &k[0], &t, 1));
    et_tensor *out = NULL;
    int hit = -1;
    ck_assert_elm_ok(elm_fcache_get(c[2], &k[2], s, &out, 1, &hit));
    ck_assert_int_eq(hit, 0);
    ck_assert_elm_ok(elm_fcache_get(c[1], &k[1], s, &out, 1, &hit));
    ck_assert_int_eq(hit, 1);
    et_scope_free(s);
    for (int i = 0; i < 4; i++) {
        elm_fcache_key_free(&k[i]);
        elm_fcache_free(c[i]);
        elm_model_unref(ms[i]);
    }
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(no_stray_files)
{
    fixture f;
    setup(&f);
    int32_t ids[NIDS];
    memcpy(ids, IDS, sizeof ids);
    for (int i = 0; i < 20; i++) {
        elm_fcache_key k = {0};
        ids[0] = i;
        make_key(f.c, i % 2 ? "erase" : "retain", ids, NIDS, 1.5, &k);
        ck_assert_elm_ok(elm_fcache_put(f.c, &k, f.t, 3));
        ck_assert_elm_ok(elm_fcache_put(f.c, &k, f.t, 2)); /* replaces it */
        elm_fcache_key_free(&k);
    }
    /* A put that fails (a NULL tensor) leaves nothing behind either. */
    elm_fcache_key k = {0};
    make_key(f.c, "erase", IDS, NIDS, 7.0, &k);
    et_tensor *two[2] = {f.t[0], NULL};
    ck_assert_elm_status(elm_fcache_put(f.c, &k, two, 2), ELM_E_INVALID);
    elm_fcache_key_free(&k);
    DIR *d = opendir(f.dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        size_t len = strlen(e->d_name);
        ck_assert_msg(len == 16 + strlen(".safetensors") && e->d_name[0] != '.' &&
                          !strcmp(e->d_name + 16, ".safetensors"),
                      "stray file %s", e->d_name);
        n++;
    }
    closedir(d);
    ck_assert_int_eq(n, 20);
    check_stats(f.c, 0, 0, 40, 0);

    /* An interrupted write's temporary: an old one is removed at the next
     * open, a fresh one (a running writer's) and other files are not. */
    char old_tmp[4096], new_tmp[4096], other[4096];
    snprintf(old_tmp, sizeof old_tmp, "%s/.0123456789abcdef.safetensors.tmp.AbC123", f.dir);
    snprintf(new_tmp, sizeof new_tmp, "%s/.fedcba9876543210.safetensors.tmp.XyZ789", f.dir);
    snprintf(other, sizeof other, "%s/.notours.safetensors.tmp.AbC123", f.dir);
    write_bytes(old_tmp, "x", 1);
    write_bytes(new_tmp, "y", 1);
    write_bytes(other, "z", 1);
    struct timeval tv[2] = {{time(NULL) - 2 * 3600, 0}, {time(NULL) - 2 * 3600, 0}};
    ck_assert_int_eq(utimes(old_tmp, tv), 0);
    ck_assert_int_eq(utimes(other, tv), 0);
    elm_fcache *c2;
    ck_assert_elm_ok(elm_fcache_open(f.dir, f.m, &c2));
    elm_fcache_free(c2);
    ck_assert_int_ne(access(old_tmp, F_OK), 0);
    ck_assert_int_eq(access(new_tmp, F_OK), 0);
    ck_assert_int_eq(access(other, F_OK), 0);
    teardown(&f);
}
END_TEST

/* The hash: seeds and single-bit changes give other values; throughput is
 * printed (no timed assertion). */
START_TEST(hash)
{
    size_t n = (size_t)64 << 20;
    unsigned char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 2654435761u >> 13);
    uint64_t h0 = elm_hash64(p, n, 1);
    ck_assert(h0 == elm_hash64(p, n, 1));
    ck_assert(h0 != elm_hash64(p, n, 2));
    ck_assert(h0 != elm_hash64(p, n - 1, 1));
    p[n / 3] ^= 0x10;
    ck_assert(h0 != elm_hash64(p, n, 1));
    p[n / 3] ^= 0x10;
    for (size_t len = 0; len < 70; len++) {
        uint64_t a = elm_hash64(p, len, 7);
        for (size_t bit = 0; bit < len * 8; bit += 5) {
            p[bit / 8] ^= (unsigned char)(1u << (bit % 8));
            ck_assert(elm_hash64(p, len, 7) != a);
            p[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        }
        if (len)
            ck_assert(elm_hash64(p, len, 7) != elm_hash64(p, len - 1, 7));
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t acc = 0;
    for (int r = 0; r < 4; r++)
        acc ^= elm_hash64(p, n, (uint64_t)r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double dt = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    fprintf(stderr, "hash throughput: %.2f GB/s (%llx)\n", 4.0 * (double)n / dt / 1e9, (unsigned long long)acc);
    free(p);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("frozen_cache");
    TCase *t = tcase_create("frozen_cache");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, round_trip);
    tcase_add_test(t, other_keys_miss);
    tcase_add_test(t, damaged_entries);
    tcase_add_test(t, open_errors);
    tcase_add_test(t, fingerprint);
    tcase_add_test(t, no_stray_files);
    tcase_add_test(t, hash);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
