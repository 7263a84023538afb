/*
 * netwatch Drops probe: packet drops counted in the kernel by (location, reason, protocol,
 * device or network namespace).
 *
 * Attach point: raw tracepoint kfree_skb(skb, location[, reason[, rx_sk]]). Raw, because a
 * classic tracepoint fills its record before BPF runs, which at 200k drops/s costs more than the
 * counting. The arguments only ever grew at the end, in that order; the loader reads from the
 * format file which ones this kernel has (HAS_REASON, HAS_RX_SK). consume_skb, the normal free,
 * is a different tracepoint and is not attached.
 *
 * Kernel features: raw tracepoint BPF programs (4.17+), per-CPU hash maps; BTF offsets (from the
 * loader) for skb->protocol, skb->dev->name and rx_sk's local port, and for the device's (or
 * socket's) network namespace, sampled with the device. Reasons need 5.17+, rx_sk
 * 6.12+.
 *
 * Expected overhead: one short program per drop, two or three probe reads (protocol, device;
 * without a device, the socket and its namespace) and one per-CPU array update (a hash update
 * for keys past the hot slots); nothing per drop reaches user space. Counts are cumulative per CPU; user space differences them each interval.
 */
#include <uapi/linux/ptrace.h>

#define IFNAMSIZ_ 16

struct drop_key_t {
    u64 location;
    /* Where it was dropped: skb->dev, else (low bit set) the network namespace (struct net *)
     * of the socket it had or was for. One row per device or namespace, so a filter on either
     * counts exactly the drops it names (issue #24). */
    u64 where;
    u32 reason;
    u16 protocol;
    u16 pad;
};

struct drop_val_t {
    u64 count;
    u64 first_ns;
    u64 last_ns;
    char dev[IFNAMSIZ_];
    u16 port;
    u16 pad;
    u32 netns; /* the network namespace of the device (or else the socket) it was on */
};

BPF_PERCPU_HASH(drops, struct drop_key_t, struct drop_val_t, MAX_LOCATIONS);

/* The first HOT_SLOTS keys a CPU sees keep their counts in a per-CPU array instead: a flood
 * drops at one or two places, and an array lookup is inlined where a hash lookup hashes the
 * key. A slot, once claimed, is never given to another key, so every drop is counted exactly
 * once, in its slot or in the hash; user space adds the two. */
struct hot_t {
    struct drop_key_t key;
    struct drop_val_t val;
};
BPF_PERCPU_ARRAY(hot, struct hot_t, HOT_SLOTS);
/* [0]: drops not counted because the map was full. */
BPF_PERCPU_ARRAY(lost, u64, 1);

RAW_TRACEPOINT_PROBE(kfree_skb)
{
    const u8 *skb = (const u8 *)ctx->args[0];
    struct drop_key_t key = {};
    key.location = (u64)ctx->args[1];
#ifdef HAS_REASON
    key.reason = (u32)ctx->args[2];
    if (key.reason <= 1)
        return 0; /* NOT_DROPPED_YET, CONSUMED: not drops */
#endif
    u16 proto_be = 0;
    bpf_probe_read_kernel(&proto_be, sizeof(proto_be), skb + SKB_PROTOCOL_OFF);
    key.protocol = (u16)((proto_be >> 8) | (proto_be << 8)); /* __be16 ethertype */
    u64 dev = 0;
    bpf_probe_read_kernel(&dev, sizeof(dev), skb + SKB_DEV_OFF);
    key.where = dev;
    if (!dev) {
        /* skb->sk, else rx_sk (the socket a received packet was for, 6.12+): its namespace. */
        u64 sk = 0, net = 0;
        bpf_probe_read_kernel(&sk, sizeof(sk), skb + SKB_SK_OFF);
#ifdef HAS_RX_SK
        if (!sk)
            sk = (u64)ctx->args[3];
#endif
        if (sk)
            bpf_probe_read_kernel(&net, sizeof(net), (const u8 *)sk + SKC_NET_OFF);
        key.where = net ? net | 1 : 0;
    }
    struct drop_val_t *v = 0;
#pragma unroll
    for (u32 i = 0; i < HOT_SLOTS; i++) {
        u32 idx = i;
        struct hot_t *h = hot.lookup(&idx);
        if (!h)
            break;
        if (!h->val.count) { /* free: claim it */
            h->key = key;
            h->val.first_ns = bpf_ktime_get_ns();
            v = &h->val;
            break;
        }
        if (h->key.location == key.location && h->key.where == key.where &&
            h->key.reason == key.reason && h->key.protocol == key.protocol) {
            v = &h->val;
            break;
        }
    }
    if (!v) {
        struct drop_val_t zero = {};
        zero.first_ns = bpf_ktime_get_ns();
        v = drops.lookup_or_try_init(&key, &zero);
    }
    if (!v) {
        u32 zero = 0;
        lost.increment(zero);
        return 0;
    }
    v->count++;
    /* When and whom, where the kernel still says: once per 64 drops is enough. */
    if ((v->count & 63) == 1) {
        v->last_ns = bpf_ktime_get_ns();
        /* The key's device and namespace, by name and inode: fixed for the key but for a
         * device renamed or moved, which the next sample shows. */
        __builtin_memset(v->dev, 0, IFNAMSIZ_);
        u64 net = 0;
        if (dev) {
            bpf_probe_read_kernel_str(v->dev, IFNAMSIZ_, (const u8 *)dev + NETDEV_NAME_OFF);
            bpf_probe_read_kernel(&net, sizeof(net), (const u8 *)dev + NETDEV_ND_NET_OFF);
        } else {
            net = key.where & ~1ULL;
        }
        v->netns = 0;
        if (net)
            bpf_probe_read_kernel(&v->netns, sizeof(v->netns), (const u8 *)net + NET_NS_INUM_OFF);
#ifdef HAS_RX_SK
        u16 port = 0;
        const u8 *rx_sk = (const u8 *)ctx->args[3];
        if (rx_sk)
            bpf_probe_read_kernel(&port, sizeof(port), rx_sk + SKC_NUM_OFF);
        v->port = port;
#endif
    }
    return 0;
}
