"""Error numbers and ERR_PTR (include/uapi/asm-generic/errno-base.h, include/linux/err.h).

Kernel functions return what the kernel returns: NULL is ``None`` and an
error pointer is an :class:`ErrPtr` that ``IS_ERR`` recognises and
``PTR_ERR`` turns back into the negative errno.
"""

from __future__ import annotations

EPERM = 1
ENOENT = 2
EINTR = 4
EIO = 5
ENXIO = 6
E2BIG = 7
EBADF = 9
EAGAIN = 11
ENOMEM = 12
EACCES = 13
EFAULT = 14
EBUSY = 16
EEXIST = 17
ENODEV = 19
EINVAL = 22
ENOTTY = 25
ENOSPC = 28
ERANGE = 34
ENOSYS = 38
ENODATA = 61
EOVERFLOW = 75
ENOTCONN = 107
ETIMEDOUT = 110
EPROBE_DEFER = 517

NAMES = {v: k for k, v in dict(globals()).items() if k.startswith("E") and isinstance(v, int)}

MAX_ERRNO = 4095


class ErrPtr:
    """An ``ERR_PTR(-errno)``: a pointer value in the last page of the address space."""

    __slots__ = ("err",)

    def __init__(self, err: int) -> None:
        if not -MAX_ERRNO <= err < 0:
            raise ValueError(f"ERR_PTR needs a negative errno, not {err}")
        self.err = err

    @property
    def value(self) -> int:
        """The pointer bits, as the kernel would hold them (64-bit)."""
        return (1 << 64) + self.err

    def __repr__(self) -> str:
        return f"ERR_PTR(-{NAMES.get(-self.err, -self.err)})"

    def __bool__(self) -> bool:  # an ERR_PTR is a non-NULL pointer
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ErrPtr) and other.err == self.err

    def __hash__(self) -> int:
        return hash(("ErrPtr", self.err))


def ERR_PTR(err: int) -> ErrPtr:  # noqa: N802 - the kernel's name
    return ErrPtr(err)


def IS_ERR(ptr: object) -> bool:  # noqa: N802
    return isinstance(ptr, ErrPtr)


def IS_ERR_OR_NULL(ptr: object) -> bool:  # noqa: N802
    return ptr is None or isinstance(ptr, ErrPtr)


def PTR_ERR(ptr: object) -> int:  # noqa: N802
    if isinstance(ptr, ErrPtr):
        return ptr.err
    raise TypeError(f"PTR_ERR of a pointer that is not an ERR_PTR: {ptr!r}")


def PTR_ERR_OR_ZERO(ptr: object) -> int:  # noqa: N802
    return ptr.err if isinstance(ptr, ErrPtr) else 0


def errname(err: int) -> str:
    """``-16`` -> ``EBUSY`` (for messages)."""
    return NAMES.get(abs(err), str(err))
