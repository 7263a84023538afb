/*
 * netwatch Traffic probe: packets and bytes per (process, device), aggregated in the kernel.
 *
 * Attach points: BTF raw tracepoints (tp_btf; no kprobes or fentry needed), else classic raw
 * tracepoints. Raw, because a classic tracepoint fills a record (copying the device name) before
 * BPF runs, and at 5-6 events per packet that dispatch cost dominated: raw ones pass the
 * kernel's pointers. BTF ones also let the verifier type those pointers, so fields are loads.
 *   net:net_dev_queue        every transmitted skb (device name, length incl. L2 header)
 *   net:netif_receive_skb    every received skb; remembered per CPU until its socket is known
 *   sock:sk_data_ready       a non-TCP inet socket was handed the skb this CPU is delivering
 *   tcp:tcp_probe            a TCP segment processed on an established socket (softirq or backlog)
 *                            (skb->dev is already cleared there, so the device comes from the
 *                            CPU's delivery record, and is remembered per socket for the backlog)
 *   sock:sock_recv_length    a process finished recvmsg: it owns that socket (6.3+; before
 *                            that skb:skb_copy_datagram_iovec, the copy to the reader, instead)
 *   irq:softirq_entry/_exit  per-CPU flag: in softirq, `current` is whoever was interrupted
 *   sock:inet_sock_set_state a TCP socket reaching CLOSE is forgotten (owner, device, parked):
 *                            the slab hands its memory to the next socket, often another
 *                            namespace's (an accepting server's), which must not inherit them
 * Where a tracepoint is missing (Debian 12's 6.1 has neither sk_data_ready nor sock_recv_length)
 * and the kernel allows fentry, the same BTF-typed functions are attached by fentry instead:
 *   fentry sock_def_readable          for sk_data_ready (the function that tracepoint sits in)
 *   fentry udp_recvmsg, udpv6_recvmsg a process reads a UDP socket (its queued skbs no longer
 *                                     name it, so skb_copy_datagram_iovec cannot tell)
 *
 * Kernel features: BTF at /sys/kernel/btf/vmlinux; BTF tracepoint programs (5.5+), or where
 * the kernel refuses them raw tracepoint programs (4.17+); sock:sk_data_ready (6.5+, else UDP
 * receive falls to "unattributed"). The loader reads sk_buff, net_device, sock, task_struct and
 * cred member offsets from the running kernel's BTF and passes them as -D macros, so headers of
 * another kernel cannot misplace a field read.
 *
 * Attribution:
 *   transmit, process context -> the current task (it is the sender); it becomes skb->sk's owner
 *   transmit, softirq         -> owner of skb->sk learned earlier in process context
 *   receive, TCP              -> owner of the socket tcp_probe names (current, in the backlog;
 *                                pure ACKs the backlog coalesced counted from gso_segs)
 *   receive, UDP and others   -> owner of the socket sk_data_ready names
 *   owner not known yet       -> parked per socket, claimed by the first process seen on it
 *                                (received; and sent from a softirq, as datagrams that waited
 *                                for the next hop's address are)
 *   everything else           -> counted per device as "unowned" the moment it is known to be:
 *                                transmit with no owner; a received skb no socket claimed by the
 *                                time the next one arrives or the softirq ends. Parked and
 *                                backlogged segments are counted there too, and taken back out
 *                                when they are charged, so rows + unowned = what devices saw.
 *
 * Per connection (issue #14): every charge that knows its socket is counted again in `conns`,
 * by socket, with the socket's addresses (read when the socket is first counted on a CPU, and
 * again when its ports change: the memory then holds another socket). One per-CPU hash lookup
 * and one 8-byte probe read per packet: the ports and the state (to check it is the same
 * socket, and to show where a TCP connection is in its life).
 *
 * Where each process runs (issue #14): when a CPU sees a process in process context that is not
 * the last one it saw, it writes that process's cgroup v2 id and name and its network
 * namespace into proc_ctx (by tgid); user space reads it for the processes in each interval's
 * rows. Not part of the row key: a row stays one process's, and a flow costs one array lookup.
 *
 * Expected overhead: per packet 4-6 short programs, in the common case with no helper call but
 * one (the current task) and no hash lookup: the row is in a per-CPU hot slot, the socket's
 * owner in a per-CPU memo. On our 2-vCPU VMs that keeps ~0.90 of a 64-byte UDP flood, where
 * the same programs left empty keep ~0.91 (bench/traffic_overhead). No per-packet event reaches
 * user space. Counters are cumulative; user space reads them each interval and takes
 * differences, so no increment is lost to a read-then-reset race.
 */
#include <uapi/linux/ptrace.h>

