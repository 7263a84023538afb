#!/usr/bin/env bash
# netwatch set-up for a fresh Debian machine, as root. Idempotent: a second run installs nothing.
#   ./setup.sh run [ARGS...]   install everything, then start netwatch (ARGS go to netwatch)
#   ./setup.sh test [ARGS...]  install everything with dev extras, then run the whole test suite
#   ./setup.sh install         install only
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
venv="$here/.venv"
mode=${1:-install}
[ $# -gt 0 ] && shift

say() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (BPF needs it): sudo $0 $mode"
case "$mode" in run|test|install) ;; *) die "usage: $0 run|test|install [ARGS...]";; esac

# --- Debian packages --------------------------------------------------------------------------
release=$(uname -r)
# Headers: the package for this exact kernel where Debian has one, else the generic amd64 one.
headers_pkg=linux-headers-amd64
pkgs=(python3-bpfcc python3-venv python3-pip bpftool iproute2 iputils-ping tmux nftables bpftrace nethogs)
need=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p"); done
if [ ! -e "/lib/modules/$release/build" ]; then
    if apt-cache show "linux-headers-$release" >/dev/null 2>&1; then headers_pkg="linux-headers-$release"; fi
    dpkg-query -W -f='${Status}' "$headers_pkg" 2>/dev/null | grep -q 'ok installed' || need+=("$headers_pkg")
fi
# The test suite also boots Debian 12's own kernel (6.1) in a VM: qemu (TCG), the kernel image
# (linux-image-amd64, the version linux-headers-amd64 matches), busybox for virtme-ng's initramfs.
vm_pkgs=(qemu-system-x86 linux-image-amd64 linux-headers-amd64 busybox-static)
# ...and checks `netwatch export` against a real Prometheus server, its rules with promtool and
# its systemd unit with systemd-analyze.
vm_pkgs+=(prometheus systemd)
# ...and makes the churn of short `curl` fetches a container host sees (tests/live).
vm_pkgs+=(curl)
if [ "$mode" = test ]; then
    for p in "${vm_pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
    done
fi
if [ ${#need[@]} -gt 0 ]; then
    say "installing Debian packages: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || apt-get update -qq >/dev/null || true
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# --- kernel headers under /lib/modules/VER ---------------------------------------------------
# BCC looks for VER's headers there. Debian's 6.1 headers serve any kernel (struct offsets come
# from the running kernel's BTF): the exact version's where installed, else the newest.
link_headers() {
    local ver=$1 mod="/lib/modules/$1" arch_dir common_dir
    [ -e "$mod/build" ] && [ -e "$mod/source" ] && return 0
    arch_dir=/usr/src/linux-headers-$ver
    [ -d "$arch_dir" ] || arch_dir=$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n 1)
    common_dir=${arch_dir%-amd64}-common
    [ -d "$common_dir" ] || common_dir=$(ls -d /usr/src/linux-headers-*-common 2>/dev/null | sort -V | tail -n 1)
    [ -n "$arch_dir" ] && [ -n "$common_dir" ] || die "no kernel headers found under /usr/src after installing $headers_pkg"
    mkdir -p "$mod"
    # Never overwrite a link or directory that is already there.
    if [ ! -e "$mod/build" ] && [ ! -L "$mod/build" ]; then
        ln -s "$arch_dir" "$mod/build"
        say "linked $mod/build -> $arch_dir (for tracepoint programs, headers of any kernel do)"
    fi
    if [ ! -e "$mod/source" ] && [ ! -L "$mod/source" ]; then
        ln -s "$common_dir" "$mod/source"
        say "linked $mod/source -> $common_dir"
    fi
}
link_headers "$release"
if [ "$mode" = test ]; then
    for image in /boot/vmlinuz-6.1.*-amd64; do
        [ -e "$image" ] && link_headers "${image#/boot/vmlinuz-}"
    done
fi

# --- tracefs ------------------------------------------------------------------------------------
if [ ! -d /sys/kernel/tracing/events ]; then
    mount -t tracefs nodev /sys/kernel/tracing && say "mounted tracefs at /sys/kernel/tracing"
fi

# --- the venv -----------------------------------------------------------------------------------
# System site-packages so Debian's BCC is importable; never the PyPI package named "bcc".
if [ ! -x "$venv/bin/python" ]; then
    say "creating venv $venv (from /usr/bin/python3, --system-site-packages)"
    /usr/bin/python3 -m venv --system-site-packages "$venv"
fi
extras=""
[ "$mode" = test ] && extras="[dev]"
stamp="$venv/.installed$extras"
if [ ! -f "$stamp" ] || [ "$here/pyproject.toml" -nt "$stamp" ]; then
    say "installing netwatch$extras into the venv"
    # This machine's pip config lists local mirrors that may be absent: keep their noise out.
    "$venv/bin/pip" install -q --disable-pip-version-check -e "$here$extras" \
        2> >(grep -v "WARNING: Location '" >&2)
    touch "$stamp"
fi
"$venv/bin/python" -c 'import bcc, sys; sys.exit(0 if hasattr(bcc, "BPF") else 1)' \
    || die "the 'bcc' importable in the venv is not BCC (is the PyPI 'bcc' installed?)"

case "$mode" in
    run) exec "$venv/bin/netwatch" "$@" ;;
    test) cd "$here" && exec "$venv/bin/python" -m pytest "$@" ;;
    install) say "installed: $venv/bin/netwatch" ;;
esac
