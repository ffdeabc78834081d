#include "io/atomic.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"

/* Split path into a malloc'd directory ("." when none) and a pointer to the
 * base name inside path. */
static elm_status split_path(const char *path, char **dir, const char **base)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        *dir = strdup(".");
        *base = path;
    } else if (slash == path) {
        *dir = strdup("/");
        *base = slash + 1;
    } else {
        size_t n = (size_t)(slash - path);
        *dir = malloc(n + 1);
        if (*dir) {
            memcpy(*dir, path, n);
            (*dir)[n] = '\0';
        }
        *base = slash + 1;
    }
    if (!*dir)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", path);
    if (**base == '\0') {
        free(*dir);
        *dir = NULL;
        return elm_err(ELM_E_INVALID, "%s: path names no file (ends in '/')", path);
    }
    return ELM_OK;
}

/* "<dir>/.<base>.<tag>.XXXXXX" */
static char *sibling_template(const char *dir, const char *base, const char *tag)
{
    size_t n = strlen(dir) + strlen(base) + strlen(tag) + 16;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/.%s.%s.XXXXXX", dir, base, tag);
    return s;
}

elm_status elm_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return elm_err(ELM_E_IO, "%s: cannot open directory for fsync: %s", dir, strerror(errno));
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    /* Some file systems refuse fsync on directories (EINVAL): nothing more
     * can be done there, and the rename itself has happened. */
    if (rc != 0 && e != EINVAL && e != EROFS)
        return elm_err(ELM_E_IO, "%s: fsync of directory failed: %s", dir, strerror(e));
    return ELM_OK;
}

static void atomic_reset(elm_atomic_file *f)
{
    free(f->path);
    free(f->tmp_path);
    memset(f, 0, sizeof *f);
}

elm_status elm_atomic_open(const char *path, elm_atomic_file *f)
{
    if (!f)
        return elm_err(ELM_E_INVALID, "elm_atomic_open: invalid argument 'f'");
    memset(f, 0, sizeof *f);
    if (!path || !*path)
        return elm_err(ELM_E_INVALID, "elm_atomic_open: invalid argument 'path'");
    char *dir;
    const char *base;
    ELM_TRY(split_path(path, &dir, &base));
    char *tmpl = sibling_template(dir, base, "tmp");
    free(dir);
    char *final = strdup(path);
    if (!tmpl || !final) {
        free(tmpl);
        free(final);
        return elm_err(ELM_E_NOMEM, "%s: out of memory", path);
    }
    int fd = mkstemp(tmpl);
    if (fd < 0) {
        elm_status st = elm_err(ELM_E_IO, "%s: cannot create temporary file %s: %s", path, tmpl,
                                strerror(errno));
        free(tmpl);
        free(final);
        return st;
    }
    /* mkstemp makes 0600; keep an existing file's mode, else the usual 0644. */
    struct stat sb;
    mode_t mode = 0644;
    if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
        mode = sb.st_mode & 07777;
    (void)fchmod(fd, mode);
    FILE *fp = fdopen(fd, "wb");
    if (!fp) {
        elm_status st = elm_err(ELM_E_IO, "%s: fdopen failed: %s", tmpl, strerror(errno));
        close(fd);
        unlink(tmpl);
        free(tmpl);
        free(final);
        return st;
    }
    f->fp = fp;
    f->path = final;
    f->tmp_path = tmpl;
    return ELM_OK;
}

elm_status elm_atomic_write(elm_atomic_file *f, const void *data, size_t len)
{
    if (!f || !f->fp)
        return elm_err(ELM_E_STATE, "elm_atomic_write: file is not open");
    if (len && fwrite(data, 1, len, f->fp) != len) {
        f->failed = 1;
        return elm_err(ELM_E_IO, "%s: write failed: %s", f->path, strerror(errno));
    }
    return ELM_OK;
}

elm_status elm_atomic_puts(elm_atomic_file *f, const char *s)
{
    return elm_atomic_write(f, s, strlen(s));
}

