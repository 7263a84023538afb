/*
 * netwatch Calls probe: socket-layer system calls of chosen threads, with the socket-layer
 * tracepoints that fired inside each call, streamed to user space (socket-trace.stp's tree).
 *
 * Attach points (all raw tracepoints; no kprobes or fentry needed):
 *   raw_syscalls:sys_enter / sys_exit  the call opens (->) and closes (<-). Socket-family calls
 *       always; read/write/readv/writev/close only when their fd is a socket (checked through
 *       the task's fd table); the poll family only if a socket-layer event fires inside it.
 *   sock:sock_send_length, sock:sock_recv_length, skb:skb_copy_datagram_iovec,
 *   sock:inet_sock_set_state, net:net_dev_queue, skb:kfree_skb, tcp:tcp_retransmit_skb,
 *   tcp:tcp_send_reset, tcp:tcp_receive_reset, tcp:tcp_destroy_sock, tcp:tcp_rcv_space_adjust
 *       nested events: recorded only while the current thread is inside a traced call. A
 *       softirq that runs while that thread is on the CPU is inside the call too, so each
 *       event says whether it concerns the call's own socket. inet_sock_set_state also ends a
 *       traced non-blocking connect's wait, in any context: its outcome (KIND_OUTCOME).
 *
 * Function depth (socket-trace.stp's own level, optional): the functions of net/socket.c that
 * this kernel lets netwatch attach to, on call and return, nested under the call they ran in.
 * user space loads `fn_enter` / `fn_exit` once per function as fentry / fexit programs (5.17+
 * for bpf_get_func_ret; exact function address and return value), or else attaches
 * `kp_enter` / `kp_exit` as kprobes / kretprobes (the return is the innermost open function).
 * Both return at once unless the current thread is inside a traced call, so untraced threads
 * pay the attachment (a trampoline or a breakpoint) and an array read per function call.
 *
 * Which threads: `filter` says which of the pid / tid / comm sets apply (all that apply must
 * match); user space fills the sets, so no user text ever becomes BPF C. netwatch itself
 * (SELF_PID) is never traced.
 *
 * Kernel features: raw tracepoints (4.17+), BPF ring buffer (5.8+), BTF offsets (passed by the
 * loader) for pt_regs, task->files->fdt->fd[], file->f_inode->i_mode, socket->sk, sk_buff and
 * sock_common. Syscall numbers are the build architecture's __NR_* (x86_64 here).
 *
 * Records: one per call (struct call_record_t, 464 bytes), sent when it returns, carrying the
 * first MAX_INLINE events inside it; a call with more sends the rest as they happen. User
 * space reads the calls still in progress from the per-thread slots (`inflight`), so a call
 * blocked for minutes shows as running. Submitted without a wakeup; user space copies them out
 * of the buffer's mapping every 10 ms. A record that cannot be reserved is counted in `lost`.
 *
 * Expected overhead: every system call of every process passes sys_enter/sys_exit: a switch on
 * the number and, for socket calls, the pid/tid filter compared in place. Enabling syscall
 * tracepoints at all puts every task on the slow syscall path: about 9% of a syscall-bound
 * loop on our VMs with empty programs (bench/calls_overhead). Per-packet events cost an array
 * read while no traced call is in progress, and a hash lookup by thread while one is. A traced
 * call costs about a dozen kernel reads and one ring buffer record; with function depth, each
 * net/socket.c function inside it adds two events (an enter and a return).
 */
#include <uapi/linux/ptrace.h>
#include <asm/unistd.h>

#define KIND_CALL 1   /* a call that returned, with the events inside it */
#define KIND_EVENT 3  /* an event beyond a call's MAX_INLINE, sent as it happens */
/* How a connect that returned -EINPROGRESS ended, when the handshake did: ts_ns is the
 * connect's start, dur_ns the time to the outcome, a0 the new state (ESTABLISHED or CLOSE),
 * ret -sk_err on CLOSE (refused, timed out, unreachable; 0: the process closed it first). */
#define KIND_OUTCOME 4
#define MAX_INLINE 4  /* a power of two */

/* The order is the Python side's CALL_NAMES (tests/unit checks they agree). */
enum call_op {
    OP_NONE,
    OP_SOCKET, OP_SOCKETPAIR, OP_BIND, OP_LISTEN, OP_ACCEPT, OP_ACCEPT4, OP_CONNECT,
    OP_SHUTDOWN, OP_SENDTO, OP_RECVFROM, OP_SENDMSG, OP_RECVMSG, OP_SENDMMSG, OP_RECVMMSG,
    OP_SETSOCKOPT, OP_GETSOCKOPT, OP_GETSOCKNAME, OP_GETPEERNAME,
    OP_READ, OP_WRITE, OP_READV, OP_WRITEV, OP_CLOSE,
    OP_POLL, OP_PPOLL, OP_SELECT, OP_PSELECT6, OP_EPOLL_WAIT, OP_EPOLL_PWAIT, OP_EPOLL_PWAIT2,
};

