"""Why a mapping failed, in a sentence a person can act on.

The kernel answers a refused ``open``/``mmap`` with a bare errno; the reasons
behind it are scattered: drivers/char/mem.c (``/dev/mem`` needs
CAP_SYS_RAWIO; ``range_is_allowed``/``devmem_is_allowed`` refuse System RAM
and, with CONFIG_STRICT_DEVMEM + CONFIG_IO_STRICT_DEVMEM, ranges a driver
requested, unless the kernel was booted with ``iomem=relaxed``),
drivers/pci/pci-sysfs.c (``pci_mmap_resource``: lockdown
LOCKDOWN_PCI_ACCESS gives EPERM, an exclusive (driver-held) range gives
EINVAL), security/lockdown (``/sys/kernel/security/lockdown``), and the PCI
command register (bit 1, memory space decode: off means every read returns
all-ones). These functions read the same sources and say which one it was.
"""

from __future__ import annotations

import errno
import gzip
import os
from pathlib import Path

from .procfs import Iomem, IomemUnavailable, describe_owner, read_iomem


def _path(root: str | Path, rel: str) -> Path:
    return Path(root) / rel.lstrip("/")


def lockdown_mode(root: str | Path = "/") -> str | None:
    """The active lockdown mode (``none``, ``integrity``, ``confidentiality``), or
    None when the kernel has no lockdown LSM (the file is absent)."""
    try:
        text = _path(root, "sys/kernel/security/lockdown").read_text()
    except OSError:
        return None
    for word in text.split():
        if word.startswith("[") and word.endswith("]"):
            return word[1:-1]
    return None


def kernel_cmdline(root: str | Path = "/") -> list[str]:
    try:
        return _path(root, "proc/cmdline").read_text().split()
    except OSError:
        return []


def iomem_policy(root: str | Path = "/") -> str:
    """``relaxed``, ``strict`` (strict wins when both are given) or ``default``
    (what CONFIG_IO_STRICT_DEVMEM says: strict on Debian's kernels)."""
    args = kernel_cmdline(root)
    if "iomem=strict" in args:
        return "strict"
    if "iomem=relaxed" in args:
        return "relaxed"
    return "default"


def kernel_config(option: str, root: str | Path = "/") -> str | None:
    """A CONFIG_ value of the running kernel (``y``, ``m``, ``n``), from
    /boot/config-RELEASE or /proc/config.gz; None when neither is there."""
    release = os.uname().release
    candidates = [(_path(root, f"boot/config-{release}"), False),
                  (_path(root, "proc/config.gz"), True)]
    for path, zipped in candidates:
        try:
            raw = path.read_bytes()
            text = gzip.decompress(raw).decode() if zipped else raw.decode()
        except (OSError, EOFError, ValueError):
            continue
        for line in text.splitlines():
            if line.startswith(option + "="):
                return line.split("=", 1)[1]
            if line == f"# {option} is not set":
                return "n"
    return None


def _is_root() -> bool:
    return os.geteuid() == 0


def explain_open(err: OSError, path: str | Path, needs: str = "root") -> str:
    """Why opening ``path`` failed."""
    name = str(path)
    if err.errno in (errno.EACCES, errno.EPERM):
        if not _is_root():
            return (f"cannot open {name}: permission denied; it needs {needs} "
                    f"(run with sudo, or as root)")
        return f"cannot open {name}: {err.strerror} even as root"
    if err.errno == errno.ENOENT:
        return f"cannot open {name}: it does not exist"
    if err.errno == errno.EBUSY:
        return f"cannot open {name}: it is busy (another process or driver has it open)"
    return f"cannot open {name}: {err.strerror}"


