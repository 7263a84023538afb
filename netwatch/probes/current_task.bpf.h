/*
 * The current task as the owner of what a probe sees (traffic.bpf.c, conns.bpf.c): its
 * process and thread ids, uid, comm, and its cgroup in the default hierarchy.
 *
 * Include after btf_ctx.bpf.h (NW_LOAD). The loader passes TASK_TGID_OFF, TASK_PID_OFF,
 * TASK_CRED_OFF, CRED_UID_OFF, TASK_COMM_OFF, TASK_CGROUPS_OFF, CSS_SET_DFL_CGRP_OFF,
 * CGROUP_KN_OFF and KERNFS_NODE_ID_OFF (probes/offsets.py) as the program names them here.
 *
 * In the BTF build: one helper call (the typed task), then plain loads, where the raw build
 * makes a helper call per value for the same values: current->tgid and ->pid, current_cred()->uid
 * (what bpf_get_current_uid_gid() reports), current->comm, and cgroups->dfl_cgrp->kn->id (what
 * bpf_get_current_cgroup_id() reports). On our VMs every helper call and return pays for the
 * kernel's speculation mitigations.
 */
#ifndef NETWATCH_CURRENT_TASK_BPF_H
#define NETWATCH_CURRENT_TASK_BPF_H

#ifdef NW_BTF_CTX
#define NW_CURRENT_TASK() ((const u8 *)bpf_get_current_task_btf())
#else
#define NW_CURRENT_TASK() ((const u8 *)bpf_get_current_task())
#endif

/* `task` (NW_CURRENT_TASK()) as an owner: its process id, thread id, uid and comm[16]. */
static __always_inline void current_owner(const u8 *task, u32 *tgid, u32 *tid, u32 *uid,
                                          char *comm)
{
#ifdef NW_BTF_CTX
    *tgid = NW_LOAD(u32, task, TASK_TGID_OFF);
    *tid = NW_LOAD(u32, task, TASK_PID_OFF);
    const u8 *cred = (const u8 *)NW_LOAD(u64, task, TASK_CRED_OFF);
    *uid = NW_LOAD(u32, cred, CRED_UID_OFF);
    u64 *words = (u64 *)comm;
    words[0] = NW_LOAD(u64, task, TASK_COMM_OFF);
    words[1] = NW_LOAD(u64, task, TASK_COMM_OFF + 8);
#else
    u64 pid_tgid = bpf_get_current_pid_tgid();
    *tgid = pid_tgid >> 32;
    *tid = (u32)pid_tgid;
    *uid = (u32)bpf_get_current_uid_gid();
    bpf_get_current_comm(comm, 16);
#endif
}

/* `task`'s cgroup in the default hierarchy as its kernfs node (kn->id is the cgroup's id,
 * kn->name its name), or 0. */
static __always_inline const u8 *task_cgroup_kn(const u8 *task)
{
    const u8 *cset = (const u8 *)NW_LOAD(u64, task, TASK_CGROUPS_OFF);
    const u8 *cgrp = cset ? (const u8 *)NW_LOAD(u64, cset, CSS_SET_DFL_CGRP_OFF) : 0;
    return cgrp ? (const u8 *)NW_LOAD(u64, cgrp, CGROUP_KN_OFF) : 0;
}

/* The current task's cgroup id (`task`: NW_CURRENT_TASK()). */
static __always_inline u64 current_cgroup_id(const u8 *task)
{
#ifdef NW_BTF_CTX
    const u8 *kn = task_cgroup_kn(task);
    return kn ? NW_LOAD(u64, kn, KERNFS_NODE_ID_OFF) : 0;
#else
    return bpf_get_current_cgroup_id();
#endif
}

#endif
