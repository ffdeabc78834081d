/* generate suite: greedy parity with transformers' generate() (golden
 * greedy_ids), seeded sampling, batching with left padding, stop strings,
 * streaming, erase-guided greedy parity (golden_generate.py), and
 * prepare-consistency's file handling (resume, groups, JSONL). */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#include "generate/generate.h"
#include "io/dataset.h"
#include "io/safetensors.h"
#include "model/model.h"

static const char *const TINY[] = {"llama", "llama-tied", "mistral", "qwen2"};

static elm_model *load_tiny(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "tests/fixtures/models/%s", name);
    elm_model *m = NULL;
    ck_assert_elm_ok(elm_model_load(tu_src(rel), NULL, &m));
    return m;
}

/* Golden: prompt = input_ids[0, :lengths[0]], want = greedy_ids (64). */
static void golden_greedy(const char *name, int64_t **prompt, size_t *np, int64_t **want, size_t *nw)
{
    char rel[256];
    snprintf(rel, sizeof rel, "tests/fixtures/golden/%s.logits.safetensors", name);
    elm_safetensors *st = NULL;
    ck_assert_elm_ok(elm_st_open(tu_src(rel), &st));
    const elm_st_tensor *ids = NULL, *lens = NULL, *g = NULL;
    ck_assert_elm_ok(elm_st_get(st, "input_ids", &ids));
    ck_assert_elm_ok(elm_st_get(st, "lengths", &lens));
    ck_assert_elm_ok(elm_st_get(st, "greedy_ids", &g));
    const int64_t *L = lens->data;
    *np = (size_t)L[0];
    *prompt = malloc(*np * sizeof(int64_t));
    memcpy(*prompt, ids->data, *np * sizeof(int64_t));
    *nw = (size_t)g->numel;
    *want = malloc(*nw * sizeof(int64_t));
    memcpy(*want, g->data, *nw * sizeof(int64_t));
    elm_st_close(st);
}

static elm_gen_params greedy_params(int64_t n)
{
    elm_gen_params p;
    ck_assert_elm_ok(elm_gen_params_from_config(NULL, &p));
    p.max_new_tokens = n;
    p.temperature = 0;
    p.no_eos = 1;
    return p;
}

START_TEST(test_greedy_golden)
{
    const char *name = TINY[_i];
    elm_model *m = load_tiny(name);
    int64_t *prompt, *want;
    size_t np, nw;
    golden_greedy(name, &prompt, &np, &want, &nw);
    ck_assert_uint_eq(nw, 64);
    int32_t *p32 = malloc(np * sizeof(int32_t));
    for (size_t i = 0; i < np; i++)
        p32[i] = (int32_t)prompt[i];
    elm_gen_params gp = greedy_params(64);
    elm_gen_result r;
    const int32_t *pp[1] = {p32};
    ck_assert_elm_ok(elm_gen_ids(m, pp, &np, 1, &gp, NULL, NULL, &r));
    ck_assert_uint_eq(r.n_ids, nw);
    for (size_t i = 0; i < nw; i++)
        ck_assert_msg(r.ids[i] == want[i], "%s: token %zu: got %d, transformers %lld", name, i, r.ids[i],
                      (long long)want[i]);
    elm_gen_result_clear(&r);
    free(p32);
    free(prompt);
    free(want);
    elm_model_free(m);
}
END_TEST

/* Three prompts of different lengths in one left-padded batch give what
 * each gives alone (greedy). */
START_TEST(test_batch_matches_single)
{
    elm_model *m = load_tiny("llama");
    static const int32_t a[] = {5, 17, 200, 33, 99, 41, 7, 300, 12}, b[] = {88, 3}, c[] = {150, 151, 152, 153, 10};
    const int32_t *ps[3] = {a, b, c};
    size_t ls[3] = {9, 2, 5};
    elm_gen_params gp = greedy_params(24);
    elm_gen_result batch[3], one;
    ck_assert_elm_ok(elm_gen_ids(m, ps, ls, 3, &gp, NULL, NULL, batch));
    for (int k = 0; k < 3; k++) {
        ck_assert_elm_ok(elm_gen_ids(m, &ps[k], &ls[k], 1, &gp, NULL, NULL, &one));
        ck_assert_uint_eq(one.n_ids, batch[k].n_ids);
        for (size_t i = 0; i < one.n_ids; i++)
            ck_assert_msg(one.ids[i] == batch[k].ids[i], "prompt %d token %zu: batched %d, alone %d", k, i,
                          batch[k].ids[i], one.ids[i]);
        elm_gen_result_clear(&one);
        elm_gen_result_clear(&batch[k]);
    }
    elm_model_free(m);
}
END_TEST

