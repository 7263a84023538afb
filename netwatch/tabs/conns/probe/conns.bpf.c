/*
 * netwatch Connections probe: the life of every TCP connection, in every network namespace,
 * streamed to user space as a few records per connection (never per packet).
 *
 * Attach points (two builds, btf_ctx.bpf.h: BTF raw tracepoints, tp_btf, where the verifier
 * types the sock and the task so their fields are plain loads; else classic raw tracepoints
 * and probe reads, for kernels that refuse tracing programs):
 *   sock:inet_sock_set_state   TCP only. SYN_SENT: a connect begins, in the connecting task
 *                              (its owner). SYN_RECV: a listener made a child socket.
 *                              ESTABLISHED: the handshake is done (connect latency; on a child,
 *                              the SYN-ACK's round trip). CLOSE: how it ended (the sock's
 *                              sk_err, a reset seen) and its last counters, read from tcp_sock.
 *   tcp:tcp_send_reset         a reset sent by a tracked socket, or by one just closed (the
 *                              kernel moves a socket to CLOSE before it sends the reset that an
 *                              abortive close or SO_LINGER 0 makes): counted per connection.
 *                              A reset received needs no probe: it sets sk_err, read at CLOSE.
 *   syscalls:sys_exit_accept, sys_exit_accept4: the process that accepted an inbound connection
 *                              (its descriptor's sock, as accepts.bpf.c reads it: probe reads
 *                              in both builds, since no typed pointer leads there).
 *
 * Kernel features: BPF ring buffer (5.8+), atomic compare-and-exchange (5.12+); the BTF build
 * also BTF tracepoint programs, bpf_get_current_task_btf (5.11+) and bpf_skc_to_tcp_sock
 * (5.9+). BTF offsets of sock_common, sock, inet_sock, tcp_sock, task_struct, cred, css_set,
 * cgroup and kernfs_node fields are passed by the loader (probes/offsets.py). The same on 6.1
 * and 6.18: these tracepoints exist on both.
 *
 * Expected overhead: per connection, a slot claimed at SYN_SENT or SYN_RECV and freed at CLOSE
 * (an array indexed by a hash of the sock's address: the verifier inlines its lookup, where a
 * hash map costs a locked helper call each way; a sock whose slot is taken uses a hash map),
 * and two ring buffer records of 288 bytes (established or accepted, then closed), submitted
 * without a wakeup: the drain looks every 20 ms while records come; a connect that never
 * established sends one, written only where the decoder reads it. On our VMs every helper call
 * and return pays for speculation mitigations, so calls are what cost: a refused connect makes
 * 6 in the BTF build (two clock reads, the task, a ring reservation and its submit, the
 * tcp_sock), about 0.3 us in all, and 18 in the raw build (each field a probe read), about
 * 0.75 us (docs/benchmarks.md).
 * Nothing on the packet path. Records that cannot be reserved (buffer full) and connections the
 * table had no room for are counted in `lost` and shown, never dropped silently.
 */
#include <uapi/linux/ptrace.h>

#define AF_INET_ 2
#define AF_INET6_ 10
#define IPPROTO_TCP_ 6
#define CGROUP_NAME_LEN 96

#define TCP_ESTABLISHED_ 1
#define TCP_SYN_SENT_ 2
#define TCP_SYN_RECV_ 3
#define TCP_CLOSE_ 7
#define TCP_LISTEN_ 10
#define ECONNREFUSED_ 111

#define KIND_ESTABLISHED 2 /* a connect's handshake finished */
#define KIND_ACCEPTED 3    /* accept() handed it to a process: its owner */
#define KIND_CLOSED 4      /* it reached CLOSE: the last counters, how it ended */
#define KIND_RESET_SENT 5  /* a reset sent by a socket that had just closed */

#define SIDE_OUT 1
#define SIDE_IN 2

#define FLAG_ESTABLISHED 2
#define FLAG_REFUSED_BY_RESET 4 /* a failed connect's: a reset refused it, not an ICMP error */

#include "btf_ctx.bpf.h"
#include "current_task.bpf.h"
#include "sock_endpoints.bpf.h"
#include "task_sock.bpf.h"

