#!/usr/bin/env bash
# scripts/lab.sh — the real components okvm's integration tests run against.
#
#   scripts/lab.sh start    install what is missing, start libvirtd in netns okvm-lab
#   scripts/lab.sh status   say what runs and how to reach it (exit 1 when down)
#   scripts/lab.sh stop     stop libvirtd and everything it started; remove the netns
#
# Why a network namespace: libvirt networks create bridges, iptables rules and a
# dnsmasq each. Started inside `okvm-lab` they never touch the host's own network,
# while libvirtd's unix socket (a file) stays reachable from the host.
#
# Why no systemd: CI machines have none. libvirtd runs as root, with QEMU as root
# and no security driver, which is what /etc/libvirt/qemu.conf is set to below.
#
# Idempotent: running `start` twice is harmless; `stop` leaves nothing running.
set -euo pipefail

NS=okvm-lab
RUN_DIR=/run/okvm-lab
PIDFILE=$RUN_DIR/libvirtd.pid
SOCKET=/var/run/libvirt/libvirt-sock
LOG=$RUN_DIR/libvirtd.log

# Debian packages the tests use, keyed by a file each one installs.
PACKAGES=(
  /usr/sbin/libvirtd:libvirt-daemon
  /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so:libvirt-daemon-driver-qemu
  /usr/bin/virsh:libvirt-clients
  /usr/bin/qemu-system-x86_64:qemu-system-x86
  /usr/bin/qemu-img:qemu-utils
  /usr/sbin/iptables:iptables
  /usr/sbin/dnsmasq:dnsmasq-base
  /usr/bin/dig:bind9-dnsutils
  /usr/bin/named-checkzone:bind9utils
  /usr/sbin/haproxy:haproxy
  /usr/sbin/kea-dhcp4:kea-dhcp4-server
  /usr/sbin/perfdhcp:kea-admin
  /usr/sbin/dhclient:isc-dhcp-client
  /usr/sbin/dhcpd:isc-dhcp-server
  /usr/bin/dnsperf:dnsperf
  /usr/sbin/ip:iproute2
  /usr/bin/busybox:busybox-static
  /usr/bin/cpio:cpio
  /usr/bin/jq:jq
  /usr/bin/udevadm:udev
)

log() { printf 'lab: %s\n' "$*" >&2; }

need_root() {
  if [ "$(id -u)" != 0 ]; then
    log "must run as root (it installs packages, creates a network namespace and runs libvirtd)"
    exit 1
  fi
}

install_missing() {
  local missing=() entry file pkg
  for entry in "${PACKAGES[@]}"; do
    file=${entry%%:*} pkg=${entry##*:}
    [ -e "$file" ] || missing+=("$pkg")
  done
  # The guest used by `make verify-names` boots Debian's own kernel.
  ls /boot/vmlinuz-* >/dev/null 2>&1 || missing+=(linux-image-amd64)
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_accounts() {
  # The QEMU driver looks these up at start even when it runs QEMU as root.
  getent group kvm >/dev/null || groupadd -r kvm
  getent group libvirt >/dev/null || groupadd -r libvirt
  getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
  getent passwd libvirt-qemu >/dev/null ||
    useradd -r -g libvirt-qemu -G kvm -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
}

# write_if_changed FILE: replace FILE with stdin only when it differs, so a
# second `start` changes nothing on disk.
write_if_changed() {
  local tmp
  tmp=$(mktemp)
  cat >"$tmp"
  if [ -f "$1" ] && cmp -s "$tmp" "$1"; then rm -f "$tmp"; return 0; fi
  mkdir -p "$(dirname "$1")"
  mv "$tmp" "$1"
  chmod 0644 "$1"
}

configure_libvirt() {
  write_if_changed /etc/libvirt/qemu.conf <<'EOF'
# Written by okvm scripts/lab.sh: QEMU runs as root, without a security driver,
# because the lab has no systemd, no SELinux/AppArmor labelling and no /dev/kvm.
user = "root"
group = "root"
swtpm_user = "root"
swtpm_group = "root"
security_driver = "none"
dynamic_ownership = 0
# No virtlogd in the lab: QEMU's stdout/stderr go straight to a file.
stdio_handler = "file"
EOF
  write_if_changed /etc/libvirt/libvirtd.conf <<'EOF'
# Written by okvm scripts/lab.sh: only root can reach the socket (mode 0700 by
# default), and there is no polkit to ask.
auth_unix_ro = "none"
auth_unix_rw = "none"
EOF
  mkdir -p /var/lib/libvirt/images /var/lib/libvirt/qemu/nvram /var/log/libvirt/qemu /var/cache/libvirt
}

ensure_netns() {
  ip netns list | grep -qw "^$NS" || ip netns add "$NS"
  ip -n "$NS" link set lo up
}

libvirtd_pid() {
  [ -f "$PIDFILE" ] || return 1
  local pid
  pid=$(cat "$PIDFILE")
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

answers() {
  timeout 5 virsh -c "qemu+unix:///system?socket=$SOCKET" version >/dev/null 2>&1
}

start() {
  need_root
  install_missing
  ensure_accounts
  configure_libvirt
  mkdir -p "$RUN_DIR"
  if libvirtd_pid >/dev/null && answers; then
    log "libvirtd already running (pid $(libvirtd_pid))"
  else
    # A libvirtd left over from an earlier run (or started outside this script)
    # would hold the socket; stop it first so the one we start is in the netns.
    stop_quiet
    ensure_netns
    mkdir -p "$RUN_DIR"
    ip netns exec "$NS" env LIBVIRT_LOG_OUTPUTS="3:file:$LOG" libvirtd -d -p "$PIDFILE"
    local i
    for i in $(seq 1 60); do
      answers && break
      sleep 0.5
    done
    if ! answers; then
      log "libvirtd did not answer on $SOCKET within 30 s; its log:"
      tail -n 30 "$LOG" >&2 || true
      exit 1
    fi
    log "libvirtd started (pid $(libvirtd_pid)) in network namespace $NS"
  fi
  status
}

status() {
  local pid
  if pid=$(libvirtd_pid) && answers; then
    cat <<EOF
okvm lab is up: libvirtd pid $pid in network namespace $NS
  socket:        $SOCKET
  QEMU driver:   qemu+unix:///system?socket=$SOCKET   (domains run under TCG: type='qemu')
  test driver:   test+unix:///default?socket=$SOCKET
  virsh:         virsh -c 'qemu+unix:///system?socket=$SOCKET' list --all
  inside netns:  ip netns exec $NS <command>
  tests:         OKVM_LIBVIRT_SOCKET=$SOCKET go test ./...
EOF
    return 0
  fi
  echo "okvm lab is down (start it with: scripts/lab.sh start)"
  return 1
}

stop_quiet() {
  local pid
  if pid=$(libvirtd_pid); then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  # Everything libvirtd started (QEMU, the networks' dnsmasq) lives in the
  # namespace; so do leftovers of crashed tests.
  if ip netns list | grep -qw "^$NS"; then
    local pids
    pids=$(ip netns pids "$NS" 2>/dev/null || true)
    if [ -n "$pids" ]; then
      kill $pids 2>/dev/null || true
      sleep 1
      pids=$(ip netns pids "$NS" 2>/dev/null || true)
      [ -n "$pids" ] && kill -9 $pids 2>/dev/null || true
    fi
    ip netns del "$NS" 2>/dev/null || true
  fi
  rm -f "$PIDFILE"
}

stop() {
  need_root
  stop_quiet
  log "stopped; nothing of the lab is running"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
