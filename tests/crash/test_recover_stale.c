/* elm_atomic_dir_recover with stale backups: a kill between mkdtemp() of the
 * backup name and the first rename() of elm_atomic_dir_commit leaves an EMPTY
 * ".adapter.old.XXXXXX" beside a complete "adapter"; nothing removes it (only
 * recover does, and only when it is called). A later kill between the two
 * renames leaves "adapter" missing and two backups: the complete one and the
 * empty one. Recovery must restore the complete one — whatever order readdir()
 * returns them in — and never an empty reservation. Likewise an older
 * complete backup left by a kill after the second rename (before the backup
 * was removed) must not win over the newer one.
 * Recovery also removes the other backups. (Since the fix the commit makes
 * no placeholder and elm_atomic_dir_begin recovers first, so these states
 * only come from older versions, but recovery must still handle them.)
 * Exit 0: pass; 1: the recovered directory is not the newest complete state. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io/atomic.h"

static void put(const char *dir, const char *name, const char *text)
{
    char p[4400];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        perror(p);
        exit(2);
    }
}

static int check(const char *parent, const char *const *stale_empty, int n_empty, const char *older)
{
    char final_dir[4200], p[4400], buf[64] = "";
    snprintf(final_dir, sizeof final_dir, "%s/adapter", parent);
    /* the complete previous state, moved aside by the interrupted commit */
    snprintf(p, sizeof p, "%s/.adapter.old.m1d2l3", parent);
    mkdir(p, 0700);
    put(p, "adapter_config.json", "newest\n");
    if (older) {
        char q[4400];
        snprintf(q, sizeof q, "%s/%s", parent, older);
        mkdir(q, 0700);
        put(q, "adapter_config.json", "older\n");
        /* older content: an earlier mtime, as it really was */
        struct timespec t[2] = {{time(NULL) - 100, 0}, {time(NULL) - 100, 0}};
        utimensat(AT_FDCWD, q, t, 0);
    }
    for (int i = 0; i < n_empty; i++) {
        snprintf(p, sizeof p, "%s/%s", parent, stale_empty[i]);
        mkdir(p, 0700);
    }
    elm_status st = elm_atomic_dir_recover(final_dir);
    snprintf(p, sizeof p, "%s/adapter_config.json", final_dir);
    FILE *f = fopen(p, "r");
    if (f) {
        if (!fgets(buf, sizeof buf, f))
            buf[0] = 0;
        fclose(f);
    }
    /* the other backups (empty or older) are gone */
    int left = 0;
    DIR *dd = opendir(parent);
    struct dirent *e;
    while (dd && (e = readdir(dd)))
        left += strncmp(e->d_name, ".adapter.", 9) == 0;
    if (dd)
        closedir(dd);
    int ok = st == ELM_OK && strcmp(buf, "newest\n") == 0 && left == 0;
    if (left)
        printf("FAIL: %d stale .adapter.* siblings left after recovery\n", left);
    printf("%s: recover -> %s, adapter_config.json: %s", ok ? "ok" : "FAIL", elm_status_name(st),
           f ? (buf[0] ? buf : "(empty)\n") : "missing (an empty backup was restored)\n");
    return ok;
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    char base[4096];
    snprintf(base, sizeof base, "%s/elm-recover.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(base))
        return 2;
    static const char *const empties[] = {".adapter.old.000000", ".adapter.old.AAAAAA", ".adapter.old.zzzzzz",
                                          ".adapter.old.m1d2l2", ".adapter.old.m1d2l4"};
    int ok = 1;
    char d[4200];
    snprintf(d, sizeof d, "%s/a", base);
    mkdir(d, 0700);
    ok &= check(d, empties, 5, NULL);
    snprintf(d, sizeof d, "%s/b", base);
    mkdir(d, 0700);
    ok &= check(d, NULL, 0, ".adapter.old.000001");
    snprintf(d, sizeof d, "%s/c", base);
    mkdir(d, 0700);
    ok &= check(d, NULL, 0, ".adapter.old.zzzzzz");
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", base);
    return ok ? 0 : 1;
}
