/* Datasets: every input format, the reference's filters (counted in code
 * points), question files, the shared question sets and a malformed corpus
 * driven by tests/fixtures/data/malformed/MANIFEST.tsv. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/dataset.h"
#include "io/mcq.h"
#include "testutil.h"

#define FIX(name) tu_src("tests/fixtures/data/" name)

static elm_dataset *open_fmt(const char *path, const char *format)
{
    elm_config *cfg = NULL;
    elm_dataset *ds = NULL;
    if (format) {
        ck_assert_elm_ok(elm_config_new(&cfg));
        ck_assert_elm_ok(elm_config_set_string(cfg, "data.format", format));
    }
    ck_assert_elm_ok(elm_dataset_load(path, cfg, &ds));
    elm_config_free(cfg);
    ck_assert_ptr_nonnull(ds);
    return ds;
}

static const char *text(const elm_dataset *ds, size_t i)
{
    const char *t = NULL;
    ck_assert_elm_ok(elm_dataset_text(ds, i, &t));
    ck_assert_ptr_nonnull(t);
    return t;
}

/* Write content to dir/name; returns the path (static slot). */
static const char *write_tmp(const char *dir, const char *name, const char *content)
{
    static char paths[4][4096];
    static int k;
    char *p = paths[k++ % 4];
    snprintf(p, 4096, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(content, f);
    fclose(f);
    return p;
}

static char *repeat(const char *unit, size_t n, const char *tail)
{
    size_t ul = strlen(unit), tl = strlen(tail);
    char *s = malloc(ul * n + tl + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * ul, unit, ul);
    memcpy(s + ul * n, tail, tl + 1);
    return s;
}

/* ---- formats ---------------------------------------------------------------- */

START_TEST(test_jsonl_text)
{
    elm_dataset *ds = open_fmt(FIX("text.jsonl"), NULL);
    ck_assert_int_eq(elm_dataset_get_kind(ds), ELM_DATASET_TEXT);
    ck_assert_uint_eq(elm_dataset_size(ds), 3); /* "too short" dropped, blank line skipped */
    ck_assert_str_eq(text(ds, 0), "A long enough first record about the Quidditch World Cup and its stadium, really.");
    ck_assert_str_eq(text(ds, 1), "A bare JSON string record that is also long enough to survive the min filter.");
    ck_assert_str_eq(text(ds, 2),
                     "Third kept record, written with a CRLF line end and \xC3\xA9\xC3\xA8 accents to be sure.");
    const char *t;
    ck_assert_elm_status(elm_dataset_text(ds, 3, &t), ELM_E_INVALID);
    const char *p, *c;
    ck_assert_elm_status(elm_dataset_pair(ds, 0, &p, &c), ELM_E_STATE);
    elm_dataset_free(ds);
}
END_TEST

START_TEST(test_jsonl_text_field)
{
    elm_config *cfg;
    elm_dataset *ds = NULL;
    ck_assert_elm_status(elm_dataset_load(FIX("field.jsonl"), NULL, &ds), ELM_E_FORMAT);
    ck_assert_ptr_null(ds);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "field.jsonl:1: field 'text' missing"));
    ck_assert_elm_ok(elm_config_new(&cfg));
    ck_assert_elm_ok(elm_config_set_string(cfg, "data.text_field", "content"));
    ck_assert_elm_ok(elm_dataset_load(FIX("field.jsonl"), cfg, &ds));
    ck_assert_uint_eq(elm_dataset_size(ds), 3);
    ck_assert_str_eq(text(ds, 2), "Record number 2 of a file whose text lives in the content field.");
    elm_dataset_free(ds);
    elm_config_free(cfg);
}
END_TEST

