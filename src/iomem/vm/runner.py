"""Boot a machine, run commands in it, bring back what they print and leave: the lab's API.

A run is one boot. The host writes a *job* (the commands as small shell
scripts, the modules to load, the files to collect) into a fresh directory,
boots QEMU with that directory shared read-write and the host's root shared
read-only, and waits. The guest's init runs each command (with the host's own
programs in a chroot, for a guest of the host's architecture), writes outputs
and exit statuses back, collects the requested files and powers off. A guest
that does not power off in time is killed; QEMU is never left running.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iomem.vm import assets as _assets
from iomem.vm.assets import Kernel, Progress
from iomem.vm.errors import (
    GuestCommandError,
    GuestSetupError,
    VMBootError,
    VMError,
    VMTimeout,
    tail,
)
from iomem.vm.initramfs import (
    HOST_TAG,
    JOB_TAG,
    MARK_INIT,
    bare_initrd,
    build_initramfs,
    parse_console_files,
)
from iomem.vm.machines import (
    Machine,
    Share,
    get_machine,
    kernel_cmdline,
    kvm_accessible,
    qemu_command,
)
from iomem.vm.modules import ModuleIndex, module_name

Command = str | Sequence[str]

#: Seconds a boot may take before the guest is killed. A warm TCG boot of the
#: pc machine with a Python command is about ten seconds.
DEFAULT_TIMEOUT = 300.0
DEFAULT_MEMORY = "1G"
_POLL = 0.05


# --------------------------------------------------------------------------- results


@dataclass
class StepResult:
    """One command's output (stdout and stderr interleaved) and exit status."""

    command: str
    output: str
    status: int


@dataclass
class RunResult:
    """Everything one boot gave back."""

    machine: str
    steps: list[StepResult]
    #: Collected files by guest path (or command) as asked, and files the
    #: commands wrote into ``$IOMEM_VM_OUT``, by their path relative to it.
    files: dict[str, bytes]
    #: Collected entries that could not be read, with the guest's error message.
    missing: dict[str, str]
    console: str
    cmdline: str
    qemu_argv: list[str]
    kernel: str
    accel: str
    elapsed: float

    @property
    def output(self) -> str:
        """The output of all commands, in order."""
        return "".join(s.output for s in self.steps)

    @property
    def status(self) -> int:
        """The first non-zero exit status of the commands, else 0."""
        return next((s.status for s in self.steps if s.status != 0), 0)

    @property
    def ok(self) -> bool:
        return self.status == 0

    def text(self, key: str) -> str:
        """A collected file as text."""
        try:
            return self.files[key].decode("utf-8", errors="replace")
        except KeyError:
            why = self.missing.get(key)
            raise KeyError(f"{key!r} was not collected" + (f": {why}" if why else "")) from None

    def json(self, key: str) -> Any:
        """A collected file parsed as JSON."""
        return json.loads(self.text(key))

    def check(self) -> RunResult:
        """Raise GuestCommandError if a command failed; else return self."""
        for step in self.steps:
            if step.status != 0:
                raise GuestCommandError(
                    f"guest command {step.command!r} on {self.machine} exited with status "
                    f"{step.status}; its last output:\n{tail(step.output)}",
                    step.status,
                    step.output,
                )
        return self


# --------------------------------------------------------------------------- assets


@dataclass(frozen=True)
class BootAssets:
    """What QEMU boots: the kernel image, the initramfs, and the kernel's modules."""

    image: Path
    initrd: Path
    release: str
    modules: ModuleIndex | None = None
    kernel: Kernel | None = None


