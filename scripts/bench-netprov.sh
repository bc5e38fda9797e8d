#!/usr/bin/env bash
# bench-netprov.sh — okvm's embedded DNS and DHCP servers against dnsmasq and
# Kea serving the same records, measured in the same run, so the ratios hold
# even on a busy machine. The figures go to docs/bench/netprov-servers.md.
#
#   scripts/bench-netprov.sh            # DNS (loopback) and DHCP (needs root)
#   scripts/bench-netprov.sh dns        # DNS only
#   scripts/bench-netprov.sh dhcp       # DHCP only (root: network namespaces)
#
# Knobs (environment): DURATION seconds per measurement (default 10, max 30),
# ROUNDS (default 2: servers alternate A B A B), NODES DNS host entries
# (default 100), CLIENTS DHCP reservations (default 1000), LAT_QPS offered
# load for the DNS latency runs (default 5000), DHCP_RATE offered DORA/s
# (default 4000).
#
# Traffic: DNS goes to 127.0.0.1 only; DHCP stays inside two network
# namespaces (okvm-b-<random>-a/-b, one veth) that this script creates and
# deletes. Every server and load generator is bounded by DURATION.
set -euo pipefail

what=${1:-all}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
NODES=${NODES:-100}
CLIENTS=${CLIENTS:-1000}
LAT_QPS=${LAT_QPS:-5000}
DHCP_RATE=${DHCP_RATE:-4000}
((DURATION >= 1 && DURATION <= 30)) || { echo "DURATION must be 1..30" >&2; exit 2; }
((NODES >= 1 && NODES <= 240)) || { echo "NODES must be 1..240" >&2; exit 2; }
((CLIENTS >= 1 && CLIENTS <= 20000)) || { echo "CLIENTS must be 1..20000" >&2; exit 2; }

root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d /tmp/okvm-bench.XXXXXX)
chmod 755 "$tmp"
# dnsmasq rewrites its lease file on every lease change; on tmpfs that costs
# CPU only, like the in-memory lease stores of Kea (persist false) and okvm.
shm=$(mktemp -d /dev/shm/okvm-bench.XXXXXX)
results=$tmp/results
pids=()
nss=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	for n in "${nss[@]}"; do ip netns del "$n" 2>/dev/null || true; done
	rm -rf "$tmp" "$shm"
}
trap cleanup EXIT
trap 'echo "bench-netprov: failed at line $LINENO" >&2' ERR

