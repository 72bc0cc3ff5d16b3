/* upload_file — the file an upload's body goes into: creating it (unnamed
 * with O_TMPFILE where the file system can, else with a reserved temporary
 * name), naming it when it is committed, and dropping it when it will not
 * land. Every function here may wait for the disk: they run on an I/O
 * thread (upload_store.c hands them over), except where a caller says.
 *
 * Leaves out: what goes into the file and when (upload_store.c), and the
 * checks of the request (upload.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "upload_internal.h"

static int upload_temp_name(char name[UPLOAD_TMP_NAME_SIZE])
{
    static const size_t prefix_len = sizeof UPLOAD_TMP_PREFIX - 1;
    memcpy(name, UPLOAD_TMP_PREFIX, prefix_len);
    return upload_random_hex(name + prefix_len, UPLOAD_TMP_RANDOM_HEX);
}

/* Create a new temporary file in dir_fd; its name goes to name. fd or
 * -errno. Plain openat, not static_open_beneath: the name is one component
 * we made, O_CREAT|O_EXCL never follows a symlink, and openat2 would need
 * the mode passed in struct open_how. */
static int upload_create_temp(int dir_fd, unsigned mode, char name[UPLOAD_TMP_NAME_SIZE])
{
    for (int tries = 0; tries < UPLOAD_NAME_TRIES; tries++) {
        int rc = upload_temp_name(name);
        if (rc < 0)
            return rc;
        int fd = openat(dir_fd, name,
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC,
                        (mode_t)mode);
        if (fd >= 0)
            return fd;
        if (errno != EEXIST)
            return -errno;
    }
    return -EEXIST;
}

/* Create an unnamed file in dir_fd (O_TMPFILE). fd, -EOPNOTSUPP if the
 * file system cannot (the kernel says so with EOPNOTSUPP, or EISDIR and
 * EINVAL where O_TMPFILE is not understood at all), or another -errno. */
static int upload_create_unnamed(int dir_fd, unsigned mode)
{
    int fd = openat(dir_fd, ".", O_TMPFILE | O_WRONLY | O_NOCTTY | O_CLOEXEC, (mode_t)mode);
    if (fd >= 0)
        return fd;
    if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)
        return -EOPNOTSUPP;
    return -errno;
}

/* (thread) Give the unnamed file u->tmp_fd a temporary name in u->dir_fd.
 * linkat through /proc/self/fd, not AT_EMPTY_PATH: that one needs
 * CAP_DAC_READ_SEARCH, which a worker running as a user does not have.
 * linkat never replaces a name, so a collision is EEXIST. 0 or -errno. */
int upload_name_unnamed(struct upload *u)
{
    char proc[sizeof "/proc/self/fd/" + 3 * sizeof(int)];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", u->tmp_fd);
    for (int tries = 0; tries < UPLOAD_NAME_TRIES; tries++) {
        int rc = upload_temp_name(u->tmp_name);
        if (rc < 0)
            return rc;
        if (linkat(AT_FDCWD, proc, u->dir_fd, u->tmp_name, AT_SYMLINK_FOLLOW) == 0) {
            u->tmp_exists = true;
            return 0;
        }
        if (errno != EEXIST)
            return -errno;
    }
    return -EEXIST;
}

/* (thread) Give a POST's temporary file its final name: a new random one in
 * path (after the collection), never replacing an existing file. 0 or
 * -errno. */
int upload_link_new_name(struct upload *u)
{
    char *name = u->path + u->name_off;
    for (int tries = 0; tries < UPLOAD_NAME_TRIES; tries++) {
        int rc = upload_random_hex(name, UPLOAD_POST_NAME_HEX);
        if (rc < 0)
            return rc;
        if (renameat2(u->dir_fd, u->tmp_name, u->dir_fd, name, RENAME_NOREPLACE) == 0)
            return 0;
        if (errno == EINVAL) {
            /* The file system has no RENAME_NOREPLACE: link, which never
             * replaces either, then drop the temporary name. */
            if (linkat(u->dir_fd, u->tmp_name, u->dir_fd, name, 0) == 0) {
                if (unlinkat(u->dir_fd, u->tmp_name, 0) < 0)
                    return -errno;
                return 0;
            }
        }
        if (errno != EEXIST)
            return -errno;
    }
    return -EEXIST;
}

/* (thread, or the loop when the pool is full) Close the file and drop its
 * temporary name if it has one: an upload that will not land. The unlink
 * and the close of a large unnamed file free its blocks, which may wait
 * for the disk. Returns the errno of a failed unlink, or 0. */
int upload_drop_files(struct upload *u)
{
    int err = 0;
    if (u->tmp_fd >= 0) {
        close(u->tmp_fd);
        u->tmp_fd = -1;
    }
    if (u->tmp_exists) {
        if (unlinkat(u->dir_fd, u->tmp_name, 0) < 0)
            err = errno;
        u->tmp_exists = false;
    }
    if (u->dir_fd >= 0) {
        close(u->dir_fd);
        u->dir_fd = -1;
    }
    return err;
}

/* Create the file for the body in u->dir_fd: unnamed if the file system
 * can, else named. fd or -errno. */
int upload_create_body_file(struct upload *u, unsigned mode)
{
    int fd = upload_create_unnamed(u->dir_fd, mode);
    u->tmp_unnamed = fd >= 0;
    if (fd == -EOPNOTSUPP)
        fd = upload_create_temp(u->dir_fd, mode, u->tmp_name);
    return fd;
}