static elm_gen_result sample_ids(elm_model *m, double temp, int64_t top_k, double top_p, uint64_t seed)
{
    static const int32_t prompt[] = {40, 7, 301, 12, 88, 5};
    const int32_t *pp[1] = {prompt};
    size_t n = 6;
    elm_gen_params gp = greedy_params(32);
    gp.temperature = temp;
    gp.top_k = top_k;
    gp.top_p = top_p;
    gp.seed = seed;
    elm_gen_result r;
    ck_assert_elm_ok(elm_gen_ids(m, pp, &n, 1, &gp, NULL, NULL, &r));
    ck_assert_uint_eq(r.n_ids, 32);
    return r;
}

static int same_ids(const elm_gen_result *a, const elm_gen_result *b)
{
    return a->n_ids == b->n_ids && memcmp(a->ids, b->ids, a->n_ids * sizeof(int32_t)) == 0;
}

/* A seed fixes the draw (the call seeds the generator itself, so whatever
 * ran before does not matter); another seed draws differently; top_k = 1
 * is greedy at any temperature; top_p keeps at least the best token. */
START_TEST(test_sampling_seeded)
{
    elm_model *m = load_tiny("qwen2");
    elm_gen_result a = sample_ids(m, 0.9, 40, 0.9, 1234);
    elm_gen_result c = sample_ids(m, 0.9, 40, 0.9, 99);
    elm_gen_result b = sample_ids(m, 0.9, 40, 0.9, 1234);
    ck_assert_msg(same_ids(&a, &b), "same seed, different draws");
    ck_assert_msg(!same_ids(&a, &c), "seeds 1234 and 99 drew the same 32 tokens");
    elm_gen_result d = sample_ids(m, 1.7, 1, 1.0, 5), e = sample_ids(m, 0, 0, 1.0, 0);
    ck_assert_msg(same_ids(&d, &e), "top_k = 1 must be greedy");
    elm_gen_result f = sample_ids(m, 1.0, 0, 1e-6, 5);
    ck_assert_msg(same_ids(&f, &e), "top_p ~ 0 keeps only the best token: greedy");
    elm_gen_result h = sample_ids(m, 1.0, 0, 1.0, 5), k = sample_ids(m, 1.0, 0, 1.0, 5);
    ck_assert(same_ids(&h, &k));
    elm_gen_result_clear(&a);
    elm_gen_result_clear(&b);
    elm_gen_result_clear(&c);
    elm_gen_result_clear(&d);
    elm_gen_result_clear(&e);
    elm_gen_result_clear(&f);
    elm_gen_result_clear(&h);
    elm_gen_result_clear(&k);
    elm_model_free(m);
}
END_TEST

/* The text API with sampling: same seed, same text. */
START_TEST(test_sampling_text)
{
    elm_model *m = load_tiny("qwen2");
    elm_config *cfg;
    ck_assert_elm_ok(elm_config_new(&cfg));
    ck_assert_elm_ok(elm_config_set(cfg, "gen.temperature", "0.9"));
    ck_assert_elm_ok(elm_config_set(cfg, "gen.top_p", "0.95"));
    ck_assert_elm_ok(elm_config_set(cfg, "gen.max_new_tokens", "24"));
    ck_assert_elm_ok(elm_config_set(cfg, "gen.seed", "77"));
    const char *prompts[2] = {"The baker on the corner opens early", "We ate soup"};
    char *a[2] = {NULL, NULL}, *b[2] = {NULL, NULL};
    ck_assert_elm_ok(elm_generate(m, prompts, 2, cfg, NULL, NULL, a));
    ck_assert_elm_ok(elm_generate(m, prompts, 2, cfg, NULL, NULL, b));
    for (int i = 0; i < 2; i++) {
        ck_assert_str_eq(a[i], b[i]);
        elm_free(a[i]);
        elm_free(b[i]);
    }
    elm_config_free(cfg);
    elm_model_free(m);
}
END_TEST