elm_status elm_atomic_printf(elm_atomic_file *f, const char *fmt, ...)
{
    if (!f || !f->fp)
        return elm_err(ELM_E_STATE, "elm_atomic_printf: file is not open");
    va_list ap;
    va_start(ap, fmt);
    int rc = vfprintf(f->fp, fmt, ap);
    va_end(ap);
    if (rc < 0) {
        f->failed = 1;
        return elm_err(ELM_E_IO, "%s: write failed: %s", f->path, strerror(errno));
    }
    return ELM_OK;
}

void elm_atomic_abort(elm_atomic_file *f)
{
    if (!f)
        return;
    if (f->fp)
        fclose(f->fp);
    if (f->tmp_path)
        unlink(f->tmp_path);
    atomic_reset(f);
}

elm_status elm_atomic_commit(elm_atomic_file *f)
{
    if (!f || !f->fp)
        return elm_err(ELM_E_STATE, "elm_atomic_commit: file is not open");
    elm_status st = ELM_OK;
    if (f->failed) {
        st = elm_err(ELM_E_IO, "%s: not committed: an earlier write failed", f->path);
        goto fail;
    }
    if (fflush(f->fp) != 0 || ferror(f->fp)) {
        st = elm_err(ELM_E_IO, "%s: write failed: %s", f->path, strerror(errno));
        goto fail;
    }
    if (fsync(fileno(f->fp)) != 0) {
        st = elm_err(ELM_E_IO, "%s: fsync failed: %s", f->path, strerror(errno));
        goto fail;
    }
    FILE *fp = f->fp;
    f->fp = NULL;
    if (fclose(fp) != 0) {
        st = elm_err(ELM_E_IO, "%s: close failed: %s", f->path, strerror(errno));
        goto fail;
    }
    if (rename(f->tmp_path, f->path) != 0) {
        st = elm_err(ELM_E_IO, "%s: rename from %s failed: %s", f->path, f->tmp_path,
                     strerror(errno));
        goto fail;
    }
    char *dir;
    const char *base;
    st = split_path(f->path, &dir, &base);
    if (st == ELM_OK) {
        st = elm_fsync_dir(dir);
        free(dir);
    }
    atomic_reset(f);
    return st;
fail:
    elm_atomic_abort(f);
    return st;
}

elm_status elm_atomic_write_file(const char *path, const void *data, size_t len)
{
    elm_atomic_file f;
    ELM_TRY(elm_atomic_open(path, &f));
    elm_status st = elm_atomic_write(&f, data, len);
    if (st != ELM_OK) {
        elm_atomic_abort(&f);
        return st;
    }
    return elm_atomic_commit(&f);
}

/* ---- directories --------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int rmtree(const char *path)
{
    return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int sync_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (flag != FTW_F && flag != FTW_DP)
        return 0;
    int fd = open(path, (flag == FTW_DP ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    if (rc != 0 && (errno == EINVAL || errno == EROFS))
        rc = 0;
    close(fd);
    return rc;
}

/* final_dir without trailing slashes ("out/adapter/" -> "out/adapter"), its
 * parent directory and base name (base points into clean). */
typedef struct dir_names {
    char *clean, *parent;
    const char *base;
} dir_names;

static void dir_names_free(dir_names *n)
{
    free(n->clean);
    free(n->parent);
    memset(n, 0, sizeof *n);
}

static elm_status dir_names_get(const char *final_dir, dir_names *n)
{
    memset(n, 0, sizeof *n);
    n->clean = strdup(final_dir);
    if (!n->clean)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", final_dir);
    for (size_t k = strlen(n->clean); k > 1 && n->clean[k - 1] == '/'; k--)
        n->clean[k - 1] = '\0';
    elm_status st = split_path(n->clean, &n->parent, &n->base);
    if (st != ELM_OK)
        dir_names_free(n);
    return st;
}

/* A fresh random suffix for a backup name: 12 characters of [0-9A-Za-z].
 * Uniqueness is not relied on: the caller retries when the name is taken. */