START_TEST(test_plain_text)
{
    elm_dataset *ds = open_fmt(FIX("lines.txt"), NULL);
    ck_assert_uint_eq(elm_dataset_size(ds), 2);
    ck_assert_str_eq(text(ds, 0), "First line of a plain text file, long enough to be kept by the filter.");
    ck_assert_str_eq(text(ds, 1), "Second kept line of the plain text file, also more than fifty characters.");
    elm_dataset_free(ds);

    /* format=text on a JSONL file reads raw lines */
    ds = open_fmt(FIX("text.jsonl"), "text");
    ck_assert_int_eq(elm_dataset_get_kind(ds), ELM_DATASET_TEXT);
    ck_assert_uint_eq(elm_dataset_size(ds), 3);
    ck_assert_int_eq(text(ds, 0)[0], '{');
    ck_assert_ptr_null(strchr(text(ds, 2), '\r'));
    elm_dataset_free(ds);

    /* a UTF-8 byte order mark is not part of the text */
    ds = open_fmt(FIX("bom.txt"), NULL);
    ck_assert_uint_eq(elm_dataset_size(ds), 1);
    ck_assert_int_eq(text(ds, 0)[0], 'H');
    elm_dataset_free(ds);
}
END_TEST

START_TEST(test_paragraphs)
{
    elm_dataset *ds = open_fmt(FIX("paragraphs.txt"), "paragraphs");
    ck_assert_uint_eq(elm_dataset_size(ds), 3); /* "short para" dropped */
    ck_assert_str_eq(text(ds, 0), "First paragraph, line one, which goes on for a while,\nand its second line.");
    ck_assert_str_eq(text(ds, 1), "Second paragraph is a single line that is long enough to be kept.");
    ck_assert_str_eq(text(ds, 2), "Third paragraph\nspans\nthree lines and ends without a newline at all.");
    elm_dataset_free(ds);
}
END_TEST

START_TEST(test_json_lists)
{
    elm_dataset *ds = open_fmt(FIX("list.json"), NULL);
    ck_assert_int_eq(elm_dataset_get_kind(ds), ELM_DATASET_TEXT);
    ck_assert_uint_eq(elm_dataset_size(ds), 2);
    ck_assert_str_eq(text(ds, 1), "The third string of the JSON list is also long enough to stay in.");
    elm_dataset_free(ds);

    ds = open_fmt(FIX("objects.json"), "json");
    ck_assert_uint_eq(elm_dataset_size(ds), 2);
    ck_assert_str_eq(text(ds, 0), "Objects in a JSON list, each with a text field that is long enough.");
    elm_dataset_free(ds);

    /* JSON records without a known extension: JSONL found by content */
    ds = open_fmt(FIX("noext"), NULL);
    ck_assert_uint_eq(elm_dataset_size(ds), 2);
    elm_dataset_free(ds);

    /* format=json refuses JSONL */
    elm_config *cfg;
    ck_assert_elm_ok(elm_config_new(&cfg));
    ck_assert_elm_ok(elm_config_set_string(cfg, "data.format", "json"));
    ck_assert_elm_status(elm_dataset_load(FIX("noext"), cfg, &ds), ELM_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "noext:2: invalid JSON: data after the end of the document"));
    elm_config_free(cfg);
}
END_TEST

START_TEST(test_consistency_json)
{
    elm_dataset *ds = open_fmt(FIX("consistency.json"), NULL);
    const char *p, *c, *t;
    ck_assert_int_eq(elm_dataset_get_kind(ds), ELM_DATASET_PAIRS);
    ck_assert_uint_eq(elm_dataset_size(ds), 3);
    ck_assert_int_eq(elm_dataset_n_groups(ds), 2);
    ck_assert_elm_ok(elm_dataset_pair(ds, 0, &p, &c));
    ck_assert_str_eq(p, "The virus");
    ck_assert_str_eq(c, " is a topic I cannot help with.");
    ck_assert_int_eq(elm_dataset_group_at(ds, 0), 0);
    ck_assert_int_eq(elm_dataset_group_at(ds, 1), 0);
    ck_assert_elm_ok(elm_dataset_pair(ds, 2, &p, &c));
    ck_assert_str_eq(p, "Buffer overflow");
    ck_assert_int_eq(elm_dataset_group_at(ds, 2), 1);
    ck_assert_int_eq(elm_dataset_group_at(ds, 3), -1);
    /* pairs are not filtered: prompts shorter than min_chars stay */
    ck_assert_elm_status(elm_dataset_text(ds, 0, &t), ELM_E_STATE);
    ck_assert_elm_status(elm_dataset_pair(ds, 3, &p, &c), ELM_E_INVALID);
    elm_dataset_free(ds);

    ds = open_fmt(FIX("consistency.json"), "consistency");
    ck_assert_uint_eq(elm_dataset_size(ds), 3);
    elm_dataset_free(ds);
}
END_TEST

