#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/atomic.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "testutil.h"

START_TEST(test_round_trip)
{
    char *dir = tu_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    float a[6] = {1, 2, 3, 4, 5, 6};
    int64_t sa[2] = {2, 3};
    uint16_t b[3] = {0x3c00, 0x4000, 0xbc00};
    int64_t sb[1] = {3};
    int8_t c[1] = {-5};
    int64_t sz[2] = {0, 4};
    elm_st_write_tensor ts[] = {
        {"z.weight", ELM_ST_I8, 0, NULL, c},       /* scalar */
        {"a.weight", ELM_ST_F32, 2, sa, a},
        {"b.bias", ELM_ST_BF16, 1, sb, b},
        {"empty", ELM_ST_F32, 2, sz, NULL},
    };
    const char *meta[] = {"format", "pt", "note", "a/b \"quoted\"", NULL};
    ck_assert_elm_ok(elm_st_write(path, ts, 4, meta));

    /* Header: 8-byte aligned, padded with spaces, keys in name order. */
    size_t len;
    char *raw = tu_read_file(path, &len);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | (unsigned char)raw[i];
    ck_assert_uint_eq(hlen % 8, 0);
    ck_assert_uint_eq(len, 8 + hlen + 24 + 6 + 1);
    const char *h = raw + 8;
    const char *pa = strstr(h, "\"a.weight\""), *pb = strstr(h, "\"b.bias\""),
               *pe = strstr(h, "\"empty\""), *pz = strstr(h, "\"z.weight\"");
    ck_assert(pa && pb && pe && pz && pa < pb && pb < pe && pe < pz);
    ck_assert_ptr_nonnull(strstr(h, "\"data_offsets\":[0,24]"));
    free(raw);

    elm_safetensors *st;
    ck_assert_elm_ok(elm_st_open(path, &st));
    ck_assert_uint_eq(elm_st_count(st), 4);
    ck_assert_str_eq(elm_st_at(st, 0)->name, "a.weight");
    ck_assert_str_eq(elm_st_metadata(st, "format"), "pt");
    ck_assert_str_eq(elm_st_metadata(st, "note"), "a/b \"quoted\"");
    ck_assert_ptr_null(elm_st_metadata(st, "nope"));
    const elm_st_tensor *t;
    ck_assert_elm_ok(elm_st_get(st, "a.weight", &t));
    ck_assert_int_eq(t->dtype, ELM_ST_F32);
    ck_assert_int_eq(t->ndim, 2);
    ck_assert_int_eq(t->shape[0], 2);
    ck_assert_int_eq(t->shape[1], 3);
    ck_assert_uint_eq(t->nbytes, 24);
    ck_assert_int_eq(memcmp(t->data, a, 24), 0);
    t = elm_st_find(st, "b.bias");
    ck_assert_int_eq(t->dtype, ELM_ST_BF16);
    ck_assert_int_eq(memcmp(t->data, b, 6), 0);
    t = elm_st_find(st, "z.weight");
    ck_assert_int_eq(t->ndim, 0);
    ck_assert_uint_eq(t->numel, 1);
    ck_assert_int_eq(*(const int8_t *)t->data, -5);
    t = elm_st_find(st, "empty");
    ck_assert_uint_eq(t->nbytes, 0);
    ck_assert_elm_status(elm_st_get(st, "missing", &t), ELM_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "no tensor 'missing'"));
    elm_st_close(st);

    /* Duplicate names are refused and nothing is written. */
    elm_st_write_tensor dup[] = {{"x", ELM_ST_F32, 1, sb, a}, {"x", ELM_ST_F32, 1, sb, a}};
    snprintf(path, sizeof path, "%s/dup.safetensors", dir);
    ck_assert_elm_status(elm_st_write(path, dup, 2, NULL), ELM_E_INVALID);
    ck_assert_int_ne(access(path, F_OK), 0);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

static void write_text(const char *path, const char *s)
{
    ck_assert_elm_ok(elm_atomic_write_file(path, s, strlen(s)));
}

