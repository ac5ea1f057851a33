"""Host tools and Debian kernels for the VM lab, fetched with apt and cached on disk.

The lab runs only real parts (QEMU, Debian's stock kernel, busybox), so it gets
them the way a Debian user would: ``apt-get install`` for the host tools (as
root), and ``apt-get download`` + ``dpkg-deb -x`` for kernels and busybox of
any architecture. Downloads go through a private apt state (lists and cache
under the cache directory, one per architecture), so fetching an arm64 kernel
changes no system configuration and needs no root. A finished kernel is
recorded in a small manifest, so a warm run makes no apt call at all.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import lzma
import os
import platform
import re
import shutil
import struct
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from iomem.vm.errors import VMSetupError

Progress = Callable[[str], None]

#: Debian architectures the lab has machines for.
ARCHES = ("amd64", "arm64")


def _say(progress: Progress | None, message: str) -> None:
    if progress is not None:
        progress(message)


# --------------------------------------------------------------------------- paths


def cache_dir() -> Path:
    """Where the lab keeps kernels, busybox and initramfs images.

    ``$IOMEM_VM_CACHE`` if set, else ``$XDG_CACHE_HOME/iomem/vm`` (the XDG
    base-directory rule: a relative or empty value is ignored), else
    ``~/.cache/iomem/vm``.
    """
    explicit = os.environ.get("IOMEM_VM_CACHE")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "iomem" / "vm"


def host_arch() -> str:
    """The host's Debian architecture name (``amd64``, ``arm64``, ...)."""
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        machine, machine
    )


def is_root() -> bool:
    return os.geteuid() == 0


@contextlib.contextmanager
def cache_lock(root: Path | None = None) -> Iterator[Path]:
    """Hold the cache's lock, so two test runs never unpack into the same place."""
    root = root or cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield root
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- host tools


@dataclass(frozen=True)
class Tool:
    """An executable the lab runs on the host, and the Debian package that ships it."""

    command: str
    package: str


#: QEMU for each guest architecture.
QEMU_TOOLS = {
    "amd64": Tool("qemu-system-x86_64", "qemu-system-x86"),
    "arm64": Tool("qemu-system-aarch64", "qemu-system-arm"),
}
CPIO = Tool("cpio", "cpio")
#: Everything the lab installs in one go when it may (root with apt-get).
HOST_PACKAGES = ("qemu-system-x86", "qemu-system-arm", "busybox-static", "cpio")
#: Nice to have in the guest (its chroot runs the host's own tools): ``lspci -v``.
OPTIONAL_PACKAGES = ("pciutils",)
_SBIN_PATH = os.pathsep.join(["/usr/local/sbin", "/usr/sbin", "/sbin"])


def which(command: str) -> str | None:
    """``shutil.which`` that also looks in the sbin directories."""
    path = os.environ.get("PATH", os.defpath) + os.pathsep + _SBIN_PATH
    return shutil.which(command, path=path)


def package_installed(package: str) -> bool:
    """True if dpkg says ``package`` is installed (False on non-dpkg hosts)."""
    if which("dpkg-query") is None:
        return False
    proc = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode == 0 and proc.stdout.strip().endswith(" installed")


def missing_tools(arches: Sequence[str]) -> list[Tool]:
    """The host tools needed for guests of ``arches`` that are not on PATH."""
    needed = [QEMU_TOOLS[a] for a in arches] + [CPIO]
    return [t for t in needed if which(t.command) is None]


def install_hint(packages: Sequence[str]) -> str:
    return "sudo apt-get install --no-install-recommends " + " ".join(packages)


def ensure_host_tools(
    arches: Sequence[str] = ("amd64",),
    progress: Progress | None = None,
    install: bool | None = None,
) -> None:
    """Make sure QEMU for ``arches`` and cpio are there; install them with apt as root.

    ``install=None`` installs when running as root with apt-get available.
    Raises VMSetupError naming what is missing and how to get it.
    """
    for arch in arches:
        if arch not in QEMU_TOOLS:
            raise VMSetupError(f"no machine for architecture {arch!r}; known: {', '.join(ARCHES)}")
    if _may_install(install):
        packages = [
            p
            for p in (*HOST_PACKAGES, *OPTIONAL_PACKAGES)
            if p not in _install_tried and not package_installed(p)
        ]
        _install_tried.update(packages)  # one try per process: no apt run on every boot
        if packages:
            try:
                apt_install(packages, progress)
            except VMSetupError:
                if missing_tools(arches):
                    raise
                # Only nice-to-haves failed (pciutils, busybox-static): carry on.
    missing = missing_tools(arches)
    if missing:
        names = ", ".join(f"{t.command} (Debian package {t.package})" for t in missing)
        packages = sorted({t.package for t in missing})
        how = (
            f"install with: {install_hint(packages)}"
            if not is_root()
            else "apt-get could not install them; see the messages above"
        )
        if which("apt-get") is None:
            how = (
                "this host has no apt-get: install QEMU and cpio with the system's package manager"
            )
        raise VMSetupError(f"the VM lab needs {names}; {how}")


