/*
 * Two builds of a program file that attaches to raw tracepoints (traffic.bpf.c, conns.bpf.c).
 *
 * With NW_BTF_CTX the loader attaches the programs as BTF raw tracepoints (tp_btf,
 * probes/btf_attach.py): their arguments are typed kernel pointers, so a field is one plain load
 * the verifier checks against BTF, where a bpf_probe_read_kernel() call costs ~25 ns on our VMs
 * (every call and return pays for the kernel's speculation mitigations). Without it: classic
 * raw tracepoints and probe reads, for kernels that refuse tracing programs.
 *
 * In the BTF build a load must stay inside the pointer's type: struct sock's fields through the
 * sock a tracepoint passes, but tcp_sock's (past struct sock's end) only through the pointer
 * bpf_skc_to_tcp_sock() returns (NW_TCP_SOCK).
 */
#ifndef NETWATCH_BTF_CTX_BPF_H
#define NETWATCH_BTF_CTX_BPF_H

#ifdef NW_BTF_CTX
/* u64 *ctx, not struct bpf_raw_tracepoint_args: BCC rewrites loads through pointers it derives
 * from the latter into probe reads, which is what this build exists to avoid. */
#define NW_PROBE(event) int nw_tp__##event(u64 *ctx)
#define NW_ARG(i) (ctx[i])
#define NW_LOAD(type, base, off) (*(const type *)((const u8 *)(base) + (off)))
/* The tcp_sock behind a sock, or 0 when it is not a full TCP sock. */
#define NW_TCP_SOCK(sk) ((const u8 *)bpf_skc_to_tcp_sock((void *)(sk)))
#else
#define NW_PROBE(event) RAW_TRACEPOINT_PROBE(event)
#define NW_ARG(i) (ctx->args[i])
#define NW_LOAD(type, base, off)                                                                   \
    ({                                                                                          \
        type v_ = 0;                                                                            \
        bpf_probe_read_kernel(&v_, sizeof(v_), (const u8 *)(base) + (off));                     \
        v_;                                                                                     \
    })
#define NW_TCP_SOCK(sk) ((const u8 *)(sk))
#endif

#endif