/* The order is the Python side's EVENT_NAMES. */
enum event_op {
    EV_NONE,
    EV_SEND_LENGTH, EV_RECV_LENGTH, EV_COPY_DATAGRAM, EV_SET_STATE, EV_DEV_QUEUE, EV_KFREE_SKB,
    EV_TCP_RETRANSMIT, EV_TCP_SEND_RESET, EV_TCP_RECV_RESET, EV_TCP_DESTROY, EV_TCP_RCV_SPACE,
    EV_FUNC_ENTER, EV_FUNC_EXIT,
};

/* flags */
#define F_OTHER_SOCK 1   /* the event concerns another socket than the call's fd */
#define F_ADDR 2         /* family/port/addr hold the call's address argument */
#define F_PEER 4         /* family/port/addr hold the socket's connected peer */

#define FILTER_PID 1
#define FILTER_TID 2
#define FILTER_COMM 4
#define FILTER_READY 8   /* set by user space with the sets: until then nothing is traced */

#define S_IFMT_ 00170000
#define S_IFSOCK_ 0140000
#define AF_INET_ 2
#define AF_INET6_ 10
#define AF_UNIX_ 1
#define EINPROGRESS_ 115
#define SOCK_RAW_ 3
#define TCP_ESTABLISHED_ 1
#define TCP_SYN_SENT_ 2
#define TCP_CLOSE_ 7

/* A socket as a record shows it: the descriptor, its address (an argument, or its peer),
 * local port and protocol. */
struct sock_view_t {
    s32 fd;        /* -1 if none */
    u16 family;    /* of addr, or of the socket */
    u16 port;      /* of addr (host order) */
    u16 lport;     /* local port */
    u16 proto;     /* IPPROTO_* */
    u16 flags;     /* F_* */
    u16 pad;
    u8 addr[16];
};

/* A socket-layer event inside a call. */
struct nested_t {
    u64 ts_ns;
    u64 a0;        /* values by type: flags, old state, drop location, function address, ... */
    u64 a1;        /* new state, drop reason, a function's duration (ns), ... */
    s64 value;     /* bytes, length, error, a function's return value */
    u16 op;        /* enum event_op */
    u16 flags;
    u16 family;
    u16 port;
    u16 lport;
    u16 proto;
    u32 pad;
    u8 addr[16];
    char dev[16];
};

/* One record per call, sent when it returns, with the first MAX_INLINE events inside it.
 * A call with more events sends the rest as KIND_EVENT records of the same layout as they
 * happen (the event in ev[0]); user space puts them back under their call. One record per call
 * instead of one per enter, event and exit is what lets a busy thread be followed in full. */
struct call_record_t {
    u64 ts_ns;     /* KIND_CALL: the call's start; KIND_EVENT: unused (see ev[0]) */
    u64 a0;        /* the first three syscall arguments */
    u64 a1;
    u64 a2;
    s64 ret;
    u64 dur_ns;
    u32 pid;
    u32 tid;
    char comm[16];
    u16 kind;
    u16 op;        /* enum call_op */
    u16 n_inline;  /* events in ev[] */
    u16 n_overflow; /* events sent as their own records */
    struct sock_view_t enter;  /* the socket as the call began */
    struct sock_view_t exit;   /* as it returned: a new fd (socket, accept), a port (connect) */
    struct nested_t ev[MAX_INLINE];
};

#define MAX_FRAMES 8  /* net/socket.c functions open at once inside a call; a power of two */

/* One thread's call in progress; the slot is reused call after call, not deleted. */
struct inflight_t {
    u64 sk;
    u64 addr_ptr;  /* user sockaddr filled by the kernel, read at exit (accept, recvfrom) */
    u32 active;    /* the thread is inside this call */
    u32 deferred;  /* sent only if an event fires inside it (the poll family) */
    struct call_record_t rec;
    /* Function depth: the net/socket.c functions open inside the call, innermost last.
     * `depth` goes on counting past MAX_FRAMES, so returns still pair; deeper ones are not
     * shown. Kept after `rec`: user space reads the slot's head and record only. */
    u32 depth;
    u32 pad;
    u64 frame_ip[MAX_FRAMES];
    u64 frame_ts[MAX_FRAMES];
};

struct comm_key_t {
    char comm[16];
};

BPF_RINGBUF_OUTPUT(events, RINGBUF_PAGES);
/* [0]: records that could not be reserved (ring buffer full). */
BPF_PERCPU_ARRAY(lost, u64, 1);
/* Which threads: a handful of pids and tids compared in place (cheaper than a hash lookup on
 * every system call of every process), and command names in a hash. */
