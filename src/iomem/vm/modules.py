"""Which kernel module files a guest must insmod, and in what order.

Debian's kernel package ships its modules but not ``modules.dep`` (depmod
runs at install time), and busybox's insmod loads exactly one file. So the
lab works the order out on the host: from ``modules.dep`` when the tree has
one, else from ``modules.order`` (every module the build made) and each
module's own ``depends=`` entry in its ``.modinfo`` section, the same list
``modinfo -F depends`` prints. Built-in modules (``modules.builtin``) are
skipped: there is nothing to load.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from iomem.vm.errors import VMSetupError

_DEPENDS = re.compile(rb"(?:^|\x00)depends=([^\x00]*)\x00")
_SUFFIXES = (".ko", ".ko.xz", ".ko.gz", ".ko.zst")


def module_name(path_or_name: str) -> str:
    """The kernel's name for a module: file stem with ``-`` as ``_`` (KBUILD_MODNAME)."""
    name = path_or_name.rsplit("/", 1)[-1]
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return name.replace("-", "_")


def modinfo_depends(data: bytes) -> list[str]:
    """The ``depends=`` list of a module file's ``.modinfo`` strings."""
    m = _DEPENDS.search(data)
    if not m or not m.group(1):
        return []
    return [module_name(d) for d in m.group(1).decode().split(",") if d]


class ModuleIndex:
    """Module names, files and dependencies of one kernel's ``lib/modules/RELEASE``."""

    def __init__(
        self,
        root: Path,
        paths: dict[str, str],
        builtin: set[str],
        deps: dict[str, list[str]] | None = None,
    ) -> None:
        self.root = root
        self.paths = paths  # name -> path relative to root
        self.builtin = builtin
        self._deps: dict[str, list[str]] = dict(deps or {})

    @classmethod
    def load(cls, root: Path) -> ModuleIndex:
        """Index ``root`` (a ``lib/modules/RELEASE`` directory)."""
        if not root.is_dir():
            raise VMSetupError(f"no kernel modules directory at {root}")
        builtin = {module_name(line) for line in _lines(root / "modules.builtin")}
        dep_file = root / "modules.dep"
        if dep_file.is_file():
            paths: dict[str, str] = {}
            deps: dict[str, list[str]] = {}
            for line in _lines(dep_file):
                target, _, rest = line.partition(":")
                name = module_name(target)
                paths[name] = target.strip()
                deps[name] = [module_name(d) for d in rest.split()]
            return cls(root, paths, builtin, deps)
        order = root / "modules.order"
        if order.is_file():
            rel = list(_lines(order))
        else:
            rel = [
                str(p.relative_to(root))
                for p in sorted(root.rglob("*.ko*"))
                if p.name.endswith(_SUFFIXES)
            ]
        paths = {}
        for entry in rel:
            entry = entry.strip()
            if not (root / entry).exists():
                # modules.order names .ko; the file may be compressed.
                found = next(
                    (entry + s[3:] for s in _SUFFIXES if (root / (entry + s[3:])).exists()), None
                )
                if found is None:
                    continue
                entry = found
            paths[module_name(entry)] = entry
        return cls(root, paths, builtin)

    def depends(self, name: str) -> list[str]:
        """Direct dependencies of module ``name``."""
        name = module_name(name)
        if name not in self._deps:
            path = self.path(name)
            data = path.read_bytes()
            if path.name.endswith(".xz"):
                import lzma

                data = lzma.decompress(data)
            elif path.name.endswith(".gz"):
                import gzip

                data = gzip.decompress(data)
            elif path.name.endswith(".zst"):
                raise VMSetupError(f"cannot read zstd-compressed module {path}: no zstd in Python")
            self._deps[name] = modinfo_depends(data)
        return self._deps[name]

    def path(self, name: str) -> Path:
        name = module_name(name)
        try:
            return self.root / self.paths[name]
        except KeyError:
            raise VMSetupError(
                f"kernel module {name!r} is neither built in nor shipped with the kernel "
                f"in {self.root}"
            ) from None

    def is_builtin(self, name: str) -> bool:
        return module_name(name) in self.builtin

    def load_order(self, names: Iterable[str]) -> list[str]:
        """Module names to insmod, dependencies first, each once; built-ins left out."""
        order: list[str] = []
        state: dict[str, int] = {}  # 1 visiting, 2 done

        def visit(name: str, chain: tuple[str, ...]) -> None:
            name = module_name(name)
            if state.get(name) == 2 or self.is_builtin(name):
                return
            if state.get(name) == 1:
                raise VMSetupError(
                    "kernel modules depend on each other in a cycle: " + " -> ".join((*chain, name))
                )
            state[name] = 1
            for dep in self.depends(name):
                visit(dep, (*chain, name))
            state[name] = 2
            order.append(name)

        for name in names:
            visit(name, ())
        return order


def _lines(path: Path) -> Iterable[str]:
    if not path.is_file():
        return []
    return [line for line in path.read_text().splitlines() if line.strip()]