def prepare(
    machine: str | Machine = "pc",
    *,
    progress: Progress | None = None,
    install: bool | None = None,
    kernel_package: str | None = None,
    pvh: bool = False,
) -> BootAssets:
    """Get QEMU, the kernel, busybox and the initramfs for ``machine`` (cached).

    ``pvh`` boots an amd64 kernel's uncompressed ELF directly (PVH entry),
    skipping the decompressor: a few seconds faster under TCG, but the
    firmware hand-over differs (the low memory map, no KASLR).
    """
    mach = get_machine(machine)
    _assets.ensure_host_tools([mach.arch], progress=progress, install=install)
    kernel = _assets.ensure_kernel(mach.arch, kernel_package, progress=progress)
    busybox = _assets.ensure_busybox(mach.arch, progress=progress)
    initrd = build_initramfs(kernel, busybox, progress=progress)
    image = kernel.image
    if pvh and mach.arch == "amd64":
        image = _assets.extract_vmlinux(kernel) or image
    return BootAssets(
        image=image,
        initrd=initrd,
        release=kernel.release,
        modules=ModuleIndex.load(kernel.modules_dir),
        kernel=kernel,
    )


# --------------------------------------------------------------------------- the job


def _render(command: Command) -> str:
    if isinstance(command, str):
        return command
    return shlex.join(list(command))


def _export(name: str, value: str) -> str:
    if not name.isidentifier():
        raise VMError(f"not a valid environment variable name: {name!r}")
    return f"export {name}={shlex.quote(value)}\n"


