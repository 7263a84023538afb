"""Which BPF programs are loaded: netwatch's carry BCC's tracepoint__<category>__<name>, or
nw_<name> where netwatch loads them itself as BTF tracepoints (probes/btf_attach.py)."""

from __future__ import annotations

import json
import subprocess
import time

OURS = (
    "tracepoint__net__net_dev_queue",
    "tracepoint__net__netif_receive_skb",
    "tracepoint__tcp__tcp_probe",
    "nw_net_dev_queue",
    "nw_netif_receive_skb",
    "nw_tcp_probe",
)


def loaded_program_ids(names: tuple[str, ...] = OURS) -> set[int]:
    out = subprocess.run(
        ["bpftool", "-j", "prog", "show"], capture_output=True, text=True, check=True
    ).stdout

    # bpftool shows the BTF name where it can (sometimes without BCC's "tracepoint__" prefix),
    # else the kernel's copy truncated to 15 characters (BPF_OBJ_NAME_LEN - 1).
    def ours(shown: str) -> bool:
        return bool(shown) and any(n.endswith(shown) or n[:15] == shown for n in names)

    return {p["id"] for p in json.loads(out) if ours(p.get("name", ""))}


def wait_released(baseline: set[int], timeout: float = 10.0) -> set[int]:
    """Programs of ours beyond `baseline` still loaded after up to `timeout` s. The kernel frees a
    program asynchronously after its last descriptor closes, so give it a moment."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        extra = loaded_program_ids() - baseline
        if not extra or time.monotonic() > deadline:
            return extra
        time.sleep(0.1)


def wait_attached(proc: subprocess.Popen[str], baseline: set[int], timeout: float = 60) -> None:
    """Until `proc` has loaded a Traffic program of its own (one not in `baseline`)."""
    deadline = time.monotonic() + timeout
    while not (loaded_program_ids() - baseline):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "probe never attached"
        time.sleep(0.1)