static void random_suffix(char out[13])
{
    static const char abc[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    static _Atomic unsigned long counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32) ^
                 (uint64_t)(uintptr_t)&ts ^ (uint64_t)atomic_fetch_add(&counter, 1) * 0x9E3779B97F4A7C15u;
    for (int i = 0; i < 12; i++) {
        /* splitmix64 step */
        x += 0x9E3779B97F4A7C15u;
        uint64_t z = x;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
        z ^= z >> 31;
        out[i] = abc[z % (sizeof abc - 1)];
    }
    out[12] = '\0';
}

/* Move the existing final directory aside to ".<base>.old.<random>" with a
 * single rename (no placeholder directory is ever created, so a crash cannot
 * leave an empty backup). *backup is malloc'd on success. */
static elm_status move_aside(const dir_names *n, const char *final_dir, char **backup)
{
    size_t cap = strlen(n->parent) + strlen(n->base) + 32;
    char *b = malloc(cap);
    if (!b)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", final_dir);
    int e = EEXIST;
    for (int attempt = 0; attempt < 100; attempt++) {
        char sfx[13];
        random_suffix(sfx);
        snprintf(b, cap, "%s/.%s.old.%s", n->parent, n->base, sfx);
        struct stat sb;
        if (lstat(b, &sb) == 0) /* taken: never rename over anything */
            continue;
        if (rename(n->clean, b) == 0) {
            *backup = b;
            return ELM_OK;
        }
        e = errno;
        if (e != EEXIST && e != ENOTEMPTY) /* a racing process took the name */
            break;
    }
    elm_status st = elm_err(ELM_E_IO, "%s: cannot move old directory to %s: %s", final_dir, b, strerror(e));
    free(b);
    return st;
}

elm_status elm_atomic_dir_begin(const char *final_dir, char **tmpdir)
{
    if (!tmpdir)
        return elm_err(ELM_E_INVALID, "elm_atomic_dir_begin: invalid argument 'tmpdir'");
    *tmpdir = NULL;
    if (!final_dir || !*final_dir)
        return elm_err(ELM_E_INVALID, "elm_atomic_dir_begin: invalid argument 'final_dir'");
    /* Every save first repairs what an earlier crash left: the backup is put
     * back when the final name is missing, and stale temporaries and backups
     * are removed, so at most one backup ever exists during a commit. */
    ELM_TRY(elm_atomic_dir_recover(final_dir));
    dir_names n;
    ELM_TRY(dir_names_get(final_dir, &n));
    char *tmpl = sibling_template(n.parent, n.base, "tmp");
    dir_names_free(&n);
    if (!tmpl)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", final_dir);
    if (!mkdtemp(tmpl)) {
        elm_status st = elm_err(ELM_E_IO, "%s: cannot create temporary directory %s: %s", final_dir, tmpl,
                                strerror(errno));
        free(tmpl);
        return st;
    }
    (void)chmod(tmpl, 0755);
    *tmpdir = tmpl;
    return ELM_OK;
}

void elm_atomic_dir_abort(char *tmpdir)
{
    if (!tmpdir)
        return;
    rmtree(tmpdir);
    free(tmpdir);
}

