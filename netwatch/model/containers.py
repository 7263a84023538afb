"""A process's cgroup v2 path to a short name a person recognises (issue #14's `container`).

Container runtimes name a container's cgroup after its 64-hex id, each in its own way; the name
shown is the id's first 12 hex digits, as `docker ps` and `crictl ps` print it. Any other
systemd unit is named by its unit (`nginx.service`, `session-3.scope`). The innermost match
wins, so a container nested in a pod's slice is named as the container. Pure text: reading
/proc/PID/cgroup happens in netwatch/host/procinfo.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

_ID = r"([0-9a-f]{64})"
# One path component each, as the runtimes write them (systemd and cgroupfs drivers).
_CONTAINER_COMPONENTS = (
    re.compile(rf"docker-{_ID}\.scope"),  # docker, systemd driver
    re.compile(rf"libpod-{_ID}\.scope"),  # podman, rootful and rootless
    re.compile(rf"cri-containerd-{_ID}\.scope"),  # containerd's CRI (kubepods)
    re.compile(rf"crio-{_ID}\.scope"),  # CRI-O
    re.compile(rf"nerdctl-{_ID}\.scope"),  # containerd's nerdctl
    re.compile(_ID),  # cgroupfs drivers: /docker/ID, /kubepods/burstable/podUID/ID
)
# A runtime's monitor beside the container (conmon): not the container itself.
_MONITOR = re.compile(rf"(libpod|crio)-conmon-{_ID}\.scope")
_UNIT = re.compile(r"[^/]+\.(service|scope)")


# Where a cgroup was removed before its path could be found, and only its own name is known
# (from the kernel): the path reads "…/docker-<id>.scope", which still names the container.
UNKNOWN_PARENTS = "…"

# Where only root (a runtime, the kubelet, systemd) makes cgroups, so a 64-hex name there is a
# runtime's: the first one or two components of the path. Anywhere else may be a subtree
# delegated to a user (user@UID.service, a Delegate=yes unit), who can name a cgroup
# docker-<64 hex>.scope and pass for a container. Rootless podman is the one runtime that
# lives in a user's subtree: its libpod scopes are believed there (they are that user's).
_RUNTIME_SLICES = {
    "system.slice": re.compile(rf"(docker|nerdctl|crio|cri-containerd)-{_ID}\.scope"),
    "machine.slice": re.compile(rf"libpod-{_ID}\.scope"),
    "docker": re.compile(_ID),  # docker's cgroupfs driver
}
_ROOTLESS_PODMAN = re.compile(rf"libpod-{_ID}\.scope")
_USER_MANAGER = re.compile(r"user@\d+\.service")


def _runtime_components(components: list[str]) -> list[str]:
    """The part of the path in which a container runtime named the cgroups, or []."""
    if not components:
        return []
    top = components[0]
    if top.startswith("kubepods") or top == UNKNOWN_PARENTS:
        # UNKNOWN_PARENTS: a cgroup removed before its id was looked up, named by the kernel
        # (a `docker run --rm` job). Where it was is not known, so this one is believed; the
        # kernel side would have to send the parent's id to check it (see docs/safety.md).
        return components
    runtime = _RUNTIME_SLICES.get(top)
    if runtime is not None and len(components) > 1 and runtime.fullmatch(components[1]):
        return components[1:]  # and what the container nests inside (kind's pods)
    return []


def container_name(cgroup_path: str) -> str:
    """`cgroup_path` as /proc/PID/cgroup's `0::` line has it; "" where nothing matches."""
    components = [c for c in cgroup_path.split("/") if c]
    for component in reversed(_runtime_components(components)):
        for pattern in _CONTAINER_COMPONENTS:
            found = pattern.fullmatch(component)
            if found:
                return found.group(1)[:12]
    if any(_USER_MANAGER.fullmatch(c) for c in components):
        for component in reversed(components):
            found = _ROOTLESS_PODMAN.fullmatch(component)
            if found:
                return found.group(1)[:12]
    for component in reversed(components):
        if _MONITOR.fullmatch(component):
            return ""
    # The outermost unit: the one systemd made. Units inside it may be a delegated subtree's.
    return next((c for c in components if _UNIT.fullmatch(c) and c != "init.scope"), "")


@dataclass(frozen=True, slots=True)
class ProcContext:
    """Where a process runs: its cgroup v2 path (as `container_name` takes it; "" unknown) and
    its network namespace's inode (0 unknown). Known in the kernel when the process is seen
    sending or reading, so it outlives the process and the cgroup (a row already counted keeps
    its names). `started`: when the process started, wall-clock seconds (0 unknown): a PID
    names a process only with it, PIDs being reused within minutes on a busy host."""

    cgroup: str = ""
    netns: int = 0
    started: float = 0.0

    @property
    def container(self) -> str:
        return container_of(self.cgroup)


NO_CONTEXT = ProcContext()
MAX_CONTEXTS = 65536  # processes whose place a tab remembers


class Contexts:
    """Where each process ran, by PID, as the samples said: the latest for each, the most
    recently seen kept when there are more than MAX_CONTEXTS."""

    def __init__(self) -> None:
        self._by_pid: dict[int, ProcContext] = {}

    def update(self, context: Mapping[int, ProcContext]) -> None:
        for pid, place in context.items():
            self._by_pid.pop(pid, None)  # to the end: the most recently seen
            self._by_pid[pid] = place
        if len(self._by_pid) > MAX_CONTEXTS:  # oldest first: dicts keep insertion order
            for pid in list(self._by_pid)[: len(self._by_pid) - MAX_CONTEXTS]:
                del self._by_pid[pid]

    def of(self, pid: int) -> ProcContext:
        return self._by_pid.get(pid, NO_CONTEXT)

    def __len__(self) -> int:
        return len(self._by_pid)


@lru_cache(maxsize=4096)
def container_of(cgroup_path: str) -> str:
    """container_name, remembered: it is asked for every row drawn."""
    return container_name(cgroup_path)
