"""Loading device trees: flattened blobs (DTB) through libfdt, sources (DTS) through dtc.

The kernel side is drivers/of/fdt.c (``unflatten_device_tree``).  Parsing the
blob is libfdt's job: the reference implementation, used through its Python
binding (PyPI ``pylibfdt``; its build pulls SWIG from PyPI, so a C compiler is
all it needs).  Sources go through ``dtc``, the compiler every kernel build
uses (Debian's ``device-tree-compiler``, installed with apt-get on demand when
running as root), after the C preprocessor when they use ``#include``, as the
kernel's ``cmd_dtc`` does.  What is written here by hand is only the walk that
turns libfdt's offsets into :class:`~iomem.of.base.DeviceNode` objects, and the
checks that make a bad blob an error message instead of an out-of-bounds read
inside C (libfdt trusts the header's sizes unless it is given the buffer
length, so ``fdt_check_full`` runs before anything else touches the blob).
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path

from .base import DeviceNode, DeviceTree, DtError

FDT_MAGIC = 0xD00DFEED
FDT_HEADER_SIZE = 40  # version 17 header: ten big-endian u32 fields

#: built-in boards whose blob ships in iomem/boards/
BUILTIN_BOARDS = ("virt",)

# libfdt error codes (FDT_ERR_*) in words a user can act on.
_FDT_ERRORS = {
    "TRUNCATED": "the blob is cut short",
    "BADMAGIC": "bad magic number",
    "BADVERSION": "unsupported blob version",
    "BADSTRUCTURE": "the structure block is corrupt",
    "BADLAYOUT": "the blocks overlap or are out of order",
    "BADOFFSET": "an offset points outside the blob",
    "BADSTATE": "the blob is still being written",
    "INTERNAL": "libfdt internal error",
    "BADNCELLS": "bad #address-cells/#size-cells",
    "BADVALUE": "a property has a bad value",
    "ALIGNMENT": "the blob is misaligned",
}


def _libfdt():
    try:
        import libfdt
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise DtError("the libfdt Python binding is missing: pip install pylibfdt "
                      "(it builds from source and needs a C compiler: "
                      "apt-get install build-essential)") from exc
    return libfdt


def _fdt_error(libfdt, code: int) -> str:
    name = libfdt.strerror(code).removeprefix("FDT_ERR_")
    return f"{_FDT_ERRORS.get(name, name.lower())} (FDT_ERR_{name})"


def check_dtb(data: bytes, source: str = "<bytes>") -> None:
    """Raise :class:`DtError` with one clear line unless ``data`` is a whole, sound blob."""
    if len(data) < 4 or struct.unpack_from(">I", data)[0] != FDT_MAGIC:
        got = f"0x{struct.unpack_from('>I', data)[0]:08x}" if len(data) >= 4 else "none"
        raise DtError(f"{source}: not a flattened device tree (magic {got}, "
                      f"expected 0x{FDT_MAGIC:08x})")
    if len(data) < FDT_HEADER_SIZE:
        raise DtError(f"{source}: truncated device tree blob: {len(data)} bytes, "
                      f"shorter than the {FDT_HEADER_SIZE}-byte header")
    totalsize = struct.unpack_from(">I", data, 4)[0]
    if totalsize > len(data):
        raise DtError(f"{source}: truncated device tree blob: the header says "
                      f"{totalsize} bytes, there are {len(data)}")
    libfdt = _libfdt()
    buf = bytearray(data)
    err = libfdt.fdt_check_full(buf, len(buf))
    if err:
        raise DtError(f"{source}: malformed device tree blob: {_fdt_error(libfdt, err)}")


def load_dtb(data: bytes, source: str = "<bytes>") -> DeviceTree:
    """Unflatten a blob into a :class:`DeviceTree` (``unflatten_device_tree``)."""
    check_dtb(data, source)
    libfdt = _libfdt()
    try:
        fdt = libfdt.FdtRo(bytes(data))
        root = DeviceNode("/")
        _read_properties(libfdt, fdt, 0, root)
        stack: list[tuple[int, DeviceNode]] = [(0, root)]
        while stack:
            offset, node = stack.pop()
            kids: list[tuple[int, DeviceNode]] = []
            sub = fdt.first_subnode(offset, quiet=(libfdt.NOTFOUND,))
            while sub >= 0:
                child = DeviceNode(fdt.get_name(sub), parent=node)
                _read_properties(libfdt, fdt, sub, child)
                node.children.append(child)
                kids.append((sub, child))
                sub = fdt.next_subnode(sub, quiet=(libfdt.NOTFOUND,))
            stack.extend(reversed(kids))
        rsv: list[tuple[int, int]] = []
        for i in range(fdt.num_mem_rsv()):
            address, size = (int(x) for x in fdt.get_mem_rsv(i)[-2:])  # [address, size]
            rsv.append((address, size))
        cpuid = fdt.boot_cpuid_phys()
    except libfdt.FdtException as exc:
        raise DtError(f"{source}: malformed device tree blob: "
                      f"{_fdt_error(libfdt, -exc.err)}") from exc
    except (UnicodeDecodeError, SystemError) as exc:
        # the binding decodes names as UTF-8; SWIG reports a failed decode as SystemError
        raise DtError(f"{source}: malformed device tree blob: a node or property name "
                      "is not valid text") from exc
    totalsize = struct.unpack_from(">I", data, 4)[0]
    return DeviceTree(root, mem_rsvmap=rsv, boot_cpuid_phys=cpuid,
                      source=source, blob=bytes(data[:totalsize]))


def _read_properties(libfdt, fdt, offset: int, node: DeviceNode) -> None:
    poff = fdt.first_property_offset(offset, quiet=(libfdt.NOTFOUND,))
    while poff >= 0:
        prop = fdt.get_property_by_offset(poff)
        node.properties[prop.name] = bytes(prop)
        poff = fdt.next_property_offset(poff, quiet=(libfdt.NOTFOUND,))


def load_dtb_file(path: str | os.PathLike[str]) -> DeviceTree:
    return load_dtb(_read(path), str(path))


# -- sources -----------------------------------------------------------------

_CPP_DIRECTIVE = re.compile(rb"^\s*#\s*(include|define|if|ifdef|ifndef)\b", re.M)


def _install_with_apt(package: str, tool: str) -> None:
    """Install a Debian package when we are root on an apt system (said on stderr)."""
    if os.environ.get("IOMEM_NO_INSTALL") or os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    print(f"iomem: {tool} not found; installing Debian's {package} with apt-get",
          file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "-o", "DPkg::Lock::Timeout=120", "install", "-y", "-q", package]
    if subprocess.run(cmd, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
        subprocess.run(cmd, env=env, capture_output=True)


def find_dtc(install: bool = True) -> str:
    """The path of ``dtc``, installing device-tree-compiler first if allowed."""
    path = shutil.which("dtc")
    if path is None and install:
        _install_with_apt("device-tree-compiler", "dtc")
        path = shutil.which("dtc")
    if path is None:
        raise DtError("dtc (the device tree compiler) is needed to read DTS sources: "
                      "install it with 'apt-get install device-tree-compiler' "
                      "(iomem does this itself when run as root)")
    return path


def _find_cpp() -> str:
    path = shutil.which("cpp")
    if path is None:
        _install_with_apt("cpp", "cpp")
        path = shutil.which("cpp")
    if path is None:
        raise DtError("this DTS uses #include/#define: the C preprocessor is needed "
                      "(apt-get install cpp)")
    return path


def _first_lines(text: str, n: int = 3) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return "; ".join(lines[:n]) if lines else "no message"


def compile_dts(path: str | os.PathLike[str],
                include_dirs: Sequence[str | os.PathLike[str]] = ()) -> tuple[bytes, list[str]]:
    """Compile a DTS file with dtc; returns (blob, dtc's warnings).

    Sources with C preprocessor directives are preprocessed the way the kernel
    does (``cpp -nostdinc -undef -D__DTS__ -x assembler-with-cpp``).
    """
    src = Path(path)
    text = _read(src)
    dirs = [str(src.parent), *map(str, include_dirs)]
    dtc = find_dtc()
    with tempfile.TemporaryDirectory(prefix="iomem-dtc-") as tmp:
        dts_in = str(src)
        if _CPP_DIRECTIVE.search(text):
            dts_in = os.path.join(tmp, src.name + ".pp")
            cmd = [_find_cpp(), "-nostdinc", "-undef", "-D__DTS__", "-x", "assembler-with-cpp"]
            cmd += [f"-I{d}" for d in dirs] + ["-o", dts_in, str(src)]
            pp = subprocess.run(cmd, capture_output=True, text=True)
            if pp.returncode != 0:
                raise DtError(f"{src}: preprocessing failed: {_first_lines(pp.stderr)}")
        out = os.path.join(tmp, "out.dtb")
        cmd = [dtc, "-I", "dts", "-O", "dtb", "-o", out]
        for d in dirs:
            cmd += ["-i", d]
        run = subprocess.run(cmd + [dts_in], capture_output=True, text=True)
        if run.returncode != 0 or not os.path.exists(out):
            raise DtError(f"{src}: dtc failed: {_first_lines(run.stderr)}")
        blob = Path(out).read_bytes()
    warnings = [ln for ln in run.stderr.splitlines() if ln.strip()]
    return blob, warnings


def load_dts(path: str | os.PathLike[str],
             include_dirs: Sequence[str | os.PathLike[str]] = ()) -> DeviceTree:
    blob, warnings = compile_dts(path, include_dirs)
    tree = load_dtb(blob, str(path))
    tree.warnings = warnings
    return tree


def load_dts_string(text: str, include_dirs: Iterable[str | os.PathLike[str]] = (),
                    source: str = "<dts>") -> DeviceTree:
    """Compile DTS text (``/dts-v1/;`` is added when missing) and load it."""
    if "/dts-v1/" not in text:
        text = "/dts-v1/;\n" + text
    with tempfile.TemporaryDirectory(prefix="iomem-dts-") as tmp:
        p = Path(tmp) / "board.dts"
        p.write_text(text)
        try:
            blob, warnings = compile_dts(p, list(include_dirs))
        except DtError as exc:
            raise DtError(str(exc).replace(str(p), source)) from None
    tree = load_dtb(blob, source)
    tree.warnings = [w.replace(str(p), source) for w in warnings]
    return tree


# -- entry points -------------------------------------------------------------

def builtin_dtb(name: str) -> bytes:
    """The blob of a built-in board (see iomem/boards/)."""
    if name not in BUILTIN_BOARDS:
        raise DtError(f"no built-in board '{name}' (known: {', '.join(BUILTIN_BOARDS)})")
    return resources.files("iomem").joinpath(f"boards/{name}.dtb").read_bytes()


def load_builtin(name: str) -> DeviceTree:
    return load_dtb(builtin_dtb(name), name)


def load(spec: str | os.PathLike[str],
         include_dirs: Sequence[str | os.PathLike[str]] = ()) -> DeviceTree:
    """Load a board: a DTB or DTS file (told apart by content), or a built-in name."""
    p = Path(spec)
    if not p.exists() and str(spec) in BUILTIN_BOARDS:
        return load_builtin(str(spec))
    data = _read(p)
    if data[:4] == struct.pack(">I", FDT_MAGIC) or p.suffix in (".dtb", ".dtbo"):
        return load_dtb(data, str(p))
    return load_dts(p, include_dirs)


def _read(path: str | os.PathLike[str]) -> bytes:
    try:
        return Path(path).read_bytes()
    except IsADirectoryError:
        raise DtError(f"{path}: is a directory, not a device tree") from None
    except FileNotFoundError:
        hint = f" (built-in boards: {', '.join(BUILTIN_BOARDS)})"
        raise DtError(f"{path}: no such file{hint}") from None
    except OSError as exc:
        raise DtError(f"{path}: {exc.strerror or exc}") from None