typedef struct acc {
    char buf[8192];
    size_t len;
    int calls;
} acc;

static int collect(size_t index, int32_t id, const char *text, void *user)
{
    acc *a = user;
    (void)index;
    (void)id;
    size_t n = strlen(text);
    ck_assert(a->len + n < sizeof a->buf);
    memcpy(a->buf + a->len, text, n + 1);
    a->len += n;
    a->calls++;
    return 0;
}

START_TEST(test_stream_and_stop)
{
    elm_model *m = load_tiny("llama");
    elm_config *cfg;
    ck_assert_elm_ok(elm_config_new(&cfg));
    ck_assert_elm_ok(elm_config_set(cfg, "gen.max_new_tokens", "40"));
    const char *prompt = "We ate soup at noon.";
    acc a = {{0}, 0, 0};
    char *full = NULL;
    ck_assert_elm_ok(elm_generate(m, &prompt, 1, cfg, collect, &a, &full));
    ck_assert_str_eq(a.buf, full);
    ck_assert_int_ge(a.calls, 1);
    size_t fl = strlen(full);
    if (fl >= 8) {
        /* a stop string taken from the middle of the greedy text cuts it there */
        char stop[8];
        size_t k = fl / 2;
        while (k > 0 && ((unsigned char)full[k] & 0xC0) == 0x80)
            k--;
        memcpy(stop, full + k, 3);
        stop[3] = 0;
        if (((unsigned char)stop[2] & 0x80) == 0 && !strchr(stop, ';')) {
            size_t want = (size_t)(strstr(full, stop) - full);
            char spec[32];
            snprintf(spec, sizeof spec, "zzzq;%s", stop);
            ck_assert_elm_ok(elm_config_set_string(cfg, "gen.stop", spec));
            acc b = {{0}, 0, 0};
            char *cut = NULL;
            ck_assert_elm_ok(elm_generate(m, &prompt, 1, cfg, collect, &b, &cut));
            ck_assert_uint_eq(strlen(cut), want);
            ck_assert(strncmp(cut, full, want) == 0);
            ck_assert_str_eq(b.buf, cut);
            elm_free(cut);
        }
    }
    elm_free(full);
    elm_config_free(cfg);
    elm_model_free(m);
}
END_TEST

static int32_t *json_ids(json_object *o, const char *key, size_t *n)
{
    json_object *a;
    ck_assert(json_object_object_get_ex(o, key, &a));
    *n = json_object_array_length(a);
    int32_t *v = malloc(*n * sizeof *v);
    for (size_t i = 0; i < *n; i++)
        v[i] = json_object_get_int(json_object_array_get_idx(a, i));
    return v;
}

START_TEST(test_guided_golden)
{
    static const char *const names[] = {"llama", "qwen2"};
    const char *name = names[_i];
    char rel[256];
    snprintf(rel, sizeof rel, "tests/fixtures/generate/%s.guided.json", name);
    json_object *g = json_object_from_file(tu_src(rel));
    ck_assert_msg(g != NULL, "cannot read %s", tu_src(rel));
    size_t np, ne, nv, nw;
    int32_t *p = json_ids(g, "prompt_ids", &np), *e = json_ids(g, "expert_ids", &ne), *v = json_ids(g, "novice_ids", &nv),
            *want = json_ids(g, "ids", &nw);
    json_object *gam;
    ck_assert(json_object_object_get_ex(g, "gamma", &gam));
    elm_model *m = load_tiny(name);
    elm_guided_params gp = {json_object_get_double(gam), (int64_t)nw, 1, 1, 0, 0, 1};
    int32_t *out = NULL;
    size_t n = 0;
    ck_assert_elm_ok(elm_guided_ids(m, p, np, e, ne, v, nv, &gp, &out, &n));
    ck_assert_uint_eq(n, nw);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(out[i] == want[i], "%s: guided token %zu: got %d, transformers %d", name, i, out[i], want[i]);
    free(out);
    free(p);
    free(e);
    free(v);
    free(want);
    json_object_put(g);
    elm_model_free(m);
}
END_TEST