/* What the kernel knows of one connection while it lives, keyed by its sock. */
struct conn_t {
    u64 opened_ns;
    u64 established_ns;
    u64 start_ns; /* its owner's start: a PID names a process only with it */
    u64 cgroup_id;
    u32 pid;
    u32 uid;
    char comm[16];
    u32 handshake_us; /* a child's SYN-ACK round trip, the kernel's first RTT sample */
    u32 resets_sent;
    u8 side;
    u8 flags;
    u16 pad;
    u32 pad2;
};

struct conn_event_t {
    u64 ts_ns;
    u64 sk;
    u64 opened_ns;
    u64 established_ns;
    u64 start_ns;
    u64 cgroup_id;
    u64 bytes_acked;
    u64 bytes_received;
    u64 bytes_sent;
    u32 pid;
    u32 uid;
    u32 netns;
    s32 err;
    u32 srtt_us;   /* smoothed RTT, us (tcp_sock keeps it <<3; shifted here) */
    u32 mdev_us;   /* its variation, us (<<2 in tcp_sock; shifted here) */
    u32 min_rtt_us;
    u32 total_retrans;
    u32 chrono[3]; /* busy, rwnd-limited, sndbuf-limited, in jiffies (tcp_sock's chrono_stat) */
    u32 handshake_us;
    u32 resets_sent;
    u32 snd_cwnd;
    u32 segs_out;
    u16 family;
    u16 lport;
    u16 rport;
    u8 kind;
    u8 side;
    u8 oldstate;
    u8 state;
    u8 flags;
    u8 pad;
    u8 laddr[16];
    u8 raddr[16];
    char comm[16];
    char cgroup_name[CGROUP_NAME_LEN];
};

BPF_RINGBUF_OUTPUT(events, RINGBUF_PAGES);
/* [0]: records that could not be handed to user space (ring buffer full); [1]: connections the
 * table had no room for (their owner and open time unknown). */
BPF_PERCPU_ARRAY(lost, u64, 2);
/* Followed connections: a slot per hash of the sock's address (sk 0: free), and the rest. */
struct slot_t {
    u64 sk;
    struct conn_t c;
};
BPF_ARRAY(slots, struct slot_t, 1 << CONN_SLOT_BITS);
BPF_HASH(overflow, u64, struct conn_t, MAX_OVERFLOW);
/* Socks that reached CLOSE lately: a reset they send after it is theirs (abortive close). */
BPF_TABLE("lru_hash", u64, u8, just_closed, 4096);

static __always_inline void count_lost(u32 index)
{
    lost.increment(index);
}

static __always_inline u32 read_u32(u64 base, u64 off)
{
    u32 value = 0;
    bpf_probe_read_kernel(&value, sizeof(value), (const u8 *)base + off);
    return value;
}

/* The current task as a connection's owner (current_task.bpf.h). */
static __always_inline void own(struct conn_t *c)
{
    const u8 *task = NW_CURRENT_TASK();
    u32 tid;
    current_owner(task, &c->pid, &tid, &c->uid, c->comm);
    c->cgroup_id = current_cgroup_id(task);
    /* A process's main thread is its group leader: one load fewer where most connects run. */
    const u8 *leader = tid == c->pid ? task : (const u8 *)NW_LOAD(u64, task, TASK_GROUP_LEADER_OFF);
    c->start_ns = leader ? NW_LOAD(u64, leader, TASK_START_BOOTTIME_OFF) : 0;
}

static __always_inline void current_cgroup_name(char *out)
{
    u64 cset = read_ptr(bpf_get_current_task(), TASK_CGROUPS_OFF);
    u64 kn = read_ptr(read_ptr(cset, CSS_SET_DFL_CGRP_OFF), CGROUP_KN_OFF);
    u64 name = read_ptr(kn, KERNFS_NODE_NAME_OFF);
    out[0] = 0;
    if (name)
        bpf_probe_read_kernel_str(out, CGROUP_NAME_LEN, (const void *)name);
}

/* ---- the table ---------------------------------------------------------------------------- */

/* Each program's own scratch below: a program never runs nested in itself on one CPU (the
 * kernel skips such a run), but one may run in a softirq that interrupted the other. */
#define SCRATCH_STATE 0
#define SCRATCH_RESET 1

#ifdef NW_BTF_CTX
/* A sock's address as a number, the table's key. The verifier forbids arithmetic on a typed
 * pointer (the slot hash multiplies it), but lets root store one in a map value and read it
 * back as a number: a per-CPU value, and one per program, so nothing writes in between. */
