"""The VM lab: real Linux kernels under QEMU, to prove iomem against the real thing.

``iomem.vm.run("cat /proc/iomem")`` boots Debian's stock kernel on a QEMU
machine (``pc`` with the edu device by default), runs the command with the
host's own programs in the guest, and returns its output, exit status and
collected files. QEMU and the kernel are fetched with apt on first use and
cached; a warm run takes seconds. For example::

    import sys, iomem.vm
    r = iomem.vm.run(
        [sys.executable, "checks.py"],         # the host's Python, in the guest
        collect=["/proc/iomem", "lspci -v"],   # files or command outputs
        append=["iomem=relaxed"], modules=["uio_pci_generic"], tracefs=True,
    )
    r.status, r.output, r.text("/proc/iomem"), r.json("results.json")

``run_batch`` runs several commands in one boot; files a command writes into
``$IOMEM_VM_OUT`` come back in ``files``; ``bare=True`` adds no device of
the lab's own (for pristine facts). The command line is ``iomem vm run``,
``iomem vm dtb`` and ``iomem vm setup``; pytest gets the ``vm_lab`` fixture
and ``vm`` marker from ``iomem.vm.pytest_plugin``.

Environment: ``XDG_CACHE_HOME`` (or ``IOMEM_VM_CACHE``) places the cache;
``IOMEM_VM_ACCEL`` picks ``tcg`` (default), ``kvm`` or ``auto``; ``CI=true``
makes the VM tests mandatory and ``IOMEM_VM=0`` skips them elsewhere.
"""

from iomem.vm.assets import Kernel, cache_dir, ensure_host_tools, ensure_kernel
from iomem.vm.errors import (
    GuestCommandError,
    GuestSetupError,
    VMBootError,
    VMError,
    VMSetupError,
    VMTimeout,
)
from iomem.vm.machines import MACHINES, Machine, get_machine
from iomem.vm.runner import (
    DEFAULT_TIMEOUT,
    BootAssets,
    RunResult,
    StepResult,
    dump_dtb,
    kvm_answers,
    prepare,
    run,
    run_batch,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "MACHINES",
    "BootAssets",
    "GuestCommandError",
    "GuestSetupError",
    "Kernel",
    "Machine",
    "RunResult",
    "StepResult",
    "VMBootError",
    "VMError",
    "VMSetupError",
    "VMTimeout",
    "cache_dir",
    "dump_dtb",
    "ensure_host_tools",
    "ensure_kernel",
    "get_machine",
    "kvm_answers",
    "prepare",
    "run",
    "run_batch",
]
