/*
 * netwatch Traffic probe: packets and bytes per (process, device), aggregated in the kernel.
 *
 * Attach points (tracepoints only; no kprobes or fentry needed):
 *   net:net_dev_queue        every transmitted skb (device name, length incl. L2 header)
 *   net:netif_receive_skb    every received skb; remembered per CPU until its socket is known
 *   sock:sk_data_ready       a non-TCP inet socket was handed the skb this CPU is delivering
 *   tcp:tcp_probe            a TCP segment processed on an established socket (softirq or backlog)
 *                            (skb->dev is already cleared there, so the device comes from the
 *                            CPU's delivery record, and is remembered per socket for the backlog)
 *   sock:sock_recv_length    a process finished recvmsg: it owns that socket
 *   irq:softirq_entry/_exit  per-CPU flag: in softirq, `current` is whoever was interrupted
 *
 * Kernel features: BPF tracepoint programs (4.7+), sock:sk_data_ready (6.5+, else UDP receive
 * falls to "unattributed"), BTF at /sys/kernel/btf/vmlinux for the struct offsets below. The
 * loader reads sk_buff/net_device member offsets from the running kernel's BTF and passes them as
 * -D macros, so headers of another kernel cannot misplace a field read.
 *
 * Attribution:
 *   transmit, process context -> the current task (it is the sender); it becomes skb->sk's owner
 *   transmit, softirq         -> owner of skb->sk learned earlier in process context
 *   receive, TCP              -> owner of the socket tcp_probe names (current, in the backlog)
 *   receive, UDP and others   -> owner of the socket sk_data_ready names
 *   owner not known yet       -> parked per socket, claimed by the first process to recvmsg on it
 *   everything else           -> device totals minus the rows: "unattributed" (user space)
 *
 * Expected overhead: per packet 3-5 short BPF programs of a few map operations each; no
 * per-packet event reaches user space. Counters are cumulative; user space reads them each
 * interval and takes differences, so no increment is lost to a read-then-reset race.
 */
#include <uapi/linux/ptrace.h>

#define IFNAMSIZ_ 16
#define COMM_LEN 16
#define IPPROTO_TCP_ 6
#define IPPROTO_MPTCP_ 262
#define AF_INET_ 2
#define AF_INET6_ 10

