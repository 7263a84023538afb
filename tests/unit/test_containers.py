"""cgroup v2 paths, as each runtime lays them out, to the short name shown (#14)."""

from __future__ import annotations

import pytest

from netwatch.model.containers import container_name

ID = "4f1c" + "0123456789abcdef" * 3 + "a1b2c3d4e5f6"
ID2 = "9e8d" + "fedcba9876543210" * 3 + "0a1b2c3d4e5f"
SHORT = ID[:12]


@pytest.mark.parametrize(
    ("path", "name"),
    [
        # docker: systemd driver, cgroupfs driver
        (f"/system.slice/docker-{ID}.scope", SHORT),
        (f"/docker/{ID}", SHORT),
        # podman rootful, with and without the inner `container` cgroup; rootless
        (f"/machine.slice/libpod-{ID}.scope", SHORT),
        (f"/machine.slice/libpod-{ID}.scope/container", SHORT),
        (f"/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope", SHORT),
        # podman's monitor beside the container is not the container
        (f"/machine.slice/libpod-conmon-{ID}.scope", ""),
        # containerd under kubepods (systemd and cgroupfs drivers), CRI-O
        (
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234_5678.slice/"
            f"cri-containerd-{ID}.scope",
            SHORT,
        ),
        (f"/kubepods/burstable/pod12345678-aaaa-bbbb-cccc-1234567890ab/{ID}", SHORT),
        (f"/kubepods.slice/kubepods-pod99.slice/crio-{ID}.scope", SHORT),
        (f"/kubepods.slice/kubepods-pod99.slice/crio-conmon-{ID}.scope", ""),
        (f"/system.slice/nerdctl-{ID}.scope", SHORT),
        # nested: a container inside another's cgroup is named as the innermost
        (f"/system.slice/docker-{ID2}.scope/kubepods/besteffort/pod1/{ID}", SHORT),
        # systemd units that are not containers: the unit's name
        ("/system.slice/nginx.service", "nginx.service"),
        ("/user.slice/user-0.slice/session-3.scope", "session-3.scope"),
        ("/system.slice/docker.service", "docker.service"),
        # nothing to name
        ("/", ""),
        ("", ""),
        ("/init.scope", ""),
        ("/user.slice/user-1000.slice", ""),
        ("/process_api/065b7fbd5271f5382249aa5a17e9bf06", ""),  # 32 hex: not a runtime's id
        (f"/system.slice/docker-{ID[:63]}.scope", "docker-" + ID[:63] + ".scope"),  # 63 hex
    ],
)
def test_each_runtimes_layout(path: str, name: str) -> None:
    assert container_name(path) == name


@pytest.mark.parametrize(
    ("path", "name"),
    [
        # A user's own systemd manager delegates its subtree: any name can be made there.
        (
            f"/user.slice/user-1000.slice/user@1000.service/app.slice/docker-{ID}.scope",
            "user@1000.service",
        ),
        (f"/user.slice/user-1000.slice/user@1000.service/{ID}", "user@1000.service"),
        # A Delegate=yes service's own cgroups are that service's, whatever they are called.
        (f"/system.slice/build.service/docker-{ID}.scope", "build.service"),
        (f"/system.slice/build.service/cri-containerd-{ID}.scope", "build.service"),
        (f"/system.slice/user-made/{ID}", ""),
        (f"/machine.slice/nspawn.scope/docker-{ID}.scope", "nspawn.scope"),
        (f"/somewhere/docker-{ID}.scope", "docker-" + ID + ".scope"),
    ],
)
def test_a_cgroup_named_like_a_container_outside_a_runtime_s_place_is_not_one(
    path: str, name: str
) -> None:
    assert container_name(path) == name