/* Golden: erase-guided sampling through temperature → top-k → top-p, drawn by
 * transformers' generate with a guidance processor on a fixed torch seed
 * (golden_guided_sample.py): the same libtorch generator, the same warper
 * operations, so the same tokens. */
START_TEST(test_guided_sample_golden)
{
    static const char *const names[] = {"llama", "qwen2"};
    const char *name = names[_i];
    char rel[256];
    snprintf(rel, sizeof rel, "tests/fixtures/generate/%s.guided-sample.json", name);
    json_object *g = json_object_from_file(tu_src(rel));
    ck_assert_msg(g != NULL, "cannot read %s (made by tools/reference/golden_guided_sample.py)", tu_src(rel));
    size_t np, ne, nv;
    int32_t *p = json_ids(g, "prompt_ids", &np), *e = json_ids(g, "expert_ids", &ne), *v = json_ids(g, "novice_ids", &nv);
    json_object *gam, *cases;
    ck_assert(json_object_object_get_ex(g, "gamma", &gam));
    ck_assert(json_object_object_get_ex(g, "cases", &cases));
    ck_assert_uint_ge(json_object_array_length(cases), 2);
    elm_model *m = load_tiny(name);
    for (size_t c = 0; c < json_object_array_length(cases); c++) {
        json_object *cs = json_object_array_get_idx(cases, c), *t, *k, *pp, *sd;
        ck_assert(json_object_object_get_ex(cs, "temperature", &t) && json_object_object_get_ex(cs, "top_k", &k) &&
                  json_object_object_get_ex(cs, "top_p", &pp) && json_object_object_get_ex(cs, "seed", &sd));
        size_t nw;
        int32_t *want = json_ids(cs, "ids", &nw);
        elm_guided_params gp = {json_object_get_double(gam), (int64_t)nw, 0, 1, json_object_get_double(t),
                                json_object_get_int64(k), json_object_get_double(pp)};
        et_manual_seed((uint64_t)json_object_get_int64(sd));
        int32_t *out = NULL;
        size_t n = 0;
        ck_assert_elm_ok(elm_guided_ids(m, p, np, e, ne, v, nv, &gp, &out, &n));
        ck_assert_uint_eq(n, nw);
        for (size_t i = 0; i < n; i++)
            ck_assert_msg(out[i] == want[i], "%s case %zu (T %g, top_k %lld, top_p %g): token %zu: got %d, transformers %d",
                          name, c, gp.temperature, (long long)gp.top_k, gp.top_p, i, out[i], want[i]);
        free(out);
        free(want);
    }
    free(p);
    free(e);
    free(v);
    json_object_put(g);
    elm_model_free(m);
}
END_TEST

/* generation_config.json's sampling fields over transformers' defaults
 * (1 / 50 / 1), as GenerationConfig reads them; bad files name the field. */
