package guest

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// The guest's /init (init.sh) prints "OKVM …" lines; this file turns them
// into an Observation. The JSON form is also the golden kvm's unit tests
// replay (kvm/testdata/naming/<layout>.observed.json).

// Observation is what one guest reported.
type Observation struct {
	Layout  string `json:"layout"`
	Udevadm string `json:"udevadm"`
	Kernel  string `json:"kernel,omitempty"` // uname -r
	// Set by the host side when the golden is written.
	Libvirt  string         `json:"libvirt,omitempty"`
	QEMU     string         `json:"qemu,omitempty"`
	BootTime string         `json:"boot_time,omitempty"` // define + boot + report
	NICs     []ObservedNIC  `json:"nics"`
	Disks    []ObservedDisk `json:"disks"`
}

// ObservedNIC is one network interface as the guest saw it.
type ObservedNIC struct {
	Kernel    string `json:"kernel"` // eth0…
	MAC       string `json:"mac"`
	PCI       string `json:"pci"`
	Driver    string `json:"driver"`
	ACPIIndex uint   `json:"acpi_index,omitempty"`
	Sun       uint   `json:"sun,omitempty"`
	// Slot is the usable /sys/bus/pci/slots/<N> whose address matches the
	// NIC (0: none, or only names like "0-2" that net_id ignores).
	Slot uint `json:"slot,omitempty"`
	// Props are the ID_NET_NAME_* properties per naming scheme, from
	// `udevadm test-builtin net_id` with NET_NAMING_SCHEME set.
	Props map[string]map[string]string `json:"props"`
}

// Name applies the default NamePolicy (onboard → slot → path) to the
// builtin's output for scheme, as 99-default.link does.
func (n ObservedNIC) Name(scheme string) string {
	p := n.Props[scheme]
	for _, k := range []string{"ID_NET_NAME_ONBOARD", "ID_NET_NAME_SLOT", "ID_NET_NAME_PATH"} {
		if v := p[k]; v != "" {
			return v
		}
	}
	return ""
}

// Schemes lists the schemes the guest's udevadm was asked about, sorted.
func (n ObservedNIC) Schemes() []string {
	var s []string
	for k := range n.Props {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// ObservedDisk is one block device and its udev links.
type ObservedDisk struct {
	Kernel string   `json:"kernel"`
	Links  []string `json:"links"`
}

// LinksUnder returns the links in /dev/disk/<dir>/, sorted.
func (d ObservedDisk) LinksUnder(dir string) []string {
	var out []string
	for _, l := range d.Links {
		if strings.HasPrefix(l, "/dev/disk/"+dir+"/") {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

func parseObservation(layout string, r io.Reader) (*Observation, error) {
	o := &Observation{Layout: layout}
	slots := map[string]uint{} // "0000:00:03" → usable slot number
	nics := map[string]*ObservedNIC{}
	var order []string
	begun, ended := false, false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		i := strings.Index(line, "OKVM ")
		if i < 0 {
			continue
		}
		f := strings.Fields(line[i+5:])
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "begin":
			begun = true
		case "end":
			ended = true
		case "udevadm":
			if len(f) > 1 {
				o.Udevadm = f[1]
			}
		case "kernel":
			if len(f) > 1 {
				o.Kernel = f[1]
			}
		case "slot":
			if len(f) == 3 {
				if n, err := strconv.ParseUint(f[1], 10, 32); err == nil && n > 0 {
					slots[f[2]] = uint(n)
				}
			}
		case "nic":
			if len(f) < 2 {
				continue
			}
			n := &ObservedNIC{Kernel: f[1], Props: map[string]map[string]string{}}
			kv := fields(f[2:])
			n.MAC, n.PCI, n.Driver = kv["mac"], kv["pci"], kv["driver"]
			n.ACPIIndex = atou(kv["acpi_index"])
			n.Sun = atou(kv["sun"])
			nics[n.Kernel] = n
			order = append(order, n.Kernel)
		case "netid":
			if len(f) < 3 || nics[f[1]] == nil {
				continue
			}
			nics[f[1]].Props[f[2]] = fields(f[3:])
		case "disk":
			if len(f) < 3 {
				continue
			}
			links := strings.TrimPrefix(f[2], "links=")
			d := ObservedDisk{Kernel: f[1]}
			for _, l := range strings.Split(links, ",") {
				if l != "" {
					d.Links = append(d.Links, l)
				}
			}
			sort.Strings(d.Links)
			o.Disks = append(o.Disks, d)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !begun || !ended {
		return nil, fmt.Errorf("guest log incomplete (begin=%v end=%v): the guest did not finish its report", begun, ended)
	}
	for _, k := range order {
		n := nics[k]
		if len(n.PCI) >= 10 {
			n.Slot = slots[n.PCI[:10]]
		}
		o.NICs = append(o.NICs, *n)
	}
	return o, nil
}

func fields(kvs []string) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, s := range kvs {
		if k, v, ok := strings.Cut(s, "="); ok {
			m[k] = v
		}
	}
	return m
}

func atou(s string) uint {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0 // "-": attribute absent
	}
	return uint(n)
}
