"""Renaming without replacing: renameat2(RENAME_NOREPLACE), which the os module does not offer.

Checking that the destination is free and then renaming lets a name appear in between and be
silently replaced; the kernel's flag makes the check and the rename one step.
"""

from __future__ import annotations

import ctypes
import os

__all__ = ["rename_noreplace"]

_RENAME_NOREPLACE = 1  # from <linux/fs.h>
_libc = ctypes.CDLL(None, use_errno=True)
_renameat2 = _libc.renameat2
_renameat2.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
_renameat2.restype = ctypes.c_int


def rename_noreplace(src: str, dst: str, *, src_dir_fd: int, dst_dir_fd: int) -> None:
    """Rename ``src`` to ``dst`` (each relative to its directory descriptor); neither is followed
    if it is a symbolic link. ``FileExistsError`` if ``dst`` exists, as any other OSError."""
    if _renameat2(src_dir_fd, os.fsencode(src), dst_dir_fd, os.fsencode(dst), _RENAME_NOREPLACE):
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), src, None, dst)