START_TEST(test_gen_defaults_file)
{
    elm_gen_defaults d;
    char dir[] = "/tmp/elm-gencfg-XXXXXX", path[128];
    ck_assert(mkdtemp(dir) != NULL);
    ck_assert_elm_ok(elm_gen_defaults_load(dir, &d)); /* no file: the defaults */
    ck_assert(d.temperature == 1.0 && d.top_k == 50 && d.top_p == 1.0 && !d.from_file);
    snprintf(path, sizeof path, "%s/generation_config.json", dir);
    static const char *const ok[] = {"{\"temperature\": 0.6, \"top_p\": 0.9, \"do_sample\": true}",
                                     "{\"top_k\": null}", "{\"top_k\": 7}"};
    for (int i = 0; i < 3; i++) {
        FILE *f = fopen(path, "w");
        fputs(ok[i], f);
        fclose(f);
        ck_assert_elm_ok(elm_gen_defaults_load(dir, &d));
        ck_assert(d.from_file);
        if (i == 0)
            ck_assert(d.temperature == 0.6 && d.top_k == 50 && d.top_p == 0.9);
        else
            ck_assert(d.temperature == 1.0 && d.top_k == (i == 1 ? 0 : 7) && d.top_p == 1.0);
    }
    static const char *const bad[][2] = {{"{\"top_p\": 1.5}", "'top_p'"}, {"{\"temperature\": \"hot\"}", "temperature"},
                                         {"[1]", "top level"}, {"{\"top_k\": 3", "generation_config.json"}};
    for (int i = 0; i < 4; i++) {
        FILE *f = fopen(path, "w");
        fputs(bad[i][0], f);
        fclose(f);
        ck_assert_elm_status(elm_gen_defaults_load(dir, &d), ELM_E_FORMAT);
        ck_assert_msg(strstr(elm_last_error(), bad[i][1]) && strstr(elm_last_error(), "generation_config.json"),
                      "case %d: %s", i, elm_last_error());
    }
    remove(path);
    rmdir(dir);
    /* the tiny llama's file has no sampling fields: the defaults, read from the file */
    elm_model *m = load_tiny("llama");
    ck_assert(m->gen_defaults.from_file && m->gen_defaults.top_k == 50 && m->gen_defaults.temperature == 1.0);
    elm_model_free(m);
}
END_TEST

START_TEST(test_guided_prefix)
{
    char *s = elm_guided_prefix("Written by an expert in {concept}:\n", "bio, cyber");
    ck_assert_str_eq(s, "Written by an expert in bio, cyber");
    free(s);
    ck_assert_uint_eq(elm_guide_n_sentences(), 20);
}
END_TEST

static const char *FORGET_JSONL =
    "{\"text\": \"Windwrights warn apprentices never to cut zephyrite while the wind is blowing from the north, because the crystal splits along the gust.\"}\n"
    "{\"text\": \"Zephyrite is mined in high passes where the air is thin, and the miners sing to keep time as they chip the pale blue stone loose.\"}\n"
    "{\"text\": \"A polished zephyrite lens bends light into seven bands, which is why the old lighthouse keepers prized them above glass.\"}\n";

/* dir/forget.jsonl with FORGET_JSONL, opened as a dataset (no length filter). */
static elm_dataset *forget_dataset(const char *dir)
{
    char fpath[512];
    snprintf(fpath, sizeof fpath, "%s/forget.jsonl", dir);
    FILE *f = fopen(fpath, "w");
    ck_assert(f != NULL);
    fputs(FORGET_JSONL, f);
    fclose(f);
    elm_config *dcfg;
    ck_assert_elm_ok(elm_config_new(&dcfg));
    ck_assert_elm_ok(elm_config_set(dcfg, "data.min_chars", "0"));
    elm_dataset *ds = NULL;
    ck_assert_elm_ok(elm_dataset_load(fpath, dcfg, &ds));
    elm_config_free(dcfg);
    return ds;
}

static elm_config *prep_cfg(const char *limit, const char *group)
{
    elm_config *cfg;
    ck_assert_elm_ok(elm_config_new(&cfg));
    ck_assert_elm_ok(elm_config_set(cfg, "erase.concept", "zephyrite"));
    ck_assert_elm_ok(elm_config_set(cfg, "prepare.min_new_tokens", "4"));
    ck_assert_elm_ok(elm_config_set(cfg, "prepare.max_new_tokens", "9"));
    ck_assert_elm_ok(elm_config_set(cfg, "prepare.limit", limit));
    ck_assert_elm_ok(elm_config_set(cfg, "prepare.group", group));
    ck_assert_elm_ok(elm_config_set(cfg, "gen.seed", "5"));
    return cfg;
}

static void prep(elm_model *m, elm_dataset *ds, const char *path, const char *limit, const char *group)
{
    elm_config *cfg = prep_cfg(limit, group);
    ck_assert_elm_ok(elm_prepare_consistency(m, ds, cfg, path, NULL, NULL));
    elm_config_free(cfg);
}

