"""Loaded by child `lookalike` processes of the reliability suite (via PYTHONPATH).

Blocks outgoing socket connections and appends each attempt to the file named
by LOOKALIKE_NETGUARD_LOG, which the suite checks at the end of the run.
"""

import os
import socket

_LOG = os.environ.get("LOOKALIKE_NETGUARD_LOG")


def _guard(original):
    def connect(self, address, *args):
        if self.family == getattr(socket, "AF_UNIX", None):
            return original(self, address, *args)
        if _LOG:
            with open(_LOG, "a", encoding="utf-8") as log:
                log.write(f"connect {address!r} from pid {os.getpid()}\n")
        raise OSError(f"network access blocked during the reliability suite: {address!r}")

    return connect


if _LOG:
    socket.socket.connect = _guard(socket.socket.connect)
    socket.socket.connect_ex = _guard(socket.socket.connect_ex)
