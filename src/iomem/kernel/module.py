"""Loadable modules: a Python file of driver code loaded into a booted kernel, as
``insmod`` loads a ``.ko`` (kernel/module/main.c ``load_module``/``do_init_module``,
``delete_module``; include/linux/module.h, platform_device.h and amba/bus.h for
``module_init``, ``module_exit``, ``module_platform_driver`` and
``module_amba_driver``).

A module file is ordinary Python that imports the kernel's names and ends the
way a C driver does::

    from iomem.kernel import platform_driver, OfDeviceId
    from iomem.kernel.module import module_platform_driver

    mydrv = platform_driver("mydrv", probe=mydrv_probe, remove=mydrv_remove,
                            of_match_table=[OfDeviceId(compatible="acme,widget")])
    module_platform_driver(mydrv)

:func:`load_module` runs the file, then its init functions in the kernel's
context (registering the driver binds it to every matching device);
:func:`delete_module` runs the exit functions (unregistering unbinds, and
devres gives everything back).  Like an unsigned out-of-tree module on
Debian's kernel, the first one taints the kernel (O, E) and says so.
Outside :func:`load_module` the ``module_*`` calls do nothing, so a module
file can also be imported as a library.  :func:`module_prepare` (run the
file: its device models register) and :func:`module_insert` (init it in a
kernel) are the two halves, for a board that must be built with the
models a module defines (``iomem boot --driver``).
"""

from __future__ import annotations

import contextvars
import os
import runpy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errno import errname

if TYPE_CHECKING:
    from .kernel import Kernel


class ModuleLoadError(RuntimeError):
    """``insmod`` failed: the module's code raised, or its init returned an error."""


@dataclass(eq=False)
class Module:
    """``struct module``: a loaded file, its init/exit functions and drivers."""

    name: str
    path: str
    inits: list[Callable[[], int | None]] = field(default_factory=list)
    exits: list[Callable[[], Any]] = field(default_factory=list)
    namespace: dict[str, Any] = field(default_factory=dict)
    kernel: Kernel | None = None

    def __repr__(self) -> str:
        return f"<Module {self.name}>"


_loading: contextvars.ContextVar[Module | None] = contextvars.ContextVar("iomem_module",
                                                                         default=None)


def module_init(fn: Callable[[], int | None]) -> Callable[[], int | None]:
    """Mark ``fn`` as the module's init (returns 0 or a negative errno)."""
    mod = _loading.get()
    if mod is not None:
        mod.inits.append(fn)
    return fn


def module_exit(fn: Callable[[], Any]) -> Callable[[], Any]:
    mod = _loading.get()
    if mod is not None:
        mod.exits.append(fn)
    return fn


def module_driver(drv: Any, register: Callable[[Any], int],
                  unregister: Callable[[Any], None]) -> Any:
    """``module_driver()``: init registers ``drv``, exit unregisters it."""
    module_init(lambda: register(drv))
    module_exit(lambda: unregister(drv))
    return drv


def module_platform_driver(drv: Any) -> Any:
    from .platform import platform_driver_register, platform_driver_unregister

    return module_driver(drv, platform_driver_register, platform_driver_unregister)


def builtin_platform_driver(drv: Any) -> Any:
    from .platform import platform_driver_register

    module_init(lambda: platform_driver_register(drv))
    return drv


def module_amba_driver(drv: Any) -> Any:
    from .amba import amba_driver_register, amba_driver_unregister

    return module_driver(drv, amba_driver_register, amba_driver_unregister)


def modules(k: Kernel) -> list[Module]:
    """The modules loaded into ``k`` (``lsmod``), oldest first."""
    got = k.__dict__.get("_modules")
    if got is None:
        got = k.__dict__["_modules"] = []
    return got


def _module_name(path: str) -> str:
    base = os.path.basename(path)
    return (base[:-3] if base.endswith(".py") else base).replace("-", "_")


