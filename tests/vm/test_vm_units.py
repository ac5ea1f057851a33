"""VM lab pieces that need no boot: cache paths, module order, initramfs, QEMU command lines."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from iomem.vm import assets, initramfs, machines
from iomem.vm.assets import Kernel
from iomem.vm.errors import VMError, VMSetupError
from iomem.vm.modules import ModuleIndex, modinfo_depends, module_name

# --------------------------------------------------------------------------- cache directory


def test_cache_dir_follows_xdg_cache_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("IOMEM_VM_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert assets.cache_dir() == tmp_path / "iomem" / "vm"


def test_cache_dir_ignores_relative_xdg_and_defaults_to_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("IOMEM_VM_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")
    assert assets.cache_dir() == tmp_path / ".cache" / "iomem" / "vm"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert assets.cache_dir() == tmp_path / ".cache" / "iomem" / "vm"


def test_cache_dir_explicit_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "/elsewhere")
    monkeypatch.setenv("IOMEM_VM_CACHE", str(tmp_path / "lab"))
    assert assets.cache_dir() == tmp_path / "lab"


def test_cached_kernel_reads_manifest(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IOMEM_VM_CACHE", str(tmp_path))
    assert assets.cached_kernel("amd64") is None
    root = tmp_path / "kernels" / "linux-image-9.9.9-amd64_9.9.9-1"
    (root / "boot").mkdir(parents=True)
    (root / "boot" / "vmlinuz-9.9.9-amd64").write_bytes(b"kernel")
    (root / "lib" / "modules" / "9.9.9-amd64").mkdir(parents=True)
    kernel = Kernel("amd64", "9.9.9-amd64", "linux-image-9.9.9-amd64", "9.9.9-1", root)
    import json

    (tmp_path / "kernels" / "linux-image-amd64_amd64.json").write_text(json.dumps(kernel.to_json()))
    assert assets.cached_kernel("amd64") == kernel
    # A warm ensure_kernel uses the manifest and never calls apt.
    monkeypatch.setattr(assets, "PrivateApt", None)
    assert assets.ensure_kernel("amd64") == kernel


def test_image_dependency_finds_the_versioned_package() -> None:
    assert (
        assets.image_dependency("linux-image-6.1.0-56-arm64 (= 6.1.192-2)")
        == "linux-image-6.1.0-56-arm64"
    )
    assert assets.image_dependency("libc6 (>= 2.34), linux-image-6.1.0-9-amd64") == (
        "linux-image-6.1.0-9-amd64"
    )
    assert assets.image_dependency("kmod, linux-base (>= 4.3~)") is None


def test_private_apt_names_the_architecture(tmp_path: Path) -> None:
    opts = assets.PrivateApt("arm64", tmp_path).options()
    joined = " ".join(opts)
    assert "APT::Architecture=arm64" in joined
    assert "APT::Architectures::=arm64" in joined
    assert f"Dir::State::Lists={tmp_path / 'lists'}" in joined


def test_missing_tools_message_says_how(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(assets, "which", lambda cmd: None if cmd.startswith("qemu") else "/x")
    monkeypatch.setattr(assets, "is_root", lambda: False)
    with pytest.raises(VMSetupError) as info:
        assets.ensure_host_tools(["arm64"], install=False)
    message = str(info.value)
    assert "qemu-system-aarch64 (Debian package qemu-system-arm)" in message
    assert "sudo apt-get install --no-install-recommends qemu-system-arm" in message


def test_root_installs_the_host_packages_once(monkeypatch: pytest.MonkeyPatch) -> None:
    installed: set[str] = {"cpio"}
    calls: list[list[str]] = []

    def fake_install(packages: list[str], progress: object = None) -> None:
        calls.append(list(packages))
        installed.update(packages)

    tools = {
        "qemu-system-x86_64": "qemu-system-x86",
        "qemu-system-aarch64": "qemu-system-arm",
        "cpio": "cpio",
    }
    monkeypatch.setattr(assets, "_install_tried", set())
    monkeypatch.setattr(assets, "is_root", lambda: True)
    monkeypatch.setattr(assets, "package_installed", lambda p: p in installed)

    def which(cmd: str) -> str | None:
        return None if cmd in tools and tools[cmd] not in installed else f"/usr/bin/{cmd}"

    monkeypatch.setattr(assets, "which", which)
    monkeypatch.setattr(assets, "apt_install", fake_install)
    assets.ensure_host_tools(["amd64"], install=None)
    assert calls == [["qemu-system-x86", "qemu-system-arm", "busybox-static", "pciutils"]]
    assets.ensure_host_tools(["amd64", "arm64"], install=None)
    assert len(calls) == 1  # everything there now: no second apt run


def test_unknown_architecture() -> None:
    with pytest.raises(VMSetupError, match="known: amd64, arm64"):
        assets.ensure_host_tools(["riscv64"], install=False)


# --------------------------------------------------------------------------- modules


def _ko(path: Path, depends: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        b"\x7fELF junk\x00license=GPL\x00depends=" + depends.encode() + b"\x00name=x\x00more"
    )


@pytest.fixture()
def module_tree(tmp_path: Path) -> Path:
    root = tmp_path / "lib" / "modules" / "9.9.9"
    mods = {
        "kernel/fs/9p/9p.ko": "9pnet,fscache,netfs",
        "kernel/net/9p/9pnet.ko": "",
        "kernel/net/9p/9pnet_virtio.ko": "virtio,9pnet,virtio_ring",
        "kernel/fs/fscache/fscache.ko": "netfs",
        "kernel/fs/netfs/netfs.ko": "",
        "kernel/drivers/virtio/virtio.ko": "virtio_ring",
        "kernel/drivers/virtio/virtio_ring.ko": "",
        "kernel/drivers/virtio/virtio_pci.ko": "virtio_ring,virtio_pci-modern-dev,virtio",
        "kernel/drivers/virtio/virtio_pci-modern-dev.ko": "",
        "kernel/drivers/a/loop_a.ko": "loop_b",
        "kernel/drivers/a/loop_b.ko": "loop_a",
    }
    for rel, deps in mods.items():
        _ko(root / rel, deps)
    (root / "modules.order").write_text("".join(m + "\n" for m in mods))
    (root / "modules.builtin").write_text("kernel/drivers/base/firmware_class.ko\n")
    return root


def test_module_name_is_kbuild_modname() -> None:
    assert module_name("kernel/drivers/virtio/virtio_pci-modern-dev.ko") == "virtio_pci_modern_dev"
    assert module_name("intel-uncore") == "intel_uncore"
    assert module_name("a/b/c.ko.xz") == "c"


def test_modinfo_depends() -> None:
    assert modinfo_depends(b"x\x00depends=a,b-c\x00name=z\x00") == ["a", "b_c"]
    assert modinfo_depends(b"x\x00depends=\x00name=z\x00") == []
    assert modinfo_depends(b"no modinfo here") == []


def test_load_order_puts_dependencies_first(module_tree: Path) -> None:
    index = ModuleIndex.load(module_tree)
    order = index.load_order(["virtio_pci", "9pnet_virtio", "9p"])
    assert order == [
        "virtio_ring",
        "virtio_pci_modern_dev",
        "virtio",
        "virtio_pci",
        "9pnet",
        "9pnet_virtio",
        "netfs",
        "fscache",
        "9p",
    ]
    for i, name in enumerate(order):  # every dependency is loaded before its user
        assert all(order.index(dep) < i for dep in index.depends(name))


def test_load_order_skips_builtin_and_reports_unknown_and_cycles(module_tree: Path) -> None:
    index = ModuleIndex.load(module_tree)
    assert index.load_order(["firmware_class", "netfs"]) == ["netfs"]
    with pytest.raises(VMSetupError, match="'nosuch' is neither built in nor shipped"):
        index.load_order(["nosuch"])
    with pytest.raises(VMSetupError, match="cycle: loop_a -> loop_b -> loop_a"):
        index.load_order(["loop_a"])


def test_modules_dep_is_used_when_present(module_tree: Path) -> None:
    (module_tree / "modules.dep").write_text(
        "kernel/fs/9p/9p.ko: kernel/fs/fscache/fscache.ko kernel/fs/netfs/netfs.ko\n"
        "kernel/fs/fscache/fscache.ko: kernel/fs/netfs/netfs.ko\n"
        "kernel/fs/netfs/netfs.ko:\n"
    )
    index = ModuleIndex.load(module_tree)
    assert set(index.paths) == {"9p", "fscache", "netfs"}
    assert index.load_order(["9p"]) == ["netfs", "fscache", "9p"]


# --------------------------------------------------------------------------- initramfs


def _fake_kernel(tmp_path: Path, module_tree: Path) -> Kernel:
    root = tmp_path
    (root / "boot").mkdir(exist_ok=True)
    (root / "boot" / "vmlinuz-9.9.9").write_bytes(b"kernel")
    return Kernel("amd64", "9.9.9", "linux-image-9.9.9", "9.9.9-1", root)


@pytest.mark.skipif(shutil.which("cpio") is None, reason="cpio is not installed")
def test_initramfs_contents(tmp_path: Path, module_tree: Path) -> None:
    kernel = _fake_kernel(tmp_path, module_tree)
    busybox = tmp_path / "busybox"
    busybox.write_bytes(b"\x7fELF busybox")
    out = initramfs.build_initramfs(kernel, busybox, out_dir=tmp_path / "out")
    listing = (
        subprocess.run(["cpio", "-it", "--quiet"], input=out.read_bytes(), capture_output=True)
        .stdout.decode()
        .split()
    )
    for name in ("init", "bin/busybox", "etc/iomem/boot-modules", "proc", "sys", "dev", "job"):
        assert name in listing
    assert "lib/modules/9p.ko" in listing and "lib/modules/virtio_ring.ko" in listing
    # Built once: the same inputs give the cached image back.
    assert initramfs.build_initramfs(kernel, busybox, out_dir=tmp_path / "out") == out
    # Another busybox: a new image, and the stale one is gone.
    busybox.write_bytes(b"\x7fELF busybox 2")
    newer = initramfs.build_initramfs(kernel, busybox, out_dir=tmp_path / "out")
    assert newer != out and not out.exists()
    out = newer
    extract = tmp_path / "x"
    extract.mkdir()
    subprocess.run(["cpio", "-id", "--quiet"], input=out.read_bytes(), cwd=extract, check=True)
    boot_modules = (extract / "etc/iomem/boot-modules").read_text().split()
    assert boot_modules[0] == "virtio_ring.ko" and boot_modules[-1] == "9p.ko"
    assert (extract / "init").stat().st_mode & 0o111


def test_init_script_mounts_and_runs_the_job() -> None:
    script = initramfs.INIT_SCRIPT
    for needed in (
        "mount -t proc proc /proc",
        "mount -t sysfs sysfs /sys",
        "mount -t devtmpfs devtmpfs /dev",
        "mount -t tracefs tracefs /sys/kernel/tracing",
        "iomemjob /job",
        "iomemhost /host",
        'mount -o rbind "/$d" "/host/$d"',
        "chroot /host",
        "poweroff -f",
    ):
        assert needed in script
    assert script.index('if [ "$TRACEFS" = 1 ]') < script.index("mount -t tracefs")


@pytest.mark.skipif(shutil.which("sh") is None, reason="no sh")
def test_init_script_is_valid_shell(tmp_path: Path) -> None:
    init = tmp_path / "init"
    init.write_text(initramfs.INIT_SCRIPT)
    proc = subprocess.run(["sh", "-n", str(init)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


# --------------------------------------------------------------------------- QEMU command lines


def _argv(name: str, **kw: object) -> list[str]:
    mach = machines.get_machine(name)
    shares = [
        machines.Share("iomemhost", Path("/"), True),
        machines.Share("iomemjob", Path("/tmp/job,1"), False),
    ]
    return machines.qemu_command(
        mach,
        kernel=Path("/k"),
        initrd=Path("/i"),
        cmdline=machines.kernel_cmdline(mach, ["iomem=relaxed"]),
        shares=shares,
        serial=Path("/tmp/console"),
        **kw,  # type: ignore[arg-type]
    )


def test_pc_command_line() -> None:
    argv = _argv("pc")
    assert argv[0] == "qemu-system-x86_64"
    assert argv[argv.index("-machine") + 1] == "pc"
    assert argv[argv.index("-accel") + 1] == "tcg"
    assert argv[argv.index("-append") + 1] == "console=ttyS0 panic=-1 quiet iomem=relaxed"
    assert "-no-reboot" in argv
    # edu comes before the lab's own 9p devices, so it keeps its slot.
    assert argv.index("edu") < argv.index("-virtfs")
    virtfs = [argv[i + 1] for i, a in enumerate(argv) if a == "-virtfs"]
    assert virtfs[0] == (
        "local,path=/,mount_tag=iomemhost,security_model=passthrough,readonly=on,multidevs=remap"
    )
    assert virtfs[1] == "local,path=/tmp/job,,1,mount_tag=iomemjob,security_model=none"


def test_q35_iommu_command_line() -> None:
    argv = _argv("q35-iommu", devices=["edu", "e1000"])
    assert argv[argv.index("-machine") + 1] == "q35,kernel-irqchip=split"
    devices = [argv[i + 1] for i, a in enumerate(argv) if a == "-device"]
    assert devices == ["intel-iommu,intremap=on", "edu", "e1000"]
    assert "intel_iommu=on" in argv[argv.index("-append") + 1]


def test_virt_command_line_and_kvm_cpu() -> None:
    argv = _argv("virt")
    assert argv[0] == "qemu-system-aarch64"
    assert "console=ttyAMA0" in argv[argv.index("-append") + 1]
    assert argv[argv.index("-cpu") + 1] == "cortex-a57"
    assert "-device" not in argv
    kvm = _argv("pc", accel="kvm", devices=[])
    assert kvm[kvm.index("-cpu") + 1] == "host"
    assert "edu" not in kvm


def test_dumpdtb_only_for_dtb_machines() -> None:
    argv = machines.qemu_command(
        machines.get_machine("virt"), kernel=None, initrd=None, dumpdtb=Path("/tmp/a.dtb")
    )
    assert argv[argv.index("-machine") + 1] == "virt,dumpdtb=/tmp/a.dtb"
    assert "-kernel" not in argv and "-append" not in argv
    with pytest.raises(VMError, match="no QEMU-generated device tree"):
        machines.qemu_command(
            machines.get_machine("pc"), kernel=None, initrd=None, dumpdtb=Path("/x")
        )


def test_unknown_machine_and_accel() -> None:
    with pytest.raises(VMError, match="choose one of: pc, q35-iommu, virt"):
        machines.get_machine("vexpress")
    with pytest.raises(VMError, match="unknown accelerator"):
        _argv("pc", accel="hvf")


# --------------------------------------------------------------------------- bare runs


def test_console_files_survive_carriage_returns_and_noise() -> None:
    import base64

    payload = bytes(range(256)) * 3
    encoded = base64.encodebytes(payload).decode().splitlines()
    console = "\r\n".join(
        ["[    1.0] booting", "iomem-vm-file out-0", *encoded, "iomem-vm-file-end"]
        + ["iomem-vm-file status-0", "MAo=", "iomem-vm-file-end", "iomem-vm-file bad", "!!"]
    )
    files = initramfs.parse_console_files(console)
    assert files["out-0"] == payload
    assert files["status-0"] == b"0\n"
    assert "bad" not in files  # never ended: not sent


@pytest.mark.skipif(shutil.which("cpio") is None, reason="cpio is not installed")
def test_bare_initrd_appends_the_job_and_its_modules(tmp_path: Path) -> None:
    base = tmp_path / "base.cpio"
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "init").write_text("#!/bin/sh\n")
    initramfs._cpio(tmp_path / "b", base)
    job = tmp_path / "job"
    job.mkdir()
    (job / "job.env").write_text("NSTEPS=1\n")
    (job / "step-0.sh").write_text("true\n")
    module = tmp_path / "mods" / "uio.ko"
    module.parent.mkdir()
    module.write_bytes(b"\x7fELF uio")
    out = initramfs.bare_initrd(base, job, [module], tmp_path / "initrd.cpio")
    data = out.read_bytes()
    assert data.startswith(base.read_bytes())  # the cached image, unchanged, first
    tail = (
        subprocess.run(
            ["cpio", "-it", "--quiet"], input=data[len(base.read_bytes()) :], capture_output=True
        )
        .stdout.decode()
        .split()
    )
    assert {"job/job.env", "job/step-0.sh", "host" + str(module)} <= set(tail)
