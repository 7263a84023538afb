/*
 * netwatch Accepts probe: one event per accepted TCP connection, streamed to user space.
 *
 * Attach points: tracepoints syscalls:sys_{enter,exit}_accept and sys_{enter,exit}_accept4. At
 * the exit the new descriptor is in the accepting task's own file table, so the socket and both
 * of its addresses are read from there, whether or not the program asked for the peer address
 * (accept4(fd, NULL, NULL, 0)). A connection reset before accept() returned (a scanner's
 * connect-then-RST) has had its local port released (inet_num = 0) by then: the listening
 * socket's port, noted at the syscall's entry, stands in. Accepts done through io_uring never
 * pass these tracepoints.
 *
 * Each accept also says where it happened (#14): the acceptor's cgroup v2 id and its directory's
 * name (task->cgroups->dfl_cgrp->kn->name), and the accepted socket's network namespace.
 *
 * Kernel features: tracepoint BPF programs, BPF ring buffer (5.8+); BTF offsets (passed by the
 * loader) for task->files->fdt->fd[], file->private_data, socket->sk and sock_common's addresses,
 * and for the cgroup and namespace chains above.
 *
 * Expected overhead: one program per accept/accept4 return, a dozen reads, one ring buffer
 * record (192 bytes) per accepted TCP connection. A record that cannot be reserved
 * (buffer full) is counted in `lost` and shown, never dropped silently.
 */
#include <uapi/linux/ptrace.h>

#define AF_INET_ 2
#define AF_INET6_ 10
#define IPPROTO_TCP_ 6
#define IPPROTO_MPTCP_ 262
#define CGROUP_NAME_LEN 96 /* "cri-containerd-<64 hex>.scope" is 85 */

#include "sock_endpoints.bpf.h"
#include "task_sock.bpf.h"

struct accept_event_t {
    u64 ts_ns;
    u32 pid;
    u32 tid;
    u32 uid;
    s32 fd;
    char comm[16];
    u16 family;
    u16 lport;
    u16 rport;
    u16 pad;
    u8 laddr[16];
    u8 raddr[16];
    u64 cgroup_id;
    u32 netns;
    u32 pad2;
    char cgroup_name[CGROUP_NAME_LEN];
    u64 start_ns; /* the acceptor's start (group leader's start_boottime): a PID names a
                   * process only with it */
};

BPF_RINGBUF_OUTPUT(events, RINGBUF_PAGES);
/* [0]: accept events that could not be handed to user space (ring buffer full). */
BPF_PERCPU_ARRAY(lost, u64, 1);

/* thread id -> the local port of the socket it is accepting on, from the syscall's entry. */
BPF_HASH(listen_port, u32, u16, 4096);

static __always_inline int accepting(long fd)
{
    u64 sk = fd_sock(fd);
    if (!sk)
        return 0;
    u16 port = 0;
    bpf_probe_read_kernel(&port, sizeof(port), (const u8 *)sk + SKC_NUM_OFF);
    u32 tid = (u32)bpf_get_current_pid_tgid();
    listen_port.update(&tid, &port);
    return 0;
}

static __always_inline int accepted(long ret)
{
    u32 tid = (u32)bpf_get_current_pid_tgid();
    u16 *listening = listen_port.lookup(&tid);
    u16 fallback_port = listening ? *listening : 0;
    if (listening)
        listen_port.delete(&tid);
    if (ret < 0)
        return 0;
    u64 sk = fd_sock(ret);
    if (!sk)
        return 0;
    const u8 *skc = (const u8 *)sk;
    u16 family = 0, protocol = 0;
    bpf_probe_read_kernel(&family, sizeof(family), skc + SKC_FAMILY_OFF);
    if (family != AF_INET_ && family != AF_INET6_)
        return 0; /* unix and other families: not a TCP connection */
    bpf_probe_read_kernel(&protocol, sizeof(protocol), skc + SK_PROTOCOL_OFF);
    if (protocol != IPPROTO_TCP_ && protocol != IPPROTO_MPTCP_)
        return 0;

    struct accept_event_t *ev = events.ringbuf_reserve(sizeof(struct accept_event_t));
    if (!ev) {
        u32 zero = 0;
        lost.increment(zero);
        return 0;
    }
    u64 pid_tgid = bpf_get_current_pid_tgid();
    ev->ts_ns = bpf_ktime_get_ns();
    ev->pid = pid_tgid >> 32;
    ev->tid = (u32)pid_tgid;
    ev->uid = (u32)bpf_get_current_uid_gid();
    ev->fd = (s32)ret;
    bpf_get_current_comm(ev->comm, sizeof(ev->comm));
    ev->family = family;
    ev->pad = 0;
    sock_endpoints(skc, family, ev->laddr, ev->raddr, &ev->lport, &ev->rport);
    if (!ev->lport)
        ev->lport = fallback_port; /* reset before accept returned: its port was released */
    ev->cgroup_id = bpf_get_current_cgroup_id();
    ev->pad2 = 0;
    ev->netns = 0;
    u64 net = read_ptr(sk, SKC_NET_OFF); /* sk->sk_net: possible_net_t, one pointer */
    if (net)
        bpf_probe_read_kernel(&ev->netns, sizeof(ev->netns), (const u8 *)net + NET_NS_INUM_OFF);
    u64 cset = read_ptr(bpf_get_current_task(), TASK_CGROUPS_OFF);
    u64 kn = read_ptr(read_ptr(cset, CSS_SET_DFL_CGRP_OFF), CGROUP_KN_OFF);
    u64 name = read_ptr(kn, KERNFS_NODE_NAME_OFF);
    ev->cgroup_name[0] = 0;
    if (name)
        bpf_probe_read_kernel_str(ev->cgroup_name, CGROUP_NAME_LEN, (const void *)name);
    ev->start_ns = 0;
    u64 leader = read_ptr(bpf_get_current_task(), TASK_GROUP_LEADER_OFF);
    if (leader)
        bpf_probe_read_kernel(&ev->start_ns, sizeof(ev->start_ns),
                              (const u8 *)leader + TASK_START_BOOTTIME_OFF);
    events.ringbuf_submit(ev, 0);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_accept)
{
    return accepting(args->fd);
}

TRACEPOINT_PROBE(syscalls, sys_enter_accept4)
{
    return accepting(args->fd);
}

TRACEPOINT_PROBE(syscalls, sys_exit_accept)
{
    return accepted(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_exit_accept4)
{
    return accepted(args->ret);
}
