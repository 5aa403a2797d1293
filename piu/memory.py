"""Process-wide memory settings for the data-heavy commands (ingest, score)."""

from __future__ import annotations


def keep_freed_memory() -> None:
    """Let the allocators keep freed memory for reuse instead of returning it to the system at once.

    Ingest and scoring allocate and free column-sized arrays many times; by default Arrow's
    allocator (mimalloc) gives freed pages back within milliseconds and glibc maps each array over
    a dynamic threshold afresh, so the same pages are faulted in again and again: ingesting a
    50,000-call file took ~120,000 page faults and ~1.5 s of system CPU, ~0.4 s with these
    settings (peak memory up ~10%); a full score of that store 0.5-1.2 s of system CPU, ~0.3 s.
    Settings already made by the user (environment variables) are left alone; the environment
    variable only counts if pyarrow is not imported yet, and only glibc has mallopt.
    """
    import os

    os.environ.setdefault("MIMALLOC_PURGE_DELAY", "-1")
    if any(k in os.environ for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")):
        return
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return
        import ctypes

        libc = ctypes.CDLL(None)
        m_trim_threshold, m_mmap_threshold = -1, -3
        libc.mallopt(m_mmap_threshold, 32 << 20)   # arrays up to 32 MB come from the heap, reused
        libc.mallopt(m_trim_threshold, 256 << 20)  # and up to 256 MB of freed heap stays mapped
    except (ValueError, OSError, AttributeError):
        pass