elm_status elm_atomic_dir_commit(char *tmpdir, const char *final_dir)
{
    if (!tmpdir || !final_dir || !*final_dir) {
        elm_atomic_dir_abort(tmpdir);
        return elm_err(ELM_E_INVALID, "elm_atomic_dir_commit: invalid argument");
    }
    char *backup = NULL;
    dir_names n;
    elm_status st = dir_names_get(final_dir, &n);
    if (st != ELM_OK) {
        elm_atomic_dir_abort(tmpdir);
        return st;
    }

    /* Everything written inside tmpdir reaches the disk before it can
     * become visible under the final name. */
    if (nftw(tmpdir, sync_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
        st = elm_err(ELM_E_IO, "%s: fsync of %s failed: %s", final_dir, tmpdir, strerror(errno));
        goto out_abort;
    }

    struct stat sb;
    if (lstat(n.clean, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode)) {
            st = elm_err(ELM_E_IO, "%s: exists and is not a directory", final_dir);
            goto out_abort;
        }
        if ((st = move_aside(&n, final_dir, &backup)) != ELM_OK)
            goto out_abort;
        if ((st = elm_fsync_dir(n.parent)) != ELM_OK)
            goto out_restore;
    } else if (errno != ENOENT) {
        st = elm_err(ELM_E_IO, "%s: %s", final_dir, strerror(errno));
        goto out_abort;
    }

    if (rename(tmpdir, n.clean) != 0) {
        st = elm_err(ELM_E_IO, "%s: cannot move %s into place: %s", final_dir, tmpdir, strerror(errno));
        goto out_restore;
    }
    st = elm_fsync_dir(n.parent);
    if (backup) {
        /* A crash inside this rmtree leaves a partial backup beside the
         * complete final directory; the next recovery removes it. */
        rmtree(backup);
        elm_status st2 = elm_fsync_dir(n.parent);
        if (st == ELM_OK)
            st = st2;
    }
    free(backup);
    dir_names_free(&n);
    free(tmpdir);
    return st;

out_restore:
    if (backup && rename(backup, n.clean) == 0)
        (void)elm_fsync_dir(n.parent);
out_abort:
    free(backup);
    dir_names_free(&n);
    elm_atomic_dir_abort(tmpdir);
    return st;
}

static int all_alnum(const char *p, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= 'a' && p[i] <= 'z')))
            return 0;
    return 1;
}

/* Whether name (length n) is ".<base>.tmp.<S>" / ".<base>.old.<S>" with S
 * a non-empty [0-9A-Za-z] suffix (what mkdtemp and random_suffix make), or
 * the same pattern around such a name instead of base: the siblings of a
 * temporary, e.g. "..adapter.tmp.X.tmp.Y", made when a writer nests a
 * directory commit inside its own temporary (elm_lora_save_peft inside
 * elm_erase_save). *kind is 't' or 'o' for the outermost tag. The exact
 * suffix rule keeps "adapter"'s siblings apart from those of a directory
 * named, say, "adapter.old.x". */
static int sibling_kind(const char *name, size_t n, const char *base, char *kind)
{
    if (n < 7 || name[0] != '.')
        return 0;
    size_t k = n;
    while (k > 0 && name[k - 1] != '.')
        k--;
    /* name[k..n) is the suffix, name[k-5..k) must be ".tmp." or ".old." */
    if (k < 6 || !all_alnum(name + k, n - k))
        return 0;
    const char *tag = name + k - 5;
    if (strncmp(tag, ".tmp.", 5) != 0 && strncmp(tag, ".old.", 5) != 0)
        return 0;
    *kind = tag[1] == 't' ? 't' : 'o';
    const char *inner = name + 1;
    size_t ni = (size_t)(tag - inner);
    if (ni == strlen(base) && strncmp(inner, base, ni) == 0)
        return 1;
    char k2;
    if (sibling_kind(inner, ni, base, &k2)) {
        *kind = 'n'; /* nested: never restored, only removed */
        return 1;
    }
    return 0;
}

/* 1: path is a directory with at least one entry besides "." and "..". */
static int dir_has_entries(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return 0;
    struct dirent *e;
    int any = 0;
    while (!any && (e = readdir(d)) != NULL)
        any = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return any;
}

static int ts_cmp(struct timespec a, struct timespec b)
{
    return a.tv_sec != b.tv_sec ? (a.tv_sec < b.tv_sec ? -1 : 1)
                                : a.tv_nsec != b.tv_nsec ? (a.tv_nsec < b.tv_nsec ? -1 : 1) : 0;
}

/* The recovery rule. cleanup = 0 is the loaders' form: when the final
 * directory exists it costs one lstat and changes nothing; when it is missing
 * the newest non-empty backup is renamed back and nothing is removed (a
 * temporary may belong to a writer that is running right now). cleanup = 1
 * (writers, elm_atomic_dir_recover) also removes every other backup and
 * every temporary. */