BPF_PERCPU_ARRAY(sock_number_scratch, u64, 2);
static __always_inline u64 sock_number(const u8 *sk, u32 scratch)
{
    u64 *v = sock_number_scratch.lookup(&scratch);
    if (!v)
        return 0;
    *(volatile u64 *)v = (u64)sk;
    return *(volatile u64 *)v;
}
#else
#define sock_number(sk, scratch) ((u64)(sk))
#endif

/* Fibonacci hashing: sock addresses share their low bits (slab objects), not their high ones. */
static __always_inline struct slot_t *slot_of(u64 sk)
{
    u32 index = (u32)((sk * 0x9E3779B97F4A7C15ULL) >> (64 - CONN_SLOT_BITS));
    return slots.lookup(&index);
}

/* What the table holds of `sk`, or 0. */
static __always_inline struct conn_t *find(u64 sk)
{
    struct slot_t *s = slot_of(sk);
    if (s && s->sk == sk)
        return &s->c;
    return overflow.lookup(&sk);
}

/* Follow `sk` from now. Its slot is claimed atomically (two CPUs may open two socks whose
 * hashes meet); a slot that still names `sk` is one whose CLOSE the probe never saw (the
 * sock's memory is reused), taken back. */
static __always_inline void follow(u64 sk, struct conn_t *fresh)
{
    struct slot_t *s = slot_of(sk);
    if (s) {
        u64 was = s->sk;
        if (was == sk || (was == 0 && __sync_val_compare_and_swap(&s->sk, 0, sk) == 0)) {
            __builtin_memcpy(&s->c, fresh, sizeof(s->c));
            return;
        }
    }
    if (overflow.update(&sk, fresh) != 0)
        count_lost(1);
}

/* Stop following `sk` (after its last record has copied what the table held). */
static __always_inline void forget(u64 sk)
{
    struct slot_t *s = slot_of(sk);
    if (s && s->sk == sk)
        s->sk = 0;
    else
        overflow.delete(&sk);
}

/* ---- records ------------------------------------------------------------------------------ */

/* A zeroed record of `kind` about sock `sk`, or 0 (counted) when the buffer is full. */
static __always_inline struct conn_event_t *reserve(u8 kind, u64 sk, u64 now)
{
    struct conn_event_t *ev = events.ringbuf_reserve(sizeof(struct conn_event_t));
    if (!ev) {
        count_lost(0);
        return 0;
    }
    __builtin_memset(ev, 0, sizeof(*ev));
    ev->ts_ns = now;
    ev->sk = sk;
    ev->kind = kind;
    return ev;
}

/* What the table knows of a connection's owner, start and resets, into its record. */
static __always_inline void owner_copy(struct conn_event_t *ev, const struct conn_t *c)
{
    ev->opened_ns = c->opened_ns;
    ev->start_ns = c->start_ns;
    ev->cgroup_id = c->cgroup_id;
    ev->pid = c->pid;
    ev->uid = c->uid;
    __builtin_memcpy(ev->comm, c->comm, sizeof(ev->comm));
    ev->resets_sent = c->resets_sent;
    ev->side = c->side;
}

/* A record of `kind` about sock `sk`, with what the table knows of it (`c` may be 0); its ends
 * are the caller's to fill (ends_read, ends_traced). */
static __always_inline struct conn_event_t *record(u8 kind, u64 sk, struct conn_t *c, u64 now)
{
    struct conn_event_t *ev = reserve(kind, sk, now);
    if (!ev)
        return 0;
    if (c) {
        owner_copy(ev, c);
        ev->established_ns = c->established_ns;
        ev->handshake_us = c->handshake_us;
        ev->flags = c->flags;
    }
    return ev;
}

static __always_inline void ends_copy(struct conn_event_t *ev, const struct sock_ends_t *ends)
{
    u16 family = sock_ends_family(ends);
    ev->family = family;
    sock_ends_copy(ends, family, ev->laddr, ev->raddr, &ev->lport, &ev->rport);
}

/* Both ends of a sock found by address (an accepted one) and its namespace, read. */
static __always_inline void ends_read(struct conn_event_t *ev, u64 sk)
{
    struct sock_ends_t ends;
    sock_ends_read((const u8 *)sk, &ends);
    ends_copy(ev, &ends);
    u64 net = sock_ends_net(&ends);
    if (net)
        ev->netns = read_u32(net, NET_NS_INUM_OFF);
}

