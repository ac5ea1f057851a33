"""The guest's initramfs: busybox, the modules that reach the host, and an init.

One image serves every run on a kernel: it holds only what is needed to
reach the host (virtio-pci and 9p modules, in dependency order) and a fixed
``/init``. Everything that changes per run (the commands, the modules to
load, tracefs) comes from the *job share*, a host directory the guest mounts
read-write over 9p; results go back the same way. So an image is built once
per kernel and cached, and a run only writes a few small files.

The init mounts proc, sysfs and devtmpfs, mounts the host's root read-only
over 9p at ``/host``, loads the requested modules, binds the guest's
``/proc``, ``/sys`` and ``/dev`` into ``/host`` and runs each command with
the host's own programs in a chroot there (for a guest of the host's
architecture), or with busybox otherwise. It writes each command's output
and exit status into the job share and powers the guest off.

A *bare* run adds no device to the machine (no 9p: the guest's PCI and
memory map are exactly the board's): its job travels as a second cpio
archive appended to the image (the kernel unpacks concatenated archives),
the commands run with busybox, and the results come back base64-encoded on
the serial console.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import lzma
import shutil
import subprocess
import tempfile
from pathlib import Path

from iomem.vm.assets import Kernel, Progress, cache_dir, which
from iomem.vm.errors import VMSetupError
from iomem.vm.modules import ModuleIndex

#: What the init needs before it can reach the host: virtio over PCI and 9p.
BOOT_MODULES = ("virtio_pci", "9pnet_virtio", "9p")

#: 9p mount tags of the two shares (QEMU ``-virtfs ...,mount_tag=``).
JOB_TAG = "iomemjob"
HOST_TAG = "iomemhost"

#: Printed on the console when init starts and when the job is done.
MARK_INIT = "iomem-vm: init started"
MARK_DONE = "iomem-vm: job done"
#: Bare runs send each result file as base64 between these console lines.
MARK_FILE = "iomem-vm-file "
MARK_FILE_END = "iomem-vm-file-end"

INIT_SCRIPT = r"""#!/bin/busybox sh
# iomem VM lab: the guest's PID 1. Mount, load modules, run the job, write
# outputs and exit statuses back, power off. The job comes from the job share
# (9p), or, in a bare run, inside the initramfs with results sent back on the
# console.
/bin/busybox mkdir -p /proc /sys /dev /sbin /usr/bin /usr/sbin /job /host /tmp
/bin/busybox --install -s
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys

