"""Large buffers without a page fault per page: glibc's malloc tuned for processes that
handle many buffers of a MiB or so (the batch opening decrypts 1 MiB bids one after another).

By default glibc serves every allocation above its mmap threshold (128 KiB, raised now and
then by its own heuristics) with a fresh ``mmap`` and gives it back with ``munmap``: each
1 MiB buffer then costs ~256 page faults to zero-fill, and PyNaCl's decryption and the ZIP
reader make several per bid. Measured (bench/RESULTS.md, the opening of 2,000 × 1 MiB):
reading a package 1.46 → 0.55 ms, the whole opener ~3.9× → ~2.7× the bare decryption.
:func:`keep_large_buffers` raises the mmap threshold (buffers up to 32 MiB come from the
heap and are reused) and the trim threshold (the heap keeps up to 256 MiB of free memory
rather than returning it at once). A process-wide setting, harmless elsewhere; without
glibc (musl, macOS) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's largest accepted value on 64-bit (HEAP_MAX_SIZE / 2)
TRIM_THRESHOLD = 256 * 1024 * 1024

_done: bool | None = None


def keep_large_buffers() -> bool:
    """Tune glibc's malloc once per process; True when it took effect."""
    global _done
    if _done is None:
        try:
            mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
        except (OSError, AttributeError):
            _done = False
        else:
            mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
            _done = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _done