START_TEST(test_pairs_jsonl)
{
    const char *p, *c;
    for (int k = 0; k < 2; k++) {
        elm_dataset *ds = open_fmt(FIX("pairs.jsonl"), k ? "consistency" : NULL);
        ck_assert_int_eq(elm_dataset_get_kind(ds), ELM_DATASET_PAIRS);
        ck_assert_uint_eq(elm_dataset_size(ds), 2);
        ck_assert_elm_ok(elm_dataset_pair(ds, 1, &p, &c));
        ck_assert_str_eq(p, "p1");
        ck_assert_str_eq(c, "c1"); /* "continuation" accepted for the second field */
        ck_assert_int_eq(elm_dataset_group_at(ds, 0), 0);
        ck_assert_int_eq(elm_dataset_group_at(ds, 1), 2);
        ck_assert_int_eq(elm_dataset_n_groups(ds), 3);
        elm_dataset_free(ds);
    }
}
END_TEST

START_TEST(test_mcq_files)
{
    elm_dataset *ds = open_fmt(FIX("questions.json"), NULL);
    ck_assert_int_eq(elm_dataset_get_kind(ds), ELM_DATASET_MCQ);
    ck_assert_uint_eq(elm_dataset_size(ds), 4);
    ck_assert_str_eq(text(ds, 0), "Which house is Harry in?"); /* text of a question record */
    const elm_mcq_set *q = elm_dataset_mcq(ds);
    ck_assert_ptr_nonnull(q);
    ck_assert_uint_eq(elm_mcq_count(q), 4);
    ck_assert_uint_eq(elm_mcq_n_choices(q, 0), 4);
    ck_assert_str_eq(elm_mcq_choice(q, 0, 3), "Ravenclaw");
    ck_assert_int_eq(elm_mcq_answer(q, 0), 0);
    ck_assert_uint_eq(elm_mcq_n_choices(q, 1), 3);
    ck_assert_int_eq(elm_mcq_answer(q, 1), 2); /* "C" */
    ck_assert_uint_eq(elm_mcq_n_choices(q, 2), 2);
    ck_assert_int_eq(elm_mcq_answer(q, 2), 1); /* "no" */
    ck_assert_uint_eq(elm_mcq_n_choices(q, 3), 5);
    ck_assert_int_eq(elm_mcq_answer(q, 3), 1); /* "A" is the text of choice 1 */
    ck_assert_ptr_null(elm_mcq_choice(q, 3, 5));
    ck_assert_ptr_null(elm_mcq_question(q, 4));
    ck_assert_int_eq(elm_mcq_answer(q, 4), -1);
    elm_dataset_free(ds);

    elm_mcq_set *set = NULL;
    ck_assert_elm_ok(elm_mcq_load(FIX("questions.jsonl"), &set));
    ck_assert_uint_eq(elm_mcq_count(set), 2);
    ck_assert_str_eq(elm_mcq_question(set, 0), "Q1 \xC3\xBC?");
    ck_assert_int_eq(elm_mcq_answer(set, 0), 1);
    ck_assert_uint_eq(elm_mcq_n_choices(set, 1), 6);
    ck_assert_int_eq(elm_mcq_answer(set, 1), 5); /* "F" */
    elm_mcq_free(set);
    elm_mcq_free(NULL);

    /* format mcq through the internal options (data.format lists no "mcq":
     * auto finds question files by content) */
    elm_data_opts o;
    elm_data_opts_default(&o);
    o.format = ELM_DATA_MCQ;
    ck_assert_elm_ok(elm_dataset_read(FIX("questions.jsonl"), &o, &ds));
    ck_assert_int_eq(elm_dataset_get_kind(ds), ELM_DATASET_MCQ);
    ck_assert_uint_eq(elm_dataset_size(ds), 2);
    elm_dataset_free(ds);
}
END_TEST