START_TEST(test_sharded)
{
    char *dir = tu_tmpdir();
    char p[512];
    float x[2] = {1, 2}, y[3] = {3, 4, 5};
    int64_t s2[1] = {2}, s3[1] = {3};
    elm_st_write_tensor sh1[] = {{"layer.0.w", ELM_ST_F32, 1, s2, x}};
    elm_st_write_tensor sh2[] = {{"layer.1.w", ELM_ST_F32, 1, s3, y},
                                 {"layer.1.b", ELM_ST_F32, 1, s2, x}};
    snprintf(p, sizeof p, "%s/model-00001-of-00002.safetensors", dir);
    ck_assert_elm_ok(elm_st_write(p, sh1, 1, NULL));
    snprintf(p, sizeof p, "%s/model-00002-of-00002.safetensors", dir);
    ck_assert_elm_ok(elm_st_write(p, sh2, 2, NULL));
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", dir);
    write_text(p, "{\"metadata\": {\"total_size\": 28}, \"weight_map\": {"
                  "\"layer.1.w\": \"model-00002-of-00002.safetensors\","
                  "\"layer.0.w\": \"model-00001-of-00002.safetensors\","
                  "\"layer.1.b\": \"model-00002-of-00002.safetensors\"}}");
    elm_st_set *s;
    ck_assert_elm_ok(elm_st_set_open(dir, &s)); /* directory form */
    ck_assert_uint_eq(elm_st_set_count(s), 3);
    ck_assert_uint_eq(elm_st_set_shard_count(s), 2);
    ck_assert_str_eq(elm_st_set_at(s, 0)->name, "layer.0.w");
    const elm_st_tensor *t;
    ck_assert_elm_ok(elm_st_set_get(s, "layer.1.w", &t));
    ck_assert_int_eq(t->shape[0], 3);
    ck_assert_int_eq(memcmp(t->data, y, 12), 0);
    ck_assert_ptr_null(elm_st_set_find(s, "nope"));
    elm_st_set_close(s);

    /* A tensor mapped to a shard that lacks it. */
    write_text(p, "{\"weight_map\": {\"layer.0.w\": \"model-00002-of-00002.safetensors\"}}");
    ck_assert_elm_status(elm_st_set_open(p, &s), ELM_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "tensor 'layer.0.w' is mapped to shard"));
    /* A missing shard. */
    write_text(p, "{\"weight_map\": {\"layer.0.w\": \"model-00009-of-00009.safetensors\"}}");
    ck_assert_elm_status(elm_st_set_open(p, &s), ELM_E_IO);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "model-00009-of-00009.safetensors"));
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "missing"));
    /* A shard outside the directory. */
    write_text(p, "{\"weight_map\": {\"layer.0.w\": \"../x.safetensors\"}}");
    ck_assert_elm_status(elm_st_set_open(p, &s), ELM_E_FORMAT);
    /* weight_map of the wrong type. */
    write_text(p, "{\"weight_map\": []}");
    ck_assert_elm_status(elm_st_set_open(p, &s), ELM_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "field 'weight_map': expected object, got array"));
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_json_helpers)
{
    json_object *o;
    const char *txt = "{\n  \"hidden_size\": \"64\",\n  \"n\": 3, \"x\": 1.5, \"b\": true, \"s\": \"hi\", \"z\": null\n}";
    ck_assert_elm_ok(elm_json_parse_buffer("config.json", txt, strlen(txt), &o));
    int64_t i;
    ck_assert_elm_status(elm_json_get_int("config.json", o, "hidden_size", &i), ELM_E_FORMAT);
    ck_assert_str_eq(elm_last_error(),
                     "config.json: field 'hidden_size': expected integer, got string");
    ck_assert_elm_status(elm_json_get_int("config.json", o, "absent", &i), ELM_E_FORMAT);
    ck_assert_str_eq(elm_last_error(), "config.json: field 'absent': missing");
    ck_assert_elm_ok(elm_json_get_int("config.json", o, "n", &i));
    ck_assert_int_eq(i, 3);
    double d;
    ck_assert_elm_ok(elm_json_get_double("c", o, "x", &d));
    ck_assert_double_eq(d, 1.5);
    ck_assert_elm_ok(elm_json_get_double("c", o, "n", &d)); /* integers are numbers */
    ck_assert_elm_status(elm_json_get_int("c", o, "x", &i), ELM_E_FORMAT);
    int b;
    ck_assert_elm_ok(elm_json_get_bool("c", o, "b", &b));
    ck_assert_int_eq(b, 1);
    const char *s;
    ck_assert_elm_ok(elm_json_get_string("c", o, "s", &s));
    ck_assert_str_eq(s, "hi");
    ck_assert_elm_ok(elm_json_opt_int("c", o, "z", 7, &i)); /* null → default */
    ck_assert_int_eq(i, 7);
    ck_assert_elm_ok(elm_json_opt_string("c", o, "absent", "dflt", &s));
    ck_assert_str_eq(s, "dflt");
    ck_assert_elm_status(elm_json_opt_bool("c", o, "s", 0, &b), ELM_E_FORMAT);
    json_object_put(o);

    const char *bad = "{\n  \"a\": 1,\n  \"b\": tru\n}";
    ck_assert_elm_status(elm_json_parse_buffer("x.json", bad, strlen(bad), &o), ELM_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "x.json: line 3, column"));
    const char *cut = "{\"a\": [1, 2";
    ck_assert_elm_status(elm_json_parse_buffer("x.json", cut, strlen(cut), &o), ELM_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "unexpected end"));
    const char *trail = "{} {}";
    ck_assert_elm_status(elm_json_parse_buffer("x.json", trail, strlen(trail), &o), ELM_E_FORMAT);
    ck_assert_elm_status(elm_json_parse_buffer("x.json", "  ", 2, &o), ELM_E_FORMAT);
    const char *dup = "{\"a\": 1, \"\\u0061\": 2}";
    ck_assert_elm_status(elm_json_check_duplicate_keys("d.json", dup, strlen(dup)), ELM_E_FORMAT);
    ck_assert_str_eq(elm_last_error(), "d.json: duplicate key 'a'");
    const char *nodup = "{\"a\": {\"a\": 1}, \"b\": [\"a\", {\"a\": 2}]}";
    ck_assert_elm_ok(elm_json_check_duplicate_keys("d.json", nodup, strlen(nodup)));

    /* Writer: pretty, no slash escaping, atomic. */
    char *dir = tu_tmpdir();
    char p[512];
    snprintf(p, sizeof p, "%s/out.json", dir);
    o = json_object_new_object();
    json_object_object_add(o, "path", json_object_new_string("a/b"));
    ck_assert_elm_ok(elm_json_write_file(p, o));
    json_object_put(o);
    char *text = tu_read_file(p, NULL);
    ck_assert_ptr_nonnull(strstr(text, "\"a/b\""));
    ck_assert_ptr_nonnull(strchr(text, '\n'));
    free(text);
    ck_assert_elm_ok(elm_json_parse_file(p, &o));
    json_object_put(o);
    snprintf(p, sizeof p, "%s/missing.json", dir);
    ck_assert_elm_status(elm_json_parse_file(p, &o), ELM_E_IO);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "missing.json: no such file"));
    tu_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("io_safetensors");
    TCase *tc = tcase_create("safetensors");
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_sharded);
    tcase_add_test(tc, test_json_helpers);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
