"""What the subcommands share: the ``--board`` option and turning user mistakes
into one clear line instead of a traceback."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import click

from ..boards import Board, board_names, boot, make_board
from ..kernel.kernel import Kernel


def _dt_board(path: str) -> Board:
    from ..boards.dt import load_board

    return load_board(path)


#: board specs that are files are handed to these loaders by suffix
BOARD_FILE_LOADERS: dict[str, Callable[[str], Board]] = {".dtb": _dt_board, ".dts": _dt_board}


def resolve_board(spec: str) -> Board:
    """A built-in board name, or a file a registered loader understands; anything else
    is one ``--board`` error (exit status 2) in the same words for every command."""
    suffixes = "/".join(BOARD_FILE_LOADERS)
    try:
        for suffix, loader in BOARD_FILE_LOADERS.items():
            if spec.endswith(suffix):
                return loader(spec)
        if os.sep in spec or os.path.exists(spec):
            raise ValueError(f"{spec!r} is not a board file: a device tree ends in {suffixes}")
        return make_board(spec)
    except ValueError as e:
        hint = f" (or a {suffixes} file)" if "unknown board" in str(e) else ""
        raise click.BadParameter(f"{e}{hint}", param_hint="--board") from None
    except OSError as e:
        raise click.BadParameter(f"cannot read {spec!r}: {e.strerror or e}",
                                 param_hint="--board") from None


def boot_board(spec: str, cmdline: str = "") -> Kernel:
    return boot(resolve_board(spec), cmdline=cmdline)


def board_option(default: str = "virt") -> Callable:
    return click.option("--board", "board", default=default, show_default=True,
                        metavar="NAME|FILE",
                        help=f"board to boot: one of {', '.join(board_names())}")


def user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Report errors a user can cause as one line (exit status 1), never a traceback."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except click.ClickException:
            raise
        except (ValueError, TypeError, OSError, LookupError) as e:
            if os.environ.get("IOMEM_DEBUG"):
                raise
            raise click.ClickException(str(e)) from None
    return wrapper