/* ---- filters ---------------------------------------------------------------- */

START_TEST(test_filters_code_points)
{
    char *dir = tu_tmpdir();
    elm_dataset *ds;
    /* 50 two-byte characters (100 bytes) are "at most 50 characters": dropped,
     * as len() in the reference; 51 are kept. */
    char *e50 = repeat("\xC3\xA9", 50, "\n");
    char *e51 = repeat("\xC3\xA9", 51, "\n");
    size_t l50 = strlen(e50), l51 = strlen(e51);
    char *both = malloc(l50 + l51 + 1);
    memcpy(both, e50, l50);
    memcpy(both + l50, e51, l51 + 1);
    ds = open_fmt(write_tmp(dir, "min.txt", both), NULL);
    ck_assert_uint_eq(elm_dataset_size(ds), 1);
    ck_assert_uint_eq(strlen(text(ds, 0)), 102);
    elm_dataset_free(ds);

    /* 700 four-byte emoji + "x": cut to 700 code points (2800 bytes) on a
     * code-point boundary, never inside a sequence */
    char *emoji = repeat("\xF0\x9F\x98\x80", 700, "xyz\n");
    ds = open_fmt(write_tmp(dir, "max.txt", emoji), NULL);
    const char *t = text(ds, 0);
    ck_assert_uint_eq(strlen(t), 2800);
    ck_assert_uint_eq(elm_utf8_count(t, strlen(t)), 700);
    ck_assert_elm_ok(elm_utf8_check("cut", t, strlen(t)));
    elm_dataset_free(ds);

    /* mixed widths at the cut: "a" + 3-byte + 2-byte ... with max_chars=3 */
    elm_config *cfg;
    ck_assert_elm_ok(elm_config_new(&cfg));
    ck_assert_elm_ok(elm_config_set_int(cfg, "data.min_chars", 2));
    ck_assert_elm_ok(elm_config_set_int(cfg, "data.max_chars", 3));
    ck_assert_elm_ok(elm_dataset_load(write_tmp(dir, "mixed.txt", "a\xE2\x82\xAC\xC3\xA9\xF0\x9F\x98\x80z\nab\nabc\n"),
                                      cfg, &ds));
    ck_assert_uint_eq(elm_dataset_size(ds), 2); /* "ab" (2 <= 2) dropped */
    ck_assert_str_eq(text(ds, 0), "a\xE2\x82\xAC\xC3\xA9");
    ck_assert_str_eq(text(ds, 1), "abc");
    elm_dataset_free(ds);

    /* max_chars=0: no cut; min_chars=0 still drops empty texts */
    ck_assert_elm_ok(elm_config_set_int(cfg, "data.min_chars", 0));
    ck_assert_elm_ok(elm_config_set_int(cfg, "data.max_chars", 0));
    ck_assert_elm_ok(elm_dataset_load(write_tmp(dir, "nocut.txt", emoji), cfg, &ds));
    ck_assert_uint_eq(elm_dataset_size(ds), 1);
    ck_assert_uint_eq(strlen(text(ds, 0)), 2803);
    elm_dataset_free(ds);
    ck_assert_elm_ok(elm_dataset_load(write_tmp(dir, "tiny.txt", "x\n\ny\n"), cfg, &ds));
    ck_assert_uint_eq(elm_dataset_size(ds), 2);
    elm_dataset_free(ds);

    /* exactly 700 code points are not cut; the filters also apply to JSON escapes */
    char *exact = repeat("\\u00e9", 700, "\"]");
    char *json = malloc(strlen(exact) + 3);
    strcpy(json, "[\"");
    strcat(json, exact);
    ds = open_fmt(write_tmp(dir, "exact.json", json), NULL);
    ck_assert_uint_eq(strlen(text(ds, 0)), 1400);
    elm_dataset_free(ds);

    /* the empty-after-filter message names min_chars */
    ck_assert_elm_status(elm_dataset_load(write_tmp(dir, "short.txt", e50), NULL, &ds), ELM_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "no records left after filtering (min_chars=50)"));

    elm_config_free(cfg);
    free(e50), free(e51), free(both), free(emoji), free(exact), free(json);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_utf8_helpers)
{
    const char *s = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";
    size_t n = strlen(s);
    ck_assert_uint_eq(elm_utf8_count(s, n), 4);
    ck_assert_uint_eq(elm_utf8_prefix(s, n, 0), 0);
    ck_assert_uint_eq(elm_utf8_prefix(s, n, 1), 1);
    ck_assert_uint_eq(elm_utf8_prefix(s, n, 2), 3);
    ck_assert_uint_eq(elm_utf8_prefix(s, n, 3), 6);
    ck_assert_uint_eq(elm_utf8_prefix(s, n, 4), 10);
    ck_assert_uint_eq(elm_utf8_prefix(s, n, 9), 10);
    ck_assert_elm_ok(elm_utf8_check("x", s, n));
    ck_assert_elm_status(elm_utf8_check("x", "\xF4\x90\x80\x80", 4), ELM_E_FORMAT); /* > U+10FFFF */
    ck_assert_elm_status(elm_utf8_check("x", "\xE0\x80\xAF", 3), ELM_E_FORMAT);     /* overlong */
    ck_assert_elm_status(elm_utf8_check("x", "ok\n\x80", 4), ELM_E_FORMAT);          /* lone continuation */
    ck_assert_str_eq(elm_last_error(), "x:2: invalid UTF-8 at byte offset 3 (byte 0x80)");
}
END_TEST