#define MAX_IDS 16
struct filter_t {
    u32 mode;
    u32 n_pids;
    u32 n_tids;
    u32 pad;
    u32 pids[MAX_IDS];
    u32 tids[MAX_IDS];
};
BPF_ARRAY(filter, struct filter_t, 1);
BPF_HASH(filter_comm, struct comm_key_t, u8, 256);
/* LRU: a thread killed inside a call never reaches sys_exit; dead threads' slots age out. */
BPF_TABLE("lru_hash", u32, struct inflight_t, inflight, 16384);
/* [0]: calls in progress in traced threads. While it is 0, the per-packet events return at
 * once instead of looking the current thread up (an array read is inlined; a hash lookup is a
 * call). A thread killed inside a call leaves it high, which only costs those lookups. */
BPF_ARRAY(active_calls, s64, 1);
/* Non-blocking connects of traced threads still in their handshake, by socket: the outcome
 * arrives in softirq or in another call (inet_sock_set_state leaving SYN_SENT) and is tied back
 * to the connect here. LRU: a socket freed in SYN_SENT without passing CLOSE ages out. */
struct pending_t {
    u64 ts_ns; /* the connect's start */
    u32 pid;
    u32 tid;
    char comm[16];
};
BPF_TABLE("lru_hash", u64, struct pending_t, pending_connects, 4096);

/* A zeroed value for a thread's first call (too big for the BPF stack). */
BPF_PERCPU_ARRAY(blank, struct inflight_t, 1);

static __always_inline u64 read_u64(u64 base, u64 off)
{
    u64 value = 0;
    if (base)
        bpf_probe_read_kernel(&value, sizeof(value), (const u8 *)base + off);
    return value;
}

static __always_inline void count_lost(void)
{
    u32 zero = 0;
    lost.increment(zero);
}

static __always_inline int call_op(long id)
{
    switch (id) {
    case __NR_socket: return OP_SOCKET;
    case __NR_socketpair: return OP_SOCKETPAIR;
    case __NR_bind: return OP_BIND;
    case __NR_listen: return OP_LISTEN;
    case __NR_accept: return OP_ACCEPT;
    case __NR_accept4: return OP_ACCEPT4;
    case __NR_connect: return OP_CONNECT;
    case __NR_shutdown: return OP_SHUTDOWN;
    case __NR_sendto: return OP_SENDTO;
    case __NR_recvfrom: return OP_RECVFROM;
    case __NR_sendmsg: return OP_SENDMSG;
    case __NR_recvmsg: return OP_RECVMSG;
    case __NR_sendmmsg: return OP_SENDMMSG;
    case __NR_recvmmsg: return OP_RECVMMSG;
    case __NR_setsockopt: return OP_SETSOCKOPT;
    case __NR_getsockopt: return OP_GETSOCKOPT;
    case __NR_getsockname: return OP_GETSOCKNAME;
    case __NR_getpeername: return OP_GETPEERNAME;
    case __NR_read: return OP_READ;
    case __NR_write: return OP_WRITE;
    case __NR_readv: return OP_READV;
    case __NR_writev: return OP_WRITEV;
    case __NR_close: return OP_CLOSE;
#ifdef __NR_poll
    case __NR_poll: return OP_POLL;
#endif
    case __NR_ppoll: return OP_PPOLL;
#ifdef __NR_select
    case __NR_select: return OP_SELECT;
#endif
    case __NR_pselect6: return OP_PSELECT6;
#ifdef __NR_epoll_wait
    case __NR_epoll_wait: return OP_EPOLL_WAIT;
#endif
    case __NR_epoll_pwait: return OP_EPOLL_PWAIT;
#ifdef __NR_epoll_pwait2
    case __NR_epoll_pwait2: return OP_EPOLL_PWAIT2;
#endif
    }
    return OP_NONE;
}

static __always_inline int takes_no_fd(int op)
{
    return op == OP_SOCKET || op == OP_SOCKETPAIR || op >= OP_POLL;
}

static __always_inline int listed(u32 *ids, u32 n, u32 id)
{
#pragma unroll
    for (int i = 0; i < MAX_IDS; i++) {
        if (i < n && ids[i] == id)
            return 1;
    }
    return 0;
}

static __always_inline int wanted(u64 pid_tgid)
{
    u32 pid = pid_tgid >> 32;
    if (pid == SELF_PID)
        return 0;
    u32 zero = 0;
    struct filter_t *f = filter.lookup(&zero);
    /* BCC attaches while loading, before user space has said which threads: trace none yet. */
    if (!f || !(f->mode & FILTER_READY))
        return 0;
    if (f->mode & FILTER_PID && !listed(f->pids, f->n_pids, pid))
        return 0;
    if (f->mode & FILTER_TID && !listed(f->tids, f->n_tids, (u32)pid_tgid))
        return 0;
    if (f->mode & FILTER_COMM) {
        struct comm_key_t key = {};
        bpf_get_current_comm(key.comm, sizeof(key.comm));
        if (!filter_comm.lookup(&key))
            return 0;
    }
    return 1;
}

