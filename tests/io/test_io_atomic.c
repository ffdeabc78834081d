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

static void mkdir_with(const char *dir, const char *name, const char *file, const char *text)
{
    char p[700];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    if (file) {
        snprintf(p, sizeof p, "%s/%s/%s", dir, name, file);
        write_plain(p, text);
    }
}

static int exists_in(const char *dir, const char *name)
{
    char p[700];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

/* Every save first repairs: begin removes stale temporaries and backups
 * (also the nested ones a commit inside a temporary makes), and leaves the
 * siblings of other directories alone. */
START_TEST(test_dir_begin_cleans)
{
    char *dir = tu_tmpdir();
    char final[512], p[700];
    snprintf(final, sizeof final, "%s/adapter", dir);
    mkdir_with(dir, "adapter", "a.txt", "cur");
    mkdir_with(dir, ".adapter.tmp.AAAAAA", "half", "x");
    mkdir_with(dir, ".adapter.tmp.BBBBBB", NULL, NULL);
    mkdir_with(dir, ".adapter.old.CCCCCC", NULL, NULL);
    mkdir_with(dir, ".adapter.old.DDDDDD", "a.txt", "older");
    mkdir_with(dir, "..adapter.tmp.AAAAAA.tmp.EEEEEE", "x", "y");
    mkdir_with(dir, "..adapter.tmp.AAAAAA.old.FFFFFF", "x", "y");
    /* not ours: another directory's siblings and look-alikes */
    mkdir_with(dir, ".adapter.old.x.tmp.GGGGGG", "keep", "1");
    mkdir_with(dir, ".adapter2.tmp.HHHHHH", "keep", "1");
    mkdir_with(dir, ".adapter.tmp.", "keep", "1");
    mkdir_with(dir, ".adapter.tmp.AB-CD", "keep", "1");
    char *tmp;
    ck_assert_elm_ok(elm_atomic_dir_begin(final, &tmp));
    ck_assert_int_eq(hidden_entries(dir), 5); /* the new temporary + 4 not ours */
    ck_assert_int_eq(exists_in(dir, ".adapter.old.x.tmp.GGGGGG"), 1);
    ck_assert_int_eq(exists_in(dir, ".adapter2.tmp.HHHHHH"), 1);
    ck_assert_int_eq(exists_in(dir, ".adapter.tmp."), 1);
    ck_assert_int_eq(exists_in(dir, ".adapter.tmp.AB-CD"), 1);
    snprintf(p, sizeof p, "%s/b.txt", tmp);
    write_plain(p, "new");
    ck_assert_elm_ok(elm_atomic_dir_commit(tmp, final));
    ck_assert_int_eq(hidden_entries(dir), 4);
    snprintf(p, sizeof p, "%s/b.txt", final);
    char *cur = tu_read_file(p, NULL);
    ck_assert_str_eq(cur, "new");
    free(cur);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* Final name missing: begin first restores the backup (so the commit then
 * moves it aside again and no state is lost), skipping an empty one. */
START_TEST(test_dir_begin_restores)
{
    char *dir = tu_tmpdir();
    char final[512], p[700];
    snprintf(final, sizeof final, "%s/adapter", dir);
    mkdir_with(dir, ".adapter.old.000000", NULL, NULL);
    mkdir_with(dir, ".adapter.old.zzzzzz", NULL, NULL);
    mkdir_with(dir, ".adapter.old.m1d2l3", "a.txt", "backup");
    char *tmp;
    ck_assert_elm_ok(elm_atomic_dir_begin(final, &tmp));
    snprintf(p, sizeof p, "%s/a.txt", final);
    char *cur = tu_read_file(p, NULL);
    ck_assert_str_eq(cur, "backup");
    free(cur);
    ck_assert_int_eq(hidden_entries(dir), 1);
    elm_atomic_dir_abort(tmp);
    ck_assert_int_eq(hidden_entries(dir), 0);
    /* only empty backups: nothing to restore, they are removed, no error */
    tu_rmtree(final);
    mkdir_with(dir, ".adapter.old.000001", NULL, NULL);
    ck_assert_elm_ok(elm_atomic_dir_recover(final));
    ck_assert_int_eq(access(final, F_OK), -1);
    ck_assert_int_eq(hidden_entries(dir), 0);
    /* a missing parent directory: nothing to recover */
    snprintf(p, sizeof p, "%s/no/such/adapter", dir);
    ck_assert_elm_ok(elm_atomic_dir_recover(p));
    ck_assert_elm_ok(elm_atomic_dir_prepare_read(p));
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* The loaders' form: nothing is touched while the final directory exists;
 * when it is missing the non-empty backup comes back and nothing is removed. */
START_TEST(test_dir_prepare_read)
{
    char *dir = tu_tmpdir();
    char final[512], p[700];
    snprintf(final, sizeof final, "%s/state", dir);
    mkdir_with(dir, "state", "a.txt", "cur");
    mkdir_with(dir, ".state.tmp.AAAAAA", "half", "x");
    mkdir_with(dir, ".state.old.BBBBBB", "a.txt", "old");
    ck_assert_elm_ok(elm_atomic_dir_prepare_read(final));
    ck_assert_int_eq(hidden_entries(dir), 2);
    snprintf(p, sizeof p, "%s/a.txt", final);
    char *cur = tu_read_file(p, NULL);
    ck_assert_str_eq(cur, "cur");
    free(cur);
    tu_rmtree(final);
    mkdir_with(dir, ".state.old.CCCCCC", NULL, NULL);
    snprintf(p, sizeof p, "%s/", final); /* a trailing slash is fine */
    ck_assert_elm_ok(elm_atomic_dir_prepare_read(p));
    snprintf(p, sizeof p, "%s/a.txt", final);
    cur = tu_read_file(p, NULL);
    ck_assert_str_eq(cur, "old");
    free(cur);
    ck_assert_int_eq(hidden_entries(dir), 2); /* the tmp and the empty old stay */
    ck_assert_int_eq(exists_in(dir, ".state.tmp.AAAAAA"), 1);
    ck_assert_int_eq(exists_in(dir, ".state.old.CCCCCC"), 1);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* Many commits in a row: the backup name is made by a single rename, never
 * left behind, and never collides. */
START_TEST(test_dir_commit_many)
{
    char *dir = tu_tmpdir();
    char final[512], p[700];
    snprintf(final, sizeof final, "%s/adapter", dir);
    for (int i = 0; i < 50; i++) {
        char *tmp, txt[16];
        ck_assert_elm_ok(elm_atomic_dir_begin(final, &tmp));
        snprintf(p, sizeof p, "%s/n.txt", tmp);
        snprintf(txt, sizeof txt, "%d", i);
        write_plain(p, txt);
        ck_assert_elm_ok(elm_atomic_dir_commit(tmp, final));
        ck_assert_int_eq(hidden_entries(dir), 0);
    }
    snprintf(p, sizeof p, "%s/n.txt", final);
    char *cur = tu_read_file(p, NULL);
    ck_assert_str_eq(cur, "49");
    free(cur);
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
    tcase_add_test(tc, test_dir_begin_cleans);
    tcase_add_test(tc, test_dir_begin_restores);
    tcase_add_test(tc, test_dir_prepare_read);
    tcase_add_test(tc, test_dir_commit_many);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