static elm_status recover(const char *final_dir, int cleanup)
{
    if (!final_dir || !*final_dir)
        return elm_err(ELM_E_INVALID, "elm_atomic_dir_recover: invalid argument 'final_dir'");
    dir_names n;
    ELM_TRY(dir_names_get(final_dir, &n));
    struct stat sb;
    int have_final = lstat(n.clean, &sb) == 0;
    elm_status st = ELM_OK;
    if (!have_final && errno != ENOENT) {
        st = elm_err(ELM_E_IO, "%s: %s", final_dir, strerror(errno));
        dir_names_free(&n);
        return st;
    }
    if (have_final && !cleanup) {
        dir_names_free(&n);
        return ELM_OK;
    }
    size_t count = 0, cap = 0;
    char **names = NULL;
    int *is_old = NULL;
    DIR *d = opendir(n.parent);
    if (!d) {
        if (errno != ENOENT) /* no parent: nothing to recover */
            st = elm_err(ELM_E_IO, "%s: cannot list %s: %s", final_dir, n.parent, strerror(errno));
        goto out;
    }
    /* Collect first, act after: the directory is not changed while listed. */
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char kind;
        if (!sibling_kind(e->d_name, strlen(e->d_name), n.base, &kind))
            continue;
        int o = kind == 'o';
        if (count == cap) {
            size_t nc = cap ? 2 * cap : 8;
            char **nn = realloc(names, nc * sizeof *names);
            if (nn)
                names = nn;
            int *no = nn ? realloc(is_old, nc * sizeof *is_old) : NULL;
            if (no)
                is_old = no;
            if (!nn || !no) {
                st = elm_err(ELM_E_NOMEM, "%s: out of memory", final_dir);
                goto out;
            }
            cap = nc;
        }
        names[count] = malloc(strlen(n.parent) + strlen(e->d_name) + 2);
        if (!names[count]) {
            st = elm_err(ELM_E_NOMEM, "%s: out of memory", final_dir);
            goto out;
        }
        sprintf(names[count], "%s/%s", n.parent, e->d_name);
        is_old[count++] = o;
    }
    closedir(d);
    d = NULL;

    size_t restored = count;
    if (!have_final) {
        /* The crash came between the commit's two renames: the backup made
         * by that commit is the complete previous directory. Empty
         * directories (reservations of older versions) are never it; among
         * the others the newest wins (older ones are leftovers of commits
         * that completed). */
        size_t best = count;
        struct stat bsb;
        memset(&bsb, 0, sizeof bsb);
        for (size_t i = 0; i < count; i++) {
            struct stat s;
            if (!is_old[i] || lstat(names[i], &s) != 0 || !S_ISDIR(s.st_mode) || !dir_has_entries(names[i]))
                continue;
            int c = best == count ? 1 : ts_cmp(s.st_mtim, bsb.st_mtim);
            if (c == 0)
                c = ts_cmp(s.st_ctim, bsb.st_ctim);
            if (c == 0)
                c = strcmp(names[i], names[best]);
            if (c > 0) {
                best = i;
                bsb = s;
            }
        }
        if (best < count) {
            if (rename(names[best], n.clean) != 0) {
                st = elm_err(ELM_E_IO, "%s: cannot restore backup %s: %s", final_dir, names[best],
                             strerror(errno));
                goto out;
            }
            restored = best;
            have_final = 1;
            if ((st = elm_fsync_dir(n.parent)) != ELM_OK)
                goto out;
        }
    }
    if (cleanup && count > 0) {
        for (size_t i = 0; i < count; i++)
            if (i != restored)
                rmtree(names[i]);
        st = elm_fsync_dir(n.parent);
    }
out:
    if (d)
        closedir(d);
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    free(is_old);
    dir_names_free(&n);
    return st;
}

elm_status elm_atomic_dir_recover(const char *final_dir)
{
    return recover(final_dir, 1);
}

elm_status elm_atomic_dir_prepare_read(const char *final_dir)
{
    return recover(final_dir, 0);
}