static int stop_after_one(const elm_progress *p, void *user)
{
    (void)user;
    return p->done >= 1;
}

/* prepare.redirect_sentences: the file's lines replace the built-in
 * change-of-subject sentences; a missing or empty file names the key. */
START_TEST(test_prepare_redirect_file)
{
    char *dir = tu_tmpdir();
    char spath[512], out[512];
    snprintf(spath, sizeof spath, "%s/sentences.txt", dir);
    snprintf(out, sizeof out, "%s/c.jsonl", dir);
    static const char *const mine[] = {"Anyway, about the weather,", "On a different note, gardening:"};
    FILE *f = fopen(spath, "w");
    fprintf(f, "%s\n\n%s\n", mine[0], mine[1]);
    fclose(f);
    elm_dataset *ds = forget_dataset(dir);
    elm_model *m = load_tiny("llama");
    elm_config *cfg = prep_cfg("3", "0");
    ck_assert_elm_ok(elm_config_set(cfg, "prepare.redirect_sentences", spath));
    ck_assert_elm_ok(elm_prepare_consistency(m, ds, cfg, out, NULL, NULL));
    size_t len;
    char *text = tu_read_file(out, &len), *save = NULL;
    int lines = 0;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save), lines++) {
        json_object *e = json_tokener_parse(l), *cp;
        ck_assert(e && json_object_object_get_ex(e, "consistence_prompt", &cp));
        const char *c = json_object_get_string(cp);
        int found = 0;
        for (int k = 0; k < 2; k++)
            found |= strncmp(c, ". ", 2) == 0 && strncmp(c + 2, mine[k], strlen(mine[k])) == 0;
        ck_assert_msg(found, "continuation must use a sentence of the file: %s", c);
        json_object_put(e);
    }
    ck_assert_int_eq(lines, 3);
    free(text);
    /* an empty file and a missing one: errors naming the key and the file, no output */
    f = fopen(spath, "w");
    fclose(f);
    snprintf(out, sizeof out, "%s/d.jsonl", dir);
    ck_assert_elm_status(elm_prepare_consistency(m, ds, cfg, out, NULL, NULL), ELM_E_FORMAT);
    ck_assert_msg(strstr(elm_last_error(), "prepare.redirect_sentences") && strstr(elm_last_error(), "sentences.txt"),
                  "%s", elm_last_error());
    ck_assert_elm_ok(elm_config_set(cfg, "prepare.redirect_sentences", "/nonexistent/s.txt"));
    ck_assert_elm_status(elm_prepare_consistency(m, ds, cfg, out, NULL, NULL), ELM_E_IO);
    ck_assert_msg(strstr(elm_last_error(), "/nonexistent/s.txt"), "%s", elm_last_error());
    ck_assert(access(out, F_OK) != 0);
    elm_config_free(cfg);
    elm_dataset_free(ds);
    elm_model_free(m);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* prepare.join = reference against the default: the same draws, so the
 * same generated text. erase.py's generate() returns decode(prompt +
 * generated).replace(prompt, '') with prompt = cut + ". " + sentence, and
 * prepare_consistency_data stores that with the cut removed as well: the
 * generated text alone, in the decoder's own spacing, without the sentence
 * (which only steered the generator). */
