"""One line to the systemd journal, beside stderr: a flight recorder running as a service says
where its file went in the journal even when its stderr goes elsewhere."""

from __future__ import annotations

import os
import socket

JOURNAL_SOCKET = "/run/systemd/journal/socket"


def tell_journal(message: str, priority: int = 5, identifier: str = "netwatch") -> bool:
    """Send `message` (one line) with the journal's native protocol; False where there is no
    journal. Nothing is sent when stderr already is the journal (a unit's JOURNAL_STREAM), so
    the line is not there twice."""
    if os.environ.get("JOURNAL_STREAM"):
        return False
    text = message.replace("\n", " ")
    entry = f"MESSAGE={text}\nPRIORITY={priority}\nSYSLOG_IDENTIFIER={identifier}\n"
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as journal:
            journal.sendto(entry.encode("utf-8", "backslashreplace"), JOURNAL_SOCKET)
    except OSError:
        return False
    return True