/* The same of the sock a tracepoint passed: in the BTF build, typed, so loaded. */
static __always_inline void ends_traced(struct conn_event_t *ev, const u8 *sk)
{
#ifdef NW_BTF_CTX
    struct sock_ends_t ends;
    sock_ends_load(sk, &ends);
    ends_copy(ev, &ends);
    const u8 *net = (const u8 *)NW_LOAD(u64, sk, SKC_NET_OFF);
    if (net)
        ev->netns = NW_LOAD(u32, net, NET_NS_INUM_OFF);
#else
    ends_read(ev, (u64)sk);
#endif
}

#define TCP_RTT_MIN_VALUE_AT (TCP_RTT_MIN_OFF + MINMAX_SAMPLE_V_OFF)
#ifndef NW_BTF_CTX
/* tcp_sock's counters that a closed connection's record carries: from the first to the last
 * byte of them (about 760 on our kernels), read at once into a per-CPU buffer, since eleven
 * helper calls cost more than the copy. The BTF build loads each. */
#define NW_MIN(a, b) ((a) < (b) ? (a) : (b))
#define TCP_SPAN_FIRST                                                                            \
    (NW_MIN(NW_MIN(NW_MIN(TCP_SRTT_US_OFF, TCP_MDEV_US_OFF),                                      \
                   NW_MIN(TCP_RTT_MIN_VALUE_AT, TCP_TOTAL_RETRANS_OFF)),                             \
            NW_MIN(NW_MIN(NW_MIN(TCP_BYTES_ACKED_OFF, TCP_BYTES_RECEIVED_OFF),                    \
                          NW_MIN(TCP_BYTES_SENT_OFF, TCP_CHRONO_STAT_OFF)),                       \
                   NW_MIN(TCP_SND_CWND_OFF, TCP_SEGS_OUT_OFF))) & ~7)
#define TCP_SPAN_END                                                                              \
    NW_MAX(NW_MAX(NW_MAX(TCP_SRTT_US_OFF, TCP_MDEV_US_OFF) + 4,                                   \
                  NW_MAX(TCP_RTT_MIN_VALUE_AT, TCP_TOTAL_RETRANS_OFF) + 4),                          \
           NW_MAX(NW_MAX(NW_MAX(TCP_BYTES_ACKED_OFF, TCP_BYTES_RECEIVED_OFF),                     \
                         TCP_BYTES_SENT_OFF) + 8,                                                 \
                  NW_MAX(TCP_CHRONO_STAT_OFF + 12, NW_MAX(TCP_SND_CWND_OFF, TCP_SEGS_OUT_OFF) + 4)))
#define TCP_SPAN_LEN (TCP_SPAN_END - TCP_SPAN_FIRST)

struct tcp_span_t {
    u8 b[TCP_SPAN_LEN];
};
BPF_PERCPU_ARRAY(tcp_span, struct tcp_span_t, 1);
#define TCP_FIELD(type, off) (*(const type *)(span->b + (off) - TCP_SPAN_FIRST))
#else
#define TCP_FIELD(type, off) NW_LOAD(type, tp, off)
#endif

/* tcp_sock's own accounting, as tcp_info reports it (tcp_get_info). */
static __always_inline void last_counters(struct conn_event_t *ev, const u8 *tp)
{
#ifndef NW_BTF_CTX
    u32 zero = 0;
    struct tcp_span_t *span = tcp_span.lookup(&zero);
    if (!span || bpf_probe_read_kernel(span->b, sizeof(span->b), tp + TCP_SPAN_FIRST) != 0)
        return;
#endif
    ev->srtt_us = TCP_FIELD(u32, TCP_SRTT_US_OFF) >> 3;
    ev->mdev_us = TCP_FIELD(u32, TCP_MDEV_US_OFF) >> 2;
    u32 min_rtt = TCP_FIELD(u32, TCP_RTT_MIN_VALUE_AT);
    ev->min_rtt_us = min_rtt == ~0U ? 0 : min_rtt;
    ev->total_retrans = TCP_FIELD(u32, TCP_TOTAL_RETRANS_OFF);
    ev->bytes_acked = TCP_FIELD(u64, TCP_BYTES_ACKED_OFF);
    ev->bytes_received = TCP_FIELD(u64, TCP_BYTES_RECEIVED_OFF);
    ev->bytes_sent = TCP_FIELD(u64, TCP_BYTES_SENT_OFF);
    ev->chrono[0] = TCP_FIELD(u32, TCP_CHRONO_STAT_OFF);
    ev->chrono[1] = TCP_FIELD(u32, TCP_CHRONO_STAT_OFF + 4);
    ev->chrono[2] = TCP_FIELD(u32, TCP_CHRONO_STAT_OFF + 8);
    ev->snd_cwnd = TCP_FIELD(u32, TCP_SND_CWND_OFF);
    ev->segs_out = TCP_FIELD(u32, TCP_SEGS_OUT_OFF);
}