_install_tried: set[str] = set()


def _may_install(install: bool | None) -> bool:
    if install is None:
        return is_root() and which("apt-get") is not None
    return install


def apt_install(packages: Sequence[str], progress: Progress | None = None) -> None:
    """``apt-get update && apt-get install`` the given packages (root only)."""
    if not packages:
        return
    if not is_root():
        raise VMSetupError(f"installing packages needs root; run: {install_hint(packages)}")
    if which("apt-get") is None:
        raise VMSetupError("this host has no apt-get; install " + " ".join(packages) + " by hand")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    started = time.monotonic()
    _say(progress, "apt-get update")
    _run_apt(["apt-get", "update"], progress, env=env, what="apt-get update")
    _say(progress, "apt-get install " + " ".join(packages))
    _run_apt(
        [
            "apt-get",
            "install",
            "-y",
            "--no-install-recommends",
            "-o",
            "DPkg::Lock::Timeout=300",
            "-o",
            "APT::Status-Fd=1",
            *packages,
        ],
        progress,
        env=env,
        what="apt-get install " + " ".join(packages),
    )
    _say(progress, f"installed {' '.join(packages)} in {time.monotonic() - started:.1f} s")


_STATUS = re.compile(r"^(dlstatus|pmstatus):[^:]*:([0-9.]+):(.*)$")