/* ---- shared question sets ------------------------------------------------------- */

static void check_shared(const char *name, size_t want)
{
    elm_dataset *ds = open_fmt(tu_shared(name), NULL);
    ck_assert_int_eq(elm_dataset_get_kind(ds), ELM_DATASET_MCQ);
    ck_assert_uint_eq(elm_dataset_size(ds), want);
    const elm_mcq_set *q = elm_dataset_mcq(ds);
    for (size_t i = 0; i < want; i++) {
        ck_assert_uint_eq(elm_mcq_n_choices(q, i), 4);
        ck_assert_int_ge(elm_mcq_answer(q, i), 0);
        ck_assert_int_lt(elm_mcq_answer(q, i), 4);
        ck_assert_ptr_nonnull(elm_mcq_choice(q, i, 3));
    }
    elm_dataset_free(ds);

    elm_mcq_set *set;
    ck_assert_elm_ok(elm_mcq_load(tu_shared(name), &set));
    ck_assert_uint_eq(elm_mcq_count(set), want);
    elm_mcq_free(set);
}

START_TEST(test_shared_hp)
{
    check_shared("hp-questions.dev.json", 620);
    elm_mcq_set *set;
    ck_assert_elm_ok(elm_mcq_load(tu_shared("hp-questions.dev.json"), &set));
    ck_assert_str_eq(elm_mcq_question(set, 0), "What position does Harry play on his Quidditch team?");
    ck_assert_str_eq(elm_mcq_choice(set, 0, 0), "Seeker");
    ck_assert_int_eq(elm_mcq_answer(set, 0), 0);
    ck_assert_int_eq(elm_mcq_answer(set, 1), 2);
    elm_mcq_free(set);
}
END_TEST

START_TEST(test_shared_wmdp)
{
    check_shared("wmdp-bio-questions.json", 1520);
}
END_TEST

/* ---- keyword files ------------------------------------------------------------ */

