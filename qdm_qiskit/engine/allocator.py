"""Keep glibc from returning large state buffers to the OS between training steps.

A batch of states at n = 12, B = 256 is 8 MiB, at glibc's dynamic mmap threshold: each step then
maps fresh pages and page-faults on them, which made the n = 12 training step 1.4x slower and the
forward pass with autograd 3.5x slower here. Raising the mmap and trim thresholds keeps the
buffers in the heap. This is process-wide, so it is an explicit call made by the entry points
(trainer, CLI, benchmarks), never done on import.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: glibc caps the mmap threshold at 32 MiB on 64-bit (HEAP_MAX / 2); larger values are refused.
_THRESHOLD = 32 * 1024 * 1024


def keep_state_buffers() -> bool:
    """Raise glibc's mmap/trim thresholds; True if applied (False off glibc, e.g. macOS)."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    applied = mallopt(_M_MMAP_THRESHOLD, _THRESHOLD) == 1
    return bool(mallopt(_M_TRIM_THRESHOLD, 4 * _THRESHOLD) == 1 and applied)
