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
 *       event says whether it concerns the call's own socket.
 *
 * Which threads: `filter` says which of the pid / tid / comm sets apply (all that apply must
 * match); user space fills the sets, so no user text ever becomes BPF C. netwatch itself
 * (SELF_PID) is never traced.
 *
 * Kernel features: raw tracepoints (4.17+), BPF ring buffer (5.8+), BTF offsets (passed by the
 * loader) for pt_regs, task->files->fdt->fd[], file->f_inode->i_mode, socket->sk, sk_buff and
 * sock_common. Syscall numbers are the build architecture's __NR_* (x86_64 here).
 *
 * Expected overhead: every system call of every process passes sys_enter/sys_exit: a switch on
 * the number, and for socket calls a filter lookup. Every packet passes net_dev_queue and every
 * freed skb kfree_skb: one hash lookup by thread. A traced call costs 2 ring buffer records
 * plus one per nested event (~128 bytes each), submitted without a wakeup and drained by user
 * space every few milliseconds. A record that cannot be reserved is counted in `lost`.
 */
#include <uapi/linux/ptrace.h>
#include <asm/unistd.h>

#define KIND_ENTER 1
#define KIND_EXIT 2
#define KIND_EVENT 3

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
};

/* flags */
#define F_OTHER_SOCK 1   /* the event concerns another socket than the call's fd */
#define F_ADDR 2         /* family/port/addr hold the call's address argument */
#define F_PEER 4         /* family/port/addr hold the socket's connected peer */

#define FILTER_PID 1
#define FILTER_TID 2
#define FILTER_COMM 4

#define S_IFMT_ 00170000
#define S_IFSOCK_ 0140000
#define AF_INET_ 2
#define AF_INET6_ 10
#define AF_UNIX_ 1

struct call_event_t {
    u64 ts_ns;
    u64 a0;        /* enter: first three syscall arguments; event: values by type */
    u64 a1;
    u64 a2;
    s64 ret;       /* exit: return value; event: its main number (bytes, error, ...) */
    u64 dur_ns;    /* exit: time since enter */
    u32 pid;
    u32 tid;
    s32 fd;        /* the call's socket descriptor, -1 if none */
    u16 kind;
    u16 op;        /* enum call_op, or enum event_op for KIND_EVENT */
    u16 family;    /* of addr, or of the fd's socket */
    u16 port;      /* of addr (host order) */
    u16 lport;     /* local port of the socket concerned */
    u16 proto;     /* IPPROTO_* of the socket concerned */
    u16 flags;
    u16 pad;
    u8 addr[16];
    char comm[16];
    char dev[16];
};

/* One thread's call in progress. `rec` is its enter record, kept for calls whose enter is only
 * sent once something happens inside them (the poll family), and for the exit's fields. */
struct inflight_t {
    u64 sk;
    u64 addr_ptr;  /* user sockaddr filled by the kernel, read at exit (accept, recvfrom) */
    u32 active;    /* the thread is inside this call (the slot is reused, not deleted) */
    u32 sent;      /* the enter record reached the ring buffer */
    u32 deferred;  /* sent only when a nested event fires */
    u32 pad;
    struct call_event_t rec;
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
/* LRU: a thread killed inside a call never reaches sys_exit. */
BPF_TABLE("lru_hash", u32, struct inflight_t, inflight, 16384);
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
    u64 *l = lost.lookup(&zero);
    if (l)
        (*l)++;
}

