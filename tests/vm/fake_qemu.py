"""A stand-in for qemu-system-*: plays the guest's side of the job protocol on the host.

Tests of the runner use it to check command lines, results, errors and
clean-up without booting anything. ``FAKE_QEMU_MODE`` picks the behaviour:
``guest`` (run the job's steps with the host's sh, like the guest's init),
``hang`` (ignore SIGTERM and never exit, with a child process),
``crash`` (complain like QEMU about a bad option and exit 1),
``setup-error`` (report a failed module load), ``no-done`` (power off early).
"""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path


def option(args: list[str], name: str) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args) if a == name]


def main() -> int:
    args = sys.argv[1:]
    if "FAKE_QEMU_ARGS" in os.environ:
        Path(os.environ["FAKE_QEMU_ARGS"]).write_text("\n".join(args))
    mode = os.environ.get("FAKE_QEMU_MODE", "guest")
    job = None
    for value in option(args, "-virtfs"):
        if "mount_tag=iomemjob" in value:
            m = re.search(r"path=((?:[^,]|,,)*)", value)
            assert m is not None
            job = Path(m.group(1).replace(",,", ","))
    serial = next(v[len("file:") :] for v in option(args, "-serial") if v.startswith("file:"))
    console = open(serial, "w")  # noqa: SIM115 - stays open while the fake "guest" runs
    console.write("fake kernel booting\n")
    console.flush()
    if mode == "crash":
        print(
            "qemu-system-x86_64: -device nosuch: 'nosuch' is not a valid device model name",
            file=sys.stderr,
        )
        return 1
    console.write("iomem-vm: init started\n")
    console.flush()
    if mode == "hang":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        child = subprocess.Popen(["sleep", "600"])
        Path(os.environ["FAKE_QEMU_CHILD"]).write_text(str(child.pid))
        while True:
            time.sleep(1)
    assert job is not None
    if mode == "setup-error":
        (job / "error").write_text("cannot load kernel module /x/vfio.ko")
        return 0
    if mode == "no-done":
        return 0
    env = dict(line.split("=", 1) for line in (job / "job.env").read_text().split())
    for i in range(int(env["NSTEPS"])):
        with open(job / f"out-{i}", "wb") as out:
            status = subprocess.call(
                ["sh", str(job / f"step-{i}.sh")],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        (job / f"status-{i}").write_text(f"{status}\n")
    if (job / "collect.sh").exists():
        subprocess.call(["sh", str(job / "collect.sh")])
    (job / "done").write_text("ok\n")
    console.write("iomem-vm: job done\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