def _run_apt(
    argv: Sequence[str],
    progress: Progress | None,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    what: str,
) -> str:
    """Run an apt command, turning its status lines into progress; raise on failure."""
    proc = subprocess.Popen(
        list(argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=cwd,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    last_step = -1
    for raw in proc.stdout:
        line = raw.rstrip("\n")
        lines.append(line)
        m = _STATUS.match(line)
        if m:
            kind, percent = m.group(1), float(m.group(2))
            step = int(percent // 20)
            if step != last_step:
                last_step = step
                label = "download" if kind == "dlstatus" else "install"
                _say(progress, f"  {label} {percent:5.1f}%  {m.group(3)}")
        elif line.startswith(("Get:", "Fetched", "E:", "W:")):
            _say(progress, "  " + line)
    status = proc.wait()
    output = "\n".join(lines)
    errors = [ln for ln in lines if ln.startswith("E:")]
    if status != 0:
        detail = "; ".join(e[2:].strip() for e in errors) or output[-500:]
        raise VMSetupError(f"{what} failed (exit {status}): {detail}")
    return output


# --------------------------------------------------------------------------- private apt


class PrivateApt:
    """apt-get for one Debian architecture with its own lists and cache.

    Uses the system's sources but never touches the system's apt state, so it
    works without root and for foreign architectures (``APT::Architecture``
    names the architecture on every call).
    """

    def __init__(self, arch: str, root: Path, progress: Progress | None = None) -> None:
        self.arch = arch
        self.root = root
        self.progress = progress
        self.fresh = False  # lists updated by this object: no point in updating again

    def options(self) -> list[str]:
        opts = [
            f"Dir::State::Lists={self.root / 'lists'}",
            f"Dir::Cache={self.root / 'cache'}",
            f"APT::Architecture={self.arch}",
            f"APT::Architectures::={self.arch}",
            "Acquire::Languages=none",
            "APT::Status-Fd=1",
        ]
        if is_root():
            # Files land in our cache, which apt's unprivileged _apt user may not reach.
            opts.append("APT::Sandbox::User=root")
        out: list[str] = []
        for opt in opts:
            out += ["-o", opt]
        return out

    def _check_tools(self) -> None:
        for tool in ("apt-get", "dpkg-deb"):
            if which(tool) is None:
                raise VMSetupError(
                    f"fetching Debian kernels needs {tool} (a Debian or Ubuntu host); "
                    f"not found on PATH"
                )

    @property
    def has_lists(self) -> bool:
        lists = self.root / "lists"
        return lists.is_dir() and any(lists.glob("*_Packages*"))

    def update(self) -> None:
        self._check_tools()
        for sub in ("lists/partial", "cache/archives/partial"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        _say(self.progress, f"apt-get update ({self.arch} package lists)")
        _run_apt(
            ["apt-get", *self.options(), "update"],
            self.progress,
            what=f"apt-get update for {self.arch}",
        )
        self.fresh = True

    def download(self, package: str, dest: Path) -> Path:
        """``apt-get download PACKAGE:ARCH`` into ``dest``; returns the .deb path."""
        self._check_tools()
        if not self.has_lists:
            self.update()
        dest.mkdir(parents=True, exist_ok=True)
        argv = ["apt-get", *self.options(), "download", f"{package}:{self.arch}"]
        what = f"apt-get download {package}:{self.arch}"
        _say(self.progress, what)
        try:
            _run_apt(argv, self.progress, cwd=dest, what=what)
        except VMSetupError as exc:
            error: VMSetupError | None = exc
            if not self.fresh:
                # The lists may be stale (the kernel moved on): refresh once and retry.
                self.update()
                try:
                    _run_apt(argv, self.progress, cwd=dest, what=what)
                    error = None
                except VMSetupError as again:
                    error = again
            if error is not None:
                raise VMSetupError(
                    f"cannot get Debian package {package} for {self.arch}: {error}. Check the "
                    f"name: apt-cache search '^linux-image-' lists the kernels of this host's "
                    f"architecture; other architectures have the same names with their own suffix"
                ) from None
        debs = sorted(
            list(dest.glob(f"{package}_*_{self.arch}.deb"))
            + list(dest.glob(f"{package}_*_all.deb")),
            key=lambda p: p.stat().st_mtime,
        )
        if not debs:
            raise VMSetupError(f"apt-get download {package}:{self.arch} left no .deb in {dest}")
        return debs[-1]


def deb_field(deb: Path, field: str) -> str:
    """One control field of a .deb (``dpkg-deb -f``)."""
    proc = subprocess.run(
        ["dpkg-deb", "-f", str(deb), field], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise VMSetupError(f"dpkg-deb cannot read {deb}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def deb_extract(deb: Path, dest: Path, progress: Progress | None = None) -> None:
    """Unpack ``deb`` into ``dest`` atomically (a half-unpacked tree is never seen)."""
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    size_mb = deb.stat().st_size / 1e6
    _say(progress, f"unpacking {deb.name} ({size_mb:.0f} MB)")
    started = time.monotonic()
    proc = subprocess.run(
        ["dpkg-deb", "-x", str(deb), str(tmp)], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise VMSetupError(f"dpkg-deb -x {deb.name} failed: {proc.stderr.strip()}")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    _say(progress, f"  unpacked in {time.monotonic() - started:.1f} s")


def image_dependency(depends: str) -> str | None:
    """The versioned ``linux-image-*`` package named in a Depends field, if any.

    >>> image_dependency("linux-image-6.1.0-56-amd64 (= 6.1.192-2)")
    'linux-image-6.1.0-56-amd64'
    """
    for alternative in depends.split(","):
        name = alternative.split("|")[0].strip().split(" ")[0].split(":")[0]
        if name.startswith("linux-image-"):
            return name
    return None


# --------------------------------------------------------------------------- kernels


@dataclass(frozen=True)
class Kernel:
    """A Debian kernel package unpacked in the cache."""

    arch: str
    release: str  # uname -r, e.g. 6.1.0-56-amd64
    package: str  # the versioned package, e.g. linux-image-6.1.0-56-amd64
    version: str  # the Debian version, e.g. 6.1.192-2
    root: Path  # where the package is unpacked

    @property
    def image(self) -> Path:
        """The boot image as shipped (bzImage on amd64, Image on arm64)."""
        return self.root / "boot" / f"vmlinuz-{self.release}"

    @property
    def modules_dir(self) -> Path:
        return self.root / "lib" / "modules" / self.release

    @property
    def config(self) -> Path:
        return self.root / "boot" / f"config-{self.release}"

    def to_json(self) -> dict[str, str]:
        return {
            "arch": self.arch,
            "release": self.release,
            "package": self.package,
            "version": self.version,
            "root": str(self.root),
        }

    @classmethod
    def from_json(cls, data: dict[str, str]) -> Kernel:
        return cls(
            arch=data["arch"],
            release=data["release"],
            package=data["package"],
            version=data["version"],
            root=Path(data["root"]),
        )


def _manifest_path(cache: Path, package: str, arch: str) -> Path:
    return cache / "kernels" / f"{package}_{arch}.json"


def cached_kernel(arch: str, package: str | None = None) -> Kernel | None:
    """The kernel already in the cache for ``package`` (default ``linux-image-ARCH``)."""
    package = package or f"linux-image-{arch}"
    manifest = _manifest_path(cache_dir(), package, arch)
    try:
        kernel = Kernel.from_json(json.loads(manifest.read_text()))
    except (OSError, ValueError, KeyError):
        return None
    return kernel if kernel.image.is_file() and kernel.modules_dir.is_dir() else None


def ensure_kernel(
    arch: str,
    package: str | None = None,
    progress: Progress | None = None,
    refresh: bool = False,
) -> Kernel:
    """Debian's kernel for ``arch``, downloaded and unpacked on first use.

    ``package`` is the package to start from: the meta package
    ``linux-image-ARCH`` by default (it depends on the versioned image package,
    which is downloaded too), or a versioned package name. ``refresh`` fetches
    again even when a kernel is cached (to follow a newer Debian kernel).
    """
    if arch not in ARCHES:
        raise VMSetupError(f"no kernel for architecture {arch!r}; known: {', '.join(ARCHES)}")
    package = package or f"linux-image-{arch}"
    if not refresh:
        kernel = cached_kernel(arch, package)
        if kernel is not None:
            return kernel
    with cache_lock() as cache:
        if not refresh:
            kernel = cached_kernel(arch, package)
            if kernel is not None:
                return kernel
        started = time.monotonic()
        apt = PrivateApt(arch, cache / "apt" / arch, progress)
        debs = cache / "debs"
        first = apt.download(package, debs)
        versioned = image_dependency(deb_field(first, "Depends"))
        if versioned is not None and versioned != package:
            deb = apt.download(versioned, debs)
        else:
            versioned, deb = package, first
        version = deb_field(deb, "Version")
        root = cache / "kernels" / f"{versioned}_{version}"
        deb_extract(deb, root, progress)
        images = sorted((root / "boot").glob("vmlinuz-*"))
        if not images:
            raise VMSetupError(
                f"{deb.name} holds no boot/vmlinuz-*: is {package} a kernel package?"
            )
        release = images[0].name[len("vmlinuz-") :]
        kernel = Kernel(arch=arch, release=release, package=versioned, version=version, root=root)
        if not kernel.modules_dir.is_dir():
            raise VMSetupError(f"{deb.name} holds no lib/modules/{release}")
        for leftover in (first, deb):
            leftover.unlink(missing_ok=True)
        manifest = _manifest_path(cache, package, arch)
        manifest.write_text(json.dumps(kernel.to_json(), indent=1) + "\n")
        _say(
            progress,
            f"kernel {release} ({versioned} {version}) ready in {time.monotonic() - started:.1f} s",
        )
        return kernel


def extract_vmlinux(kernel: Kernel) -> Path | None:
    """The uncompressed ELF kernel inside an x86 bzImage, for a direct (PVH) boot.

    Booting the ELF skips the decompressor, which is slow under TCG. The
    payload's place is in the bzImage setup header (Documentation/x86/boot.rst:
    ``setup_sects`` at 0x1f1, ``payload_offset``/``payload_length`` at
    0x248/0x24c). Returns None when the kernel is not an xz or gzip bzImage.
    """
    out = kernel.root / "boot" / f"vmlinux-{kernel.release}"
    if out.is_file():
        return out
    data = kernel.image.read_bytes()
    if len(data) < 0x250 or data[0x202:0x206] != b"HdrS":
        return None
    setup_sects = data[0x1F1] or 4
    offset, length = struct.unpack_from("<II", data, 0x248)
    start = (setup_sects + 1) * 512 + offset
    payload = data[start : start + length]
    try:
        if payload.startswith(b"\xfd7zXZ\x00"):
            elf = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(payload)
        elif payload.startswith(b"\x1f\x8b"):
            import zlib

            elf = zlib.decompressobj(wbits=31).decompress(payload)
        else:
            return None
    except (lzma.LZMAError, ValueError, OSError):
        return None
    if not elf.startswith(b"\x7fELF"):
        return None
    tmp = out.with_suffix(".partial")
    tmp.write_bytes(elf)
    tmp.rename(out)
    return out


# --------------------------------------------------------------------------- busybox


def ensure_busybox(arch: str, progress: Progress | None = None) -> Path:
    """A statically linked busybox for ``arch`` guests.

    The host's own ``busybox-static`` when the architecture matches, else
    ``busybox-static:ARCH`` downloaded and unpacked into the cache.
    """
    if arch == host_arch() and package_installed("busybox-static"):
        for candidate in ("/bin/busybox", "/usr/bin/busybox"):
            if os.path.isfile(candidate):
                return Path(candidate)
    cache = cache_dir()
    target = cache / "busybox" / arch / "bin" / "busybox"
    if target.is_file():
        return target
    with cache_lock(cache):
        if target.is_file():
            return target
        apt = PrivateApt(arch, cache / "apt" / arch, progress)
        deb = apt.download("busybox-static", cache / "debs")
        deb_extract(deb, cache / "busybox" / arch, progress)
        deb.unlink(missing_ok=True)
        if not target.is_file():
            raise VMSetupError(f"{deb.name} holds no bin/busybox")
        return target
