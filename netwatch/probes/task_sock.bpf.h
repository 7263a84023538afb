/*
 * The sock behind one of the current task's descriptors, as the probes that learn who accepted
 * a connection read it (accepts.bpf.c, conns.bpf.c): task->files->fdt->fd[n]->private_data->sk.
 *
 * The including program gets TASK_FILES_OFF, FILES_FDT_OFF, FDT_FD_OFF, FILE_PRIVATE_DATA_OFF
 * and SOCKET_SK_OFF from the loader (probes/offsets.py). Six kernel reads, no map access.
 */
#ifndef NETWATCH_TASK_SOCK_BPF_H
#define NETWATCH_TASK_SOCK_BPF_H

static __always_inline u64 read_ptr(u64 base, u64 off)
{
    u64 value = 0;
    if (base)
        bpf_probe_read_kernel(&value, sizeof(value), (const u8 *)base + off);
    return value;
}

/* The sock behind descriptor `fd` of the current task, or 0. */
static __always_inline u64 fd_sock(long fd)
{
    u64 task = bpf_get_current_task();
    u64 files = read_ptr(task, TASK_FILES_OFF);
    u64 fdt = read_ptr(files, FILES_FDT_OFF);
    u64 fd_array = read_ptr(fdt, FDT_FD_OFF);
    u64 file = read_ptr(fd_array, (u64)fd * sizeof(u64));
    u64 socket = read_ptr(file, FILE_PRIVATE_DATA_OFF);
    return read_ptr(socket, SOCKET_SK_OFF);
}

#endif