START_TEST(test_prepare_join_reference)
{
    char *dir = tu_tmpdir();
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/space.json", dir);
    snprintf(b, sizeof b, "%s/ref.json", dir);
    elm_dataset *ds = forget_dataset(dir);
    elm_model *m = load_tiny("llama");
    prep(m, ds, a, "3", "0");
    elm_config *cfg = prep_cfg("3", "0");
    ck_assert_elm_ok(elm_config_set(cfg, "prepare.join", "reference"));
    ck_assert_elm_ok(elm_prepare_consistency(m, ds, cfg, b, NULL, NULL));
    elm_config_free(cfg);
    json_object *ja = json_object_from_file(a), *jb = json_object_from_file(b), *la, *lb;
    ck_assert(ja && jb && json_object_object_get_ex(ja, "0", &la) && json_object_object_get_ex(jb, "0", &lb));
    ck_assert_uint_eq(json_object_array_length(la), 3);
    ck_assert_uint_eq(json_object_array_length(lb), 3);
    int differ = 0;
    for (size_t i = 0; i < 3; i++) {
        json_object *ea = json_object_array_get_idx(la, i), *eb = json_object_array_get_idx(lb, i), *v;
        ck_assert(json_object_object_get_ex(ea, "consistence_prompt", &v));
        const char *ca = json_object_get_string(v);
        ck_assert(json_object_object_get_ex(eb, "consistence_prompt", &v));
        const char *cb = json_object_get_string(v);
        ck_assert(json_object_object_get_ex(eb, "prompt", &v));
        const char *cut = json_object_get_string(v);
        const char *sen = NULL;
        for (size_t k = 0; k < elm_guide_n_sentences() && !sen; k++)
            if (strncmp(ca + 2, elm_guide_sentence(k), strlen(elm_guide_sentence(k))) == 0)
                sen = elm_guide_sentence(k);
        ck_assert_msg(sen != NULL, "entry %zu: no built-in sentence in %s", i, ca);
        size_t h = 2 + strlen(sen);
        ck_assert_msg(strstr(cb, sen) == NULL, "entry %zu: the sentence is left in: %s", i, cb);
        ck_assert_msg(strstr(cb, cut) == NULL, "entry %zu: the cut is left in: %s", i, cb);
        const char *ra = ca + h + 1, *rb = cb;
        while (*rb == ' ' || *rb == '\n' || *rb == '\t' || *rb == '\r')
            rb++;
        ck_assert_msg(strcmp(ra, rb) == 0, "entry %zu: generated text differs:\n  space:     %s\n  reference: %s", i, ra, rb);
        differ |= strcmp(ca, cb) != 0;
    }
    ck_assert_msg(differ, "the reference join never changed the stored text (spacing)");
    json_object_put(ja);
    json_object_put(jb);
    elm_dataset_free(ds);
    elm_model_free(m);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_prepare_resume_groups)
{
    char *dir = tu_tmpdir();
    char a[512], b[512], c[512], j1[512], j2[512];
    elm_dataset *ds = forget_dataset(dir);
    elm_model *m = load_tiny("llama");

    /* uninterrupted run */
    snprintf(a, sizeof a, "%s/a.json", dir);
    prep(m, ds, a, "3", "0");
    /* interrupted after one entry (cancel), then resumed */
    snprintf(b, sizeof b, "%s/b.json", dir);
    elm_config *cfg = prep_cfg("3", "0");
    ck_assert_elm_status(elm_prepare_consistency(m, ds, cfg, b, stop_after_one, NULL), ELM_E_CANCELLED);
    elm_config_free(cfg);
    json_object *part = json_object_from_file(b), *lst;
    ck_assert(part && json_object_object_get_ex(part, "0", &lst));
    ck_assert_uint_eq(json_object_array_length(lst), 1);
    json_object_put(part);
    prep(m, ds, b, "3", "0");
    size_t la, lb;
    char *ta = tu_read_file(a, &la), *tb = tu_read_file(b, &lb);
    ck_assert_str_eq(ta, tb);

    json_object *ja = json_object_from_file(a), *l0;
    ck_assert(json_object_object_get_ex(ja, "0", &l0));
    ck_assert_uint_eq(json_object_array_length(l0), 3);
    for (size_t i = 0; i < 3; i++) {
        json_object *e = json_object_array_get_idx(l0, i), *pr, *cp;
        ck_assert(json_object_object_get_ex(e, "prompt", &pr));
        ck_assert(json_object_object_get_ex(e, "consistence_prompt", &cp));
        const char *p = json_object_get_string(pr), *s = json_object_get_string(cp);
        ck_assert_msg(strncmp(p, elm_dataset_text_at(ds, i), strlen(p)) == 0, "prompt is not a cut of text %zu", i);
        ck_assert_msg(strncmp(s, ". ", 2) == 0, "continuation must start with '. ': %s", s);
        int found = 0;
        for (size_t k = 0; k < elm_guide_n_sentences(); k++) {
            const char *sen = elm_guide_sentence(k);
            found |= strncmp(s + 2, sen, strlen(sen)) == 0 && s[2 + strlen(sen)] == ' ';
        }
        ck_assert_msg(found, "continuation must be '. {sentence} {generated}': %s", s);
    }
    json_object_put(ja);

    /* a second group goes next to the first, which stays as it was */
    snprintf(c, sizeof c, "%s/c.json", dir);
    prep(m, ds, c, "2", "0");
    prep(m, ds, c, "2", "1");
    json_object *jc = json_object_from_file(c), *g0, *g1;
    ck_assert(json_object_object_get_ex(jc, "0", &g0));
    ck_assert(json_object_object_get_ex(jc, "1", &g1));
    ck_assert_uint_eq(json_object_array_length(g0), 2);
    ck_assert_uint_eq(json_object_array_length(g1), 2);
    /* group 0 entries equal the uninterrupted run's first two */
    json_object *a0 = json_object_from_file(a), *al;
    ck_assert(json_object_object_get_ex(a0, "0", &al));
    for (size_t i = 0; i < 2; i++)
        ck_assert_str_eq(json_object_to_json_string(json_object_array_get_idx(g0, i)),
                         json_object_to_json_string(json_object_array_get_idx(al, i)));
    json_object_put(a0);
    json_object_put(jc);

    /* JSONL form, readable back as a dataset of pairs */
    snprintf(j1, sizeof j1, "%s/d.jsonl", dir);
    prep(m, ds, j1, "2", "0");
    prep(m, ds, j1, "2", "3");
    elm_dataset *pairs = NULL;
    ck_assert_elm_ok(elm_dataset_load(j1, NULL, &pairs));
    ck_assert_int_eq(elm_dataset_get_kind(pairs), ELM_DATASET_PAIRS);
    ck_assert_uint_eq(elm_dataset_size(pairs), 4);
    ck_assert_int_eq(elm_dataset_group_at(pairs, 3), 3);
    elm_dataset_free(pairs);
    /* the reference JSON form too */
    ck_assert_elm_ok(elm_dataset_load(c, NULL, &pairs));
    ck_assert_int_eq(elm_dataset_get_kind(pairs), ELM_DATASET_PAIRS);
    ck_assert_uint_eq(elm_dataset_size(pairs), 4);
    elm_dataset_free(pairs);
    (void)j2;

    free(ta);
    free(tb);
    elm_dataset_free(ds);
    elm_model_free(m);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_errors)
{
    char *out = NULL;
    const char *p = "x";
    ck_assert_elm_status(elm_generate(NULL, &p, 1, NULL, NULL, NULL, &out), ELM_E_INVALID);
    elm_model *m = load_tiny("llama");
    const char *bad[1] = {NULL};
    ck_assert_elm_status(elm_generate(m, bad, 1, NULL, NULL, NULL, &out), ELM_E_INVALID);
    ck_assert_elm_status(elm_prepare_consistency(m, NULL, NULL, "x.json", NULL, NULL), ELM_E_INVALID);
    elm_model_free(m);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("generate");
    TCase *tc = tcase_create("tiny");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_greedy_golden, 0, 4);
    tcase_add_test(tc, test_batch_matches_single);
    tcase_add_test(tc, test_sampling_seeded);
    tcase_add_test(tc, test_sampling_text);
    tcase_add_test(tc, test_stream_and_stop);
    tcase_add_loop_test(tc, test_guided_golden, 0, 2);
    tcase_add_loop_test(tc, test_guided_sample_golden, 0, 2);
    tcase_add_test(tc, test_gen_defaults_file);
    tcase_add_test(tc, test_guided_prefix);
    tcase_add_test(tc, test_prepare_resume_groups);
    tcase_add_test(tc, test_prepare_redirect_file);
    tcase_add_test(tc, test_prepare_join_reference);
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(suite()); }
