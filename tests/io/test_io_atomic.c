#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/atomic.h"
#include "io/file.h"
#include "testutil.h"

/* Number of entries in dir whose name starts with '.' (temporaries,
 * backups), ignoring "." and "..". */
static int hidden_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static void write_plain(const char *path, const char *s)
{
    FILE *f = fopen(path, "wb");
    ck_assert(f);
    fputs(s, f);
    fclose(f);
}

START_TEST(test_commit_replaces)
{
    char *dir = tu_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    write_plain(path, "old");
    elm_atomic_file f;
    ck_assert_elm_ok(elm_atomic_open(path, &f));
    ck_assert_int_eq(hidden_entries(dir), 1); /* the temporary */
    ck_assert_elm_ok(elm_atomic_puts(&f, "new "));
    ck_assert_elm_ok(elm_atomic_printf(&f, "%d", 42));
    /* Until commit the old content is what readers see. */
    char *cur = tu_read_file(path, NULL);
    ck_assert_str_eq(cur, "old");
    free(cur);
    ck_assert_elm_ok(elm_atomic_commit(&f));
    cur = tu_read_file(path, NULL);
    ck_assert_str_eq(cur, "new 42");
    free(cur);
    ck_assert_int_eq(hidden_entries(dir), 0);
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_ne(sb.st_mode & 0044, 0); /* not left at mkstemp's 0600 */

    ck_assert_elm_ok(elm_atomic_write_file(path, "abc", 3));
    cur = tu_read_file(path, NULL);
    ck_assert_str_eq(cur, "abc");
    free(cur);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_abort_keeps_old)
{
    char *dir = tu_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    write_plain(path, "old");
    elm_atomic_file f;
    ck_assert_elm_ok(elm_atomic_open(path, &f));
    ck_assert_elm_ok(elm_atomic_puts(&f, "half-written"));
    elm_atomic_abort(&f);
    elm_atomic_abort(&f); /* idempotent */
    char *cur = tu_read_file(path, NULL);
    ck_assert_str_eq(cur, "old");
    free(cur);
    ck_assert_int_eq(hidden_entries(dir), 0);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_open_errors)
{
    elm_atomic_file f;
    ck_assert_elm_status(elm_atomic_open("/nonexistent-dir-elm/x.txt", &f), ELM_E_IO);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "/nonexistent-dir-elm/x.txt"));
    ck_assert_elm_status(elm_atomic_open("dir/", &f), ELM_E_INVALID);
    elm_mmap_file m;
    ck_assert_elm_status(elm_mmap_open("/nonexistent-elm-file", &m), ELM_E_IO);
    ck_assert_str_eq(elm_last_error(), "/nonexistent-elm-file: no such file");
    ck_assert_elm_status(elm_mmap_open("/tmp", &m), ELM_E_IO);
    elm_mmap_close(&m);
}
END_TEST

START_TEST(test_dir_commit)
{
    char *dir = tu_tmpdir();
    char final[512], p[600];
    snprintf(final, sizeof final, "%s/adapter", dir);
    /* First commit: final does not exist yet. */
    char *tmp;
    ck_assert_elm_ok(elm_atomic_dir_begin(final, &tmp));
    snprintf(p, sizeof p, "%s/a.txt", tmp);
    write_plain(p, "v1");
    ck_assert_elm_ok(elm_atomic_dir_commit(tmp, final));
    snprintf(p, sizeof p, "%s/a.txt", final);
    char *cur = tu_read_file(p, NULL);
    ck_assert_str_eq(cur, "v1");
    free(cur);
    /* Second commit replaces the whole directory (b.txt only). */
    ck_assert_elm_ok(elm_atomic_dir_begin(final, &tmp));
    snprintf(p, sizeof p, "%s/b.txt", tmp);
    write_plain(p, "v2");
    ck_assert_elm_ok(elm_atomic_dir_commit(tmp, final));
    snprintf(p, sizeof p, "%s/a.txt", final);
    ck_assert_int_ne(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s/b.txt", final);
    cur = tu_read_file(p, NULL);
    ck_assert_str_eq(cur, "v2");
    free(cur);
    ck_assert_int_eq(hidden_entries(dir), 0);
    /* Abort leaves the committed directory alone. */
    ck_assert_elm_ok(elm_atomic_dir_begin(final, &tmp));
    snprintf(p, sizeof p, "%s/c.txt", tmp);
    write_plain(p, "v3");
    elm_atomic_dir_abort(tmp);
    ck_assert_int_eq(hidden_entries(dir), 0);
    snprintf(p, sizeof p, "%s/b.txt", final);
    ck_assert_int_eq(access(p, F_OK), 0);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* A crash between the two renames leaves only the backup: recovery puts it
 * back and removes half-written temporaries. */
START_TEST(test_dir_recover)
{
    char *dir = tu_tmpdir();
    char final[512], p[700];
    snprintf(final, sizeof final, "%s/model", dir);
    snprintf(p, sizeof p, "%s/.model.old.ABC123", dir);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/.model.old.ABC123/w.txt", dir);
    write_plain(p, "old");
    snprintf(p, sizeof p, "%s/.model.tmp.XYZ789", dir);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/.model.tmp.XYZ789/partial", dir);
    write_plain(p, "x");
    ck_assert_elm_ok(elm_atomic_dir_recover(final));
    snprintf(p, sizeof p, "%s/w.txt", final);
    char *cur = tu_read_file(p, NULL);
    ck_assert_str_eq(cur, "old");
    free(cur);
    ck_assert_int_eq(hidden_entries(dir), 0);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("io_atomic");
    TCase *tc = tcase_create("atomic");
    tcase_add_test(tc, test_commit_replaces);
    tcase_add_test(tc, test_abort_keeps_old);
    tcase_add_test(tc, test_open_errors);
    tcase_add_test(tc, test_dir_commit);
    tcase_add_test(tc, test_dir_recover);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