/* The struct file behind descriptor `fd` of the current task, or 0. */
static __always_inline u64 fd_file(long fd)
{
    if (fd < 0)
        return 0;
    u64 task = bpf_get_current_task();
    u64 files = read_u64(task, TASK_FILES_OFF);
    u64 fdt = read_u64(files, FILES_FDT_OFF);
    /* max_fds and the fd array pointer in one read: every read costs, on every call. */
    u8 head[FDT_HEAD_LEN] = {};
    if (!fdt || bpf_probe_read_kernel(head, sizeof(head), (const u8 *)fdt) < 0)
        return 0;
    if ((u64)fd >= *(u32 *)(head + FDT_MAX_FDS_OFF))
        return 0;
    return read_u64(*(u64 *)(head + FDT_FD_OFF), (u64)fd * sizeof(u64));
}

/* The sock behind a struct file if it is a socket, else 0. */
static __always_inline u64 file_sock(u64 file)
{
    u64 inode = read_u64(file, FILE_F_INODE_OFF);
    u16 mode = 0;
    if (!inode)
        return 0;
    bpf_probe_read_kernel(&mode, sizeof(mode), (const u8 *)inode + INODE_I_MODE_OFF);
    if ((mode & S_IFMT_) != S_IFSOCK_)
        return 0;
    u64 socket = read_u64(file, FILE_PRIVATE_DATA_OFF);
    return read_u64(socket, SOCKET_SK_OFF);
}

/* Family, local port, protocol and peer of a sock into a view (its address stays when it
 * already holds the call's address argument). */
static __always_inline void sock_fields(u16 *family_out, u16 *port, u16 *lport, u16 *proto,
                                        u16 *flags, u8 *addr, u64 sk)
{
    if (!sk)
        return;
    const u8 *skc = (const u8 *)sk;
    /* sock_common's first bytes hold the IPv4 peer, both ports and the family: one read. */
    u8 head[SKC_HEAD_LEN] = {};
    u16 type_proto[2] = {}; /* sk_type, sk_protocol */
    bpf_probe_read_kernel(head, sizeof(head), skc);
#if SK_PROTOCOL_OFF == SK_TYPE_OFF + 2
    bpf_probe_read_kernel(type_proto, sizeof(type_proto), skc + SK_TYPE_OFF);
#else
    bpf_probe_read_kernel(&type_proto[0], sizeof(u16), skc + SK_TYPE_OFF);
    bpf_probe_read_kernel(&type_proto[1], sizeof(u16), skc + SK_PROTOCOL_OFF);
#endif
    u16 family = *(u16 *)(head + SKC_FAMILY_OFF);
    int inet = family == AF_INET_ || family == AF_INET6_;
    /* A raw socket's skc_num is its protocol, not a port: the kernel's per-namespace TCP
     * control socket, which sends the resets no socket answers for, would show "lport=6". */
    *lport = inet && type_proto[0] != SOCK_RAW_ ? *(u16 *)(head + SKC_NUM_OFF) : 0;
    *proto = type_proto[1];
    if (*flags & F_ADDR)
        return;
    *family_out = family;
    u16 dport_be = inet ? *(u16 *)(head + SKC_DPORT_OFF) : 0;
    if (!dport_be)
        return;
    *port = (u16)((dport_be >> 8) | (dport_be << 8));
    if (family == AF_INET_)
        __builtin_memcpy(addr, head + SKC_DADDR_OFF, 4);
    else
        bpf_probe_read_kernel(addr, 16, skc + SKC_V6_DADDR_OFF);
    *flags |= F_PEER;
}

static __always_inline void view_sock(struct sock_view_t *v, u64 sk)
{
    sock_fields(&v->family, &v->port, &v->lport, &v->proto, &v->flags, v->addr, sk);
}

/* A user-space sockaddr (inet or inet6) into a view's address. */
static __always_inline void user_addr(struct sock_view_t *v, u64 ptr)
{
    if (!ptr)
        return;
    u8 raw[24] = {};
    if (bpf_probe_read_user(raw, sizeof(raw), (const void *)ptr) < 0)
        return;
    u16 family = raw[0] | (raw[1] << 8);
    if (family == AF_INET_) {
        __builtin_memcpy(v->addr, raw + 4, 4);
    } else if (family == AF_INET6_) {
        __builtin_memcpy(v->addr, raw + 8, 16);
    } else if (family != AF_UNIX_) {
        return;
    }
    v->family = family;
    v->port = (raw[2] << 8) | raw[3];
    v->flags |= F_ADDR;
}

/* The user pointer, among a call's arguments, of its sockaddr: one the call reads (connect,
 * bind, sendto), read at entry, or one the kernel fills (accept, accept4, recvfrom), read at
 * exit. Zero where the call has none at that end. */
static __always_inline u64 sockaddr_arg(int op, u64 *args, int filled)
{
    switch (op) {
    case OP_CONNECT:
    case OP_BIND:
        return filled ? 0 : args[1];
    case OP_SENDTO:
        return filled ? 0 : args[4];
    case OP_ACCEPT:
    case OP_ACCEPT4:
        return filled ? args[1] : 0;
    case OP_RECVFROM:
        return filled ? args[4] : 0;
    }
    return 0;
}

