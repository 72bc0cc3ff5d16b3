/* fault_shim — test-only LD_PRELOAD library: disk faults for marked paths.
 *
 * Built by tests/integration/test_upload_io.py (cc -shared); never part of
 * the server. It wraps fsync, fdatasync, renameat and renameat2 and acts
 * only on paths that contain a marker the test chose, so every other file
 * (logs, other uploads) behaves as usual:
 *
 *   LINGERD_FAULT_FSYNC_EIO=MARK    fsync/fdatasync of a file or directory
 *                                   whose path contains MARK fails with EIO
 *   LINGERD_FAULT_FDATASYNC_EIO=MARK  only fdatasync fails so (fsync works)
 *   LINGERD_FAULT_RENAME_EIO=MARK   a rename whose new name contains MARK
 *                                   fails with EIO (nothing is renamed)
 *   LINGERD_FAULT_FSYNC_HOLD=MARK   fsync of such a path waits, first
 *   LINGERD_FAULT_HOLD_DIR=DIR      creating DIR/started-<n> (n counts the
 *                                   held calls), until DIR/release exists
 *                                   (checked every 5 ms, at most 60 s), then
 *                                   does the real fsync
 *   LINGERD_FAULT_SPLICE_EINVAL=MARK  splice into such a file fails with
 *                                   EINVAL (a file system without splice)
 *   LINGERD_FAULT_SPLICE_HOLD=MARK  splice into such a file waits first, as
 *                                   an fsync with FSYNC_HOLD
 *   LINGERD_FAULT_SIOCINQ_DELAY_US=N  ioctl SIOCINQ waits N microseconds
 *                                   first (a thread put off between two
 *                                   calls, as on a busy machine)
 *
 * The path of an fd is read from /proc/self/fd: an unnamed (O_TMPFILE)
 * file shows as "<its directory>/#<inode> (deleted)", so marking a
 * directory marks the files being uploaded into it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HOLD_POLL_NS (5 * 1000 * 1000)
#define HOLD_MAX_POLLS (60 * 200)

static atomic_int held_count;

static int fd_is_marked(int fd, const char *env)
{
    const char *mark = getenv(env);
    if (!mark || !*mark)
        return 0;
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n < 0)
        return 0;
    path[n] = '\0';
    return strstr(path, mark) != NULL;
}

static int name_is_marked(const char *name, const char *env)
{
    const char *mark = getenv(env);
    return mark && *mark && name && strstr(name, mark) != NULL;
}

/* Wait for the test's release file, after saying that we wait. */
static void hold(void)
{
    const char *dir = getenv("LINGERD_FAULT_HOLD_DIR");
    if (!dir)
        return;
    char path[4096];
    int n = atomic_fetch_add(&held_count, 1) + 1;
    snprintf(path, sizeof path, "%s/started-%d", dir, n);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0)
        close(fd);
    snprintf(path, sizeof path, "%s/release", dir);
    struct timespec ts = { 0, HOLD_POLL_NS };
    for (int i = 0; i < HOLD_MAX_POLLS && access(path, F_OK) != 0; i++)
        nanosleep(&ts, NULL);
}

static int fault_sync(int fd, const char *real_name)
{
    if (fd_is_marked(fd, "LINGERD_FAULT_FSYNC_EIO")) {
        errno = EIO;
        return -1;
    }
    if (fd_is_marked(fd, "LINGERD_FAULT_FSYNC_HOLD"))
        hold();
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, real_name);
    return real(fd);
}

int fsync(int fd)
{
    return fault_sync(fd, "fsync");
}

int fdatasync(int fd)
{
    if (fd_is_marked(fd, "LINGERD_FAULT_FDATASYNC_EIO")) {
        errno = EIO;
        return -1;
    }
    return fault_sync(fd, "fdatasync");
}

int renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
    if (name_is_marked(newpath, "LINGERD_FAULT_RENAME_EIO")) {
        errno = EIO;
        return -1;
    }
    int (*real)(int, const char *, int, const char *) =
        (int (*)(int, const char *, int, const char *))dlsym(RTLD_NEXT, "renameat");
    return real(olddirfd, oldpath, newdirfd, newpath);
}

int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
              unsigned int flags)
{
    if (name_is_marked(newpath, "LINGERD_FAULT_RENAME_EIO")) {
        errno = EIO;
        return -1;
    }
    int (*real)(int, const char *, int, const char *, unsigned int) =
        (int (*)(int, const char *, int, const char *, unsigned int))dlsym(RTLD_NEXT,
                                                                            "renameat2");
    return real(olddirfd, oldpath, newdirfd, newpath, flags);
}

ssize_t splice(int fd_in, loff_t *off_in, int fd_out, loff_t *off_out, size_t len,
               unsigned int flags)
{
    if (fd_is_marked(fd_out, "LINGERD_FAULT_SPLICE_EINVAL")) {
        errno = EINVAL;
        return -1;
    }
    if (fd_is_marked(fd_out, "LINGERD_FAULT_SPLICE_HOLD"))
        hold();
    ssize_t (*real)(int, loff_t *, int, loff_t *, size_t, unsigned int) =
        (ssize_t (*)(int, loff_t *, int, loff_t *, size_t, unsigned int))dlsym(RTLD_NEXT,
                                                                                "splice");
    return real(fd_in, off_in, fd_out, off_out, len, flags);
}

int ioctl(int fd, unsigned long request, ...)
{
    va_list ap;
    va_start(ap, request);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    const char *delay = getenv("LINGERD_FAULT_SIOCINQ_DELAY_US");
    if (request == SIOCINQ && delay && *delay) {
        long us = atol(delay);
        struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
        nanosleep(&ts, NULL);
    }
    int (*real)(int, unsigned long, ...) =
        (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
    return real(fd, request, arg);
}
