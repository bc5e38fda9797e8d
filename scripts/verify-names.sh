#!/bin/sh
# verify-names.sh — prove kvm.PredictNames against real guests.
#
#   scripts/verify-names.sh           install what is missing, then run the
#                                     guest test (boots every layout in
#                                     test/guest/layouts under the lab
#                                     libvirtd, started by scripts/lab.sh)
#   VERIFY_NAMES_FLAGS=-update scripts/verify-names.sh
#                                     … and rewrite docs/verify-names.md and
#                                     kvm/testdata/naming from the guests
#   scripts/verify-names.sh build DIR build only the guest: DIR/vmlinuz and
#                                     DIR/initrd.img
#
# The guest is made only of Debian packages: the Debian kernel, busybox-static,
# the kernel's own modules and systemd's udevadm + 60-persistent-storage.rules.
# No download happens here besides apt-get.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
PKGS="busybox-static cpio linux-image-amd64 udev qemu-system-x86 libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients"

install_deps() {
	missing=""
	for p in $PKGS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "verify-names: missing Debian packages:$missing (run as root to install)" >&2
		exit 1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
}

# modlist MOD... prints module paths (relative to /lib/modules/KVER) with
# every dependency before its user, each once.
modlist() {
	kdir=$1; shift
	seen=" "
	walk() {
		local rel deps d
		rel=$(awk -v m="/$1.ko:" 'index($0, m) { sub(":.*", ""); print; exit }' "$kdir/modules.dep")
		[ -n "$rel" ] || { echo "verify-names: module $1 not in $kdir/modules.dep" >&2; exit 1; }
		case "$seen" in *" $rel "*) return;; esac
		deps=$(awk -v r="$rel:" '$1 == r { for (i = 2; i <= NF; i++) print $i }' "$kdir/modules.dep")
		for d in $deps; do walk "$(basename "$d" .ko)"; done
		case "$seen" in *" $rel "*) return;; esac
		seen="$seen$rel "
		echo "$rel"
	}
	for m in "$@"; do walk "$m"; done
}

build() {
	out=$1
	kernel=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n1)
	[ -n "$kernel" ] || { echo "verify-names: no /boot/vmlinuz-* (apt-get install linux-image-amd64)" >&2; exit 1; }
	kver=${kernel#/boot/vmlinuz-}
	kdir=/lib/modules/$kver
	root=$(mktemp -d)
	trap 'rm -rf "$root"' EXIT
	mkdir -p "$root/bin" "$root/usr/bin" "$root/proc" "$root/sys" "$root/dev" "$root/run" "$root/tmp" \
		"$root/etc/udev/rules.d" "$root/usr/lib/udev/rules.d" "$root/lib/modules"
	cp /bin/busybox "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	cp "$here/test/guest/init.sh" "$root/init"
	chmod 755 "$root/init"

	# udevadm and the helpers the persistent-storage rules call, with their
	# shared libraries (copied to the same absolute paths).
	for bin in /usr/bin/udevadm /usr/lib/udev/scsi_id /usr/lib/udev/ata_id; do
		mkdir -p "$root$(dirname "$bin")"
		cp "$bin" "$root$bin"
		for lib in $(ldd "$bin" | awk '/=>/ { print $3 } /^\t\/lib/ { print $1 }'); do
			mkdir -p "$root$(dirname "$lib")"
			[ -e "$root$lib" ] || cp -L "$lib" "$root$lib"
		done
	done
	[ -e "$root/lib" ] || true
	cp /usr/lib/udev/rules.d/60-persistent-storage.rules "$root/usr/lib/udev/rules.d/"
	# udev runs helpers named in rules from /lib/udev (not merged with /usr here).
	ln -s ../usr/lib/udev "$root/lib/udev"

	modlist "$kdir" crct10dif_generic crc64_rocksoft_generic virtio_pci virtio_net e1000 e1000e virtio_blk virtio_scsi sd_mod ahci >"$root/modules.load"
	while read -r m; do
		mkdir -p "$root/lib/modules/$(dirname "$m")"
		cp "$kdir/$m" "$root/lib/modules/$m"
	done <"$root/modules.load"

	mkdir -p "$out"
	cp "$kernel" "$out/vmlinuz"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/initrd.img"
	echo "verify-names: guest built in $out (kernel $kver)"
}

case "${1:-run}" in
build)
	[ $# -eq 2 ] || { echo "usage: $0 build DIR" >&2; exit 2; }
	build "$2"
	;;
run)
	install_deps
	cd "$here"
	OKVM_VERIFY_NAMES=1 OKVM_REQUIRE_LAB=${OKVM_REQUIRE_LAB:-1} go test -count=1 -v -timeout 20m ./test/guest/ -run TestGuestNames ${VERIFY_NAMES_FLAGS:-}
	;;
*)
	echo "usage: $0 [run | build DIR]" >&2
	exit 2
	;;
esac
