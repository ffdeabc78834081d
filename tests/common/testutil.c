#include "testutil.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char slots[8][4096];
static int slot;

static char *next_slot(void)
{
    slot = (slot + 1) % 8;
    return slots[slot];
}

const char *tu_src(const char *rel)
{
    char *p = next_slot();
    snprintf(p, 4096, "%s/%s", ELM_SOURCE_ROOT, rel);
    return p;
}

const char *tu_shared(const char *name)
{
    char *p = next_slot();
    const char *env = getenv("ELM_SHARED_DATA");
    if (env)
        snprintf(p, 4096, "%s/%s", env, name);
    else
        snprintf(p, 4096, "%s/../shared/data/%s", ELM_SOURCE_ROOT, name);
    ck_assert_msg(access(p, R_OK) == 0, "shared data file missing: looked at %s (set ELM_SHARED_DATA)", p);
    return p;
}

const char *tu_cache(const char *rel, const char *fetch_script)
{
    char *p = next_slot();
    const char *env = getenv("ELM_CACHE");
    const char *home = getenv("HOME");
    if (env)
        snprintf(p, 4096, "%s/%s", env, rel);
    else
        snprintf(p, 4096, "%s/.cache/libelm/%s", home ? home : "/tmp", rel);
    ck_assert_msg(access(p, R_OK) == 0, "fetched file missing: looked at %s; run %s first", p, fetch_script);
    return p;
}

char *tu_tmpdir(void)
{
    char tmpl[] = "/tmp/elmtest.XXXXXX";
    char *d = mkdtemp(tmpl);
    ck_assert_msg(d != NULL, "mkdtemp failed");
    return strdup(d);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(path);
}

void tu_rmtree(const char *path)
{
    if (path)
        nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ck_assert(buf != NULL);
    ck_assert(fread(buf, 1, (size_t)n, f) == (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

int tu_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
