"""Every kernel struct offset the probes' programs read, under the one macro name the C uses.

A program's source is the list of what it needs: the loader defines each `*_OFF` macro the
program (or a shared header it includes) names, from this table and the running kernel's BTF.
One table, so that two programs cannot name one offset two ways, nor one name two offsets."""

from __future__ import annotations

import re
from pathlib import Path

# Headers the probes' programs share (`#include "sock_endpoints.bpf.h"`); compiles get it as -I.
SHARED_BPF_DIR = Path(__file__).parent

# (macro, path): the path alternates struct and member, offsets added along the way, e.g.
# ("net", "ns", "ns_common", "inum") is net.ns's offset plus ns_common.inum's.
OffsetSpec = tuple[tuple[str, tuple[str, ...]], ...]

# Rows are grouped by the chain of pointers a program follows.
KERNEL_OFFSETS: dict[str, tuple[str, ...]] = {
    # The socket behind a task's descriptor: task->files->fdt->fd[n]->private_data->sk.
    "TASK_FILES_OFF": ("task_struct", "files"),
    "FILES_FDT_OFF": ("files_struct", "fdt"),
    "FDT_FD_OFF": ("fdtable", "fd"),
    "FDT_MAX_FDS_OFF": ("fdtable", "max_fds"),
    "FILE_PRIVATE_DATA_OFF": ("file", "private_data"),
    "FILE_F_INODE_OFF": ("file", "f_inode"),
    "INODE_I_MODE_OFF": ("inode", "i_mode"),
    "SOCKET_SK_OFF": ("socket", "sk"),
    # A sock's family, protocol, ports, addresses, state and namespace.
    "SKC_FAMILY_OFF": ("sock_common", "skc_family"),
    "SK_PROTOCOL_OFF": ("sock", "sk_protocol"),
    "SK_TYPE_OFF": ("sock", "sk_type"),  # SOCK_STREAM, SOCK_DGRAM, SOCK_RAW
    "SKC_NUM_OFF": ("sock_common", "skc_num"),
    "SKC_DPORT_OFF": ("sock_common", "skc_dport"),
    "SKC_PORTPAIR_OFF": ("sock_common", "skc_portpair"),
    "SKC_DADDR_OFF": ("sock_common", "skc_daddr"),
    "SKC_V6_DADDR_OFF": ("sock_common", "skc_v6_daddr"),
    "SKC_RCV_SADDR_OFF": ("sock_common", "skc_rcv_saddr"),
    "SKC_V6_RCV_SADDR_OFF": ("sock_common", "skc_v6_rcv_saddr"),
    "SKC_STATE_OFF": ("sock_common", "skc_state"),
    "SKC_NET_OFF": ("sock_common", "skc_net"),
    "SK_ERR_OFF": ("sock", "sk_err"),  # why a connect failed, as the kernel set it
    "INET_SPORT_OFF": ("inet_sock", "inet_sport"),  # kept when a failed connect's port is not
    # A TCP socket's own accounting, as tcp_info reports it (conns.bpf.c reads it at CLOSE).
    "TCP_SRTT_US_OFF": ("tcp_sock", "srtt_us"),
    "TCP_MDEV_US_OFF": ("tcp_sock", "mdev_us"),
    "TCP_RTT_MIN_OFF": ("tcp_sock", "rtt_min"),
    "MINMAX_SAMPLE_V_OFF": ("minmax_sample", "v"),
    "TCP_TOTAL_RETRANS_OFF": ("tcp_sock", "total_retrans"),
    "TCP_BYTES_ACKED_OFF": ("tcp_sock", "bytes_acked"),
    "TCP_BYTES_RECEIVED_OFF": ("tcp_sock", "bytes_received"),
    "TCP_BYTES_SENT_OFF": ("tcp_sock", "bytes_sent"),
    "TCP_CHRONO_STAT_OFF": ("tcp_sock", "chrono_stat"),
    "TCP_SND_CWND_OFF": ("tcp_sock", "snd_cwnd"),
    "TCP_SEGS_OUT_OFF": ("tcp_sock", "segs_out"),
    "TCP_SEGS_IN_OFF": ("tcp_sock", "segs_in"),  # 0: a refused connect got no reset (ICMP)
    # A packet: its socket, device, length, headers and GSO segments.
    "SKB_SK_OFF": ("sk_buff", "sk"),
    "SKB_DEV_OFF": ("sk_buff", "dev"),
    "SKB_LEN_OFF": ("sk_buff", "len"),
    "SKB_PROTOCOL_OFF": ("sk_buff", "protocol"),
    "SKB_HEAD_OFF": ("sk_buff", "head"),
    "SKB_DATA_OFF": ("sk_buff", "data"),
    "SKB_MAC_HEADER_OFF": ("sk_buff", "mac_header"),
    "SKB_END_OFF": ("sk_buff", "end"),
    "SKB_CB_OFF": ("sk_buff", "cb"),
    "SHINFO_GSO_SEGS_OFF": ("skb_shared_info", "gso_segs"),
    "NETDEV_NAME_OFF": ("net_device", "name"),
    "NETDEV_ND_NET_OFF": ("net_device", "nd_net"),
    # The process a packet is charged to, as a task in process context names it.
    "TASK_TGID_OFF": ("task_struct", "tgid"),
    "TASK_PID_OFF": ("task_struct", "pid"),  # the thread's own id
    "TASK_COMM_OFF": ("task_struct", "comm"),
    "TASK_CRED_OFF": ("task_struct", "cred"),
    # Which process a PID names: its group leader's start (what /proc/PID/stat's starttime is).
    "TASK_GROUP_LEADER_OFF": ("task_struct", "group_leader"),
    "TASK_START_BOOTTIME_OFF": ("task_struct", "start_boottime"),
    "CRED_UID_OFF": ("cred", "uid"),
    # Where a task runs (#14): its cgroup v2 directory's name, task->cgroups->dfl_cgrp->kn->name
    # (the cgroup bpf_get_current_cgroup_id() names), and its or a struct net's netns inode.
    "TASK_CGROUPS_OFF": ("task_struct", "cgroups"),
    "CSS_SET_DFL_CGRP_OFF": ("css_set", "dfl_cgrp"),
    "CGROUP_KN_OFF": ("cgroup", "kn"),
    "KERNFS_NODE_NAME_OFF": ("kernfs_node", "name"),
    "KERNFS_NODE_ID_OFF": ("kernfs_node", "id"),  # what bpf_get_current_cgroup_id() returns
    "TASK_NSPROXY_OFF": ("task_struct", "nsproxy"),
    "NSPROXY_NET_NS_OFF": ("nsproxy", "net_ns"),
    "NET_NS_INUM_OFF": ("net", "ns", "ns_common", "inum"),
    # x86_64 syscall arguments in pt_regs (di, si, dx, r10, r8, r9) and the syscall number.
    "REGS_ARG0_OFF": ("pt_regs", "di"),
    "REGS_ARG1_OFF": ("pt_regs", "si"),
    "REGS_ARG2_OFF": ("pt_regs", "dx"),
    "REGS_ARG3_OFF": ("pt_regs", "r10"),
    "REGS_ARG4_OFF": ("pt_regs", "r8"),
    "REGS_ARG5_OFF": ("pt_regs", "r9"),
    "REGS_ORIG_AX_OFF": ("pt_regs", "orig_ax"),
}

_MACRO = re.compile(r"\b[A-Z][A-Z0-9_]*_OFF\b")
_SHARED_INCLUDE = re.compile(r'#include "([\w.]+)"')


def offsets_named(text: str) -> OffsetSpec:
    """The table's rows a program's source names, with those of the shared headers it
    includes. Names not in the table (a probe's own derived values) are left to the probe."""
    names = set(_MACRO.findall(text))
    for header in _SHARED_INCLUDE.findall(text):
        names |= set(_MACRO.findall((SHARED_BPF_DIR / header).read_text()))
    return tuple((name, KERNEL_OFFSETS[name]) for name in sorted(names) if name in KERNEL_OFFSETS)
