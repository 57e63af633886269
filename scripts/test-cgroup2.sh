#!/bin/sh
# The cgroup v2 lane (make test-cgroup2): boots Debian's kernel under qemu with cgroup v2 only
# and runs, as root in that guest, the tests listed in tests/cgroup2-lane.txt. The guest sees this
# host's files read-only over 9p (the project, its venv, nsjail and python3 need no image), with
# a tmpfs layer over them; a second, writable 9p share brings pytest's exit status back. No
# status file (a guest that crashed, hung or was killed) is a failure, never a pass.
#
# Why apt: the lane needs qemu, a kernel and a static busybox for the guest's first moments,
# none of which PyPI ships. qemu and busybox are installed when missing; the kernel package is
# only downloaded and unpacked into the cache (nothing of it is installed on this host).
# Usage: test-cgroup2.sh VENV_DIR
set -eu
cd "$(dirname "$0")/.."
REPO=$PWD
VENV=$(cd "$1" && pwd)
CACHE=${SKILLRT_CGROUP2_CACHE:-$REPO/.cache/cgroup2}
# Under emulation a jailed python takes about 2 s: the lane takes about 5 minutes here. A guest
# still running after this long is stopped, and the lane fails.
TIME_LIMIT_S=${SKILLRT_CGROUP2_TIME_LIMIT_S:-1200}
TESTS=tests/cgroup2-lane.txt
MEMORY_MIB=3072
# The modules that mount the host's files over virtio 9p and the overlay, in load order.
MODULES="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci netfs fscache \
9pnet 9pnet_virtio 9p overlay"

say() { echo "test-cgroup2: $*"; }
started=$(date +%s)
case "$REPO$VENV" in
    *[[:space:]]*) say "the project's path must hold no spaces (it goes on the kernel command line)" >&2; exit 1 ;;
esac
# An empty list would make pytest run every test: refuse it here.
if ! grep -q '^[^#]' "$TESTS"; then
    say "$TESTS lists no test" >&2
    exit 1
fi

set --  # the Debian packages missing here
command -v qemu-system-x86_64 >/dev/null 2>&1 || set -- "$@" qemu-system-x86
# A static busybox (the initramfs has no libraries) with switch_root.
if ! /bin/busybox --list 2>/dev/null | grep -qx switch_root || ldd /bin/busybox >/dev/null 2>&1; then
    set -- "$@" busybox-static
fi
if [ $# -gt 0 ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        say "installing $*"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
    else
        say "please install $*" >&2
        exit 1
    fi
fi

kernel_package=$(apt-cache depends linux-image-amd64 2>/dev/null \
    | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n 1)
if [ -z "$kernel_package" ]; then
    apt-get update -qq
    kernel_package=$(apt-cache depends linux-image-amd64 \
        | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n 1)
fi
[ -n "$kernel_package" ] || { say "no kernel package behind linux-image-amd64" >&2; exit 1; }
KERNEL_DIR=$CACHE/$kernel_package
if [ ! -f "$KERNEL_DIR/.unpacked" ]; then
    say "downloading $kernel_package into $CACHE"
    rm -rf "$KERNEL_DIR"
    mkdir -p "$KERNEL_DIR"
    if ! (cd "$KERNEL_DIR" && apt-get download -q "$kernel_package" >download.log 2>&1); then
        cat "$KERNEL_DIR/download.log" >&2
        exit 1
    fi
    dpkg-deb -x "$KERNEL_DIR"/*.deb "$KERNEL_DIR/root"
    rm -f "$KERNEL_DIR"/*.deb
    touch "$KERNEL_DIR/.unpacked"
fi
version=${kernel_package#linux-image-}
vmlinuz=$KERNEL_DIR/root/boot/vmlinuz-$version
modules=$KERNEL_DIR/root/lib/modules/$version/kernel

# The initramfs: a static busybox, the modules and the lane's init (named by init's checksum, so
# a changed init makes a new one).
initrd=$CACHE/initrd-$version-$(cksum < scripts/cgroup2/init | cut -d' ' -f1).cpio.gz
if [ ! -f "$initrd" ]; then
    staging=$CACHE/initrd-staging
    rm -rf "$staging" "$CACHE"/initrd-*.cpio.gz
    mkdir -p "$staging/bin" "$staging/modules" "$staging/dev" "$staging/proc" "$staging/sys"
    cp /bin/busybox "$staging/bin/busybox"
    cp scripts/cgroup2/init "$staging/init"
    chmod 0755 "$staging/init"
    : > "$staging/modules.order"
    for module in $MODULES; do
        file=$(find "$modules" -name "$module.ko" | head -n 1)
        [ -n "$file" ] || { say "module $module not in $kernel_package" >&2; exit 1; }
        cp "$file" "$staging/modules/"
        echo "$module" >> "$staging/modules.order"
    done
    (cd "$staging" && find . | /bin/busybox cpio -o -H newc 2>/dev/null | gzip -1) > "$initrd.tmp"
    mv "$initrd.tmp" "$initrd"
    rm -rf "$staging"
fi

LANE_DIR=$CACHE/run
rm -rf "$LANE_DIR"
mkdir -p "$LANE_DIR"
# Byte-compiled here in a second rather than under emulation in every run.
"$VENV/bin/python" -m compileall -q runtime tests >/dev/null
say "booting $version under qemu (TCG, cgroup v2 only; at most $TIME_LIMIT_S s)"
set +e
# TCG, not KVM: a guest hangs under this host's /dev/kvm. -cpu max: nsjail is built for a newer
# ISA level than qemu's default CPU model offers; la57=off and mitigations=off spare the emulated
# MMU five-level page walks and a page-table switch on every system call. cgroup_no_v1=all: every
# controller on v2. multidevs=remap: the host's / spans several devices.
timeout --kill-after=10 "$TIME_LIMIT_S" qemu-system-x86_64 \
    -accel tcg -cpu max,la57=off -smp 2 -m "$MEMORY_MIB" \
    -nographic -no-reboot -nodefaults -serial stdio -monitor none \
    -kernel "$vmlinuz" -initrd "$initrd" \
    -append "console=ttyS0 mitigations=off panic=-1 loglevel=2 cgroup_no_v1=all lane_dir=$LANE_DIR lane_repo=$REPO lane_venv=$VENV" \
    -virtfs "local,path=/,mount_tag=host,security_model=passthrough,readonly=on,multidevs=remap" \
    -virtfs "local,path=$LANE_DIR,mount_tag=lane,security_model=passthrough,multidevs=remap" \
    </dev/null
qemu_status=$?
set -e
elapsed=$(($(date +%s) - started))
if [ ! -f "$LANE_DIR/exit-status" ]; then
    say "FAILED: the guest left no exit status (qemu exited $qemu_status after ${elapsed} s)" >&2
    exit 1
fi
status=$(cat "$LANE_DIR/exit-status")
say "pytest in the guest exited $status (${elapsed} s in all)"
case $status in
    0) exit 0 ;;
    ''|*[!0-9]*) exit 1 ;;
    *) exit "$status" ;;
esac
