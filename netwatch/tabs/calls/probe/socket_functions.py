"""The functions of the kernel's net/socket.c, which socket-trace.stp probed on call and return
(`kernel.function("*@net/socket.c")`), and which of them this kernel lets netwatch attach to.

The kernel keeps no record of which file a function came from (BTF and kallsyms hold names
only), so the file's functions are listed here, from 5.15 to 6.18; each kernel has a subset,
and those it inlined or renamed are simply not there. The system-call entry points
(`__x64_sys_*`) are left out: the system call itself is the level above these.
"""

from __future__ import annotations

from collections.abc import Iterable

# The ones the Calls tab must show wherever function depth is available at all (issue #11):
# a start-up that cannot attach these reports function depth as unavailable.
CORE = (
    "sock_sendmsg",
    "sock_recvmsg",
    "sock_write_iter",
    "sock_read_iter",
    "__sys_connect",
    "__sys_accept4",
    "sock_alloc",
    "__sock_release",
)

SOCKET_C = (
    *CORE,
    # addresses between user and kernel
    "move_addr_to_kernel", "move_addr_to_user",
    # sockfs: the socket's inode and file
    "sock_alloc_inode", "sock_free_inode", "sockfs_dname", "sockfs_xattr_get",
    "sockfs_security_xattr_set", "sockfs_listxattr", "sockfs_setattr",
    "sock_alloc_file", "sock_map_fd", "sock_from_file", "sockfd_lookup",
    "sockfd_lookup_light", "sock_release", "sock_close", "sock_fasync",
    "sock_show_fdinfo", "sock_mmap", "sock_poll", "sock_wake_async",
    # sending and receiving
    "__sock_tx_timestamp", "sock_sendmsg_nosec", "__sock_sendmsg", "kernel_sendmsg",
    "kernel_sendmsg_locked", "sock_sendpage", "kernel_sendpage", "kernel_sendpage_locked",
    "__sock_recv_timestamp", "__sock_recv_wifi_status", "__sock_recv_ts_and_drops",
    "__sock_recv_cmsgs", "sock_recvmsg_nosec", "kernel_recvmsg", "sock_splice_read",
    "sock_splice_eof",
    # ioctl
    "sock_ioctl", "sock_do_ioctl", "compat_sock_ioctl", "get_user_ifreq", "put_user_ifreq",
    "brioctl_set", "vlan_ioctl_set",
    # creating sockets
    "sock_create_lite", "__sock_create", "sock_create", "sock_create_kern",
    "__sys_socket_create", "__sys_socket_file", "__sys_socket", "update_socket_protocol",
    "__sys_socketpair",
    # the system calls' bodies
    "__sys_bind", "__sys_bind_socket", "__sys_listen", "__sys_listen_socket", "do_accept",
    "__sys_accept4_file", "__sys_connect_file", "__sys_getsockname", "__sys_getpeername",
    "__sys_sendto", "__sys_recvfrom", "sock_use_custom_sol_socket", "do_sock_setsockopt",
    "__sys_setsockopt", "do_sock_getsockopt", "__sys_getsockopt", "__sys_shutdown_sock",
    "__sys_shutdown", "__copy_msghdr", "__copy_msghdr_from_user", "copy_msghdr_from_user",
    "____sys_sendmsg", "sendmsg_copy_msghdr", "___sys_sendmsg", "__sys_sendmsg_sock",
    "__sys_sendmsg", "__sys_sendmmsg", "recvmsg_copy_msghdr", "____sys_recvmsg",
    "___sys_recvmsg", "__sys_recvmsg_sock", "__sys_recvmsg", "do_recvmmsg", "__sys_recvmmsg",
    # in-kernel users' API
    "kernel_bind", "kernel_listen", "kernel_accept", "kernel_connect", "kernel_getsockname",
    "kernel_getpeername", "kernel_sock_shutdown", "kernel_sock_ip_overhead",
    # protocol families
    "sock_register", "sock_unregister", "sock_is_registered",
)  # fmt: skip


def attachable(available: Iterable[str]) -> tuple[str, ...]:
    """The file's functions among `available` (what the kernel can attach to), in the list's
    order, each once."""
    have = set(available)
    return tuple(dict.fromkeys(f for f in SOCKET_C if f in have))
