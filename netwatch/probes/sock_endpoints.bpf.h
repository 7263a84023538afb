/*
 * A socket's two endpoints, as the probes that report connections read them (accepts.bpf.c
 * and traffic.bpf.c), so that an accepted connection and its traffic name it alike.
 *
 * The including program defines AF_INET6_ and the BTF offsets the loader passes for these
 * programs (probes/offsets.py): SKC_NUM_OFF, SKC_DPORT_OFF, SKC_RCV_SADDR_OFF, SKC_DADDR_OFF,
 * SKC_V6_RCV_SADDR_OFF and SKC_V6_DADDR_OFF. Six kernel reads, no map access.
 */
#ifndef NETWATCH_SOCK_ENDPOINTS_BPF_H
#define NETWATCH_SOCK_ENDPOINTS_BPF_H

/* Ports in host order; addresses 16 bytes each, an IPv4 one in the first 4 and zeros after
 * (user space reads the family to tell them apart). */
static __always_inline void sock_endpoints(const u8 *skc, u16 family, u8 *laddr, u8 *raddr,
                                           u16 *lport, u16 *rport)
{
    u16 dport_be = 0;
    bpf_probe_read_kernel(&dport_be, sizeof(dport_be), skc + SKC_DPORT_OFF);
    *rport = (u16)((dport_be >> 8) | (dport_be << 8));
    bpf_probe_read_kernel(lport, sizeof(*lport), skc + SKC_NUM_OFF);
    __builtin_memset(laddr, 0, 16);
    __builtin_memset(raddr, 0, 16);
    if (family == AF_INET6_) {
        bpf_probe_read_kernel(laddr, 16, skc + SKC_V6_RCV_SADDR_OFF);
        bpf_probe_read_kernel(raddr, 16, skc + SKC_V6_DADDR_OFF);
    } else {
        bpf_probe_read_kernel(laddr, 4, skc + SKC_RCV_SADDR_OFF);
        bpf_probe_read_kernel(raddr, 4, skc + SKC_DADDR_OFF);
    }
}

#endif
