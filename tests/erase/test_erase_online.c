/* erase.consistency = online (generate/online.c through api/session_api.c):
 * consistency pairs generated during training, as erase.py does without a
 * pregenerated file.
 *   - the pairs are the entries `elm prepare-consistency` writes for the
 *     same texts and seed, and training on them gives bit-identical losses to
 *     training on that file;
 *   - the cache file is reused (a second session adds no line and gets the
 *     same losses), refuses pairs made with other settings or from another
 *     forget text, and survives a torn last line;
 *   - resume is exact, also with dropout (the generator leaves the torch RNG
 *     as found) and whether the pairs come from the cache or are made again;
 *   - objectives without a consistency term refuse it.
 * Exact equality throughout: same code, kernels and thread count. */
#include "testutil.h"

#include "generate/generate.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODEL "tests/fixtures/models/llama-tied"
#define EDIR "tests/fixtures/erase"
#define STEPS 3

typedef struct run {
    elm_model *m;
    elm_config *cfg;
    elm_session *s;
} run;

static const char *const base_kv[] = {"lora.rank", "2", "lora.alpha", "4", "lora.layers", "5-6",
                                      "optim.accum", "2", "optim.lr", "1e-3", "erase.concept", "zephyrite",
                                      "erase.eta", "3", "runtime.seed", "7", "prepare.min_new_tokens", "4",
                                      "prepare.max_new_tokens", "9", "gen.seed", "5", NULL};

static elm_config *make_cfg(const char *const *kv)
{
    elm_config *c;
    ck_assert_elm_ok(elm_config_new(&c));
    for (int i = 0; base_kv[i]; i += 2)
        ck_assert_elm_ok(elm_config_set(c, base_kv[i], base_kv[i + 1]));
    for (int i = 0; kv && kv[i]; i += 2)
        ck_assert_elm_ok(elm_config_set(c, kv[i], kv[i + 1]));
    return c;
}

static void attach(run *r, const char *forget, const char *pairs)
{
    elm_dataset *f, *rt;
    ck_assert_elm_ok(elm_dataset_load(tu_src(forget), r->cfg, &f));
    ck_assert_elm_ok(elm_dataset_load(tu_src(EDIR "/retain.jsonl"), r->cfg, &rt));
    ck_assert_elm_ok(elm_session_attach(r->s, ELM_ROLE_FORGET, 0, f));
    ck_assert_elm_ok(elm_session_attach(r->s, ELM_ROLE_RETAIN, 0, rt));
    if (pairs) {
        elm_dataset *c;
        ck_assert_elm_ok(elm_dataset_load(pairs, r->cfg, &c));
        ck_assert_elm_ok(elm_session_attach(r->s, ELM_ROLE_CONSISTENCY, 0, c));
        elm_dataset_free(c);
    }
    elm_dataset_free(f);
    elm_dataset_free(rt);
}

static void open_run(run *r, const char *const *kv, const char *forget, const char *pairs)
{
    r->cfg = make_cfg(kv);
    ck_assert_elm_ok(elm_model_load(tu_src(MODEL), r->cfg, &r->m));
    ck_assert_elm_ok(elm_session_new(r->m, r->cfg, &r->s));
    attach(r, forget, pairs);
}

static void close_run(run *r)
{
    elm_model_free(r->m);
    elm_session_free(r->s);
    elm_config_free(r->cfg);
}

static void steps(run *r, int n, double (*out)[3])
{
    for (int i = 0; i < n; i++) {
        elm_step_stats st;
        ELM_STRUCT_INIT(&st);
        ck_assert_elm_ok(elm_session_step(r->s, &st));
        out[i][0] = st.loss_erase;
        out[i][1] = st.loss_retain;
        out[i][2] = st.loss_consistency;
        ck_assert_msg(st.loss_consistency == st.loss_consistency, "step %d: no consistency loss", i + 1);
    }
}