static void kw_ok(const char *path, const char *key, const char *want)
{
    char *c = NULL;
    ck_assert_elm_ok(elm_keywords_read(path, key, &c));
    ck_assert_str_eq(c, want);
    elm_free(c);
}

static void kw_err(const char *path, const char *key, elm_status want, const char *msg)
{
    char *c = (char *)"untouched";
    ck_assert_elm_status(elm_keywords_read(path, key, &c), want);
    ck_assert_ptr_null(c);
    ck_assert_msg(strstr(elm_last_error(), msg), "'%s' lacks '%s'", elm_last_error(), msg);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), path));
}

START_TEST(test_keywords)
{
    char *d = tu_tmpdir();
    /* the shared file of the authors' repository: two lists */
    const char *wmdp = tu_shared("wmdp-keywords.json");
    char *bio = NULL;
    ck_assert_elm_ok(elm_keywords_read(wmdp, "bio", &bio));
    ck_assert_ptr_nonnull(strstr(bio, "bioweapons and bioterrorism, viral vector research"));
    elm_free(bio);
    kw_err(wmdp, NULL, ELM_E_INVALID, "an object of 2 lists: give a key (keys: bio, cyber)");
    kw_err(wmdp, "chem", ELM_E_INVALID, "no key 'chem' (keys: bio, cyber)");
    /* a bare list (with a byte order mark and escapes), an object of one list */
    kw_ok(write_tmp(d, "l.json", "\xEF\xBB\xBF [\"a\", \"b\\u00e9\\ud83d\\ude00\"]\n"), NULL, "a, b\xC3\xA9\xF0\x9F\x98\x80");
    kw_ok(write_tmp(d, "l.json", "[\"a\"]"), "", "a");
    kw_ok(write_tmp(d, "o.json", "{\"x\": [\"p\", \"q\"]}"), NULL, "p, q");
    kw_ok(write_tmp(d, "o.json", "{\"x\": [\"p\"], \"y\": [\"r\", \"s\"]}"), "y", "r, s");
    /* errors name the file and what is at fault; nothing is returned */
    kw_err(write_tmp(d, "e.json", "{\"bio\": [\"ok\", 42]}"), "bio", ELM_E_FORMAT,
           "field 'bio', item 1: expected a string, got integer");
    kw_err(write_tmp(d, "e.json", "{\"bio\": \"ok\"}"), NULL, ELM_E_FORMAT,
           "field 'bio': expected a list of strings, got string");
    kw_err(write_tmp(d, "e.json", "[\"a\", [\"b\"]]"), NULL, ELM_E_FORMAT, "item 1: expected a string, got array");
    kw_err(write_tmp(d, "e.json", "\"bio\""), NULL, ELM_E_FORMAT,
           "expected a list of strings or an object of such lists, got string");
    kw_err(write_tmp(d, "e.json", "[\"a\"]"), "bio", ELM_E_INVALID, "is a list of strings, not an object");
    kw_err(write_tmp(d, "e.json", "[]"), NULL, ELM_E_INVALID, "the keyword list is empty");
    kw_err(write_tmp(d, "e.json", "{\"a\": []}"), "a", ELM_E_INVALID, "field 'a' is empty");
    kw_err(write_tmp(d, "e.json", "{}"), NULL, ELM_E_INVALID, "an object of 0 lists: give a key (keys: none)");
    kw_err(write_tmp(d, "e.json", "{\"a\": [\"x\"], \"a\": [\"y\"]}"), "a", ELM_E_FORMAT, "duplicate key 'a'");
    kw_err(write_tmp(d, "e.json", "[\"a\",\n \"b\""), NULL, ELM_E_FORMAT, "line 2");
    kw_err(write_tmp(d, "e.json", "[\"\xC3\x28\"]"), NULL, ELM_E_FORMAT, "UTF-8");
    kw_err(write_tmp(d, "e.json", ""), NULL, ELM_E_FORMAT, "empty JSON document");
    FILE *f = fopen(write_tmp(d, "n.json", ""), "wb");
    fwrite("[\"a\0b\"]", 1, 7, f);
    fclose(f);
    char np[4096];
    snprintf(np, sizeof np, "%s/n.json", d);
    kw_err(np, NULL, ELM_E_FORMAT, "line 1, column 4: NUL byte");
    kw_err("/nonexistent/keywords.json", NULL, ELM_E_IO, "cannot open");
    kw_err(d, NULL, ELM_E_IO, "not a regular file");
    char *c = NULL;
    ck_assert_elm_status(elm_keywords_read(NULL, NULL, &c), ELM_E_INVALID);
    ck_assert_elm_status(elm_keywords_read(np, NULL, NULL), ELM_E_INVALID);
    tu_rmtree(d);
    free(d);
}
END_TEST