@dataclass
class Job:
    """The files a boot's init reads from the job share."""

    root: Path
    machine: Machine
    commands: list[str]
    modules: list[tuple[str, str]] = field(default_factory=list)  # (host path, params)
    tracefs: bool = False
    collect: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    host_cache: str = "loose"
    bare: bool = False

    @property
    def chroot(self) -> bool:
        """Commands run with the host's programs (a native guest that sees the host's root)."""
        return self.machine.native and not self.bare

    @property
    def out_dir(self) -> Path:
        return self.root / "out"

    def environment(self) -> dict[str, str]:
        """The environment every guest command starts with."""
        if self.chroot:
            pydir = os.path.dirname(sys.executable)
            path = f"{pydir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
            home = os.environ.get("HOME", "/root")
        else:
            path, home = "/sbin:/usr/sbin:/bin:/usr/bin", "/"
        env = {
            "PATH": path,
            "HOME": home,
            "LANG": "C.UTF-8",
            "TERM": "dumb",
            "TMPDIR": str(self.root / "tmp"),
            "IOMEM_VM": "1",
            "IOMEM_VM_MACHINE": self.machine.name,
            "IOMEM_VM_JOB": str(self.root),
            "IOMEM_VM_OUT": str(self.out_dir),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
        }
        if self.chroot and os.environ.get("PYTHONPATH"):
            env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        env.update(self.env)
        return env

    def script(self, body: str, cwd: str) -> str:
        env = "".join(_export(k, v) for k, v in self.environment().items())
        return f"{env}cd {shlex.quote(cwd)} || exit 125\n{body}\n"

    def write(self) -> None:
        for sub in ("out", "tmp", "collect"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        default_cwd = os.getcwd() if self.chroot else "/"
        cwd = self.cwd or default_cwd
        (self.root / "job.env").write_text(
            f"JOB={shlex.quote(str(self.root))}\n"
            f"BARE={1 if self.bare else 0}\n"
            f"CHROOT={1 if self.chroot else 0}\n"
            f"TRACEFS={1 if self.tracefs else 0}\n"
            f"NSTEPS={len(self.commands)}\n"
            f"HOST_CACHE={self.host_cache}\n"
        )
        (self.root / "modules.list").write_text(
            "".join(f"{path} {params}".rstrip() + "\n" for path, params in self.modules)
        )
        for i, command in enumerate(self.commands):
            (self.root / f"step-{i}.sh").write_text(self.script(command, cwd))
        if self.collect:
            lines = []
            for i, entry in enumerate(self.collect):
                target = f'"$IOMEM_VM_JOB/collect/{i}"'
                if entry.startswith("/"):
                    what = f"cat {shlex.quote(entry)}"
                else:
                    what = entry
                lines.append(
                    f"( {what} ) > {target} 2> {target}.err < /dev/null; echo $? > {target}.status"
                )
            (self.root / "collect.sh").write_text(self.script("\n".join(lines), "/"))

    def read(self) -> tuple[list[StepResult], dict[str, bytes], dict[str, str]]:
        steps = []
        for i, command in enumerate(self.commands):
            out = self.root / f"out-{i}"
            status_file = self.root / f"status-{i}"
            output = out.read_bytes().decode("utf-8", errors="replace") if out.exists() else ""
            try:
                status = int(status_file.read_text().strip())
            except (OSError, ValueError):
                status = -1
            steps.append(StepResult(command=command, output=output, status=status))
        files: dict[str, bytes] = {}
        missing: dict[str, str] = {}
        for i, entry in enumerate(self.collect):
            base = self.root / "collect" / str(i)
            try:
                status = int((base.parent / f"{i}.status").read_text().strip())
            except (OSError, ValueError):
                status = -1
            if status == 0 and base.exists():
                files[entry] = base.read_bytes()
            else:
                err = base.parent / f"{i}.err"
                msg = err.read_text(errors="replace").strip() if err.exists() else ""
                missing[entry] = msg or f"exit status {status}"
        for path in sorted(self.out_dir.rglob("*")):
            if path.is_file():
                files[str(path.relative_to(self.out_dir))] = path.read_bytes()
        return steps, files, missing


# --------------------------------------------------------------------------- running


class _Tail:
    """Follows the growing output files of a job, for live output."""

    def __init__(self, job: Job, sink: Callable[[str], None]) -> None:
        self.job = job
        self.sink = sink
        self.offsets: dict[int, int] = {}
        self.decoders: dict[int, codecs.IncrementalDecoder] = {}

    def poll(self) -> None:
        for i in range(len(self.job.commands)):
            path = self.job.root / f"out-{i}"
            if not path.exists():
                return
            with open(path, "rb") as fh:
                fh.seek(self.offsets.get(i, 0))
                data = fh.read()
            if data:
                self.offsets[i] = self.offsets.get(i, 0) + len(data)
                dec = self.decoders.setdefault(i, codecs.getincrementaldecoder("utf-8")("replace"))
                text = dec.decode(data)
                if text:
                    self.sink(text)
            if not (self.job.root / f"status-{i}").exists():
                return


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Stop QEMU and anything it started: TERM, then KILL after two seconds."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def supervise(
    argv: Sequence[str],
    *,
    timeout: float,
    log: Path,
    poll: Callable[[], None] | None = None,
) -> int:
    """Run QEMU until it exits; kill it at ``timeout``. Returns QEMU's exit status.

    Raises VMTimeout (QEMU already killed) when the deadline passes. QEMU runs
    in its own session, so a kill reaches all of it, and it is killed on any
    error or interrupt here too.
    """
    with open(log, "wb") as logfh:
        try:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=logfh,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise VMBootError(f"cannot start {argv[0]}: {exc.strerror}") from None
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                status = proc.wait(timeout=_POLL)
                if poll is not None:
                    poll()
                return status
            except subprocess.TimeoutExpired:
                pass
            if poll is not None:
                poll()
            if time.monotonic() >= deadline:
                _kill(proc)
                raise VMTimeout(
                    f"the guest did not power off within {timeout:g} s; QEMU (pid {proc.pid}) "
                    f"was killed",
                    pid=proc.pid,
                )
    finally:
        _kill(proc)


def _resolve_accel(
    accel: str | None, mach: Machine, assets: BootAssets, progress: Progress | None = None
) -> str:
    accel = accel or os.environ.get("IOMEM_VM_ACCEL") or "tcg"
    if accel == "tcg":
        return "tcg"
    usable = mach.native and kvm_accessible()
    if accel == "kvm":
        if not usable:
            why = "not a native guest" if not mach.native else "/dev/kvm is missing or not writable"
            raise VMError(f"KVM cannot run the {mach.name} guest here ({why}); use accel='tcg'")
        return "kvm"
    if accel == "auto":
        return "kvm" if usable and kvm_answers(mach, assets, progress) else "tcg"
    raise VMError(f"unknown accelerator {accel!r}; use tcg, kvm or auto")