/* Two builds of this file (btf_ctx.bpf.h): BTF raw tracepoints, where a field is a plain load,
 * or classic raw tracepoints and probe reads where the kernel refuses tracing programs. */
#include "btf_ctx.bpf.h"
#include "current_task.bpf.h"
#define TRAFFIC_PROBE(event) NW_PROBE(event)

#define IFNAMSIZ_ 16
#define COMM_LEN 16
#define IPPROTO_TCP_ 6
#define IPPROTO_MPTCP_ 262
#define AF_INET_ 2
#define AF_INET6_ 10

#include "sock_endpoints.bpf.h"

struct owner_t {
    u32 tgid;
    u32 uid;
    char comm[COMM_LEN];
    u64 net; /* the socket's network namespace (struct net *) when its owner was learned */
};

struct traffic_key_t {
    u32 tgid;
    u32 uid;
    char dev[IFNAMSIZ_];
    char comm[COMM_LEN];
};

struct counters_t {
    u64 xmit_pk;
    u64 recv_pk;
    u64 xmit_bytes;
    u64 recv_bytes;
};

struct dev_key_t {
    char dev[IFNAMSIZ_];
};

struct rx_now_t {
    char dev[IFNAMSIZ_];
    u64 wire_len;
    u32 valid;
};

/* Signed: taking parked or backlogged traffic back out can dip below zero for a moment. */
struct unowned_t {
    s64 xmit_pk;
    s64 recv_pk;
    s64 xmit_bytes;
    s64 recv_bytes;
};

struct parked_t {
    char dev[IFNAMSIZ_];
    u64 pk;
    u64 bytes;
};

struct park_key_t {
    u64 sk;
    u64 is_rx;
};

/* Per-CPU: each CPU adds to its own copy without atomics or cache-line bouncing between the
 * sender's CPU and the receiving softirq's; user space sums the copies. */
BPF_PERCPU_HASH(traffic, struct traffic_key_t, struct counters_t, MAX_ROWS);
/* Each CPU's busiest rows, counted in an array before the hash: a hash lookup is a helper call,
 * and a flow hits the same row packet after packet. A slot takes a new key (gen + 1, counters
 * from zero) only once user space has read all it counted, which it says by copying the slot's
 * gen and packet total into hot_ack after each read; so no count is moved or lost, and each
 * (CPU, slot, gen) is one row's cumulative counters that user space takes differences of. */
struct hot_row_t {
    u64 gen; /* 0: never used */
    struct traffic_key_t key;
    struct counters_t c;
};
struct hot_ack_t {
    u64 gen;
    u64 pk; /* xmit_pk + recv_pk as last read */
};
BPF_PERCPU_ARRAY(hot_rows, struct hot_row_t, HOT_SLOTS);
BPF_PERCPU_ARRAY(hot_ack, struct hot_ack_t, HOT_SLOTS); /* written by user space only */
BPF_HASH(unowned, struct dev_key_t, struct unowned_t, 1024);
/* sk -> the process that last used it in process context. LRU: dead sockets age out. */
BPF_TABLE("lru_hash", u64, struct owner_t, sock_owner, MAX_SOCKS);
/* sk -> the device its last segment came in on, for segments processed later from the backlog. */
BPF_TABLE("lru_hash", u64, struct dev_key_t, sock_rx_dev, MAX_SOCKS);
/* (sk, direction) -> traffic a softirq saw on a socket before any process was seen on it:
 * received segments that arrived first, and a socket's first datagrams, which wait in the
 * neighbour table while the next hop's address is resolved and leave from the softirq of the
 * ARP reply. Room for MAX_SOCKS sockets in each direction, as when each had a map of its own. */
BPF_TABLE("lru_hash", struct park_key_t, struct parked_t, parked, 2 * MAX_SOCKS);
/* The skb this CPU's softirq is delivering right now (netif_receive_skb -> sk_data_ready). */
BPF_PERCPU_ARRAY(rx_now, struct rx_now_t, 1);
BPF_PERCPU_ARRAY(in_softirq, u32, 1);

/* Per-CPU memos of the last answer, because a flow hits the same device and socket packet after
 * packet and the full lookups dominated the per-packet cost (bench/traffic_overhead). */
struct dev_memo_t {
    u64 dev;
    char name[IFNAMSIZ_];
};
BPF_PERCPU_ARRAY(dev_memo, struct dev_memo_t, 1);
struct learned_memo_t {
    u64 sk;
    u64 gen; /* owner_gen when learned: a socket forgotten since must be learned again */
    u32 tgid;
};
BPF_PERCPU_ARRAY(learned_memo, struct learned_memo_t, 1);
/* The last socket owner this CPU looked up, valid while owner_gen has not moved: every change
 * to sock_owner bumps it. Saves the LRU lookup (a helper call) on each packet of a flow. */