static __always_inline int submit(struct call_event_t *rec)
{
    /* No wakeup per record: user space drains on its own clock, which costs far less. */
    if (events.ringbuf_output(rec, sizeof(*rec), BPF_RB_NO_WAKEUP) < 0) {
        count_lost();
        return 0;
    }
    return 1;
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
    if (!f || !f->mode)
        return 1;
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

/* Local port, protocol and family of a sock into a record. */
static __always_inline void sock_fields(struct call_event_t *rec, u64 sk)
{
    if (!sk)
        return;
    const u8 *skc = (const u8 *)sk;
    /* sock_common's first bytes hold the IPv4 peer, both ports and the family: one read. */
    u8 head[SKC_HEAD_LEN] = {};
    u16 protocol = 0;
    bpf_probe_read_kernel(head, sizeof(head), skc);
    bpf_probe_read_kernel(&protocol, sizeof(protocol), skc + SK_PROTOCOL_OFF);
    u16 family = *(u16 *)(head + SKC_FAMILY_OFF);
    int inet = family == AF_INET_ || family == AF_INET6_;
    rec->lport = inet ? *(u16 *)(head + SKC_NUM_OFF) : 0;
    rec->proto = protocol;
    if (rec->flags & F_ADDR)
        return;
    rec->family = family;
    u16 dport_be = inet ? *(u16 *)(head + SKC_DPORT_OFF) : 0;
    if (!dport_be)
        return;
    rec->port = (u16)((dport_be >> 8) | (dport_be << 8));
    if (family == AF_INET_)
        __builtin_memcpy(rec->addr, head + SKC_DADDR_OFF, 4);
    else
        bpf_probe_read_kernel(rec->addr, 16, skc + SKC_V6_DADDR_OFF);
    rec->flags |= F_PEER;
}

/* A user-space sockaddr (inet or inet6) into a record's address fields. */
static __always_inline void user_addr(struct call_event_t *rec, u64 ptr)
{
    if (!ptr)
        return;
    u8 raw[24] = {};
    if (bpf_probe_read_user(raw, sizeof(raw), (const void *)ptr) < 0)
        return;
    u16 family = raw[0] | (raw[1] << 8);
    if (family == AF_INET_) {
        __builtin_memcpy(rec->addr, raw + 4, 4);
    } else if (family == AF_INET6_) {
        __builtin_memcpy(rec->addr, raw + 8, 16);
    } else if (family != AF_UNIX_) {
        return;
    }
    rec->family = family;
    rec->port = (raw[2] << 8) | raw[3];
    rec->flags |= F_ADDR;
}

/* The user pointer, among a call's arguments, of a sockaddr it reads at entry. */
static __always_inline u64 addr_in(int op, u64 *args)
{
    if (op == OP_CONNECT || op == OP_BIND)
        return args[1];
    if (op == OP_SENDTO)
        return args[4];
    return 0;
}

/* The user pointer of a sockaddr the kernel fills, to read at exit. */
static __always_inline u64 addr_out(int op, u64 *args)
{
    if (op == OP_ACCEPT || op == OP_ACCEPT4)
        return args[1];
    if (op == OP_RECVFROM)
        return args[4];
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

    /* One slot per thread, written in place call after call: no map update or delete on the
     * hot path. */
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
    struct call_event_t *rec = &call->rec;
    __builtin_memset(rec, 0, sizeof(*rec));
    rec->ts_ns = bpf_ktime_get_ns();
    rec->a0 = args[0];
    rec->a1 = args[1];
    rec->a2 = args[2];
    rec->pid = pid_tgid >> 32;
    rec->tid = (u32)pid_tgid;
    rec->fd = fd;
    rec->kind = KIND_ENTER;
    rec->op = op;
    bpf_get_current_comm(rec->comm, sizeof(rec->comm));
    user_addr(rec, addr_in(op, args));
    sock_fields(rec, sk);
    if (op == OP_SENDTO || op == OP_RECVFROM)
        rec->a1 = args[3]; /* flags; the buffer pointer tells the user nothing */

    call->sk = sk;
    call->addr_ptr = addr_out(op, args);
    call->deferred = op >= OP_POLL;
    call->sent = call->deferred ? 0 : submit(rec);
    call->active = 1;
    return 0;
}

RAW_TRACEPOINT_PROBE(sys_exit)
{
    u64 regs = ctx->args[0];
    long id = (long)read_u64(regs, REGS_ORIG_AX_OFF);
    int op = call_op(id);
    if (op == OP_NONE)
        return 0;
    u32 tid = (u32)bpf_get_current_pid_tgid();
    struct inflight_t *call = inflight.lookup(&tid);
    if (!call || !call->active)
        return 0;
    call->active = 0;
    if (call->rec.op != op || !call->sent)
        return 0;
    struct call_event_t *rec = events.ringbuf_reserve(sizeof(struct call_event_t));
    if (!rec) {
        count_lost();
        return 0;
    }
    __builtin_memcpy(rec, &call->rec, sizeof(*rec));
    u64 sk = call->sk;
    u64 addr_ptr = call->addr_ptr;

    u64 now = bpf_ktime_get_ns();
    rec->kind = KIND_EXIT;
    rec->dur_ns = now - rec->ts_ns;
    rec->ts_ns = now;
    rec->ret = (s64)ctx->args[1];
    if (rec->ret >= 0 && addr_ptr) {
        rec->flags &= ~F_ADDR;
        user_addr(rec, addr_ptr);
    }
    if ((op == OP_SOCKET || op == OP_ACCEPT || op == OP_ACCEPT4) && rec->ret >= 0) {
        rec->fd = (s32)rec->ret; /* the new socket: show its protocol and port */
        sock_fields(rec, file_sock(fd_file(rec->ret)));
    } else if (op == OP_CONNECT || op == OP_BIND) {
        sock_fields(rec, sk); /* a local port was chosen; other calls keep the enter's view */
    }
    events.ringbuf_submit(rec, BPF_RB_NO_WAKEUP);
    return 0;
}

/* The call the current thread is in, with its enter record sent (now, if it was deferred);
 * 0 when the thread is not inside a traced call. */
static __always_inline struct inflight_t *current_call(void)
{
    u32 tid = (u32)bpf_get_current_pid_tgid();
    struct inflight_t *call = inflight.lookup(&tid);
    if (!call || !call->active)
        return 0;
    if (!call->sent && call->deferred) {
        call->sent = submit(&call->rec);
        call->deferred = 0;
    }
    return call->sent ? call : 0;
}

/* A ring buffer record for event `ev` inside `call`, filled but for its values; 0 if full. */
static __always_inline struct call_event_t *event_record(struct inflight_t *call, int ev, u64 sk)
{
    struct call_event_t *rec = events.ringbuf_reserve(sizeof(struct call_event_t));
    if (!rec) {
        count_lost();
        return 0;
    }
    __builtin_memset(rec, 0, sizeof(*rec));
    rec->ts_ns = bpf_ktime_get_ns();
    rec->pid = call->rec.pid;
    rec->tid = call->rec.tid;
    rec->fd = call->rec.fd;
    rec->kind = KIND_EVENT;
    rec->op = ev;
    __builtin_memcpy(rec->comm, call->rec.comm, sizeof(rec->comm));
    if (sk && sk == call->sk && call->rec.lport && !(call->rec.flags & F_ADDR)) {
        /* The call's own socket, as its enter saw it: no reads needed. */
        rec->lport = call->rec.lport;
        rec->proto = call->rec.proto;
        rec->family = call->rec.family;
        rec->port = call->rec.port;
        rec->flags = call->rec.flags & F_PEER;
        __builtin_memcpy(rec->addr, call->rec.addr, sizeof(rec->addr));
        return rec;
    }
    if (sk && sk != call->sk)
        rec->flags |= F_OTHER_SOCK;
    sock_fields(rec, sk);
    return rec;
}

static __always_inline int nested(int ev, u64 sk, s64 value, u64 a0, u64 a1)
{
    struct inflight_t *call = current_call();
    if (!call)
        return 0;
    struct call_event_t *rec = event_record(call, ev, sk);
    if (!rec)
        return 0;
    rec->ret = value;
    rec->a0 = a0;
    rec->a1 = a1;
    events.ringbuf_submit(rec, BPF_RB_NO_WAKEUP);
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
    return nested(EV_COPY_DATAGRAM, skb_sock(ctx->args[0]), (s32)ctx->args[1], 0, 0);
}

RAW_TRACEPOINT_PROBE(inet_sock_set_state)
{
    /* (const struct sock *sk, const int oldstate, const int newstate) */
    return nested(EV_SET_STATE, ctx->args[0], 0, (u32)ctx->args[1], (u32)ctx->args[2]);
}

RAW_TRACEPOINT_PROBE(net_dev_queue)
{
    /* (struct sk_buff *skb) */
    struct inflight_t *call = current_call();
    if (!call)
        return 0;
    u64 skb = ctx->args[0];
    struct call_event_t *rec = event_record(call, EV_DEV_QUEUE, skb_sock(skb));
    if (!rec)
        return 0;
    u32 len = 0;
    bpf_probe_read_kernel(&len, sizeof(len), (const u8 *)skb + SKB_LEN_OFF);
    rec->ret = len;
    u64 dev = read_u64(skb, SKB_DEV_OFF);
    if (dev)
        bpf_probe_read_kernel_str(rec->dev, sizeof(rec->dev), (const u8 *)dev + NETDEV_NAME_OFF);
    events.ringbuf_submit(rec, BPF_RB_NO_WAKEUP);
    return 0;
}

RAW_TRACEPOINT_PROBE(kfree_skb)
{
    /* (struct sk_buff *skb, void *location, enum skb_drop_reason reason, struct sock *rx_sk) */
    u64 skb = ctx->args[0];
    u64 sk = skb_sock(skb);
    if (!sk)
        sk = ctx->args[3];
    return nested(EV_KFREE_SKB, sk, 0, ctx->args[1], (u32)ctx->args[2]);
}

RAW_TRACEPOINT_PROBE(tcp_retransmit_skb)
{
    /* (const struct sock *sk, const struct sk_buff *skb, int err) */
    return nested(EV_TCP_RETRANSMIT, ctx->args[0], (s32)ctx->args[2], 0, 0);
}

RAW_TRACEPOINT_PROBE(tcp_send_reset)
{
    /* (const struct sock *sk, const struct sk_buff *skb, enum sk_rst_reason reason) */
    return nested(EV_TCP_SEND_RESET, ctx->args[0], 0, (u32)ctx->args[2], 0);
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