RAW_TRACEPOINT_PROBE(sys_enter)
{
    long id = (long)ctx->args[1];
    int op = call_op(id);
    if (op == OP_NONE)
        return 0;
    u64 pid_tgid = bpf_get_current_pid_tgid();
    if (!wanted(pid_tgid))
        return 0;

    /* The six argument registers lie together in pt_regs: one read for all of them. */
    u64 span[REGS_SPAN_WORDS] = {};
    bpf_probe_read_kernel(span, sizeof(span), (const u8 *)ctx->args[0] + REGS_SPAN_OFF);
    u64 args[6] = {
        span[(REGS_ARG0_OFF - REGS_SPAN_OFF) / 8], span[(REGS_ARG1_OFF - REGS_SPAN_OFF) / 8],
        span[(REGS_ARG2_OFF - REGS_SPAN_OFF) / 8], span[(REGS_ARG3_OFF - REGS_SPAN_OFF) / 8],
        span[(REGS_ARG4_OFF - REGS_SPAN_OFF) / 8], span[(REGS_ARG5_OFF - REGS_SPAN_OFF) / 8],
    };
    u64 sk = 0;
    s32 fd = -1;
    if (!takes_no_fd(op)) {
        fd = (s32)args[0];
        sk = file_sock(fd_file(fd));
        if (!sk && op >= OP_READ)
            return 0; /* read/write/close of a file, pipe or tty: not the socket layer */
    }

    u32 tid = (u32)pid_tgid;
    struct inflight_t *call = inflight.lookup(&tid);
    if (!call) {
        u32 zero = 0;
        struct inflight_t *fresh = blank.lookup(&zero);
        if (!fresh)
            return 0;
        inflight.update(&tid, fresh);
        call = inflight.lookup(&tid);
        if (!call)
            return 0;
    }
    struct call_record_t *rec = &call->rec;
    rec->ts_ns = bpf_ktime_get_ns();
    rec->a0 = args[0];
    rec->a1 = (op == OP_SENDTO || op == OP_RECVFROM) ? args[3] : args[1]; /* flags, not a buffer */
    rec->a2 = args[2];
    rec->ret = 0;
    rec->dur_ns = 0;
    rec->pid = pid_tgid >> 32;
    rec->tid = tid;
    bpf_get_current_comm(rec->comm, sizeof(rec->comm));
    rec->kind = KIND_CALL;
    rec->op = op;
    rec->n_inline = 0;
    rec->n_overflow = 0;
    __builtin_memset(&rec->enter, 0, sizeof(rec->enter));
    rec->enter.fd = fd;
    user_addr(&rec->enter, sockaddr_arg(op, args, 0));
    view_sock(&rec->enter, sk);
    call->sk = sk;
    call->addr_ptr = sockaddr_arg(op, args, 1);
    call->deferred = op >= OP_POLL; /* a sock_poll inside (function depth) counts */
    call->depth = 0;
    if (!call->active) {
        u32 zero = 0;
        s64 *n = active_calls.lookup(&zero);
        if (n)
            __sync_fetch_and_add(n, 1);
    }
    call->active = 1;
    return 0;
}

/* The outcome of the connect `p` describes: its socket went to `newstate`. */
static __always_inline void send_outcome(const struct pending_t *p, u64 sk, int newstate)
{
    struct call_record_t *rec = events.ringbuf_reserve(sizeof(struct call_record_t));
    if (!rec) {
        count_lost();
        return;
    }
    __builtin_memset(rec, 0, sizeof(*rec));
    rec->ts_ns = p->ts_ns;
    rec->dur_ns = bpf_ktime_get_ns() - p->ts_ns;
    rec->pid = p->pid;
    rec->tid = p->tid;
    __builtin_memcpy(rec->comm, p->comm, sizeof(rec->comm));
    rec->kind = KIND_OUTCOME;
    rec->op = OP_CONNECT;
    rec->enter.fd = -1;
    rec->exit.fd = -1;
    rec->a0 = newstate;
    if (newstate != TCP_ESTABLISHED_) {
        int err = 0; /* set before tcp_done(): ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH... */
        bpf_probe_read_kernel(&err, sizeof(err), (const u8 *)sk + SK_ERR_OFF);
        rec->ret = -(s64)err;
    }
    events.ringbuf_submit(rec, 0); /* rare, and waited for: wake the reader */
}