struct owner_memo_t {
    u64 sk;
    u64 gen;
    struct owner_t owner;
};
BPF_PERCPU_ARRAY(owner_memo, struct owner_memo_t, 1);
BPF_ARRAY(owner_gen, u64, 1);
/* A process's cgroup v2 id and name and its network namespace, by tgid, for user space to read
 * beside the
 * rows it charged (which container, which netns). Written in process context when this CPU's
 * memo shows another process than the last one: a flow from one process costs one array
 * lookup per packet, and the context outlives the process for rows already counted. */
#define CGROUP_NAME_LEN 128
struct proc_ctx_t {
    u64 cgroup_id;
    u32 netns;
    u32 pad;
    /* When the process started (its group leader's start_boottime, ns): a PID names a process
     * only with it, since PIDs wrap within minutes on a busy host. */
    u64 start_ns;
    /* The cgroup's own name (its directory's), for a cgroup removed before user space could
     * find its path: "docker-<id>.scope" alone says which container. */
    char cgroup_name[CGROUP_NAME_LEN];
};
BPF_TABLE("lru_hash", u32, struct proc_ctx_t, proc_ctx, MAX_PROCS);
BPF_PERCPU_ARRAY(ctx_memo, u32, 1);
BPF_PERCPU_ARRAY(ctx_scratch, struct proc_ctx_t, 1);
/* Per connection: the same amounts as the rows, by socket (charge_conn). Per-CPU values, each
 * with the socket's addresses as that CPU last read them. */
struct conn_t {
    /* As struct counters_t, so that add() counts it. */
    u64 xmit_pk;
    u64 recv_pk;
    u64 xmit_bytes;
    u64 recv_bytes;
    u32 tgid;
    u32 ports; /* skc_portpair as read: a change means another socket at this address */
    u16 family;
    u16 protocol;
    u16 lport;
    u16 rport;
    u8 laddr[16];
    u8 raddr[16];
    u64 first_ns; /* when this CPU first counted it (a reused socket starts again) */
    u8 state;     /* skc_state at its last packet: TCP's states; for UDP 1 connected, 7 not */
    u8 pad[7];
};
BPF_PERCPU_HASH(conns, u64, struct conn_t, MAX_CONNS);
BPF_PERCPU_ARRAY(conn_scratch, struct conn_t, 1);
/* [0]: packets not counted per connection because the connection map was full. */
BPF_PERCPU_ARRAY(conn_lost, u64, 1);
/* [0]: packets not counted because the traffic map was full. Shown as lost by user space. */
BPF_PERCPU_ARRAY(lost, u64, 1);

/* dev->name, zero-padded so it can be part of a map key. A device renamed while this CPU keeps
 * its memo shows its old name until another device's packet passes here. */
static __always_inline void dev_name(char *dst, u64 dev)
{
    u32 zero = 0;
    struct dev_memo_t *memo = dev_memo.lookup(&zero);
    if (memo && memo->dev == dev && dev) {
        __builtin_memcpy(dst, memo->name, IFNAMSIZ_);
        return;
    }
    __builtin_memset(dst, 0, IFNAMSIZ_);
    if (dev)
        bpf_probe_read_kernel_str(dst, IFNAMSIZ_, (const u8 *)dev + NETDEV_NAME_OFF);
    if (memo) {
        memo->dev = dev;
        __builtin_memcpy(memo->name, dst, IFNAMSIZ_);
    }
}

static __always_inline void skb_dev_name(char *dst, const u8 *skb)
{
    dev_name(dst, NW_LOAD(u64, skb, SKB_DEV_OFF));
}

/* skb->dev and skb->sk, in one probe read where they sit side by side (they do on 6.x). */
static __always_inline void skb_dev_and_sk(const u8 *skb, u64 *dev, u64 *sk)
{
#if SKB_SK_OFF == SKB_DEV_OFF + 8 && !defined(NW_BTF_CTX)
    u64 both[2] = {};
    bpf_probe_read_kernel(both, sizeof(both), skb + SKB_DEV_OFF);
    *dev = both[0];
    *sk = both[1];
#else
    *dev = NW_LOAD(u64, skb, SKB_DEV_OFF);
    *sk = NW_LOAD(u64, skb, SKB_SK_OFF);
#endif
}

static __always_inline u32 skb_len(const u8 *skb)
{
    return NW_LOAD(u32, skb, SKB_LEN_OFF);
}