def module_prepare(path: str | os.PathLike[str]) -> Module:
    """Run a module file (defining its models, drivers and init/exit functions)
    without initialising it: a board can then be built with the models it defines."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ModuleLoadError(f"could not load module {path}: No such file or directory")
    mod = Module(_module_name(path), path)
    token = _loading.set(mod)
    try:
        mod.namespace = runpy.run_path(path, run_name=f"iomem.modules.{mod.name}")
    except Exception as e:
        raise ModuleLoadError(f"could not insert module {path}: {_where(e, path)}") from e
    finally:
        _loading.reset(token)
    return mod


def module_insert(mod: Module, k: Kernel | None = None) -> Module:
    """``init_module``: taint as an unsigned out-of-tree module does, then run the
    init functions in ``k``'s context; a failing init unwinds and is an error."""
    from .kernel import current_kernel

    k = k or current_kernel()
    name, path = mod.name, mod.path
    if any(m.name == name for m in modules(k)):
        raise ModuleLoadError(f"could not insert module {path}: File exists")
    mod.kernel = k
    if "O" not in k.tainted:
        k.printk_warn(f"{name}: loading out-of-tree module taints kernel.")
        k.add_taint("O")
    if "E" not in k.tainted:
        k.printk_warn(f"{name}: module verification failed: signature and/or required key "
                      "missing - tainting kernel")
        k.add_taint("E")
    with k.active():
        for n, init in enumerate(mod.inits):
            try:
                ret = init()
            except Exception as e:
                raise ModuleLoadError(f"{name}: init raised {_where(e, path)}") from e
            ret = 0 if ret is None else ret
            if ret < 0:
                for exit_fn in reversed(mod.exits[:n]):
                    exit_fn()
                raise ModuleLoadError(f"could not insert module {path}: {_strerror(ret)}")
            if ret > 0:
                k.printk_warn(f"{name}: '{getattr(init, '__name__', 'init')}'->init "
                              f"suspiciously returned {ret}, it should follow 0/-E "
                              "convention")
    modules(k).append(mod)
    return mod


def load_module(path: str | os.PathLike[str], k: Kernel | None = None) -> Module:
    """``insmod path``: run the file, then its init functions in ``k``'s context."""
    from .kernel import current_kernel

    k = k or current_kernel()
    with k.active():
        mod = module_prepare(path)
    return module_insert(mod, k)


def delete_module(mod: Module | str, k: Kernel | None = None) -> None:
    """``rmmod``: run the exit functions (drivers unregister, devices unbind)."""
    from .kernel import current_kernel

    k = k or (mod.kernel if isinstance(mod, Module) else None) or current_kernel()
    loaded = modules(k)
    if isinstance(mod, str):
        found = next((m for m in loaded if m.name == _module_name(mod)), None)
        if found is None:
            raise ModuleLoadError(f"ERROR: Module {mod} is not currently loaded")
        mod = found
    with k.active():
        for exit_fn in reversed(mod.exits):
            exit_fn()
    if mod in loaded:
        loaded.remove(mod)


def _where(e: BaseException, path: str) -> str:
    """The exception and the last line of the module's own code it went through."""
    import traceback

    line = ""
    for fr in traceback.extract_tb(e.__traceback__):
        if os.path.abspath(fr.filename) == os.path.abspath(path):
            line = f" (at {os.path.basename(path)}:{fr.lineno}: {fr.line})"
    return f"{type(e).__name__}: {e}{line}"


_STRERROR = {"ENODEV": "No such device", "EINVAL": "Invalid argument",
             "EBUSY": "Device or resource busy", "ENOMEM": "Cannot allocate memory",
             "EEXIST": "File exists", "ENOENT": "No such file or directory",
             "EIO": "Input/output error", "ENXIO": "No such device or address"}


def _strerror(err: int) -> str:
    name = errname(err)
    return _STRERROR.get(name, f"error {err} ({name})")


__all__ = ["Module", "ModuleLoadError", "builtin_platform_driver", "delete_module",
           "load_module", "module_amba_driver", "module_driver", "module_exit", "module_init",
           "module_insert", "module_platform_driver", "module_prepare", "modules"]