RAW_TRACEPOINT_PROBE(sys_exit)
{
    u64 pid_tgid = bpf_get_current_pid_tgid();
    if (!wanted(pid_tgid))
        return 0;
    u32 tid = (u32)pid_tgid;
    struct inflight_t *call = inflight.lookup(&tid);
    if (!call || !call->active)
        return 0;
    call->active = 0;
    u32 zero = 0;
    s64 *n = active_calls.lookup(&zero);
    if (n)
        __sync_fetch_and_add(n, -1);
    long id = (long)read_u64(ctx->args[0], REGS_ORIG_AX_OFF);
    int op = call_op(id);
    struct call_record_t *src = &call->rec;
    if (op == OP_NONE || src->op != op)
        return 0;
    if (call->deferred && !src->n_inline && !src->n_overflow)
        return 0; /* a poll that touched no socket: not the socket layer */
    struct call_record_t *rec = events.ringbuf_reserve(sizeof(struct call_record_t));
    if (!rec) {
        count_lost();
        return 0;
    }
    __builtin_memcpy(rec, src, sizeof(*rec));
    rec->dur_ns = bpf_ktime_get_ns() - rec->ts_ns;
    rec->ret = (s64)ctx->args[1];
    __builtin_memcpy(&rec->exit, &rec->enter, sizeof(rec->exit));
    if (rec->ret >= 0 && call->addr_ptr) {
        rec->exit.flags &= ~F_ADDR;
        user_addr(&rec->exit, call->addr_ptr);
    }
    if ((op == OP_SOCKET || op == OP_ACCEPT || op == OP_ACCEPT4) && rec->ret >= 0) {
        rec->exit.fd = (s32)rec->ret; /* the new socket: its protocol and ports */
        view_sock(&rec->exit, file_sock(fd_file(rec->ret)));
    } else if (op == OP_CONNECT || op == OP_BIND) {
        view_sock(&rec->exit, call->sk); /* a local port was chosen */
    }
    if (op == OP_CONNECT && rec->ret == -EINPROGRESS_ && call->sk) {
        /* The handshake may be over already (a softirq on this CPU, within the call): the
         * state after the entry is in place says; whoever removes the entry reports it. */
        u64 sk = call->sk;
        struct pending_t p = {.ts_ns = rec->ts_ns, .pid = rec->pid, .tid = rec->tid};
        __builtin_memcpy(p.comm, rec->comm, sizeof(p.comm));
        pending_connects.update(&sk, &p);
        u8 state = 0;
        bpf_probe_read_kernel(&state, sizeof(state), (const u8 *)sk + SKC_STATE_OFF);
        if (state != TCP_SYN_SENT_ && pending_connects.delete(&sk) == 0)
            send_outcome(&p, sk, state == TCP_ESTABLISHED_ ? TCP_ESTABLISHED_ : TCP_CLOSE_);
    }
    events.ringbuf_submit(rec, BPF_RB_NO_WAKEUP);
    return 0;
}

/* The call the current thread is in, or 0. */
static __always_inline struct inflight_t *current_call(void)
{
    u32 zero = 0;
    s64 *n = active_calls.lookup(&zero);
    if (!n || *n <= 0)
        return 0;
    u32 tid = (u32)bpf_get_current_pid_tgid();
    struct inflight_t *call = inflight.lookup(&tid);
    if (!call || !call->active)
        return 0;
    return call;
}

/* The call's next free inline slot for an event, or 0 when they are all taken. */
static __always_inline struct nested_t *inline_slot(struct inflight_t *call)
{
    struct call_record_t *rec = &call->rec;
    u16 n = rec->n_inline;
    if (n >= MAX_INLINE)
        return 0;
    rec->n_inline = n + 1;
    return &rec->ev[n & (MAX_INLINE - 1)];
}

/* A record of its own for an event of a call whose inline slots are full. */
static __always_inline struct call_record_t *overflow_record(struct inflight_t *call)
{
    struct call_record_t *rec = &call->rec;
    struct call_record_t *out = events.ringbuf_reserve(sizeof(struct call_record_t));
    if (!out) {
        count_lost();
        return 0;
    }
    rec->n_overflow++;
    out->ts_ns = rec->ts_ns;
    out->pid = rec->pid;
    out->tid = rec->tid;
    __builtin_memcpy(out->comm, rec->comm, sizeof(out->comm));
    out->kind = KIND_EVENT;
    out->op = rec->op;
    out->n_inline = 1;
    out->n_overflow = 0;
    return out;
}

/* An event's fields: the socket as the call saw it when it is the call's own, else read. */
static __always_inline void fill_event(struct nested_t *e, struct inflight_t *call, int ev,
                                       u64 sk)
{
    struct sock_view_t *mine = &call->rec.enter;
    e->ts_ns = bpf_ktime_get_ns();
    e->op = ev;
    e->a0 = 0;
    e->a1 = 0;
    e->value = 0;
    e->dev[0] = 0;
    if (sk && sk == call->sk && mine->lport && !(mine->flags & F_ADDR)) {
        e->flags = mine->flags & F_PEER;
        e->family = mine->family;
        e->port = mine->port;
        e->lport = mine->lport;
        e->proto = mine->proto;
        __builtin_memcpy(e->addr, mine->addr, sizeof(e->addr));
        return;
    }
    e->flags = (sk && sk != call->sk) ? F_OTHER_SOCK : 0;
    e->family = 0;
    e->port = 0;
    e->lport = 0;
    e->proto = 0;
    __builtin_memset(e->addr, 0, sizeof(e->addr));
    sock_fields(&e->family, &e->port, &e->lport, &e->proto, &e->flags, e->addr, sk);
}