static void same_losses(double (*a)[3], double (*b)[3], int n, const char *what)
{
    for (int i = 0; i < n; i++)
        ck_assert_msg(a[i][0] == b[i][0] && a[i][1] == b[i][1] && a[i][2] == b[i][2],
                      "%s: step %d: %.17g %.17g %.17g vs %.17g %.17g %.17g", what, i + 1, a[i][0], a[i][1], a[i][2],
                      b[i][0], b[i][1], b[i][2]);
}

static int count_lines(const char *path)
{
    size_t len = 0;
    char *t = tu_read_file(path, &len);
    int n = 0;
    for (size_t i = 0; t && i < len; i++)
        n += t[i] == '\n';
    free(t);
    return n;
}

/* Online pairs == the file `elm prepare-consistency` writes (prepare.cut
 * prefix in both: the online default, whole, is erase.py's online path). */
START_TEST(test_online_equals_file)
{
    char *dir = tu_tmpdir();
    char cache[512], file[512];
    snprintf(cache, sizeof cache, "%s/cache.jsonl", dir);
    snprintf(file, sizeof file, "%s/pairs.json", dir);
    const char *const kv[] = {"erase.consistency", "online", "erase.consistency_cache", cache,
                              "prepare.cut", "prefix", NULL};
    double on[STEPS][3], off[STEPS][3];
    run a;
    open_run(&a, kv, EDIR "/forget0.jsonl", NULL);
    steps(&a, STEPS, on);
    close_run(&a);
    /* 3 steps x 2 micro-steps over 5 texts: texts 0-4 then 0 again */
    ck_assert_int_eq(count_lines(cache), 5);

    elm_config *pc = make_cfg((const char *const[]){"prepare.cut", "prefix", NULL});
    elm_model *m;
    elm_dataset *f;
    ck_assert_elm_ok(elm_model_load(tu_src(MODEL), pc, &m));
    ck_assert_elm_ok(elm_dataset_load(tu_src(EDIR "/forget0.jsonl"), pc, &f));
    ck_assert_elm_ok(elm_prepare_consistency(m, f, pc, file, NULL, NULL));
    elm_dataset_free(f);
    elm_model_free(m);
    elm_config_free(pc);

    /* entry by entry */
    json_object *jf = json_object_from_file(file), *list;
    ck_assert(jf && json_object_object_get_ex(jf, "0", &list));
    size_t len;
    char *text = tu_read_file(cache, &len), *save = NULL;
    int k = 0;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save), k++) {
        json_object *e = json_tokener_parse(l), *v, *w;
        ck_assert(e && json_object_object_get_ex(e, "index", &v));
        ck_assert_int_eq(json_object_get_int(v), k);
        json_object *fe = json_object_array_get_idx(list, (size_t)k);
        ck_assert(fe != NULL);
        ck_assert(json_object_object_get_ex(e, "prompt", &v) && json_object_object_get_ex(fe, "prompt", &w));
        ck_assert_str_eq(json_object_get_string(v), json_object_get_string(w));
        ck_assert(json_object_object_get_ex(e, "consistence_prompt", &v) &&
                  json_object_object_get_ex(fe, "consistence_prompt", &w));
        ck_assert_str_eq(json_object_get_string(v), json_object_get_string(w));
        json_object_put(e);
    }
    free(text);
    json_object_put(jf);

    run b;
    open_run(&b, (const char *const[]){"prepare.cut", "prefix", NULL}, EDIR "/forget0.jsonl", file);
    steps(&b, STEPS, off);
    close_run(&b);
    same_losses(on, off, STEPS, "online vs the prepared file");
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* The cache is reused, checked, and a torn last line is dropped. */
START_TEST(test_online_cache)
{
    char *dir = tu_tmpdir();
    char cache[512];
    snprintf(cache, sizeof cache, "%s/cache.jsonl", dir);
    const char *const kv[] = {"erase.consistency", "online", "erase.consistency_cache", cache, NULL};
    double a1[STEPS][3], a2[STEPS][3], mem[STEPS][3];
    run a;
    open_run(&a, kv, EDIR "/forget0.jsonl", NULL);
    steps(&a, STEPS, a1);
    close_run(&a);
    ck_assert_int_eq(count_lines(cache), 5);
    /* the default prompt online is the whole text (erase.py's online path) */
    {
        char *t = tu_read_file(cache, NULL);
        char *nl = strchr(t, '\n');
        *nl = 0;
        json_object *e = json_tokener_parse(t), *v;
        ck_assert(e && json_object_object_get_ex(e, "prompt", &v));
        char *f0 = tu_read_file(tu_src(EDIR "/forget0.jsonl"), NULL);
        *strchr(f0, '\n') = 0;
        json_object *first = json_tokener_parse(f0), *ft;
        ck_assert(first && json_object_object_get_ex(first, "text", &ft));
        ck_assert_str_eq(json_object_get_string(v), json_object_get_string(ft));
        json_object_put(first);
        free(f0);
        json_object_put(e);
        free(t);
    }

    /* a second session: every pair from the file, no line added */
    run b;
    open_run(&b, kv, EDIR "/forget0.jsonl", NULL);
    steps(&b, STEPS, a2);
    close_run(&b);
    same_losses(a1, a2, STEPS, "second session on the cache");
    ck_assert_int_eq(count_lines(cache), 5);

    /* memory only: the same pairs made again */
    run c;
    open_run(&c, (const char *const[]){"erase.consistency", "online", NULL}, EDIR "/forget0.jsonl", NULL);
    steps(&c, STEPS, mem);
    close_run(&c);
    same_losses(a1, mem, STEPS, "memory-only session");

    /* a torn last line (a kill during an append) is cut off and the run goes on */
    FILE *fp = fopen(cache, "ab");
    fputs("{\"group\": 0, \"index\": 5, \"sett", fp);
    fclose(fp);
    run d;
    open_run(&d, kv, EDIR "/forget0.jsonl", NULL);
    steps(&d, 1, a2);
    close_run(&d);
    ck_assert_int_eq(count_lines(cache), 5);
    {
        size_t len;
        char *t = tu_read_file(cache, &len);
        ck_assert(len > 0 && t[len - 1] == '\n');
        free(t);
    }

    /* other settings, another forget text, a damaged line: errors naming the file */
    run e;
    open_run(&e, (const char *const[]){"erase.consistency", "online", "erase.consistency_cache", cache, "gen.seed",
                                       "6", NULL},
             EDIR "/forget0.jsonl", NULL);
    elm_step_stats st;
    ELM_STRUCT_INIT(&st);
    ck_assert_elm_status(elm_session_step(e.s, &st), ELM_E_STATE);
    ck_assert_msg(strstr(elm_last_error(), "cache.jsonl:1") && strstr(elm_last_error(), "other settings"), "%s",
                  elm_last_error());
    close_run(&e);
    run g;
    open_run(&g, kv, EDIR "/forget1.jsonl", NULL);
    ck_assert_elm_status(elm_session_step(g.s, &st), ELM_E_STATE);
    ck_assert_msg(strstr(elm_last_error(), "cache.jsonl") && strstr(elm_last_error(), "another forget text"), "%s",
                  elm_last_error());
    close_run(&g);
    fp = fopen(cache, "ab");
    fputs("not json\n", fp);
    fclose(fp);
    run h;
    open_run(&h, kv, EDIR "/forget0.jsonl", NULL);
    ck_assert_elm_status(elm_session_step(h.s, &st), ELM_E_FORMAT);
    ck_assert_msg(strstr(elm_last_error(), "cache.jsonl:6"), "%s", elm_last_error());
    close_run(&h);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* Resume: exact, with dropout, both when the resumed session finds the
 * pairs in the cache (the uninterrupted one made them: the RNG must be left
 * as found) and when it makes them again (memory only). */
static void resume_case(int with_cache)
{
    char *dir = tu_tmpdir();
    char cache[512], ck[512];
    snprintf(cache, sizeof cache, "%s/cache.jsonl", dir);
    snprintf(ck, sizeof ck, "%s/ckpt", dir);
    const char *const kv[] = {"erase.consistency", "online", "lora.dropout", "0.1", "erase.template_choice",
                              "random", with_cache ? "erase.consistency_cache" : NULL, cache, NULL};
    double want[2][3], got[2][3], junk[2][3];
    run a;
    open_run(&a, kv, EDIR "/forget0.jsonl", NULL);
    steps(&a, 2, junk);
    ck_assert_elm_ok(elm_session_save(a.s, ck));
    steps(&a, 2, want);
    close_run(&a);
    run b;
    open_run(&b, kv, EDIR "/forget0.jsonl", NULL);
    steps(&b, 1, junk); /* the fresh session's own draws must not matter */
    ck_assert_elm_ok(elm_session_resume(b.s, ck));
    steps(&b, 2, got);
    close_run(&b);
    same_losses(want, got, 2, with_cache ? "resumed on the cache" : "resumed, pairs made again");
    tu_rmtree(dir);
    free(dir);
}

START_TEST(test_online_resume_cache) { resume_case(1); }
END_TEST

START_TEST(test_online_resume_memory) { resume_case(0); }
END_TEST

/* prepare.join = reference online: erase.py's train loop, ". " + sentence +
 * " " + the generated text as decoded (its leading space kept). */
START_TEST(test_online_reference_join)
{
    char *dir = tu_tmpdir();
    char cache[512];
    snprintf(cache, sizeof cache, "%s/cache.jsonl", dir);
    double l[1][3];
    run a;
    open_run(&a, (const char *const[]){"erase.consistency", "online", "erase.consistency_cache", cache,
                                       "prepare.join", "reference", NULL},
             EDIR "/forget0.jsonl", NULL);
    steps(&a, 1, l);
    close_run(&a);
    size_t len;
    char *t = tu_read_file(cache, &len), *save = NULL;
    int n = 0;
    for (char *line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
        json_object *e = json_tokener_parse(line), *v;
        ck_assert(e && json_object_object_get_ex(e, "consistence_prompt", &v));
        const char *c = json_object_get_string(v);
        int found = 0;
        for (size_t k = 0; k < elm_guide_n_sentences() && !found; k++) {
            const char *sen = elm_guide_sentence(k);
            found = strncmp(c, ". ", 2) == 0 && strncmp(c + 2, sen, strlen(sen)) == 0 && c[2 + strlen(sen)] == ' ';
        }
        ck_assert_msg(found, "entry %d: not '. <sentence> <generated>': %s", n, c);
        json_object_put(e);
    }
    ck_assert_int_eq(n, 2);
    free(t);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_online_refused)
{
    elm_config *c = make_cfg((const char *const[]){"erase.consistency", "online", "erase.objective", "npo", NULL});
    elm_model *m;
    elm_session *s = NULL;
    ck_assert_elm_ok(elm_model_load(tu_src(MODEL), c, &m));
    ck_assert_elm_status(elm_session_new(m, c, &s), ELM_E_INVALID);
    ck_assert_msg(strstr(elm_last_error(), "erase.consistency online") && strstr(elm_last_error(), "npo"), "%s",
                  elm_last_error());
    ck_assert_ptr_null(s);
    /* a bad template file is reported when the session is made, naming the key */
    ck_assert_elm_ok(elm_config_set(c, "erase.objective", "elm"));
    ck_assert_elm_ok(elm_config_set(c, "prepare.redirect_sentences", "/nonexistent/sentences.txt"));
    ck_assert_elm_status(elm_session_new(m, c, &s), ELM_E_IO);
    ck_assert_msg(strstr(elm_last_error(), "/nonexistent/sentences.txt"), "%s", elm_last_error());
    elm_model_free(m);
    elm_config_free(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("erase_online");
    TCase *t = tcase_create("online");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, test_online_equals_file);
    tcase_add_test(t, test_online_cache);
    tcase_add_test(t, test_online_resume_cache);
    tcase_add_test(t, test_online_resume_memory);
    tcase_add_test(t, test_online_reference_join);
    tcase_add_test(t, test_online_refused);
    suite_add_tcase(s, t);
    return tu_run(s);
}