def kvm_answers(
    machine: str | Machine = "pc",
    assets: BootAssets | None = None,
    progress: Progress | None = None,
) -> bool:
    """Whether a KVM guest here boots and powers off (KVM can exist and yet hang).

    Tried once per host kernel and remembered in the cache.
    """
    mach = get_machine(machine)
    key = f"{os.uname().release} {os.uname().version} {mach.name}"
    verdict_file = _assets.cache_dir() / "kvm-verdict.json"
    try:
        verdicts = json.loads(verdict_file.read_text())
    except (OSError, ValueError):
        verdicts = {}
    if key in verdicts:
        return bool(verdicts[key])
    if progress is not None:
        progress("trying KVM with a probe boot (once per host kernel; up to 30 s)")
    try:
        _boot(mach, [], assets=assets, accel="kvm", timeout=30.0)
        ok = True
    except VMError:
        ok = False
    verdicts[key] = ok
    verdict_file.parent.mkdir(parents=True, exist_ok=True)
    verdict_file.write_text(json.dumps(verdicts, indent=1) + "\n")
    if progress is not None:
        progress("KVM answers: using it" if ok else "KVM did not answer: using TCG")
    return ok


def _boot(
    mach: Machine,
    commands: list[str],
    *,
    assets: BootAssets | None = None,
    devices: Sequence[str] | None = None,
    append: Sequence[str] = (),
    modules: Sequence[str] = (),
    tracefs: bool = False,
    collect: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    accel: str | None = None,
    memory: str = DEFAULT_MEMORY,
    smp: int = 1,
    qemu_args: Sequence[str] = (),
    progress: Progress | None = None,
    on_output: Callable[[str], None] | None = None,
    keep: bool = False,
    quiet: bool = True,
    python: Sequence[str] = (),
    bare: bool = False,
) -> RunResult:
    started = time.monotonic()
    if python and (bare or not mach.native):
        where = "a bare guest" if bare else f"the {mach.name} guest ({mach.arch})"
        raise VMError(
            f"{where} cannot run this host's Python; give it a shell command (busybox) instead"
        )
    assets = assets or prepare(mach, progress=progress)
    accel_used = _resolve_accel(accel, mach, assets, progress)
    job_root = Path(tempfile.mkdtemp(prefix="iomem-vm-"))
    job_root.chmod(0o755)
    try:
        for i, code in enumerate(python):
            snippet = job_root / f"snippet-{i}.py"
            snippet.write_text(code)
            commands = [*commands, shlex.join([sys.executable, str(snippet)])]
        job = Job(
            root=job_root,
            machine=mach,
            commands=list(commands),
            tracefs=tracefs,
            collect=list(collect),
            env=_guest_env(env, assets, bare),
            cwd=cwd,
            bare=bare,
        )
        if modules:
            job.modules = _module_list(modules, assets)
        job.write()
        initrd, shares = (
            assets.initrd,
            [
                Share(HOST_TAG, Path("/"), True),
                Share(JOB_TAG, job_root, False),
            ],
        )
        if bare:
            files = [Path(path) for path, _ in job.modules]
            initrd = bare_initrd(assets.initrd, job_root, files, job_root / "initrd.cpio")
            shares = []
        cmdline = kernel_cmdline(mach, append, quiet=quiet)
        console = job_root / "console.log"
        argv = qemu_command(
            mach,
            kernel=assets.image,
            initrd=initrd,
            cmdline=cmdline,
            devices=devices,
            shares=shares,
            serial=console,
            accel=accel_used,
            memory=memory,
            smp=smp,
            qemu_args=qemu_args,
        )
        if progress is not None:
            progress(f"booting {mach.name} ({assets.release}, {accel_used})")
        tailer = _Tail(job, on_output) if on_output is not None else None
        qemu_log = job_root / "qemu.log"
        try:
            qemu_status = supervise(
                argv, timeout=timeout, log=qemu_log, poll=tailer.poll if tailer else None
            )
        except VMTimeout as exc:
            text = _read(console)
            where = (
                "init had started, so a guest command or module load hung"
                if MARK_INIT in text
                else "the kernel never reached init"
            )
            raise VMTimeout(
                f"{exc} ({where}). Last console lines:\n{tail(text)}", text, exc.pid
            ) from None
        text = _read(console)
        if bare:
            for name, data in parse_console_files(text).items():
                dest = job_root / name
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(data)
            if on_output is not None:
                for i in range(len(job.commands)):
                    on_output(_read(job_root / f"out-{i}"))
        error = job_root / "error"
        if error.exists():
            raise GuestSetupError(
                f"the {mach.name} guest could not run the job: {_read(error).strip()}. "
                f"Last console lines:\n{tail(text)}",
                text,
            )
        if not (job_root / "done").exists():
            qemu_out = _read(qemu_log).strip()
            raise VMBootError(
                f"the {mach.name} guest stopped before finishing its job (QEMU exit status "
                f"{qemu_status})"
                + (f"; QEMU said: {tail(qemu_out, 10)}" if qemu_out else "")
                + f". Last console lines:\n{tail(text)}",
                text,
            )
        steps, files, missing = job.read()
        return RunResult(
            machine=mach.name,
            steps=steps,
            files=files,
            missing=missing,
            console=text,
            cmdline=cmdline,
            qemu_argv=argv,
            kernel=assets.release,
            accel=accel_used,
            elapsed=time.monotonic() - started,
        )
    finally:
        if keep:
            if progress is not None:
                progress(f"job directory kept: {job_root}")
        else:
            shutil.rmtree(job_root, ignore_errors=True)