static __always_inline void set_event(struct nested_t *e, struct inflight_t *call, int ev, u64 sk,
                                      s64 value, u64 a0, u64 a1)
{
    fill_event(e, call, ev, sk);
    e->value = value;
    e->a0 = a0;
    e->a1 = a1;
}

/* The event goes into the call's next free slot, or (slots full) a record of its own. The
 * reserved record is submitted on the path that reserved it: 6.1's verifier cannot follow a
 * ring buffer reference through a stack slot and a null test (it then sees it unreleased). */
static __always_inline int nested(int ev, u64 sk, s64 value, u64 a0, u64 a1)
{
    struct inflight_t *call = current_call();
    if (!call)
        return 0;
    struct nested_t *slot = inline_slot(call);
    if (slot) {
        set_event(slot, call, ev, sk, value, a0, a1);
        return 0;
    }
    struct call_record_t *out = overflow_record(call);
    if (!out)
        return 0;
    set_event(&out->ev[0], call, ev, sk, value, a0, a1);
    events.ringbuf_submit(out, BPF_RB_NO_WAKEUP);
    return 0;
}

static __always_inline u64 skb_sock(u64 skb)
{
    return read_u64(skb, SKB_SK_OFF);
}

RAW_TRACEPOINT_PROBE(sock_send_length)
{
    /* (struct sock *sk, int ret, int flags) */
    return nested(EV_SEND_LENGTH, ctx->args[0], (s32)ctx->args[1], (u32)ctx->args[2], 0);
}

RAW_TRACEPOINT_PROBE(sock_recv_length)
{
    return nested(EV_RECV_LENGTH, ctx->args[0], (s32)ctx->args[1], (u32)ctx->args[2], 0);
}

RAW_TRACEPOINT_PROBE(skb_copy_datagram_iovec)
{
    /* (const struct sk_buff *skb, int len) */
    if (!current_call())
        return 0;
    return nested(EV_COPY_DATAGRAM, skb_sock(ctx->args[0]), (s32)ctx->args[1], 0, 0);
}

/* A traced thread's non-blocking connect leaving SYN_SENT: its outcome, as a record of its own
 * (any context: the handshake ends in softirq). One hash lookup per SYN_SENT socket's change.
 * Whoever deletes the pending entry sends the outcome, so it is sent once. */
static __always_inline void connect_outcome(u64 sk, int oldstate, int newstate)
{
    if (oldstate != TCP_SYN_SENT_ || (newstate != TCP_ESTABLISHED_ && newstate != TCP_CLOSE_))
        return;
    struct pending_t *found = pending_connects.lookup(&sk);
    if (!found)
        return;
    struct pending_t p = *found;
    if (pending_connects.delete(&sk) == 0)
        send_outcome(&p, sk, newstate);
}

RAW_TRACEPOINT_PROBE(inet_sock_set_state)
{
    /* (const struct sock *sk, const int oldstate, const int newstate) */
    connect_outcome(ctx->args[0], (int)ctx->args[1], (int)ctx->args[2]);
    return nested(EV_SET_STATE, ctx->args[0], 0, (u32)ctx->args[1], (u32)ctx->args[2]);
}

static __always_inline void set_dev_queue(struct nested_t *e, struct inflight_t *call, u64 skb)
{
    fill_event(e, call, EV_DEV_QUEUE, skb_sock(skb));
    u32 len = 0;
    bpf_probe_read_kernel(&len, sizeof(len), (const u8 *)skb + SKB_LEN_OFF);
    e->value = len;
    u64 dev = read_u64(skb, SKB_DEV_OFF);
    if (dev)
        bpf_probe_read_kernel_str(e->dev, sizeof(e->dev), (const u8 *)dev + NETDEV_NAME_OFF);
}

RAW_TRACEPOINT_PROBE(net_dev_queue)
{
    /* (struct sk_buff *skb) */
    struct inflight_t *call = current_call();
    if (!call)
        return 0;
    u64 skb = ctx->args[0];
    struct nested_t *slot = inline_slot(call);
    if (slot) {
        set_dev_queue(slot, call, skb);
        return 0;
    }
    struct call_record_t *out = overflow_record(call);
    if (!out)
        return 0;
    set_dev_queue(&out->ev[0], call, skb);
    events.ringbuf_submit(out, BPF_RB_NO_WAKEUP);
    return 0;
}

RAW_TRACEPOINT_PROBE(kfree_skb)
{
    /* (struct sk_buff *skb, void *location, enum skb_drop_reason reason, struct sock *rx_sk) */
    if (!current_call())
        return 0;
    u64 skb = ctx->args[0];
    u64 sk = skb_sock(skb);
#ifdef HAS_RX_SK
    /* Only on kernels whose kfree_skb has rx_sk (6.12+): attaching a program that reads past a
     * raw tracepoint's last argument fails (EINVAL on 6.1). */
    if (!sk)
        sk = ctx->args[3];
#endif
    return nested(EV_KFREE_SKB, sk, 0, ctx->args[1], (u32)ctx->args[2]);
}