/* A closed sock's local port: tcp_set_state gives it back before the tracepoint (inet_num 0),
 * inet_sport, in network order, has it still. */
static __always_inline u16 closed_port(const u8 *tp, u16 lport)
{
    u16 sport_be = NW_LOAD(u16, tp, INET_SPORT_OFF);
    return sport_be ? (u16)((sport_be >> 8) | (sport_be << 8)) : lport;
}

/* The CLOSE of a connect that never established: the record a host refusing tens of thousands
 * of connects a second sends most, so it is made for as little as the decoder reads of it
 * (decode.py, FailedConnect), not zeroed whole: no counters, no cgroup name. */
static __always_inline void never_established(const u8 *skp, u64 sk, struct conn_t *c)
{
    s32 err = NW_LOAD(s32, skp, SK_ERR_OFF);
    const u8 *tp = NW_TCP_SOCK(skp);
    /* Refused by a reset, a segment reached the sock (tcp_v4_rcv and tcp_v6_rcv count it in
     * segs_in before handling it); refused by an ICMP port-unreachable, none did. */
    u8 by_reset = err == ECONNREFUSED_ && tp && NW_LOAD(u32, tp, TCP_SEGS_IN_OFF) > 0;
    u64 now = bpf_ktime_get_ns();
    struct conn_event_t *ev = events.ringbuf_reserve(sizeof(struct conn_event_t));
    if (!ev) {
        count_lost(0);
        return;
    }
    ev->ts_ns = now;
    ev->sk = sk;
    ev->kind = KIND_CLOSED;
    ev->oldstate = TCP_SYN_SENT_;
    ev->state = TCP_CLOSE_;
    ev->err = err;
    ev->flags = by_reset ? FLAG_REFUSED_BY_RESET : 0;
    if (c) {
        owner_copy(ev, c);
    } else {
        struct conn_t unknown = {}; /* opened before the probe: no owner, no start */
        owner_copy(ev, &unknown);
    }
    ev->netns = 0;
    ends_traced(ev, skp);
    if (tp)
        ev->lport = closed_port(tp, ev->lport);
    events.ringbuf_submit(ev, BPF_RB_NO_WAKEUP);
}

/* ---- the attach points -------------------------------------------------------------------- */

static __always_inline int is_tcp(const u8 *sk)
{
    return NW_LOAD(u16, sk, SK_PROTOCOL_OFF) == IPPROTO_TCP_;
}

/* inet_sock_set_state(const struct sock *sk, const int oldstate, const int newstate): raw,
 * so the kernel does not first copy both ends into a trace record nobody reads (a churning
 * host pays that twice per connection). */