def _guest_env(env: Mapping[str, str] | None, assets: BootAssets, bare: bool) -> dict[str, str]:
    """The caller's environment for guest commands, plus where the guest kernel's modules are."""
    extra = {}
    if assets.kernel is not None and not bare:
        # The host's root is shared, so the guest can insmod any module of its kernel.
        extra["IOMEM_VM_MODULES"] = str(assets.kernel.modules_dir)
    return {**extra, **(env or {})}


def _module_list(modules: Sequence[str], assets: BootAssets) -> list[tuple[str, str]]:
    """Requested modules ("name [param=value ...]") with dependencies, as host paths."""
    if assets.modules is None:
        raise VMError("these boot assets carry no module index; cannot load modules")
    index = assets.modules
    params: dict[str, str] = {}
    names = []
    for spec in modules:
        name, _, rest = spec.strip().partition(" ")
        names.append(module_name(name))
        params[module_name(name)] = rest.strip()
    return [(str(index.path(n)), params.get(n, "")) for n in index.load_order(names)]


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return ""


# --------------------------------------------------------------------------- public


def run_batch(
    commands: Sequence[Command],
    *,
    machine: str | Machine = "pc",
    check: bool = False,
    **options: Any,
) -> RunResult:
    """Boot ``machine`` once and run each of ``commands`` in turn; see ``run``."""
    mach = get_machine(machine)
    result = _boot(mach, [_render(c) for c in commands], **options)
    return result.check() if check else result