RAW_TRACEPOINT_PROBE(tcp_retransmit_skb)
{
    /* (const struct sock *sk, const struct sk_buff *skb[, int err]) */
#ifdef HAS_RETRANSMIT_ERR
    return nested(EV_TCP_RETRANSMIT, ctx->args[0], (s32)ctx->args[2], 0, 0);
#else
    return nested(EV_TCP_RETRANSMIT, ctx->args[0], 0, 0, 0);
#endif
}

RAW_TRACEPOINT_PROBE(tcp_send_reset)
{
    /* (const struct sock *sk, const struct sk_buff *skb[, enum sk_rst_reason reason]) */
#ifdef HAS_RESET_REASON
    return nested(EV_TCP_SEND_RESET, ctx->args[0], 0, (u32)ctx->args[2], 0);
#else
    return nested(EV_TCP_SEND_RESET, ctx->args[0], 0, 0, 0);
#endif
}

RAW_TRACEPOINT_PROBE(tcp_receive_reset)
{
    return nested(EV_TCP_RECV_RESET, ctx->args[0], 0, 0, 0);
}

RAW_TRACEPOINT_PROBE(tcp_destroy_sock)
{
    return nested(EV_TCP_DESTROY, ctx->args[0], 0, 0, 0);
}

RAW_TRACEPOINT_PROBE(tcp_rcv_space_adjust)
{
    return nested(EV_TCP_RCV_SPACE, ctx->args[0], 0, 0, 0);
}

/* ---- function depth: net/socket.c functions on call and return -------------------------- */

static __always_inline void set_func(struct nested_t *e, int ev, u64 ip, s64 ret, u64 dur,
                                     u64 now)
{
    e->ts_ns = now;
    e->op = ev;
    e->a0 = ip;
    e->a1 = dur;
    e->value = ret;
    e->flags = 0;
    e->family = 0;
    e->port = 0;
    e->lport = 0;
    e->proto = 0;
    __builtin_memset(e->addr, 0, sizeof(e->addr));
    e->dev[0] = 0;
}

static __always_inline void func_event(struct inflight_t *call, int ev, u64 ip, s64 ret, u64 dur,
                                       u64 now)
{
    struct nested_t *slot = inline_slot(call);
    if (slot) {
        set_func(slot, ev, ip, ret, dur, now);
        return;
    }
    struct call_record_t *out = overflow_record(call);
    if (!out)
        return;
    set_func(&out->ev[0], ev, ip, ret, dur, now);
    events.ringbuf_submit(out, BPF_RB_NO_WAKEUP);
}

static __always_inline int func_entered(u64 ip)
{
    struct inflight_t *call = current_call();
    if (!call)
        return 0;
    u32 d = call->depth;
    call->depth = d + 1;
    if (d >= MAX_FRAMES)
        return 0;
    u64 now = bpf_ktime_get_ns();
    call->frame_ip[d & (MAX_FRAMES - 1)] = ip;
    call->frame_ts[d & (MAX_FRAMES - 1)] = now;
    func_event(call, EV_FUNC_ENTER, ip, 0, 0, now);
    return 0;
}

/* A function returned. `ip` 0: the innermost open one (a kretprobe does not say which). */
static __always_inline int func_returned(u64 ip, s64 ret)
{
    struct inflight_t *call = current_call();
    if (!call)
        return 0;
    u32 d = call->depth;
    if (d == 0)
        return 0; /* it began before the call was traced */
    d -= 1;
    if (d >= MAX_FRAMES) {
        call->depth = d;
        return 0;
    }
    u64 top = call->frame_ip[d & (MAX_FRAMES - 1)];
    if (ip && ip != top)
        return 0; /* a return whose entry came before tracing did */
    call->depth = d;
    u64 now = bpf_ktime_get_ns();
    func_event(call, EV_FUNC_EXIT, top, ret, now - call->frame_ts[d & (MAX_FRAMES - 1)], now);
    return 0;
}

/* Loaded by user space once per function, as fentry and fexit programs. */
int fn_enter(u64 *ctx)
{
    return func_entered(bpf_get_func_ip(ctx));
}

int fn_exit(u64 *ctx)
{
    u64 ret = 0;
    bpf_get_func_ret(ctx, &ret);
    return func_returned(bpf_get_func_ip(ctx), (s64)ret);
}

/* Or attached by user space as kprobes and kretprobes. The kprobe's address is inside the
 * function (user space names the function that holds it). */
int kp_enter(struct pt_regs *ctx)
{
    return func_entered(PT_REGS_IP(ctx));
}

int kp_exit(struct pt_regs *ctx)
{
    return func_returned(0, (s64)PT_REGS_RC(ctx));
}