need() { command -v "$1" >/dev/null || [ -x "/usr/sbin/$1" ] || { echo "missing: $1 ($2)" >&2; exit 1; }; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
# server_bg CMD…: start a server in the background, remember its PID in $bg.
server_bg() { "$@" >"$tmp/server.log" 2>&1 & bg=$!; pids+=("$bg"); }

echo "# okvm netprov benchmark — $(date -u +%FT%TZ)"
echo "# host: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); go $(go env GOVERSION)"
echo "# DURATION=${DURATION}s ROUNDS=$ROUNDS NODES=$NODES CLIENTS=$CLIENTS LAT_QPS=$LAT_QPS DHCP_RATE=$DHCP_RATE"
(cd "$root" && go test -c -o "$tmp/netprov.test" ./netprov)

# ---------------------------------------------------------------- DNS ----
bench_dns() {
	need dnsperf dnsperf; need dnsmasq dnsmasq-base; need dig bind9-dnsutils
	echo "# dnsmasq $(dnsmasq --version | head -1 | awk '{print $3}'), dnsperf $(dnsperf -h 2>&1 | awk '/^Version/ {print $2}')"
	local hosts=$tmp/hosts queries=$tmp/queries
	{
		echo "192.168.126.5 api.c1.example.com api-int.c1.example.com"
		for ((i = 0; i < NODES; i++)); do echo "192.168.126.$((10 + i)) node-$i.c1.example.com"; done
	} >"$hosts"
	{
		echo "api.c1.example.com A"
		echo "api-int.c1.example.com A"
		echo "console-openshift-console.apps.c1.example.com A"
		echo "oauth-openshift.apps.c1.example.com A"
		echo "nope.c1.example.com A"
		for ((i = 0; i < NODES; i += 7)); do
			echo "node-$i.c1.example.com A"
			echo "$((10 + i)).126.168.192.in-addr.arpa PTR"
		done
	} >"$queries"

	local okvm_port dnsmasq_port
	okvm_port=$(free_port)
	dnsmasq_port=$(free_port)
	start_okvm_dns() {
		OKVM_BENCH_DNS_ADDR=127.0.0.1:$okvm_port OKVM_BENCH_DNS_HOSTS=$hosts OKVM_BENCH_DNS_ORIGIN=c1.example.com \
			OKVM_BENCH_DNS_WILDCARD=apps.c1.example.com=192.168.126.1 OKVM_BENCH_DURATION=$((DURATION + 120))s \
			server_bg "$tmp/netprov.test" -test.run '^TestBenchServeDNS$' -test.v
	}
	start_dnsmasq_dns() {
		server_bg dnsmasq -k -C /dev/null --user=root --port="$dnsmasq_port" --listen-address=127.0.0.1 --bind-interfaces \
			--no-resolv --no-hosts --addn-hosts="$hosts" --address=/apps.c1.example.com/192.168.126.1 \
			--local=/c1.example.com/ --local=/126.168.192.in-addr.arpa/ --pid-file="$tmp/dnsmasq-dns.pid"
	}
	wait_dns() { # port
		for _ in $(seq 100); do
			dig @127.0.0.1 -p "$1" +time=1 +tries=1 +short api.c1.example.com A 2>/dev/null | grep -q . && return 0
			sleep 0.1
		done
		echo "server on port $1 did not answer:" >&2; cat "$tmp/server.log" >&2; exit 1
	}

	# Same answers from both, or the comparison means nothing.
	start_okvm_dns; local okvm_pid=$bg; wait_dns "$okvm_port"
	start_dnsmasq_dns; local dnsmasq_pid=$bg; wait_dns "$dnsmasq_port"
	while read -r name type; do
		# status and sorted rdata, from one dig per server
		a=$(dig @127.0.0.1 -p "$okvm_port" +time=2 +tries=1 +noall +comments +answer "$name" "$type" |
			awk '/status:/ {s=$6} !/^;/ && NF {r = r " " $NF} END {print s, r}')
		b=$(dig @127.0.0.1 -p "$dnsmasq_port" +time=2 +tries=1 +noall +comments +answer "$name" "$type" |
			awk '/status:/ {s=$6} !/^;/ && NF {r = r " " $NF} END {print s, r}')
		if [ "$a" != "$b" ]; then
			echo "answers differ for $name $type: okvm [$a] dnsmasq [$b]" >&2; exit 1
		fi
	done <"$queries"
	echo "# answers identical for all $(wc -l <"$queries") query lines"
	stop "$okvm_pid"; stop "$dnsmasq_pid"

	run_dnsperf() { # label port
		local out
		out=$(dnsperf -s 127.0.0.1 -p "$2" -d "$queries" -l "$DURATION" -c 4 -q 100 -T 1 2>&1)
		qps=$(awk '/Queries per second:/ {print $4}' <<<"$out")
		lost=$(awk '/Queries lost:/ {print $3}' <<<"$out")
		avg=$(awk '/Average Latency/ {print $4}' <<<"$out")
		# p50/p99 at a fixed offered load, from dnsperf's per-query report.
		out=$(dnsperf -s 127.0.0.1 -p "$2" -d "$queries" -l 5 -Q "$LAT_QPS" -c 4 -T 1 -v 2>&1)
		read -r p50 p99 < <(awk '$1 == ">" {print $NF}' <<<"$out" | sort -g |
			awk '{v[NR] = $1} END {if (NR == 0) {print "n/a n/a"; exit} printf "%.0f %.0f\n", v[int(NR*0.50)]*1e6, v[int(NR*0.99)]*1e6}')
		printf "dns  %-8s round %d: %10.0f qps  lost %-6s avg %8.0fus | at %s qps: p50 %6sus p99 %6sus\n" \
			"$1" "$round" "$qps" "$lost" "$(awk -v a="$avg" 'BEGIN {print a*1e6}')" "$LAT_QPS" "$p50" "$p99"
		echo "dns $1 qps $qps" >>"$results"
		echo "dns $1 p50us $p50" >>"$results"
		echo "dns $1 p99us $p99" >>"$results"
	}
	for ((round = 1; round <= ROUNDS; round++)); do
		start_okvm_dns; okvm_pid=$bg; wait_dns "$okvm_port"
		run_dnsperf okvm "$okvm_port"
		stop "$okvm_pid"
		start_dnsmasq_dns; dnsmasq_pid=$bg; wait_dns "$dnsmasq_port"
		run_dnsperf dnsmasq "$dnsmasq_port"
		stop "$dnsmasq_pid"
	done
}

# --------------------------------------------------------------- DHCP ----
bench_dhcp() {
	[ "$(id -u)" = 0 ] || { echo "DHCP benchmark needs root (network namespaces)" >&2; exit 1; }
	need perfdhcp kea-admin; need kea-dhcp4 kea-dhcp4-server; need dnsmasq dnsmasq-base; need ip iproute2
	local kea=kea-dhcp4
	command -v kea-dhcp4 >/dev/null || kea=/usr/sbin/kea-dhcp4
	echo "# kea-dhcp4 $($kea -v), dnsmasq $(dnsmasq --version | head -1 | awk '{print $3}'), perfdhcp $(perfdhcp -v 2>&1 | head -1)"
	local id A B
	id=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
	A=okvm-b-$id-a B=okvm-b-$id-b
	ip netns add "$A"; nss+=("$A")
	ip netns add "$B"; nss+=("$B")
	ip -n "$A" link add veth-a type veth peer name veth-b netns "$B"
	ip -n "$A" addr add 10.251.0.1/16 dev veth-a
	ip -n "$B" addr add 10.251.0.2/16 dev veth-b
	for x in "$A veth-a" "$B veth-b" "$A lo" "$B lo"; do set -- $x; ip -n "$1" link set "$2" up; done

	local macs=$tmp/macs hostsfile=$tmp/dhcp-hosts keaconf=$tmp/kea.json
	: >"$macs"; : >"$hostsfile"
	{
		printf '{"Dhcp4": {"interfaces-config": {"interfaces": ["veth-a"]},\n'
		printf ' "lease-database": {"type": "memfile", "persist": false, "lfc-interval": 0},\n'
		printf ' "valid-lifetime": 3600, "renew-timer": 1800, "rebind-timer": 3150,\n'
		printf ' "host-reservation-identifiers": ["hw-address"],\n'
		printf ' "loggers": [{"name": "kea-dhcp4", "output_options": [{"output": "stdout"}], "severity": "WARN"}],\n'
		printf ' "subnet4": [{"id": 1, "subnet": "10.251.0.0/16",\n'
		printf '  "option-data": [{"name": "routers", "data": "10.251.0.1"}, {"name": "domain-name-servers", "data": "10.251.0.1"}, {"name": "domain-name", "data": "c1.example.com"}],\n'
		printf '  "reservations": [\n'
		for ((i = 0; i < CLIENTS; i++)); do
			mac=$(printf '52:54:00:%02x:%02x:%02x' $((i >> 16 & 255)) $((i >> 8 & 255)) $((i & 255)))
			ip4=10.251.$((1 + i / 250)).$((1 + i % 250))
			echo "$mac" >>"$macs"
			echo "$mac,$ip4,node-$i" >>"$hostsfile"
			sep=,; ((i == CLIENTS - 1)) && sep=
			printf '   {"hw-address": "%s", "ip-address": "%s", "hostname": "node-%d"}%s\n' "$mac" "$ip4" "$i" "$sep"
		done
		printf '  ]}]}}\n'
	} >"$keaconf"

	start_okvm_dhcp() {
		server_bg ip netns exec "$A" env OKVM_BENCH_NETNS="$A" OKVM_BENCH_DHCP_IFACE=veth-a OKVM_BENCH_DHCP_SERVERID=10.251.0.1 \
			OKVM_BENCH_DHCP_SUBNET=10.251.0.0/16 OKVM_BENCH_DHCP_HOSTS="$hostsfile" OKVM_BENCH_DURATION=$((DURATION + 30))s \
			"$tmp/netprov.test" -test.run '^TestBenchServeDHCP$' -test.v
	}
	start_dnsmasq_dhcp() {
		rm -f "$shm/dnsmasq.leases"
		server_bg ip netns exec "$A" dnsmasq -k -C /dev/null --user=root --port=0 --interface=veth-a --bind-interfaces \
			--dhcp-range=10.251.0.0,static,255.255.0.0,1h --dhcp-hostsfile="$hostsfile" --dhcp-leasefile="$shm/dnsmasq.leases" \
			--dhcp-lease-max=100000 --dhcp-authoritative --no-ping --quiet-dhcp --pid-file="$tmp/dnsmasq-dhcp.pid" \
			--dhcp-option=option:router,10.251.0.1 --dhcp-option=option:dns-server,10.251.0.1 \
			--dhcp-option=option:domain-name,c1.example.com
	}
	start_kea() {
		server_bg ip netns exec "$A" env KEA_PIDFILE_DIR="$tmp" KEA_LOCKFILE_DIR="$tmp" "$kea" -c "$keaconf"
	}
	run_perfdhcp() { # label
		sleep 1
		kill -0 "$bg" 2>/dev/null || { echo "$1 did not start:" >&2; cat "$tmp/server.log" >&2; exit 1; }
		# -l: perfdhcp acts as a relay from 10.251.0.2 (giaddr), so every
		# server answers it by unicast; -M: only reserved MACs.
		local out
		out=$(timeout $((DURATION + 20)) ip netns exec "$B" perfdhcp -4 -l 10.251.0.2 -r "$DHCP_RATE" -p "$DURATION" \
			-M "$macs" 10.251.0.1 2>&1) || true
		[ -z "${DEBUG:-}" ] || echo "$out" >&2
		rate=$(awk '/^Rate:/ {print $2; exit}' <<<"$out")
		# received ACKs (second exchange, "RA") per second of test period
		acks=$(awk '/Statistics for: REQUEST-ACK/ {f=1} f && /received packets:/ {print $3; exit}' <<<"$out")
		drops=$(awk '/Statistics for: DISCOVER-OFFER/ {f=1} f && /drops:/ {print $2; exit}' <<<"$out")
		local ackps
		ackps=$(awk -v a="${acks:-0}" -v d="$DURATION" 'BEGIN {printf "%.0f", a/d}')
		printf "dhcp %-8s round %d: %8.0f DORA/s (perfdhcp Rate)  %6s ACKs = %5s leases/s  DISCOVER drops %s\n" \
			"$1" "$round" "${rate:-0}" "${acks:-n/a}" "$ackps" "${drops:-n/a}"
		echo "dhcp $1 leases/s $ackps" >>"$results"
	}
	for ((round = 1; round <= ROUNDS; round++)); do
		start_okvm_dhcp; run_perfdhcp okvm; stop "$bg"
		start_dnsmasq_dhcp; run_perfdhcp dnsmasq; stop "$bg"
		start_kea; run_perfdhcp kea; stop "$bg"
	done
}

# summary prints the median over the rounds of every figure, per server.
summary() {
	[ -s "$results" ] || return 0
	echo "# medians over $ROUNDS rounds"
	awk '{k = $1 " " $2 " " $3; v[k] = v[k] " " $4; if (!(k in seen)) {seen[k] = 1; order[++n] = k}}
		END {for (i = 1; i <= n; i++) print order[i] v[order[i]]}' "$results" |
		while read -r kind server metric values; do
			med=$(tr ' ' '\n' <<<"$values" | grep . | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}')
			printf "median %-4s %-8s %-9s %.0f\n" "$kind" "$server" "$metric" "$med"
		done
}

case $what in
dns) bench_dns ;;
dhcp) bench_dhcp ;;
all) bench_dns; bench_dhcp ;;
*) echo "usage: $0 [dns|dhcp|all]" >&2; exit 2 ;;
esac
summary
