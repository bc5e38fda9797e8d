#!/bin/sh
# PID 1 of the okvm naming guest (see scripts/verify-names.sh). It reports
# what the guest itself sees — PCI addresses, hotplug slots, ACPI facts, the
# names systemd's net_id builtin computes and the links 60-persistent-storage
# makes — as "OKVM ..." lines on the serial console, then resets the machine (libvirt destroys it). The
# host side (test/guest) parses those lines; nothing here decides names.
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin:/sbin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /run/udev /tmp
# Keep kernel chatter off the console we parse.
echo 1 >/proc/sys/kernel/printk

# Modules in dependency order (listed by the build script).
while read -r m; do insmod "/lib/modules/$m" 2>/dev/null; done </modules.load

# SCSI and ATA probe asynchronously: wait until the block device count is
# stable for a second (at most ~15 s under TCG).
prev=-1; stable=0; i=0
while [ $i -lt 30 ]; do
	n=$(ls /sys/block | wc -l); nn=$(ls /sys/class/net | wc -l)
	cur="$n/$nn"
	if [ "$cur" = "$prev" ]; then stable=$((stable+1)); else stable=0; fi
	[ $stable -ge 2 ] && break
	prev=$cur; i=$((i+1)); sleep 0.5
done

echo "OKVM begin"
echo "OKVM udevadm $(udevadm --version)"
echo "OKVM kernel $(uname -r)"
for s in /sys/bus/pci/slots/*; do
	[ -e "$s/address" ] && echo "OKVM slot $(basename "$s") $(cat "$s/address")"
done
for d in /sys/bus/pci/devices/*; do
	echo "OKVM pcidev $(basename "$d") class=$(cat "$d/class") sun=$(cat "$d/firmware_node/sun" 2>/dev/null || echo -) acpi_index=$(cat "$d/acpi_index" 2>/dev/null || echo -)"
done
for n in /sys/class/net/*; do
	name=$(basename "$n")
	[ "$name" = lo ] && continue
	dev=$(readlink -f "$n/device")
	# virtio-net hangs off a virtioN device whose parent is the PCI function.
	case "$(basename "$dev")" in virtio*) dev=$(dirname "$dev");; esac
	pci=$(basename "$dev")
	echo "OKVM nic $name mac=$(cat "$n/address") pci=$pci sun=$(cat "$dev/firmware_node/sun" 2>/dev/null || echo -) acpi_index=$(cat "$dev/acpi_index" 2>/dev/null || echo -) driver=$(basename "$(readlink -f "$dev/driver")")"
	# One scheme per PCI-relevant flag change up to systemd 252: v239
	# NPAR_ARI, v240 ZERO_ACPI_INDEX, v247 BRIDGE_NO_SLOT, v249
	# SLOT_FUNCTION_ID+16BIT_INDEX, v251 BRIDGE_MULTIFUNCTION_SLOT, v252
	# (the default). v241/v243/v245/v250 only add non-PCI flags; each
	# udevadm run costs ~1.5 s under TCG.
	for scheme in v238 v239 v240 v247 v249 v251 v252; do
		props=$(NET_NAMING_SCHEME=$scheme udevadm test-builtin net_id "$n" 2>/dev/null | grep '^ID_NET_' | tr '\n' ' ')
		echo "OKVM netid $name $scheme $props"
	done
done
for b in /sys/block/*; do
	name=$(basename "$b")
	case "$name" in vd*|sd*) ;; *) continue;; esac
	links=$(udevadm test --action=add "$b" 2>/dev/null | sed -n 's/^DEVLINKS=//p')
	serial=$(cat "$b/serial" 2>/dev/null || cat "$b/device/serial" 2>/dev/null || echo -)
	echo "OKVM disk $name links=$(echo $links | tr ' ' ',')"
done
echo "OKVM end"
# reboot, not poweroff: without ACPI (layout pc-noacpi) the kernel cannot
# power the machine off, but it can always reset it, and every layout says
# <on_reboot>destroy</on_reboot>.
reboot -f