/* ---- errors ------------------------------------------------------------------- */

static elm_status status_of(const char *name)
{
    static const elm_status all[] = {ELM_OK,         ELM_E_INVALID, ELM_E_IO,        ELM_E_FORMAT,
                                     ELM_E_UNSUPPORTED, ELM_E_NOMEM, ELM_E_DEVICE, ELM_E_NUMERIC,
                                     ELM_E_CANCELLED, ELM_E_STATE,   ELM_E_INTERNAL};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(elm_status_name(all[i]), name) == 0)
            return all[i];
    ck_abort_msg("MANIFEST.tsv: unknown status %s", name);
    return ELM_E_INTERNAL;
}

START_TEST(test_malformed_corpus)
{
    size_t len, checked = 0;
    char *manifest = tu_read_file(FIX("malformed/MANIFEST.tsv"), &len);
    char *save = NULL;
    for (char *line = strtok_r(manifest, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#' || !line[0])
            continue;
        char *f[4];
        char *p = line;
        for (int k = 0; k < 4; k++) {
            f[k] = p;
            char *tab = k < 3 ? strchr(p, '\t') : NULL;
            ck_assert_msg(k == 3 || tab, "MANIFEST.tsv: line '%s' needs 4 tab-separated fields", line);
            if (tab) {
                *tab = '\0';
                p = tab + 1;
            }
        }
        char rel[512];
        snprintf(rel, sizeof rel, "tests/fixtures/data/malformed/%s", f[0]);
        elm_config *cfg;
        elm_dataset *ds = (elm_dataset *)1;
        ck_assert_elm_ok(elm_config_new(&cfg));
        ck_assert_elm_ok(elm_config_set_string(cfg, "data.format", f[2]));
        elm_status st = elm_dataset_load(tu_src(rel), cfg, &ds);
        elm_config_free(cfg);
        ck_assert_msg(st == status_of(f[1]), "%s: got %s (want %s): %s", f[0], elm_status_name(st), f[1],
                      elm_last_error());
        ck_assert_msg(ds == NULL, "%s: *out not NULL after a failure", f[0]);
        ck_assert_msg(strstr(elm_last_error(), f[3]) != NULL, "%s: message '%s' lacks '%s'", f[0],
                      elm_last_error(), f[3]);
        checked++;
    }
    free(manifest);
    ck_assert_uint_ge(checked, 12);
}
END_TEST

START_TEST(test_mcq_errors_direct)
{
    elm_mcq_set *set = (elm_mcq_set *)1;
    ck_assert_elm_status(elm_mcq_load(FIX("malformed/mcq_one_choice.json"), &set), ELM_E_FORMAT);
    ck_assert_ptr_null(set);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "record 0: field 'choices' needs at least 2"));
    ck_assert_elm_status(elm_mcq_load(FIX("malformed/mcq_missing_answer.jsonl"), &set), ELM_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "mcq_missing_answer.jsonl:2: field 'answer' missing"));
    ck_assert_elm_status(elm_mcq_load(FIX("malformed/empty.jsonl"), &set), ELM_E_FORMAT);
    ck_assert_elm_status(elm_mcq_load(FIX("list.json"), &set), ELM_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "record 0: a question must be an object, not string"));
}
END_TEST

