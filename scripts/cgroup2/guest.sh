#!/bin/sh
# The cgroup v2 lane inside its guest, as PID 1 in the host's files (read-only, with a tmpfs
# layer over them): mounts what a booted host has, runs the lane's tests as root, and writes
# pytest's exit status to the results folder the host reads. Then it powers the guest off.
# Usage: guest.sh LANE_DIR REPO VENV
LANE_DIR=$1
REPO=$2
VENV=$3
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
# Power off at once; nothing more may run from the host's files while the shares go away.
off() { sync; echo o > /proc/sysrq-trigger; while :; do :; done; }
uptime() { echo "$(cut -d' ' -f1 /proc/uptime) s"; }
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
mount -t tmpfs -o mode=0755 run /run
# /tmp stays the overlay's (its writes stay in the guest's memory): the project, its venv or the
# results folder may live in the host's /tmp.
ip link set lo up
hostname skillrt-cgroup2
cd "$REPO" || off
echo "cgroup2 lane guest: kernel $(uname -r) up $(uptime), controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
# As systemd starts a service with Delegate=yes and DelegateSubgroup=supervisor: the tests run
# in the supervisor leaf of a unit whose parents give it the controllers, not in the root cgroup.
unit=/sys/fs/cgroup/lane.slice/skillrt-tests.service
mkdir -p "$unit/supervisor"
echo "+memory +pids +cpu" > /sys/fs/cgroup/cgroup.subtree_control
echo "+memory +pids +cpu" > /sys/fs/cgroup/lane.slice/cgroup.subtree_control
# Processes start ten to twenty times slower than on a host: the tests wait longer for them.
export SKILLRT_TEST_TIME_SCALE=4
# pytest reads one argument a line from @FILE: the list without its comments.
grep -v '^#' tests/cgroup2-lane.txt > /run/lane-tests
/bin/sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$unit/supervisor" \
    "$VENV/bin/pytest" -p no:cacheprovider -p no:hypothesispytest -q --color=no --durations=15 \
    @/run/lane-tests
echo $? > "$LANE_DIR/exit-status"
echo "cgroup2 lane guest: done, up $(uptime)"
off
