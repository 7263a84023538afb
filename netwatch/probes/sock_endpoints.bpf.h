/*
 * A socket's two endpoints, as the probes that report connections read them (accepts.bpf.c,
 * conns.bpf.c and traffic.bpf.c), so that an accepted connection and its traffic name it alike.
 *
 * The including program defines AF_INET6_ and the BTF offsets the loader passes for these
 * programs (probes/offsets.py): SKC_NUM_OFF, SKC_DPORT_OFF, SKC_RCV_SADDR_OFF, SKC_DADDR_OFF,
 * SKC_V6_RCV_SADDR_OFF, SKC_V6_DADDR_OFF, SKC_FAMILY_OFF and SKC_NET_OFF. All of them sit in
 * sock_common's first 88 bytes on our kernels, so one kernel read fetches them: a helper call
 * costs about as much as the copy of the whole span (docs/benchmarks.md, the Connections tab).
 */
#ifndef NETWATCH_SOCK_ENDPOINTS_BPF_H
#define NETWATCH_SOCK_ENDPOINTS_BPF_H

#define NW_MAX(a, b) ((a) > (b) ? (a) : (b))
/* sock_common from its start to the last byte of the fields above. */
#define SKC_ENDS_LEN                                                                              \
    NW_MAX(NW_MAX(NW_MAX(SKC_V6_RCV_SADDR_OFF, SKC_V6_DADDR_OFF) + 16, SKC_NET_OFF + 8),          \
           NW_MAX(NW_MAX(SKC_RCV_SADDR_OFF, SKC_DADDR_OFF) + 4,                                   \
                  NW_MAX(NW_MAX(SKC_NUM_OFF, SKC_DPORT_OFF), SKC_FAMILY_OFF) + 2))

struct sock_ends_t {
    u8 head[SKC_ENDS_LEN] __attribute__((aligned(8))); /* the verifier wants aligned stack */
};

/* One read of what sock_ends_* below take apart; zeros if the sock cannot be read. */
static __always_inline void sock_ends_read(const u8 *skc, struct sock_ends_t *ends)
{
    if (bpf_probe_read_kernel(ends->head, sizeof(ends->head), skc) != 0)
        __builtin_memset(ends->head, 0, sizeof(ends->head));
}

#ifdef NW_BTF_CTX
/* The same fields, loaded one by one from a sock whose type the verifier knows (btf_ctx.bpf.h):
 * plain loads, no helper call. All but skc_net, a pointer: a caller that wants the namespace
 * loads it from the sock, so that the verifier keeps its type. */
static __always_inline void sock_ends_load(const u8 *skc, struct sock_ends_t *ends)
{
    u8 *head = ends->head;
    *(u32 *)(head + SKC_DADDR_OFF) = NW_LOAD(u32, skc, SKC_DADDR_OFF);
    *(u32 *)(head + SKC_RCV_SADDR_OFF) = NW_LOAD(u32, skc, SKC_RCV_SADDR_OFF);
    *(u16 *)(head + SKC_DPORT_OFF) = NW_LOAD(u16, skc, SKC_DPORT_OFF);
    *(u16 *)(head + SKC_NUM_OFF) = NW_LOAD(u16, skc, SKC_NUM_OFF);
    *(u16 *)(head + SKC_FAMILY_OFF) = NW_LOAD(u16, skc, SKC_FAMILY_OFF);
    *(u64 *)(head + SKC_V6_DADDR_OFF) = NW_LOAD(u64, skc, SKC_V6_DADDR_OFF);
    *(u64 *)(head + SKC_V6_DADDR_OFF + 8) = NW_LOAD(u64, skc, SKC_V6_DADDR_OFF + 8);
    *(u64 *)(head + SKC_V6_RCV_SADDR_OFF) = NW_LOAD(u64, skc, SKC_V6_RCV_SADDR_OFF);
    *(u64 *)(head + SKC_V6_RCV_SADDR_OFF + 8) = NW_LOAD(u64, skc, SKC_V6_RCV_SADDR_OFF + 8);
}
#endif

static __always_inline u16 sock_ends_family(const struct sock_ends_t *ends)
{
    return *(const u16 *)(ends->head + SKC_FAMILY_OFF);
}

/* sk->sk_net: possible_net_t, one pointer (0 unknown). */
static __always_inline u64 sock_ends_net(const struct sock_ends_t *ends)
{
    return *(const u64 *)(ends->head + SKC_NET_OFF);
}

/* Ports in host order; addresses 16 bytes each, an IPv4 one in the first 4 and zeros after
 * (user space reads the family to tell them apart). */
static __always_inline void sock_ends_copy(const struct sock_ends_t *ends, u16 family, u8 *laddr,
                                           u8 *raddr, u16 *lport, u16 *rport)
{
    const u8 *head = ends->head;
    u16 dport_be = *(const u16 *)(head + SKC_DPORT_OFF);
    *rport = (u16)((dport_be >> 8) | (dport_be << 8));
    *lport = *(const u16 *)(head + SKC_NUM_OFF);
    if (family == AF_INET6_) {
        __builtin_memcpy(laddr, head + SKC_V6_RCV_SADDR_OFF, 16);
        __builtin_memcpy(raddr, head + SKC_V6_DADDR_OFF, 16);
    } else {
        __builtin_memset(laddr, 0, 16);
        __builtin_memset(raddr, 0, 16);
        __builtin_memcpy(laddr, head + SKC_RCV_SADDR_OFF, 4);
        __builtin_memcpy(raddr, head + SKC_DADDR_OFF, 4);
    }
}

/* Both ends of `skc`, for a caller that has read its family already. */
static __always_inline void sock_endpoints(const u8 *skc, u16 family, u8 *laddr, u8 *raddr,
                                           u16 *lport, u16 *rport)
{
    struct sock_ends_t ends;
    sock_ends_read(skc, &ends);
    sock_ends_copy(&ends, family, laddr, raddr, lport, rport);
}

#endif
