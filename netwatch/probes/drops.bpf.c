/*
 * netwatch Drops probe: packet drops counted in the kernel by (location, reason, protocol).
 *
 * Attach point: tracepoint skb:kfree_skb (classic, not raw: its record's layout comes from
 * tracefs, so the same program reads `reason` and `rx_sk` on any kernel that has them; the
 * loader passes HAS_REASON / HAS_RX_SK / HAS_PROTOCOL from the format file). consume_skb, the
 * normal free, is a different tracepoint and is not attached.
 *
 * Kernel features: tracepoint BPF programs, per-CPU hash maps; BTF offsets (from the loader) to
 * read skb->dev->name and the local port of rx_sk. Reasons need 5.17+, rx_sk 6.12+.
 *
 * Expected overhead: one short program and one per-CPU hash update per drop; nothing per drop
 * reaches user space. Counts are cumulative per CPU; user space differences them each interval.
 */
#include <uapi/linux/ptrace.h>
#ifdef HAS_REASON
#include <net/dropreason.h>
#endif

#define IFNAMSIZ_ 16

struct drop_key_t {
    u64 location;
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
    u16 pad[3];
};

BPF_PERCPU_HASH(drops, struct drop_key_t, struct drop_val_t, MAX_LOCATIONS);
/* [0]: drops not counted because the map was full. */
BPF_PERCPU_ARRAY(lost, u64, 1);

TRACEPOINT_PROBE(skb, kfree_skb)
{
    struct drop_key_t key = {};
    key.location = (u64)args->location;
#ifdef HAS_REASON
    key.reason = (u32)args->reason;
    if (key.reason <= 1)
        return 0; /* NOT_DROPPED_YET, CONSUMED: not drops */
#endif
#ifdef HAS_PROTOCOL
    key.protocol = args->protocol;
#endif
    u64 now = bpf_ktime_get_ns();
    struct drop_val_t zero = {};
    zero.first_ns = now;
    struct drop_val_t *v = drops.lookup_or_try_init(&key, &zero);
    if (!v) {
        u32 idx = 0;
        u64 *l = lost.lookup(&idx);
        if (l)
            (*l)++;
        return 0;
    }
    v->count++;
    v->last_ns = now;
    /* Who the packet was for, where the kernel still says: once per 64 drops is enough. */
    if ((v->count & 63) == 1) {
        u64 dev = 0;
        bpf_probe_read_kernel(&dev, sizeof(dev), (const u8 *)args->skbaddr + SKB_DEV_OFF);
        __builtin_memset(v->dev, 0, IFNAMSIZ_);
        if (dev)
            bpf_probe_read_kernel_str(v->dev, IFNAMSIZ_, (const u8 *)dev + NETDEV_NAME_OFF);
#ifdef HAS_RX_SK
        u16 port = 0;
        if (args->rx_sk)
            bpf_probe_read_kernel(&port, sizeof(port), (const u8 *)args->rx_sk + SK_NUM_OFF);
        v->port = port;
#endif
    }
    return 0;
}