/* Equal, compared 8 bytes at a time: names and keys are zero-padded to whole words. */
static __always_inline int same_words(const void *a, const void *b, const int words)
{
    const u64 *x = (const u64 *)a, *y = (const u64 *)b;
#pragma unroll
    for (int i = 0; i < words; i++)
        if (x[i] != y[i])
            return 0;
    return 1;
}

static __always_inline int softirq_now(void)
{
    u32 zero = 0;
    u32 *flag = in_softirq.lookup(&zero);
    return flag && *flag;
}

static __always_inline void remember_context(u32 tgid)
{
    u32 zero = 0;
    u32 *last = ctx_memo.lookup(&zero);
    if (last && *last == tgid)
        return;
    /* Per-CPU scratch: the value is too big for the BPF stack beside the callers' keys. */
    struct proc_ctx_t *c = ctx_scratch.lookup(&zero);
    if (!c)
        return;
    const u8 *task = NW_CURRENT_TASK();
    c->cgroup_id = current_cgroup_id(task);
    c->netns = 0;
    /* current->nsproxy->net_ns->ns.inum; nsproxy is NULL once an exiting task let it go. */
    const u8 *nsproxy = (const u8 *)NW_LOAD(u64, task, TASK_NSPROXY_OFF);
    if (nsproxy) {
        const u8 *net = (const u8 *)NW_LOAD(u64, nsproxy, NSPROXY_NET_NS_OFF);
        if (net)
            c->netns = NW_LOAD(u32, net, NET_NS_INUM_OFF);
    }
    const u8 *leader = (const u8 *)NW_LOAD(u64, task, TASK_GROUP_LEADER_OFF);
    c->start_ns = leader ? NW_LOAD(u64, leader, TASK_START_BOOTTIME_OFF) : 0;
    /* current->cgroups->dfl_cgrp->kn->name: the cgroup whose id the helper gave. */
    c->cgroup_name[0] = 0;
    const u8 *kn = task_cgroup_kn(task);
    u64 name = kn ? NW_LOAD(u64, kn, KERNFS_NODE_NAME_OFF) : 0;
    if (name)
        bpf_probe_read_kernel_str(c->cgroup_name, CGROUP_NAME_LEN, (const void *)name);
    proc_ctx.update(&tgid, c);
    if (last)
        *last = tgid;
}

static __always_inline void owner_from_current(struct owner_t *o)
{
    u32 tid;
    current_owner(NW_CURRENT_TASK(), &o->tgid, &tid, &o->uid, o->comm);
    remember_context(o->tgid);
}

/* Values are per-CPU and BPF programs do not migrate mid-run: plain adds are safe. */
static __always_inline void add(struct counters_t *v, u64 pk, u64 bytes, int is_rx)
{
    if (is_rx) {
        v->recv_pk += pk;
        v->recv_bytes += bytes;
    } else {
        v->xmit_pk += pk;
        v->xmit_bytes += bytes;
    }
}

/* Count in this CPU's hot rows: the key's own slot, else a slot user space has seen in full
 * (hot_ack matches it, so nothing it counted can be lost by starting over), else 0. */
static __always_inline int charge_hot(const struct traffic_key_t *key, u64 pk, u64 bytes, int is_rx)
{
#pragma unroll
    for (u32 i = 0; i < HOT_SLOTS; i++) {
        u32 idx = i;
        struct hot_row_t *h = hot_rows.lookup(&idx);
        if (h && h->gen && same_words(&h->key, key, sizeof(*key) / 8)) {
            add(&h->c, pk, bytes, is_rx);
            return 1;
        }
    }
#pragma unroll
    for (u32 i = 0; i < HOT_SLOTS; i++) {
        u32 idx = i;
        struct hot_row_t *h = hot_rows.lookup(&idx);
        struct hot_ack_t *seen = hot_ack.lookup(&idx);
        if (h && seen && seen->gen == h->gen && seen->pk == h->c.xmit_pk + h->c.recv_pk) {
            h->gen += 1;
            __builtin_memcpy(&h->key, key, sizeof(*key));
            __builtin_memset(&h->c, 0, sizeof(h->c));
            add(&h->c, pk, bytes, is_rx);
            return 1;
        }
    }
    return 0;
}

/* The same amounts per connection: its socket, with the socket's addresses read when it is
 * first counted on this CPU, and again when its ports say the pointer now holds another
 * socket (a freed sock's memory is reused): user space keys connections by their addresses. */
static __always_inline void conn_addresses(struct conn_t *c, u64 sk, u32 ports)
{
    const u8 *skc = (const u8 *)sk;
    u16 family = 0, protocol = 0;
    bpf_probe_read_kernel(&family, sizeof(family), skc + SKC_FAMILY_OFF);
    bpf_probe_read_kernel(&protocol, sizeof(protocol), skc + SK_PROTOCOL_OFF);
    c->family = family;
    c->protocol = protocol;
    c->ports = ports;
    c->first_ns = bpf_ktime_get_ns();
    sock_endpoints(skc, family, c->laddr, c->raddr, &c->lport, &c->rport);
}

