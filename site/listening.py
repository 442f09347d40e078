"""Where the workers of `catalogue serve` listen.

Workers that share one listening socket (uvicorn's way) race to accept: the worker woken
first takes every connection waiting, so clients that keep their connections open (a proxy,
a harvesting partner, several browser tabs) can all end up on one worker while the others
idle. On Linux each worker listens on a socket of its own on the same address instead
(SO_REUSEPORT), and the kernel spreads new connections over the workers."""
from __future__ import annotations

import socket
import sys

OWN_SOCKETS = sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")


class OnePerWorker(socket.socket):
    """The address held by the process that starts the workers, which each worker that
    receives it (pickled, as uvicorn sends a worker its sockets) opens as a socket of its own.
    This one only holds the address: a socket that does not listen is given no connection."""

    def __reduce_ex__(self, protocol):
        return _own, (self.family, self.getsockname()[:2])


def one_per_worker(host: str, port: int) -> OnePerWorker:
    """The address for workers with sockets of their own. Raises OSError where it is taken:
    by a program that shares no port, or by another server started this way."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:  # joins no group: fails where any listens
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
        port = probe.getsockname()[1]  # the port the system chose, for port 0
    held = OnePerWorker(family, socket.SOCK_STREAM)
    _share(held)
    held.bind((host, port))
    return held


def _own(family: int, address: tuple) -> socket.socket:
    """A worker's socket on `address`, in the group of the others (it listens once served)."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    _share(sock)
    sock.bind(address)
    return sock


def _share(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