def run(
    command: Command | None = None,
    *,
    python: str | None = None,
    machine: str | Machine = "pc",
    devices: Sequence[str] | None = None,
    append: Sequence[str] = (),
    modules: Sequence[str] = (),
    tracefs: bool = False,
    collect: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    accel: str | None = None,
    memory: str = DEFAULT_MEMORY,
    smp: int = 1,
    qemu_args: Sequence[str] = (),
    progress: Progress | None = None,
    on_output: Callable[[str], None] | None = None,
    check: bool = False,
    assets: BootAssets | None = None,
    keep: bool = False,
    quiet: bool = True,
    bare: bool = False,
) -> RunResult:
    """Boot ``machine``, run ``command`` (and/or a ``python`` snippet), power off.

    - ``command``: a shell command line (str) or an argv list. In a guest of
      the host's architecture it runs with the host's own programs, in a
      chroot of the host's root that sees the guest's /proc, /sys and /dev;
      ``python`` runs with the host's interpreter (``sys.executable``), so the
      project installed on the host is importable in the guest. In a foreign
      guest (arm64 ``virt`` on an x86 host) commands run with busybox.
    - ``devices``: QEMU ``-device`` values, replacing the machine's defaults
      (``None`` keeps them: ``edu`` on ``pc`` and ``q35-iommu``).
    - ``append``: kernel command-line arguments (``"iomem=relaxed"``).
    - ``modules``: kernel modules to load first, ``"name [param=value ...]"``,
      with their dependencies, in order. Commands find the guest kernel's
      module tree in ``$IOMEM_VM_MODULES`` (to insmod one at a chosen time).
    - ``tracefs``: mount tracefs at /sys/kernel/tracing (and debugfs).
    - ``collect``: guest files (absolute paths) or shell commands whose output
      is brought back in ``result.files`` under the same key. Files written
      into ``$IOMEM_VM_OUT`` come back too, by relative path.
    - ``timeout``: seconds before the guest is killed (VMTimeout).
    - ``accel``: ``tcg`` (default; ``$IOMEM_VM_ACCEL`` overrides), ``kvm``, or
      ``auto`` (KVM if it is there and a probe boot answers, else TCG).
    - ``check``: raise GuestCommandError if a command exits non-zero.
    - ``keep``: leave the job directory (console log, scripts) for a look.
    - ``bare``: add no device of the lab's own (no 9p shares), so the guest
      sees exactly the board and its ``devices``; commands run with busybox,
      the job travels in the initramfs and results come back on the console
      at the end (no live output). For facts such as a pristine /proc/iomem.

    Raises VMSetupError (tools or kernel missing), VMTimeout, VMBootError or
    GuestSetupError; a command's failure is ``result.status`` unless ``check``.
    """
    mach = get_machine(machine)
    commands = [] if command is None else [_render(command)]
    if command is None and python is None:
        raise VMError("nothing to run: give a command or python code")
    result = _boot(
        mach,
        commands,
        assets=assets,
        devices=devices,
        append=append,
        modules=modules,
        tracefs=tracefs,
        collect=collect,
        env=env,
        cwd=cwd,
        timeout=timeout,
        accel=accel,
        memory=memory,
        smp=smp,
        qemu_args=qemu_args,
        progress=progress,
        on_output=on_output,
        keep=keep,
        quiet=quiet,
        python=[python] if python is not None else [],
        bare=bare,
    )
    return result.check() if check else result


def dump_dtb(
    out: Path | str,
    machine: str | Machine = "virt",
    *,
    memory: str = DEFAULT_MEMORY,
    smp: int = 1,
    devices: Sequence[str] | None = None,
    qemu_args: Sequence[str] = (),
    install: bool | None = None,
    progress: Progress | None = None,
    timeout: float = 60.0,
) -> Path:
    """Write the device tree QEMU builds for ``machine`` (``-machine virt,dumpdtb=``).

    The DTB depends on memory size, CPU count and devices: pass the same
    values the guest runs with. (A running guest's own copy, kernel command
    line included, is ``/sys/firmware/fdt``: collect that.)
    """
    mach = get_machine(machine)
    _assets.ensure_host_tools([mach.arch], progress=progress, install=install)
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="iomem-dtb-") as tmp:
        # QEMU writes the DTB and exits before the guest would run.
        argv = qemu_command(
            mach,
            kernel=None,
            initrd=None,
            devices=devices,
            accel="tcg",
            memory=memory,
            smp=smp,
            qemu_args=qemu_args,
            dumpdtb=out,
        )
        status = supervise(argv, timeout=timeout, log=Path(tmp) / "qemu.log")
        if status != 0 or not out.is_file():
            msg = _read(Path(tmp) / "qemu.log").strip()
            raise VMBootError(f"QEMU could not dump the {mach.name} DTB (exit {status}): {msg}")
    return out