NW_PROBE(inet_sock_set_state)
{
    const u8 *skp = (const u8 *)NW_ARG(0);
    int oldstate = (int)NW_ARG(1);
    int state = (int)NW_ARG(2);

    if (state == TCP_SYN_SENT_ || state == TCP_SYN_RECV_) {
        if (!is_tcp(skp))
            return 0; /* an MPTCP socket, say: its subflows are TCP and followed */
        struct conn_t fresh = {};
        fresh.opened_ns = bpf_ktime_get_ns();
        if (state == TCP_SYN_SENT_) {
            fresh.side = SIDE_OUT;
            own(&fresh); /* connect() runs in its caller */
        } else {
            fresh.side = SIDE_IN; /* made in softirq: accept() names its owner */
        }
        follow(sock_number(skp, SCRATCH_STATE), &fresh);
        return 0; /* told with its first record: established, accepted or closed */
    }
    if (state != TCP_ESTABLISHED_ && state != TCP_CLOSE_)
        return 0;

    /* Only TCP socks are followed: one found needs no look at its protocol. */
    u64 sk = sock_number(skp, SCRATCH_STATE);
    struct conn_t *c = find(sk);
    if (state == TCP_ESTABLISHED_) {
        if (!c)
            return 0; /* opened before the probe: user space finds it through sock_diag */
        u64 now = bpf_ktime_get_ns();
        c->established_ns = now;
        c->flags |= FLAG_ESTABLISHED;
        if (c->side == SIDE_IN) {
            const u8 *tp = NW_TCP_SOCK(skp);
            if (tp)
                c->handshake_us = NW_LOAD(u32, tp, TCP_SRTT_US_OFF) >> 3;
            return 0; /* told when accepted (or closed) */
        }
        struct conn_event_t *ev = record(KIND_ESTABLISHED, sk, c, now);
        if (!ev)
            return 0;
        ends_traced(ev, skp);
        ev->oldstate = oldstate;
        ev->state = state;
        events.ringbuf_submit(ev, BPF_RB_NO_WAKEUP);
        return 0;
    }
    if (oldstate == TCP_LISTEN_ || (!c && !is_tcp(skp)))
        return 0; /* a listener is not a connection */
    if (oldstate == TCP_SYN_SENT_) {
        never_established(skp, sk, c);
        if (c)
            forget(sk);
        return 0;
    }
    /* Every full TCP socket ends here (TIME_WAIT hands over to a timewait sock after it). How:
     * tcp_reset() sets sk_err before tcp_done() moves the sock here (ECONNREFUSED in SYN_SENT,
     * EPIPE in CLOSE_WAIT, ECONNRESET otherwise), so a reset received needs no probe of its
     * own. */
    struct conn_event_t *ev = record(KIND_CLOSED, sk, c, bpf_ktime_get_ns());
    if (ev) {
        ends_traced(ev, skp);
        ev->oldstate = oldstate;
        ev->state = state;
        ev->err = NW_LOAD(s32, skp, SK_ERR_OFF);
        const u8 *tp = NW_TCP_SOCK(skp);
        if (tp) {
            ev->lport = closed_port(tp, ev->lport);
            last_counters(ev, tp);
        }
        events.ringbuf_submit(ev, BPF_RB_NO_WAKEUP);
    }
    if (c)
        forget(sk);
    u8 one = 1; /* an abortive close sends its reset after this: see tcp_send_reset */
    just_closed.update(&sk, &one);
    return 0;
}

/* tcp_send_reset(const struct sock *sk, const struct sk_buff *skb[, enum sk_rst_reason]): raw,
 * since 6.10's format names an enum that older kernels' headers lack. */
NW_PROBE(tcp_send_reset)
{
    const u8 *skp = (const u8 *)NW_ARG(0);
    if (!skp)
        return 0; /* an answer to a segment no socket wanted: no connection of ours */
    u64 sk = sock_number(skp, SCRATCH_RESET);
    struct conn_t *c = find(sk);
    if (c) {
        c->resets_sent += 1;
        return 0;
    }
    if (!just_closed.lookup(&sk))
        return 0;
    just_closed.delete(&sk); /* one reset per abortive close */
    struct conn_event_t *ev = reserve(KIND_RESET_SENT, sk, bpf_ktime_get_ns());
    if (ev)
        events.ringbuf_submit(ev, BPF_RB_NO_WAKEUP);
    return 0;
}

static __always_inline int accepted(long ret)
{
    if (ret < 0)
        return 0;
    u64 sk = fd_sock(ret);
    if (!sk)
        return 0;
    struct conn_t *c = find(sk);
    if (!c || c->side != SIDE_IN || c->pid)
        return 0; /* not TCP, opened before the probe, or already owned */
    own(c);
    struct conn_event_t *ev = record(KIND_ACCEPTED, sk, c, bpf_ktime_get_ns());
    if (!ev)
        return 0;
    ends_read(ev, sk);
    current_cgroup_name(ev->cgroup_name);
    events.ringbuf_submit(ev, BPF_RB_NO_WAKEUP);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_exit_accept)
{
    return accepted(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_exit_accept4)
{
    return accepted(args->ret);
}
