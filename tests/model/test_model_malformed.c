/* Every case of tests/fixtures/model/malformed/MANIFEST.tsv loads with the
 * expected status and a message holding the expected substring; none may
 * crash (each runs in Check's forked child). */
#include "testutil.h"

#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CASES 128
static char paths[MAX_CASES][256], statuses[MAX_CASES][32], subs[MAX_CASES][256];
static int n_cases;

static void read_manifest(void)
{
    FILE *f = fopen(tu_src("tests/fixtures/model/malformed/MANIFEST.tsv"), "r");
    if (!f)
        return;
    char line[1024];
    while (fgets(line, sizeof line, f) && n_cases < MAX_CASES) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        line[strcspn(line, "\r\n")] = 0;
        char *a = strtok(line, "\t"), *b = strtok(NULL, "\t"), *c = strtok(NULL, "\t");
        if (!a || !b)
            continue;
        snprintf(paths[n_cases], sizeof paths[0], "%s", a);
        snprintf(statuses[n_cases], sizeof statuses[0], "%s", b);
        snprintf(subs[n_cases], sizeof subs[0], "%s", c ? c : "");
        n_cases++;
    }
    fclose(f);
}

START_TEST(test_manifest_size)
{
    ck_assert_msg(n_cases >= 25, "MANIFEST.tsv lists %d cases, want >= 25", n_cases);
}
END_TEST

START_TEST(test_case)
{
    if (_i >= n_cases)
        return;
    char rel[512];
    snprintf(rel, sizeof rel, "tests/fixtures/model/malformed/%s", paths[_i]);
    elm_model *m = NULL;
    elm_status st = elm_model_open(tu_src(rel), NULL, &m);
    ck_assert_msg(strcmp(elm_status_name(st), statuses[_i]) == 0, "%s: got %s (%s), want %s", paths[_i],
                  elm_status_name(st), elm_last_error(), statuses[_i]);
    if (st != ELM_OK) {
        ck_assert_msg(m == NULL, "%s: out set on failure", paths[_i]);
        ck_assert_msg(strstr(elm_last_error(), subs[_i]) != NULL, "%s: message '%s' lacks '%s'", paths[_i],
                      elm_last_error(), subs[_i]);
    } else {
        ck_assert(m != NULL);
        elm_model_unref(m);
    }
}
END_TEST

int main(void)
{
    read_manifest();
    Suite *s = suite_create("model_malformed");
    TCase *tc = tcase_create("malformed");
    tcase_add_test(tc, test_manifest_size);
    tcase_add_loop_test(tc, test_case, 0, n_cases > 0 ? n_cases : 1);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
