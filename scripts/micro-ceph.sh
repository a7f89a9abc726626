#!/usr/bin/env bash
# A throwaway single-node Ceph for tests, from Debian's packages (ceph-mon,
# ceph-mgr, ceph-osd, ceph-common): one monitor, one manager and one OSD on
# 127.0.0.1, no authentication, pools of size 1, an `rbd` pool; the pattern
# of go-ceph's micro-osd.sh. No containers, no systemd.
#
#   eval "$(scripts/micro-ceph.sh start /tmp/ceph)"   # sets CEPH_CONF, CEPH_DIR
#   rbd -c "$CEPH_CONF" ls rbd
#   scripts/micro-ceph.sh stop /tmp/ceph
#
# The OSD keeps its data in memory (memstore) of PLATTER_CEPH_OSD_BYTES
# (default 8 GiB, sparse: only what is written takes memory). A full
# memstore blocks clients instead of failing, so size it generously.
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?directory}
conf="$dir/ceph.conf"
case "$cmd" in
start)
    command -v ceph-mon >/dev/null || { echo "Ceph is not installed (apt-get install ceph-mon ceph-mgr ceph-osd ceph-common)" >&2; exit 1; }
    mkdir -p "$dir"/{mon,mgr,osd,run,log}
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    cat >"$conf" <<CONF
[global]
fsid = $(cat /proc/sys/kernel/random/uuid)
mon initial members = mon0
mon host = [v2:127.0.0.1:$port]
public network = 127.0.0.1/32
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
osd pool default size = 1
osd pool default min size = 1
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
run dir = $dir/run
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
pid file = $dir/run/\$name.pid
mon data = $dir/mon
mgr data = $dir/mgr
osd data = $dir/osd
osd objectstore = memstore
memstore device bytes = ${PLATTER_CEPH_OSD_BYTES:-8589934592}
osd max object name len = 256
osd max object namespace len = 64
rbd default features = 61
[mon.mon0]
public addr = v2:127.0.0.1:$port
CONF
    ceph-mon -c "$conf" --id mon0 --mkfs --keyring /dev/null >"$dir/log/mkfs-mon.log" 2>&1
    ceph-mon -c "$conf" --id mon0 --public-addr "v2:127.0.0.1:$port"
    ceph-mgr -c "$conf" --id mgr0
    id=$(ceph -c "$conf" --connect-timeout 60 osd create)
    ceph-osd -c "$conf" --id "$id" --mkfs >"$dir/log/mkfs-osd.log" 2>&1
    ceph-osd -c "$conf" --id "$id"
    ceph -c "$conf" osd pool create rbd 8 >/dev/null 2>&1
    ceph -c "$conf" osd pool set rbd size 1 --yes-i-really-mean-it >/dev/null 2>&1 || true
    # Clone format 2 (no protection; snapshots with clones go to the trash).
    ceph -c "$conf" osd set-require-min-compat-client mimic >/dev/null 2>&1
    rbd -c "$conf" pool init rbd
    # Up when a write goes through.
    for _ in $(seq 120); do
        if rbd -c "$conf" create --size 1M rbd/probe >/dev/null 2>&1; then
            rbd -c "$conf" rm rbd/probe >/dev/null 2>&1
            echo "export CEPH_CONF=$conf"
            echo "export CEPH_DIR=$dir"
            exit 0
        fi
        sleep 1
    done
    echo "Ceph did not come up; logs in $dir/log" >&2
    exit 1
    ;;
stop)
    for pidfile in "$dir"/run/*.pid; do
        [ -f "$pidfile" ] && kill -9 "$(cat "$pidfile")" 2>/dev/null || true
    done
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
