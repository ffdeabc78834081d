#include "io/atomic.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

elm_status elm_atomic_dir_begin(const char *final_dir, char **tmpdir)
{
    if (!tmpdir)
        return elm_err(ELM_E_INVALID, "elm_atomic_dir_begin: invalid argument 'tmpdir'");
    *tmpdir = NULL;
    if (!final_dir || !*final_dir)
        return elm_err(ELM_E_INVALID, "elm_atomic_dir_begin: invalid argument 'final_dir'");
    /* Tolerate a trailing slash ("out/adapter/"). */
    char *clean = strdup(final_dir);
    if (!clean)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", final_dir);
    for (size_t n = strlen(clean); n > 1 && clean[n - 1] == '/'; n--)
        clean[n - 1] = '\0';
    char *dir;
    const char *base;
    elm_status st = split_path(clean, &dir, &base);
    if (st != ELM_OK) {
        free(clean);
        return st;
    }
    char *tmpl = sibling_template(dir, base, "tmp");
    free(dir);
    free(clean);
    if (!tmpl)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", final_dir);
    if (!mkdtemp(tmpl)) {
        st = elm_err(ELM_E_IO, "%s: cannot create temporary directory %s: %s", final_dir, tmpl,
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
    elm_status st = ELM_OK;
    char *clean = strdup(final_dir), *parent = NULL, *backup = NULL;
    const char *base;
    if (!clean) {
        st = elm_err(ELM_E_NOMEM, "%s: out of memory", final_dir);
        goto out_abort;
    }
    for (size_t n = strlen(clean); n > 1 && clean[n - 1] == '/'; n--)
        clean[n - 1] = '\0';
    if ((st = split_path(clean, &parent, &base)) != ELM_OK)
        goto out_abort;

    /* Everything written inside tmpdir reaches the disk before it can
     * become visible under the final name. */
    if (nftw(tmpdir, sync_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
        st = elm_err(ELM_E_IO, "%s: fsync of %s failed: %s", final_dir, tmpdir, strerror(errno));
        goto out_abort;
    }

    struct stat sb;
    if (lstat(clean, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode)) {
            st = elm_err(ELM_E_IO, "%s: exists and is not a directory", final_dir);
            goto out_abort;
        }
        backup = sibling_template(parent, base, "old");
        if (!backup) {
            st = elm_err(ELM_E_NOMEM, "%s: out of memory", final_dir);
            goto out_abort;
        }
        /* Reserve a unique name; rename(2) may replace an empty directory. */
        if (!mkdtemp(backup)) {
            st = elm_err(ELM_E_IO, "%s: cannot create backup name %s: %s", final_dir, backup,
                         strerror(errno));
            goto out_abort;
        }
        if (rename(clean, backup) != 0) {
            st = elm_err(ELM_E_IO, "%s: cannot move old directory to %s: %s", final_dir, backup,
                         strerror(errno));
            rmdir(backup);
            goto out_abort;
        }
        if ((st = elm_fsync_dir(parent)) != ELM_OK)
            goto out_restore;
    } else if (errno != ENOENT) {
        st = elm_err(ELM_E_IO, "%s: %s", final_dir, strerror(errno));
        goto out_abort;
    }

    if (rename(tmpdir, clean) != 0) {
        st = elm_err(ELM_E_IO, "%s: cannot move %s into place: %s", final_dir, tmpdir,
                     strerror(errno));
        goto out_restore;
    }
    st = elm_fsync_dir(parent);
    if (backup) {
        rmtree(backup);
        elm_status st2 = elm_fsync_dir(parent);
        if (st == ELM_OK)
            st = st2;
    }
    free(backup);
    free(parent);
    free(clean);
    free(tmpdir);
    return st;

out_restore:
    if (backup && rename(backup, clean) == 0)
        (void)elm_fsync_dir(parent);
out_abort:
    free(backup);
    free(parent);
    free(clean);
    elm_atomic_dir_abort(tmpdir);
    return st;
}

static int has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

elm_status elm_atomic_dir_recover(const char *final_dir)
{
    if (!final_dir || !*final_dir)
        return elm_err(ELM_E_INVALID, "elm_atomic_dir_recover: invalid argument 'final_dir'");
    char *clean = strdup(final_dir), *parent = NULL;
    const char *base;
    if (!clean)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", final_dir);
    for (size_t n = strlen(clean); n > 1 && clean[n - 1] == '/'; n--)
        clean[n - 1] = '\0';
    elm_status st = split_path(clean, &parent, &base);
    if (st != ELM_OK) {
        free(clean);
        return st;
    }
    size_t nb = strlen(base) + 8;
    char *tmp_prefix = malloc(nb), *old_prefix = malloc(nb);
    DIR *d = NULL;
    if (!tmp_prefix || !old_prefix) {
        st = elm_err(ELM_E_NOMEM, "%s: out of memory", final_dir);
        goto out;
    }
    snprintf(tmp_prefix, nb, ".%s.tmp.", base);
    snprintf(old_prefix, nb, ".%s.old.", base);
    d = opendir(parent);
    if (!d) {
        st = elm_err(ELM_E_IO, "%s: cannot list %s: %s", final_dir, parent, strerror(errno));
        goto out;
    }
    struct stat sb;
    int have_final = lstat(clean, &sb) == 0;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)) != NULL) {
        int is_tmp = has_prefix(e->d_name, tmp_prefix), is_old = has_prefix(e->d_name, old_prefix);
        if (!is_tmp && !is_old)
            continue;
        snprintf(path, sizeof path, "%s/%s", parent, e->d_name);
        if (is_old && !have_final) {
            if (rename(path, clean) != 0) {
                st = elm_err(ELM_E_IO, "%s: cannot restore backup %s: %s", final_dir, path,
                             strerror(errno));
                goto out;
            }
            have_final = 1;
            continue;
        }
        rmtree(path);
    }
    st = elm_fsync_dir(parent);
out:
    if (d)
        closedir(d);
    free(tmp_prefix);
    free(old_prefix);
    free(parent);
    free(clean);
    return st;
}
