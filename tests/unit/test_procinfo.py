"""Who holds a port: one walk of the host's sockets answers for several ports."""

from __future__ import annotations

import os
import socket

import psutil

from netwatch.host.procinfo import netns_of
from netwatch.host.sockets import port_holders


def test_owners_of_several_ports_from_one_walk() -> None:
    with socket.socket() as held, socket.socket() as freed:
        held.bind(("127.0.0.1", 0))
        held.listen()
        freed.bind(("127.0.0.1", 0))
        free_port = freed.getsockname()[1]
        freed.close()  # bound once, held by nobody now
        port = held.getsockname()[1]
        here = netns_of(os.getpid())
        owners = port_holders([(here, port), (here, free_port), (0, port)])
    me = f"{psutil.Process(os.getpid()).name()}({os.getpid()})"
    # netns 0 (a drop whose namespace is unknown): looked up in every namespace.
    assert owners == {(here, port): [me], (here, free_port): [], (0, port): [me]}
