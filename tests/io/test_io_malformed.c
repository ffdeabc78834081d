/* Every file in tests/fixtures/io/malformed/MANIFEST.tsv is opened by the
 * matching reader; the status and a substring of the message must match,
 * the message must name the file, and nothing may crash or leak (ASan
 * builds run this too). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "testutil.h"

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

START_TEST(test_manifest)
{
    const char *mpath = tu_src("tests/fixtures/io/malformed/MANIFEST.tsv");
    size_t len;
    char *text = tu_read_file(mpath, &len);
    int n_st_bad = 0, n_gg_bad = 0, n_ok = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#' || !*line)
            continue;
        char *t1 = strchr(line, '\t');
        ck_assert_msg(t1, "bad manifest line: %s", line);
        *t1 = '\0';
        char *status = t1 + 1, *t2 = strchr(status, '\t');
        const char *needle = "";
        if (t2) {
            *t2 = '\0';
            needle = t2 + 1;
        }
        char rel[512];
        snprintf(rel, sizeof rel, "tests/fixtures/io/malformed/%s", line);
        const char *path = tu_src(rel);
        elm_err_clear();
        elm_status st;
        if (ends_with(line, ".safetensors")) {
            elm_safetensors *f = NULL;
            st = elm_st_open(path, &f);
            ck_assert_msg((st == ELM_OK) == (f != NULL), "%s: handle/status mismatch", line);
            elm_st_close(f);
        } else {
            elm_gguf *g = NULL;
            st = elm_gguf_open(path, &g);
            ck_assert_msg((st == ELM_OK) == (g != NULL), "%s: handle/status mismatch", line);
            elm_gguf_close(g);
        }
        ck_assert_msg(strcmp(elm_status_name(st), status) == 0, "%s: got %s (want %s): %s", line,
                      elm_status_name(st), status, elm_last_error());
        if (st == ELM_OK) {
            n_ok++;
            continue;
        }
        const char *msg = elm_last_error();
        ck_assert_msg(strstr(msg, line) != NULL, "%s: message does not name the file: %s", line, msg);
        ck_assert_msg(strstr(msg, needle) != NULL, "%s: message lacks '%s': %s", line, needle, msg);
        if (ends_with(line, ".safetensors"))
            n_st_bad++;
        else
            n_gg_bad++;
    }
    free(text);
    ck_assert_int_ge(n_st_bad, 15);
    ck_assert_int_ge(n_gg_bad, 12);
    ck_assert_int_ge(n_ok, 2);
}
END_TEST

/* Every prefix of the valid files is a truncated file: none may crash, and
 * each must fail (the data section of the last tensor is cut) or succeed. */
START_TEST(test_truncations)
{
    const char *names[] = {"st_valid.safetensors", "gg_valid.gguf"};
    char *dir = tu_tmpdir();
    for (int k = 0; k < 2; k++) {
        char rel[256];
        snprintf(rel, sizeof rel, "tests/fixtures/io/malformed/%s", names[k]);
        size_t len;
        char *data = tu_read_file(tu_src(rel), &len);
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        for (size_t cut = 0; cut < len; cut++) {
            FILE *f = fopen(path, "wb");
            ck_assert(f);
            ck_assert(fwrite(data, 1, cut, f) == cut);
            fclose(f);
            elm_status st;
            if (k == 0) {
                elm_safetensors *s = NULL;
                st = elm_st_open(path, &s);
                elm_st_close(s);
            } else {
                elm_gguf *g = NULL;
                st = elm_gguf_open(path, &g);
                elm_gguf_close(g);
            }
            ck_assert_msg(st == ELM_E_FORMAT, "%s cut at %zu: %s: %s", names[k], cut,
                          elm_status_name(st), elm_last_error());
        }
        free(data);
    }
    tu_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("io_malformed");
    TCase *tc = tcase_create("malformed");
    tcase_add_test(tc, test_manifest);
    tcase_add_test(tc, test_truncations);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