say() { echo "iomem-vm: $*"; }
send_results() {
    # Bare runs: each result file as base64 between markers, on the console.
    cd /job || return
    for f in error done out-* status-* collect/* $(find out -type f); do
        [ -f "$f" ] || continue
        echo "iomem-vm-file $f"
        base64 "$f"
        echo "iomem-vm-file-end"
    done
    cd /
}
halt() {
    [ "$BARE" = 1 ] && send_results
    sync
    poweroff -f
    echo o > /proc/sysrq-trigger
    sleep 3600
}
fail() {
    say "error: $*"
    if [ -n "$JOB_READY" ]; then echo "$*" >> /job/error; fi
    halt
}

say "init started"
if [ -f /job/job.env ]; then
    . /job/job.env
    JOB_READY=1
    dmesg -n 1
else
    while read -r mod; do
        insmod "/lib/modules/$mod" || fail "cannot load $mod from the initramfs"
    done < /etc/iomem/boot-modules
    P9="trans=virtio,version=9p2000.L,msize=262144"
    mount -t 9p -o "$P9,cache=none" iomemjob /job \
        || fail "cannot mount the job share (9p tag iomemjob)"
    JOB_READY=1
    . /job/job.env
    mount -t 9p -o "$P9,ro,cache=${HOST_CACHE:-loose}" iomemhost /host \
        || fail "cannot mount the host root (9p tag iomemhost)"
fi
if [ "$TRACEFS" = 1 ]; then
    mount -t debugfs debugfs /sys/kernel/debug || fail "cannot mount debugfs"
    mount -t tracefs tracefs /sys/kernel/tracing || fail "cannot mount tracefs"
fi
mkdir -p /dev/shm /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t devpts devpts /dev/pts
while read -r mod params; do
    [ -n "$mod" ] || continue
    insmod "/host$mod" $params || fail "cannot load kernel module $mod $params"
done < /job/modules.list

if [ "$CHROOT" = 1 ]; then
    for d in proc sys dev; do
        mount -o rbind "/$d" "/host/$d" || fail "cannot bind /$d into the host root"
    done
    mount -o bind /job "/host$JOB" || fail "cannot bind the job share at $JOB"
    run() { env -i HOME=/root TERM=dumb /bin/busybox chroot /host /bin/sh "$JOB/$1"; }
else
    mkdir -p "$JOB" && mount -o bind /job "$JOB" || fail "cannot bind the job directory at $JOB"
    run() { env -i HOME=/ TERM=dumb /bin/busybox sh "$JOB/$1"; }
fi

i=0
while [ "$i" -lt "$NSTEPS" ]; do
    run "step-$i.sh" > "/job/out-$i" 2>&1 < /dev/null
    echo "$?" > "/job/status-$i"
    i=$((i + 1))
done
if [ -f /job/collect.sh ]; then
    run collect.sh > /job/collect.log 2>&1 < /dev/null
fi
echo ok > /job/done
say "job done"
halt
"""


def initramfs_key(kernel: Kernel, busybox: Path, modules: list[str]) -> str:
    """A digest of everything that goes into the image: same inputs, same image."""
    h = hashlib.sha256()
    h.update(INIT_SCRIPT.encode())
    h.update(f"{kernel.arch}\0{kernel.release}\0{kernel.version}\0{kernel.root}\0".encode())
    h.update("\0".join(modules).encode())
    h.update(hashlib.sha256(busybox.read_bytes()).digest())
    return h.hexdigest()[:16]


def build_initramfs(
    kernel: Kernel,
    busybox: Path,
    progress: Progress | None = None,
    out_dir: Path | None = None,
) -> Path:
    """The cached initramfs (a newc cpio archive) for ``kernel``; built on first use."""
    index = ModuleIndex.load(kernel.modules_dir)
    order = index.load_order(BOOT_MODULES)
    key = initramfs_key(kernel, busybox, order)
    out_dir = out_dir or cache_dir() / "initramfs"
    out = out_dir / f"{kernel.release}-{key}.cpio"
    if out.is_file():
        return out
    if which("cpio") is None:
        raise VMSetupError("building the guest's initramfs needs cpio: sudo apt-get install cpio")
    if progress is not None:
        progress(f"building initramfs for {kernel.release} ({', '.join(order)})")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="iomem-initramfs-") as tmp:
        stage = Path(tmp)
        write_tree(stage, index, order, busybox)
        partial = out.with_suffix(".partial")
        try:
            _cpio(stage, partial)
        except VMSetupError as exc:
            partial.unlink(missing_ok=True)
            raise VMSetupError(f"building the initramfs: {exc}") from None
        partial.rename(out)
    for stale in out_dir.glob(f"{kernel.release}-*.cpio"):
        if stale != out:  # an image from an older init or busybox
            stale.unlink(missing_ok=True)
    return out


def write_tree(stage: Path, index: ModuleIndex, order: list[str], busybox: Path) -> None:
    """Lay the initramfs out in ``stage``: /init, busybox, modules, their order."""
    for d in (
        "bin",
        "sbin",
        "usr/bin",
        "usr/sbin",
        "proc",
        "sys",
        "dev",
        "job",
        "host",
        "tmp",
        "etc/iomem",
        "lib/modules",
    ):
        (stage / d).mkdir(parents=True, exist_ok=True)
    init = stage / "init"
    init.write_text(INIT_SCRIPT)
    init.chmod(0o755)
    shutil.copyfile(busybox, stage / "bin" / "busybox")
    (stage / "bin" / "busybox").chmod(0o755)
    files = []
    for name in order:
        src = index.path(name)
        data = src.read_bytes()
        if src.name.endswith(".xz"):
            data = lzma.decompress(data)
        dest = stage / "lib" / "modules" / f"{name}.ko"
        dest.write_bytes(data)
        files.append(dest.name)
    (stage / "etc" / "iomem" / "boot-modules").write_text("".join(f + "\n" for f in files))


def _cpio(stage: Path, out: Path) -> None:
    names = sorted(str(p.relative_to(stage)) for p in stage.rglob("*"))
    with open(out, "wb") as fh:
        proc = subprocess.run(
            ["cpio", "--quiet", "-o", "-H", "newc", "-R", "0:0"],
            input="\n".join(names) + "\n",
            stdout=fh,
            stderr=subprocess.PIPE,
            cwd=stage,
            text=True,
            check=False,
        )
    if proc.returncode != 0:
        raise VMSetupError(f"cpio failed: {proc.stderr.strip()}")


def bare_initrd(base: Path, job_root: Path, module_files: list[Path], out: Path) -> Path:
    """``base`` with the job (and the module files it loads) appended as a second archive.

    The job's files land in ``/job``; each module file at ``/host`` + its host
    path, where the init's insmod looks for it.
    """
    if which("cpio") is None:
        raise VMSetupError("a bare run needs cpio: sudo apt-get install cpio")
    with tempfile.TemporaryDirectory(prefix="iomem-job-") as tmp:
        stage = Path(tmp)
        shutil.copytree(job_root, stage / "job", ignore=shutil.ignore_patterns("*.cpio"))
        for src in module_files:
            dest = stage / "host" / src.relative_to("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
        job_cpio = out.with_suffix(".job.cpio")
        _cpio(stage, job_cpio)
    with open(out, "wb") as fh:
        for part in (base, job_cpio):
            with open(part, "rb") as src_fh:
                shutil.copyfileobj(src_fh, fh)
    job_cpio.unlink()
    return out


def parse_console_files(console: str) -> dict[str, bytes]:
    """The files a bare run sent on the console (see ``send_results`` in the init)."""
    files: dict[str, bytes] = {}
    name: str | None = None
    chunks: list[str] = []
    for raw in console.splitlines():
        line = raw.rstrip("\r")
        if name is None:
            if line.startswith(MARK_FILE):
                name, chunks = line[len(MARK_FILE) :].strip(), []
        elif line == MARK_FILE_END:
            with contextlib.suppress(binascii.Error, ValueError):  # garbled: not sent
                files[name] = base64.b64decode("".join(chunks))
            name = None
        else:
            chunks.append(line.strip())
    return files