static __always_inline void charge_conn(u64 sk, u32 tgid, u64 pk, u64 bytes, int is_rx)
{
    /* Probe reads, not NW_LOAD: on some paths `sk` reaches here as a plain number (it went
     * through the stack or a map key), which 6.1's verifier refuses to load through. The
     * port pair and the state sit 6 bytes apart on our kernels: then one read does both. */
    u32 ports = 0;
    u8 state = 0;
#if SKC_STATE_OFF == SKC_PORTPAIR_OFF + 6
    u8 both[8] = {};
    bpf_probe_read_kernel(both, sizeof(both), (const u8 *)sk + SKC_PORTPAIR_OFF);
    __builtin_memcpy(&ports, both, sizeof(ports));
    state = both[6];
#else
    bpf_probe_read_kernel(&ports, sizeof(ports), (const u8 *)sk + SKC_PORTPAIR_OFF);
    bpf_probe_read_kernel(&state, sizeof(state), (const u8 *)sk + SKC_STATE_OFF);
#endif
    struct conn_t *c = conns.lookup(&sk);
    if (!c) {
        u32 zero = 0;
        struct conn_t *fresh = conn_scratch.lookup(&zero);
        if (!fresh)
            return;
        __builtin_memset(fresh, 0, sizeof(*fresh));
        conn_addresses(fresh, sk, ports);
        c = conns.lookup_or_try_init(&sk, fresh);
        if (!c) {
            conn_lost.increment(zero, pk);
            return;
        }
    } else if (!c->family || c->ports != ports) {
        /* First on this CPU, or another socket at the same address: what this CPU counted
         * for the old one since user space last read it is not carried over. */
        if (c->family) {
            c->xmit_pk = c->recv_pk = c->xmit_bytes = c->recv_bytes = 0;
        }
        conn_addresses(c, sk, ports);
    }
    c->tgid = tgid;
    c->state = state;
    add((struct counters_t *)c, pk, bytes, is_rx); /* conn_t begins as counters_t does */
}

static __always_inline void charge(u64 sk, const struct owner_t *o, const char *dev, u64 pk,
                                   u64 bytes, int is_rx)
{
    if (sk)
        charge_conn(sk, o->tgid, pk, bytes, is_rx);
    struct traffic_key_t key = {};
    key.tgid = o->tgid;
    key.uid = o->uid;
    __builtin_memcpy(key.dev, dev, IFNAMSIZ_);
    __builtin_memcpy(key.comm, o->comm, COMM_LEN);
    if (charge_hot(&key, pk, bytes, is_rx))
        return;
    struct counters_t zero = {};
    struct counters_t *v = traffic.lookup_or_try_init(&key, &zero);
    if (!v) {
        u32 slot = 0;
        lost.increment(slot, pk);
        return;
    }
    add(v, pk, bytes, is_rx);
}

/* Traffic no process can be charged with (yet); negative amounts take it back out. */
static __always_inline void count_unowned(const char *dev, s64 pk, s64 bytes, int is_rx)
{
    struct dev_key_t key = {};
    __builtin_memcpy(key.dev, dev, IFNAMSIZ_);
    struct unowned_t zero = {};
    struct unowned_t *v = unowned.lookup_or_try_init(&key, &zero);
    if (!v)
        return;
    if (is_rx) {
        __sync_fetch_and_add(&v->recv_pk, pk);
        __sync_fetch_and_add(&v->recv_bytes, bytes);
    } else {
        __sync_fetch_and_add(&v->xmit_pk, pk);
        __sync_fetch_and_add(&v->xmit_bytes, bytes);
    }
}

/* The skb this CPU was delivering was never claimed by a socket: it is unowned. */
static __always_inline void settle_rx_now(struct rx_now_t *now)
{
    if (now->valid) {
        now->valid = 0;
        count_unowned(now->dev, 1, now->wire_len, 1);
    }
}

/* Bytes from the start of the link-layer header to skb->data: what a driver already pulled. */
static __always_inline u64 pulled_headers(const u8 *skb)
{
    u64 head = 0, data = 0;
#if SKB_DATA_OFF == SKB_HEAD_OFF + 8 && !defined(NW_BTF_CTX)
    u64 head_data[2] = {};
    bpf_probe_read_kernel(head_data, sizeof(head_data), skb + SKB_HEAD_OFF);
    head = head_data[0];
    data = head_data[1];
#else
    head = NW_LOAD(u64, skb, SKB_HEAD_OFF);
    data = NW_LOAD(u64, skb, SKB_DATA_OFF);
#endif
    u16 mac = NW_LOAD(u16, skb, SKB_MAC_HEADER_OFF);
    if (mac == 0xffff || !head || data < head + mac)
        return 0;
    u64 pulled = data - (head + mac);
    return pulled <= 256 ? pulled : 0;
}

