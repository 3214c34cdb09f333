"""The reliability suite's network guard: every way out of the machine fails.

Child `lookalike` processes load this file at start (it is on their PYTHONPATH
as `sitecustomize`) and append each attempt to the file named by
LOOKALIKE_NETGUARD_LOG; the suite's conftest.py installs the same guard in its
own process. Blocked: connecting (connect, connect_ex), sending without
connecting (sendto, sendmsg: UDP, e.g. DNS or discovery broadcasts) and name
lookups (getaddrinfo and the gethostby* family), which leak a query even when
no connection follows. Unix sockets are local IPC and stay allowed.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

#: socket.socket methods that reach another machine unless the socket is a Unix one.
METHODS = ("connect", "connect_ex", "sendto", "sendmsg")
#: socket module functions that ask a name server.
FUNCTIONS = ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr")
MESSAGE = "network access blocked during the reliability suite"


def install(note: Callable[[str], None], error: type[OSError] = OSError) -> Callable[[], None]:
    """Block every call above: `note` gets a line naming it, then `error` is raised.

    Returns a function that puts the originals back.
    """
    saved = [(socket.socket, name, getattr(socket.socket, name)) for name in METHODS]
    saved += [(socket, name, getattr(socket, name)) for name in FUNCTIONS]
    for owner, name, original in saved:
        guard = _method_guard if owner is socket.socket else _function_guard
        setattr(owner, name, guard(name, original, note, error))

    def restore() -> None:
        for owner, name, original in saved:
            setattr(owner, name, original)

    return restore


def _method_guard(name: str, original: Callable, note: Callable[[str], None], error: type[OSError]) -> Callable:
    def guard(self: socket.socket, *args: object) -> object:
        if self.family == getattr(socket, "AF_UNIX", None):
            return original(self, *args)  # local IPC, not the network
        return _refuse(f"{name} {_address(name, args)!r}", note, error)

    return guard


def _function_guard(name: str, original: Callable, note: Callable[[str], None], error: type[OSError]) -> Callable:
    def guard(*args: object, **kwargs: object) -> object:
        return _refuse(f"{name} {args[0] if args else kwargs.get('host')!r}", note, error)

    return guard


def _address(name: str, args: tuple[object, ...]) -> object:
    """Where a blocked call was going: connect's argument, sendto's last, sendmsg's fourth."""
    if name == "sendmsg":
        return args[3] if len(args) > 3 else "(connected peer)"
    return args[-1] if args else None


def _refuse(what: str, note: Callable[[str], None], error: type[OSError]) -> object:
    note(f"{what} from pid {os.getpid()}")
    raise error(f"{MESSAGE}: {what}")


def _append_to_log(line: str) -> None:
    with open(os.environ["LOOKALIKE_NETGUARD_LOG"], "a", encoding="utf-8") as log:
        log.write(line + "\n")


if __name__ == "sitecustomize" and os.environ.get("LOOKALIKE_NETGUARD_LOG"):
    install(_append_to_log)