START_TEST(test_api_arguments)
{
    elm_dataset *ds = NULL;
    const char *t, *p, *c;
    ck_assert_elm_status(elm_dataset_load(NULL, NULL, &ds), ELM_E_INVALID);
    ck_assert_elm_status(elm_dataset_load(FIX("lines.txt"), NULL, NULL), ELM_E_INVALID);
    ck_assert_elm_status(elm_dataset_text(NULL, 0, &t), ELM_E_INVALID);
    ck_assert_elm_status(elm_dataset_pair(NULL, 0, &p, &c), ELM_E_INVALID);
    ck_assert_elm_status(elm_dataset_load("/nonexistent/x.jsonl", NULL, &ds), ELM_E_IO);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "/nonexistent/x.jsonl: cannot open"));
    ck_assert_elm_status(elm_dataset_load(tu_src("tests/fixtures/data"), NULL, &ds), ELM_E_IO);
    elm_dataset_free(NULL);
    ck_assert_uint_eq(elm_dataset_size(NULL), 0);

    ds = open_fmt(FIX("lines.txt"), NULL);
    ck_assert_elm_status(elm_dataset_text(ds, 0, NULL), ELM_E_INVALID);
    ck_assert_elm_status(elm_dataset_pair(ds, 0, NULL, &c), ELM_E_INVALID);
    ck_assert_elm_status(elm_dataset_pair(ds, 0, &p, NULL), ELM_E_INVALID);
    elm_dataset_free(ds);

    elm_config *cfg;
    ck_assert_elm_ok(elm_config_new(&cfg));
    ck_assert_elm_ok(elm_config_set_string(cfg, "data.text_field", ""));
    ck_assert_elm_status(elm_dataset_load(FIX("lines.txt"), cfg, &ds), ELM_E_INVALID);
    elm_config_free(cfg);

    elm_data_format f;
    ck_assert_elm_ok(elm_data_format_parse("paragraphs", &f));
    ck_assert_int_eq(f, ELM_DATA_PARAGRAPHS);
    ck_assert_elm_status(elm_data_format_parse("csv", &f), ELM_E_INVALID);
}
END_TEST

START_TEST(test_refcount)
{
    elm_dataset *ds = open_fmt(FIX("consistency.json"), NULL);
    elm_dataset *held = elm_dataset_ref(ds); /* as a session would */
    ck_assert_ptr_eq(held, ds);
    elm_dataset_free(ds); /* the caller's reference */
    const char *p, *c;
    ck_assert_elm_ok(elm_dataset_pair(held, 1, &p, &c));
    ck_assert_str_eq(p, "Anthrax spores");
    ck_assert_str_eq(elm_dataset_path(held), FIX("consistency.json"));
    elm_dataset_unref(held);
    ck_assert_ptr_null(elm_dataset_ref(NULL));
    elm_dataset_unref(NULL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("io_dataset");
    TCase *tc = tcase_create("dataset");
    tcase_add_test(tc, test_jsonl_text);
    tcase_add_test(tc, test_jsonl_text_field);
    tcase_add_test(tc, test_plain_text);
    tcase_add_test(tc, test_paragraphs);
    tcase_add_test(tc, test_json_lists);
    tcase_add_test(tc, test_consistency_json);
    tcase_add_test(tc, test_pairs_jsonl);
    tcase_add_test(tc, test_mcq_files);
    tcase_add_test(tc, test_filters_code_points);
    tcase_add_test(tc, test_utf8_helpers);
    tcase_add_test(tc, test_shared_hp);
    tcase_add_test(tc, test_shared_wmdp);
    tcase_add_test(tc, test_keywords);
    tcase_add_test(tc, test_malformed_corpus);
    tcase_add_test(tc, test_mcq_errors_direct);
    tcase_add_test(tc, test_api_arguments);
    tcase_add_test(tc, test_refcount);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(suite()); }