/* sock_owner[sk], through this CPU's memo. An owner that ages out of the LRU stays in a memo
 * until the memo is replaced: the last owner known is a better answer than none. */
static __always_inline struct owner_t *owner_of(u64 sk)
{
    u32 zero = 0;
    u64 *gen = owner_gen.lookup(&zero);
    struct owner_memo_t *memo = owner_memo.lookup(&zero);
    if (!gen || !memo)
        return sock_owner.lookup(&sk);
    u64 now = *gen; /* read first: a change after this leaves the memo stamped stale */
    if (memo->sk == sk && memo->gen == now && sk)
        return &memo->owner;
    struct owner_t *o = sock_owner.lookup(&sk);
    if (!o)
        return 0;
    memo->sk = sk;
    memo->gen = now;
    memo->owner = *o;
    return &memo->owner;
}

/* owner_of(sk) for a socket a tracepoint passed typed (sk_data_ready's, tcp_probe's): a socket
 * TCP's CLOSE did not forget (UDP has no such tracepoint) whose memory now holds another
 * namespace's socket has no owner yet. One plain load in the BTF build, which may only load
 * through a typed pointer (a socket read out of an skb is not one on every kernel: 6.1's
 * sk_buff.sk is in a union); the raw build, where it would be a probe read per packet, relies
 * on the CLOSE alone. */
static __always_inline struct owner_t *owner_in_its_netns(u64 sk)
{
    struct owner_t *o = owner_of(sk);
#ifdef NW_BTF_CTX
    if (o && o->net != NW_LOAD(u64, (const u8 *)sk, SKC_NET_OFF))
        return 0;
#endif
    return o;
}

/* A packet of sk's that no process owns yet: unowned until claimed, and if no process ever
 * shows up on the socket it stays there. */
static __always_inline void park(u64 sk, const char *dev, u64 bytes, int is_rx)
{
    struct park_key_t key = {.sk = sk, .is_rx = is_rx};
    struct parked_t zero = {};
    __builtin_memcpy(zero.dev, dev, IFNAMSIZ_);
    struct parked_t *p = parked.lookup_or_try_init(&key, &zero);
    if (p) {
        __sync_fetch_and_add(&p->pk, 1);
        __sync_fetch_and_add(&p->bytes, bytes);
    }
    count_unowned(dev, 1, bytes, is_rx);
}

/* sk's new owner takes what was parked on it in one direction, out of "unowned". */
static __always_inline void claim(u64 sk, const struct owner_t *me, int is_rx)
{
    struct park_key_t key = {.sk = sk, .is_rx = is_rx};
    struct parked_t *p = parked.lookup(&key);
    if (!p)
        return;
    charge(sk, me, p->dev, p->pk, p->bytes, is_rx);
    count_unowned(p->dev, -(s64)p->pk, -(s64)p->bytes, is_rx);
    parked.delete(&key);
}

/* Charge received traffic to the socket's owner, or park it until a reader shows up. */
static __always_inline void charge_rx_to_socket(u64 sk, const char *dev, u64 bytes)
{
    struct owner_t *o = owner_in_its_netns(sk);
    if (o) {
        charge(sk, o, dev, 1, bytes, 1);
        return;
    }
    park(sk, dev, bytes, 1);
}

/* A process was seen on sk for the first time: it becomes the owner and takes what was parked. */
static __always_inline void learn_owner(u64 sk, struct owner_t *me)
{
    me->net = 0; /* a probe read: sk may come out of an skb, untyped (rare: learning only) */
    bpf_probe_read_kernel(&me->net, sizeof(me->net), (const u8 *)sk + SKC_NET_OFF);
    sock_owner.update(&sk, me);
    u32 zero = 0;
    u64 *gen = owner_gen.lookup(&zero);
    if (gen)
        __sync_fetch_and_add(gen, 1);
    claim(sk, me, 1);
    claim(sk, me, 0);
}

/* sk is done: its memory may hold another socket next (another process's, in another network
 * namespace), which must not inherit this one's owner, device or parked traffic. What was
 * parked stays counted as unowned. */
