"""Who holds a port: one walk of the host's sockets answers for several ports."""

from __future__ import annotations

import os
import socket

import psutil

from netwatch.host.procinfo import owners_of_ports


def test_owners_of_several_ports_from_one_walk() -> None:
    with socket.socket() as held, socket.socket() as freed:
        held.bind(("127.0.0.1", 0))
        held.listen()
        freed.bind(("127.0.0.1", 0))
        free_port = freed.getsockname()[1]
        freed.close()  # bound once, held by nobody now
        port = held.getsockname()[1]
        owners = owners_of_ports([port, free_port])
    me = f"{psutil.Process(os.getpid()).name()}({os.getpid()})"
    assert owners == {port: [me], free_port: []}