def explain_devmem(err: OSError, start: int, end: int, *, stage: str = "mmap",
                   root: str | Path = "/", path: str = "/dev/mem",
                   iomem: Iomem | None = None, policy: str | None = None,
                   is_root: bool | None = None) -> str:
    """Why /dev/mem refused ``[start, end]`` (``stage`` is ``open`` or ``mmap``).

    ``iomem``, ``policy`` and ``is_root`` stand in for /proc/iomem, the ``iomem=``
    of /proc/cmdline and the caller's uid (a simulated kernel passes its own)."""
    rng = f"[mem {start:#010x}-{end:#010x}]"
    mode = lockdown_mode(root) if iomem is None else None
    root_user = _is_root() if is_root is None else is_root
    if stage == "open":
        if err.errno in (errno.EACCES, errno.EPERM) and not root_user:
            return (f"cannot open {path}: permission denied; /dev/mem needs root "
                    f"(CAP_SYS_RAWIO)")
        if err.errno == errno.EPERM and mode in ("integrity", "confidentiality"):
            return (f"cannot open {path}: the kernel is locked down ({mode}, "
                    f"/sys/kernel/security/lockdown), which forbids /dev/mem; boot with "
                    f"lockdown=none (and Secure Boot off) or use PCI sysfs, UIO or VFIO")
        if err.errno == errno.ENOENT:
            return (f"cannot open {path}: it does not exist (the kernel is built without "
                    f"CONFIG_DEVMEM, or this container does not expose it)")
        return explain_open(err, path, "root (CAP_SYS_RAWIO)")
    if err.errno == errno.EPERM:
        if policy is None:
            policy = iomem_policy(root)
        if iomem is None:
            try:
                iomem = read_iomem(_path(root, "proc/iomem"))
            except (OSError, IomemUnavailable, ValueError):
                iomem = None
        owners = iomem.owners(start, end) if iomem else []
        ram = [e for e in owners if e.name == "System RAM" or e.name.startswith("Kernel ")]
        if ram:
            return (f"/dev/mem refused to map {rng} (EPERM): it is System RAM "
                    f"({describe_owner(ram[-1])}), which CONFIG_STRICT_DEVMEM never lets "
                    f"/dev/mem map, iomem=relaxed or not")
        claims = [e for e in owners if e.kind == "claim"]
        if claims:
            held = claims[-1]
            if policy == "relaxed":
                return (f"/dev/mem refused to map {rng} (EPERM) although the kernel runs with "
                        f"iomem=relaxed: {describe_owner(held)} marked it exclusive "
                        f"(IORESOURCE_EXCLUSIVE); unbind that driver")
            return (f"/dev/mem refused to map {rng} (EPERM): it is held by "
                    f"{describe_owner(held)}, and with CONFIG_STRICT_DEVMEM + "
                    f"CONFIG_IO_STRICT_DEVMEM the kernel keeps /dev/mem off ranges a driver "
                    f"requested; unbind the driver, or boot with iomem=relaxed "
                    f"(the kernel command line has no iomem=relaxed)")
        hint = "" if iomem is not None else " (/proc/iomem was not readable to say who holds it)"
        return (f"/dev/mem refused to map {rng} (EPERM): CONFIG_STRICT_DEVMEM allows only "
                f"ranges no driver holds and that are not RAM{hint}; boot with "
                f"iomem=relaxed to lift the driver rule, or use PCI sysfs/UIO/VFIO")
    if err.errno == errno.EINVAL:
        return (f"/dev/mem refused to map {rng} (EINVAL): the range is beyond the CPU's "
                f"physical address width, or conflicts with the memory type of an existing "
                f"mapping (x86 PAT)")
    if err.errno == errno.EAGAIN:
        return (f"/dev/mem refused to map {rng} (EAGAIN): the range is mapped elsewhere "
                f"with a conflicting memory type (x86 PAT)")
    return f"/dev/mem could not map {rng}: {err.strerror}"


def explain_pci_mmap(err: OSError, dev: object, bar: int, *, wc: bool = False,
                     root: str | Path = "/") -> str:
    """Why mmap of a PCI function's ``resourceN`` (or ``resourceN_wc``) failed."""
    from .pci import PciDevice  # circular at import time only

    assert isinstance(dev, PciDevice)
    fname = f"resource{bar}{'_wc' if wc else ''}"
    where = f"{dev.bdf} BAR{bar} ({fname})"
    if err.errno in (errno.EACCES, errno.EPERM):
        if not _is_root():
            return f"cannot map {where}: permission denied; PCI resource files need root"
        mode = lockdown_mode(root)
        if mode in ("integrity", "confidentiality"):
            return (f"cannot map {where}: the kernel is locked down ({mode}, "
                    f"/sys/kernel/security/lockdown), which forbids PCI BAR access from "
                    f"userspace (LOCKDOWN_PCI_ACCESS); use VFIO instead")
        return f"cannot map {where}: {err.strerror}"
    if err.errno == errno.ENOENT and wc:
        res = dev.resource(bar)
        if res.is_mem and not res.prefetchable:
            return (f"cannot map {where}: BAR{bar} is not prefetchable, and the kernel offers "
                    f"write-combining (resource{bar}_wc) only for prefetchable BARs, since "
                    f"merged or reordered stores to registers break devices; map resource{bar}")
        return f"cannot map {where}: there is no {fname}"
    if err.errno == errno.ENOENT:
        return (f"cannot map {where}: sysfs has no {fname} for it; this kernel does not "
                f"create BAR files (no PCI mmap support on the architecture), or sysfs is "
                f"not the host's")
    if err.errno == errno.EINVAL:
        held = dev.claims(bar)
        if held:
            policy = iomem_policy(root)
            tail = ("; boot with iomem=relaxed, or unbind the driver" if policy != "relaxed"
                    else "; unbind the driver")
            return (f"cannot map {where} (EINVAL): the range is held by {describe_owner(held[-1])}"
                    f" and the kernel treats it as exclusive (CONFIG_IO_STRICT_DEVMEM)" + tail)
        return (f"cannot map {where} (EINVAL): the mapping does not fit the BAR "
                f"(size or offset), or the BAR is not a memory BAR")
    return f"cannot map {where}: {err.strerror}"


def explain_decode_off(dev: object, bar: int) -> str:
    """A memory BAR of a function whose memory decode is off reads all-ones."""
    from .pci import PciDevice

    assert isinstance(dev, PciDevice)
    return (f"{dev.bdf} has memory decode off (bit 1 of the PCI command register is 0), so "
            f"BAR{bar} answers every read with all-ones and drops every write; enable the "
            f"device (echo 1 > {dev.path}/enable, or enable=True / --enable) or bind its driver")