static __always_inline void forget_socket(u64 sk)
{
    if (sock_owner.delete(&sk) == 0) {
        u32 zero = 0;
        u64 *gen = owner_gen.lookup(&zero);
        if (gen) /* every CPU's memos of it are stale */
            __sync_fetch_and_add(gen, 1);
    }
    sock_rx_dev.delete(&sk);
    struct park_key_t key = {.sk = sk, .is_rx = 0};
    parked.delete(&key);
    key.is_rx = 1;
    parked.delete(&key);
}

/* How many received packets a segment the backlog hands to tcp_probe stands for. While its
 * owner holds the socket, tcp_add_backlog() coalesces pure ACKs into the backlog's tail and adds
 * their count to the tail's gso_segs; each had the tail's headers and no payload. A bulk sender
 * receives little else, so counting the tail as one left most of its ACKs "not delivered".
 * Segments with data count one each, as the device counted them (a GSO skb is one packet on a
 * veth, whatever its gso_segs). Process context only (the backlog), so the two probe reads are
 * off the per-packet softirq path. */
static __always_inline u64 backlog_packets(const u8 *skb)
{
    u32 seq[2] = {}; /* TCP_SKB_CB(skb)->seq, ->end_seq: equal when it carries no payload */
    bpf_probe_read_kernel(seq, sizeof(seq), skb + SKB_CB_OFF);
    if (seq[0] != seq[1])
        return 1;
    u64 head = NW_LOAD(u64, skb, SKB_HEAD_OFF);
    u32 end = NW_LOAD(u32, skb, SKB_END_OFF); /* skb_shinfo(skb) = head + end */
    u16 segs = 0;
    bpf_probe_read_kernel(&segs, sizeof(segs), (const u8 *)head + end + SHINFO_GSO_SEGS_OFF);
    return segs > 1 ? segs : 1;
}

/* The device a socket last used, for segments the backlog processes without one. */
static __always_inline void remember_dev(u64 sk, const char *dev)
{
    struct dev_key_t *last = sock_rx_dev.lookup(&sk);
    if (last && same_words(last->dev, dev, IFNAMSIZ_ / 8))
        return;
    struct dev_key_t d = {};
    __builtin_memcpy(d.dev, dev, IFNAMSIZ_);
    sock_rx_dev.update(&sk, &d);
}

/* softirq_exit is defined (so, in the raw build, attached) before softirq_entry: attached the
 * other way round, a softirq under way in between would leave its CPU's flag set (probe.py). */
TRAFFIC_PROBE(softirq_exit)
{
    u32 zero = 0;
    u32 *flag = in_softirq.lookup(&zero);
    if (flag)
        *flag = 0;
    struct rx_now_t *now = rx_now.lookup(&zero);
    if (now)
        settle_rx_now(now);
    return 0;
}

TRAFFIC_PROBE(softirq_entry)
{
    u32 zero = 0;
    u32 *flag = in_softirq.lookup(&zero);
    if (flag)
        *flag = 1;
    return 0;
}

/* net_dev_queue(struct sk_buff *skb) */
TRAFFIC_PROBE(net_dev_queue)
{
    const u8 *skb = (const u8 *)NW_ARG(0);
    u64 devp = 0, sk = 0;
    skb_dev_and_sk(skb, &devp, &sk);
    char dev[IFNAMSIZ_];
    dev_name(dev, devp);
    u64 len = skb_len(skb);

    if (!softirq_now()) {
        struct owner_t me = {};
        owner_from_current(&me);
        charge(sk, &me, dev, 1, len, 0);
        u32 zero = 0;
        struct learned_memo_t *memo = learned_memo.lookup(&zero);
        u64 *gen = owner_gen.lookup(&zero);
        u64 now = gen ? *gen : 0;
        if (sk && !(memo && memo->sk == sk && memo->tgid == me.tgid && memo->gen == now)) {
            struct owner_t *known = owner_of(sk);
            if (!known || known->tgid != me.tgid) {
                learn_owner(sk, &me);
                remember_dev(sk, dev);
            }
            if (memo && gen) {
                memo->sk = sk;
                memo->tgid = me.tgid;
                memo->gen = *gen; /* after learn_owner's own bump */
            }
        }
        return 0;
    }
    struct owner_t *o = sk ? owner_of(sk) : 0;
    if (o) {
        charge(sk, o, dev, 1, len, 0);
        return 0;
    }
    if (sk) /* a socket not seen in process context yet: its owner may claim it later */
        park(sk, dev, len, 0);
    else
        count_unowned(dev, 1, len, 0);
    return 0;
}

/* netif_receive_skb(struct sk_buff *skb) */
TRAFFIC_PROBE(netif_receive_skb)
{
    const u8 *skb = (const u8 *)NW_ARG(0);
    u32 zero = 0;
    struct rx_now_t *now = rx_now.lookup(&zero);
    if (!now)
        return 0;
    settle_rx_now(now);
    skb_dev_name(now->dev, skb);
    /* The driver pulled the link-layer header already: add it back so bytes match the device's
     * own counters (ip -s link), as transmit lengths already include it. */
    now->wire_len = skb_len(skb) + pulled_headers(skb);
    now->valid = 1;
    return 0;
}