struct owner_t {
    u32 tgid;
    u32 uid;
    char comm[COMM_LEN];
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

struct parked_t {
    char dev[IFNAMSIZ_];
    u64 pk;
    u64 bytes;
};

BPF_HASH(traffic, struct traffic_key_t, struct counters_t, MAX_ROWS);
BPF_HASH(device_totals, struct dev_key_t, struct counters_t, 1024);
/* sk -> the process that last used it in process context. LRU: dead sockets age out. */
BPF_TABLE("lru_hash", u64, struct owner_t, sock_owner, MAX_SOCKS);
/* sk -> the device its last segment came in on, for segments processed later from the backlog. */
BPF_TABLE("lru_hash", u64, struct dev_key_t, sock_rx_dev, MAX_SOCKS);
/* sk -> received traffic that arrived before any process was seen on the socket. */
BPF_TABLE("lru_hash", u64, struct parked_t, parked_rx, MAX_SOCKS);
/* The skb this CPU's softirq is delivering right now (netif_receive_skb -> sk_data_ready). */
BPF_PERCPU_ARRAY(rx_now, struct rx_now_t, 1);
BPF_PERCPU_ARRAY(in_softirq, u32, 1);
/* [0]: packets not counted because the traffic map was full. Shown as lost by user space. */
BPF_PERCPU_ARRAY(lost, u64, 1);

/* A tracepoint's __data_loc string, NUL-terminated and zero-padded so it can be part of a key. */
static __always_inline void read_dev_name(char *dst, const void *args, u32 data_loc)
{
    __builtin_memset(dst, 0, IFNAMSIZ_);
    bpf_probe_read_kernel_str(dst, IFNAMSIZ_, (const u8 *)args + (data_loc & 0xFFFF));
}

static __always_inline int same_name(const char *a, const char *b)
{
    const u64 *x = (const u64 *)a, *y = (const u64 *)b;
    return x[0] == y[0] && x[1] == y[1];
}

static __always_inline int softirq_now(void)
{
    u32 zero = 0;
    u32 *flag = in_softirq.lookup(&zero);
    return flag && *flag;
}

static __always_inline void owner_from_current(struct owner_t *o)
{
    o->tgid = bpf_get_current_pid_tgid() >> 32;
    o->uid = (u32)bpf_get_current_uid_gid();
    bpf_get_current_comm(o->comm, sizeof(o->comm));
}

static __always_inline void add(struct counters_t *v, u64 pk, u64 bytes, int is_rx)
{
    if (is_rx) {
        __sync_fetch_and_add(&v->recv_pk, pk);
        __sync_fetch_and_add(&v->recv_bytes, bytes);
    } else {
        __sync_fetch_and_add(&v->xmit_pk, pk);
        __sync_fetch_and_add(&v->xmit_bytes, bytes);
    }
}

static __always_inline void charge(const struct owner_t *o, const char *dev, u64 pk, u64 bytes,
                                   int is_rx)
{
    struct traffic_key_t key = {};
    key.tgid = o->tgid;
    key.uid = o->uid;
    __builtin_memcpy(key.dev, dev, IFNAMSIZ_);
    __builtin_memcpy(key.comm, o->comm, COMM_LEN);
    struct counters_t zero = {};
    struct counters_t *v = traffic.lookup_or_try_init(&key, &zero);
    if (!v) {
        u32 idx = 0;
        u64 *l = lost.lookup(&idx);
        if (l)
            *l += pk;
        return;
    }
    add(v, pk, bytes, is_rx);
}

static __always_inline void count_device(const char *dev, u64 bytes, int is_rx)
{
    struct dev_key_t key = {};
    __builtin_memcpy(key.dev, dev, IFNAMSIZ_);
    struct counters_t zero = {};
    struct counters_t *v = device_totals.lookup_or_try_init(&key, &zero);
    if (v)
        add(v, 1, bytes, is_rx);
}

/* Bytes from the start of the link-layer header to skb->data: what a driver already pulled. */
static __always_inline u64 pulled_headers(const u8 *skb)
{
    u64 head = 0, data = 0;
    u16 mac = 0xffff;
    bpf_probe_read_kernel(&head, sizeof(head), skb + SKB_HEAD_OFF);
    bpf_probe_read_kernel(&data, sizeof(data), skb + SKB_DATA_OFF);
    bpf_probe_read_kernel(&mac, sizeof(mac), skb + SKB_MAC_HEADER_OFF);
    if (mac == 0xffff || !head || data < head + mac)
        return 0;
    u64 pulled = data - (head + mac);
    return pulled <= 256 ? pulled : 0;
}

/* Charge received traffic to the socket's owner, or park it until a reader shows up. */
static __always_inline void charge_rx_to_socket(u64 sk, const char *dev, u64 bytes)
{
    struct owner_t *o = sock_owner.lookup(&sk);
    if (o) {
        charge(o, dev, 1, bytes, 1);
        return;
    }
    struct parked_t zero = {};
    __builtin_memcpy(zero.dev, dev, IFNAMSIZ_);
    struct parked_t *p = parked_rx.lookup_or_try_init(&sk, &zero);
    if (p) {
        __sync_fetch_and_add(&p->pk, 1);
        __sync_fetch_and_add(&p->bytes, bytes);
    }
}

/* A process was seen on sk for the first time: it becomes the owner and takes what was parked. */
static __always_inline void learn_owner(u64 sk, struct owner_t *me)
{
    sock_owner.update(&sk, me);
    struct parked_t *p = parked_rx.lookup(&sk);
    if (p) {
        charge(me, p->dev, p->pk, p->bytes, 1);
        parked_rx.delete(&sk);
    }
}

/* The device a socket last used, for segments the backlog processes without one. */
static __always_inline void remember_dev(u64 sk, const char *dev)
{
    struct dev_key_t *last = sock_rx_dev.lookup(&sk);
    if (last && same_name(last->dev, dev))
        return;
    struct dev_key_t d = {};
    __builtin_memcpy(d.dev, dev, IFNAMSIZ_);
    sock_rx_dev.update(&sk, &d);
}

TRACEPOINT_PROBE(irq, softirq_entry)
{
    u32 zero = 0;
    u32 *flag = in_softirq.lookup(&zero);
    if (flag)
        *flag = 1;
    return 0;
}

TRACEPOINT_PROBE(irq, softirq_exit)
{
    u32 zero = 0;
    u32 *flag = in_softirq.lookup(&zero);
    if (flag)
        *flag = 0;
    struct rx_now_t *now = rx_now.lookup(&zero);
    if (now)
        now->valid = 0;
    return 0;
}

TRACEPOINT_PROBE(net, net_dev_queue)
{
    char dev[IFNAMSIZ_];
    read_dev_name(dev, args, args->data_loc_name);
    u64 len = args->len;
    count_device(dev, len, 0);

    u64 sk = 0;
    bpf_probe_read_kernel(&sk, sizeof(sk), (const u8 *)args->skbaddr + SKB_SK_OFF);
    if (!softirq_now()) {
        struct owner_t me = {};
        owner_from_current(&me);
        charge(&me, dev, 1, len, 0);
        if (sk) {
            struct owner_t *known = sock_owner.lookup(&sk);
            if (!known || known->tgid != me.tgid) {
                learn_owner(sk, &me);
                remember_dev(sk, dev);
            }
        }
        return 0;
    }
    if (!sk)
        return 0;
    struct owner_t *o = sock_owner.lookup(&sk);
    if (o)
        charge(o, dev, 1, len, 0);
    return 0;
}

TRACEPOINT_PROBE(net, netif_receive_skb)
{
    u32 zero = 0;
    struct rx_now_t *now = rx_now.lookup(&zero);
    if (!now)
        return 0;
    read_dev_name(now->dev, args, args->data_loc_name);
    /* The driver pulled the link-layer header already: add it back so bytes match the device's
     * own counters (ip -s link), as transmit lengths already include it. */
    now->wire_len = args->len + pulled_headers((const u8 *)args->skbaddr);
    now->valid = 1;
    count_device(now->dev, now->wire_len, 1);
    return 0;
}

TRACEPOINT_PROBE(sock, sk_data_ready)
{
    if (args->protocol == IPPROTO_TCP_ || args->protocol == IPPROTO_MPTCP_)
        return 0; /* tcp_probe saw the segment itself */
    if (args->family != AF_INET_ && args->family != AF_INET6_)
        return 0; /* unix sockets carry no device traffic; packet taps are copies */
    if (!softirq_now())
        return 0;
    u32 zero = 0;
    struct rx_now_t *now = rx_now.lookup(&zero);
    if (!now || !now->valid)
        return 0;
    now->valid = 0;
    charge_rx_to_socket((u64)args->skaddr, now->dev, now->wire_len);
    return 0;
}

TRACEPOINT_PROBE(tcp, tcp_probe)
{
    const u8 *skb = (const u8 *)args->skbaddr;
    u64 sk = (u64)args->skaddr;
    u32 len = 0;
    bpf_probe_read_kernel(&len, sizeof(len), skb + SKB_LEN_OFF);
    u64 bytes = len + pulled_headers(skb);
    u32 zero = 0;
    if (!softirq_now()) {
        /* Backlog processing runs in the owner's release_sock(): current is the owner. */
        struct dev_key_t unknown = {};
        struct dev_key_t *dev = sock_rx_dev.lookup(&sk);
        if (!dev)
            dev = &unknown;
        struct owner_t me = {};
        owner_from_current(&me);
        charge(&me, dev->dev, 1, bytes, 1);
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

TRACEPOINT_PROBE(sock, sock_recv_length)
{
    if (args->ret <= 0)
        return 0;
    u64 sk = (u64)args->sk;
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    struct owner_t *known = sock_owner.lookup(&sk);
    if (known && known->tgid == tgid)
        return 0;
    struct owner_t me = {};
    owner_from_current(&me);
    learn_owner(sk, &me);
    return 0;
}
