"""The VM lab: real Linux kernels under QEMU, to prove iomem against the real thing.

``iomem.vm.run("cat /proc/iomem")`` boots Debian's stock kernel on a QEMU
machine (``pc`` with the edu device by default), runs the command with the
host's own programs in the guest, and returns its output, exit status and
collected files. QEMU and the kernel are fetched with apt on first use and
cached; a warm run takes seconds.
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