/* sk_data_ready(const struct sock *sk) */
TRAFFIC_PROBE(sk_data_ready)
{
    const u8 *sk = (const u8 *)NW_ARG(0);
    u16 family = NW_LOAD(u16, sk, SKC_FAMILY_OFF);
    u16 protocol = NW_LOAD(u16, sk, SK_PROTOCOL_OFF);
    if (protocol == IPPROTO_TCP_ || protocol == IPPROTO_MPTCP_)
        return 0; /* tcp_probe saw the segment itself */
    if (family != AF_INET_ && family != AF_INET6_)
        return 0; /* unix sockets carry no device traffic; packet taps are copies */
    if (!softirq_now())
        return 0;
    u32 zero = 0;
    struct rx_now_t *now = rx_now.lookup(&zero);
    if (!now || !now->valid)
        return 0;
    now->valid = 0;
    charge_rx_to_socket((u64)sk, now->dev, now->wire_len);
    return 0;
}

/* tcp_probe(struct sock *sk, struct sk_buff *skb) */
TRAFFIC_PROBE(tcp_probe)
{
    u64 sk = (u64)NW_ARG(0);
    const u8 *skb = (const u8 *)NW_ARG(1);
    u64 bytes = skb_len(skb) + pulled_headers(skb);
    u32 zero = 0;
    if (!softirq_now()) {
        /* Backlog processing runs in the owner's release_sock(): current is the owner. */
        struct dev_key_t unknown = {};
        struct dev_key_t *dev = sock_rx_dev.lookup(&sk);
        if (!dev)
            dev = &unknown;
        struct owner_t me = {};
        owner_from_current(&me);
        u64 pk = backlog_packets(skb);
        bytes *= pk; /* coalesced pure ACKs: the same headers each, no payload */
        charge(sk, &me, dev->dev, pk, bytes, 1);
        /* Its softirq found the socket busy and left it unclaimed, so it was counted unowned. */
        count_unowned(dev->dev, -(s64)pk, -(s64)bytes, 1);
        return 0;
    }
    struct rx_now_t *now = rx_now.lookup(&zero);
    if (!now || !now->valid)
        return 0; /* not from a device this softirq received: left to "unattributed" */
    now->valid = 0;
    remember_dev(sk, now->dev);
    charge_rx_to_socket(sk, now->dev, bytes);
    return 0;
}

/* inet_sock_set_state(const struct sock *sk, int oldstate, int newstate): a TCP socket that
 * reaches CLOSE is done (a failed connect too; a retry on it is learned again). */
#define TCP_CLOSE_ 7
TRAFFIC_PROBE(inet_sock_set_state)
{
    if ((int)NW_ARG(2) == TCP_CLOSE_)
        forget_socket((u64)NW_ARG(0));
    return 0;
}

/* sock_recv_length(struct sock *sk, int ret, int flags) */
/* The task reading from `sk` in process context owns it. */
static __always_inline int reader_owns(u64 sk)
{
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    struct owner_t *known = owner_of(sk);
    if (known && known->tgid == tgid)
        return 0;
    struct owner_t me = {};
    owner_from_current(&me);
    learn_owner(sk, &me);
    return 0;
}

TRAFFIC_PROBE(sock_recv_length)
{
    if ((int)NW_ARG(1) <= 0)
        return 0;
    return reader_owns((u64)NW_ARG(0));
}

/* Where sock:sock_recv_length is missing but fentry works (6.1), these are attached by fentry to
 * the UDP receive functions, whose first argument is the socket: a UDP skb on the receive queue
 * no longer names its socket, so the copy below cannot teach UDP readers. */
TRAFFIC_PROBE(udp_recvmsg)
{
    return reader_owns((u64)NW_ARG(0));
}

TRAFFIC_PROBE(udpv6_recvmsg)
{
    return reader_owns((u64)NW_ARG(0));
}

/* Kernels before 6.3 have no sock:sock_recv_length: there the loader compiles this instead.
 * recvmsg copies each received skb to the reader (skb_copy_datagram_iter) in process context,
 * and a queued skb still names its socket. */
TRAFFIC_PROBE(skb_copy_datagram_iovec)
{
    if (softirq_now())
        return 0;
    u64 sk = NW_LOAD(u64, NW_ARG(0), SKB_SK_OFF);
    if (!sk)
        return 0;
    return reader_owns(sk);
}
