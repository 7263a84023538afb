"""Run code as `nobody`, the way a hostile local user would attack a root netwatch."""

from __future__ import annotations

import subprocess

NOBODY = 65534


def as_nobody(code: str, *args: str, nofile: int | None = None) -> subprocess.Popen[str]:
    """`code` run by the system's python3 as uid/gid 65534 with no supplementary groups,
    its output piped; `nofile` raises its descriptor limit first (root may, nobody may not)."""
    argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
            "/usr/bin/python3", "-c", code, *args]  # fmt: skip
    if nofile is not None:
        argv = ["prlimit", f"--nofile={nofile}:{nofile}", "--", *argv]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
