#!/usr/bin/python3
"""Run a program on what looks like a file system without O_TMPFILE.

Usage: no_tmpfile.py PROGRAM [ARG...]

Installs a seccomp filter that makes every openat(2) with O_TMPFILE in its
flags fail with EOPNOTSUPP, as NFS before 4.2 or a FUSE server without
tmpfile support answers, then execs PROGRAM (same PID; the filter is
inherited by its children). Lets the tests drive lingerd's named temporary
file fallback on any file system, with nothing test-only in the product.
Linux x86_64 and aarch64 only; exits 77 elsewhere.
"""

import ctypes
import errno
import os
import platform
import struct
import sys

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
__O_TMPFILE = 0o20000000  # the bit that O_TMPFILE adds to O_DIRECTORY

# (audit arch, openat syscall number)
ARCHES = {"x86_64": (0xC000003E, 257), "aarch64": (0xC00000B7, 56)}

BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_JSET_K = 0x45
BPF_RET_K = 0x06

# struct seccomp_data: int nr; __u32 arch; __u64 ip; __u64 args[6]
OFF_NR, OFF_ARCH, OFF_ARG2_LO = 0, 4, 16 + 2 * 8


def ins(code, jt, jf, k):
    return struct.pack("HBBI", code, jt, jf, k)


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: no_tmpfile.py PROGRAM [ARG...]")
    arch = ARCHES.get(platform.machine())
    if arch is None:
        sys.exit(77)
    audit_arch, nr_openat = arch
    prog = b"".join([
        ins(BPF_LD_W_ABS, 0, 0, OFF_ARCH),
        ins(BPF_JEQ_K, 0, 4, audit_arch),          # another ABI: allow
        ins(BPF_LD_W_ABS, 0, 0, OFF_NR),
        ins(BPF_JEQ_K, 0, 2, nr_openat),           # not openat: allow
        ins(BPF_LD_W_ABS, 0, 0, OFF_ARG2_LO),
        ins(BPF_JSET_K, 1, 0, __O_TMPFILE),        # O_TMPFILE: refuse
        ins(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
        ins(BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | errno.EOPNOTSUPP),
    ])
    buf = ctypes.create_string_buffer(prog, len(prog))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(len(prog) // 8, ctypes.cast(buf, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong,
                           ctypes.c_ulong]
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, None, 0, 0) != 0 or \
            libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        err = ctypes.get_errno()
        sys.exit("no_tmpfile.py: seccomp: %s" % os.strerror(err))
    os.execv(sys.argv[1], sys.argv[1:])


if __name__ == "__main__":
    main()
