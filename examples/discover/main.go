// Command discover prints, before a domain ever boots, the name each of its
// NICs will get in the guest and the stable /dev/disk links of each disk —
// one JSON object per line, NICs first:
//
//	go run ./examples/discover -xml domain.xml [-scheme rhel-9.0]
//	go run ./examples/discover -uri qemu:///system -domain master-0 [-os fcos-42]
//
// With -xml, pass the XML libvirt returns after define (virsh dumpxml
// --inactive): only then are the PCI addresses fixed. With -uri, discover
// reads that XML itself. Errors (unknown domain, unreadable XML, unknown
// scheme) print one line to stderr and exit 1; bad usage exits 2.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"libvirt.org/go/libvirtxml"

	"github.com/okvm/okvm/kvm"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type nicLine struct {
	Kind           string                   `json:"kind"`
	MAC            string                   `json:"mac"`
	GuestPCI       *kvm.PCIAddress          `json:"guest_pci"`
	Name           string                   `json:"name"`
	Candidates     kvm.NICCandidates        `json:"candidates"`
	Rule           kvm.NameRule             `json:"rule"`
	NotPredictable *kvm.NotPredictableError `json:"not_predictable,omitempty"`
}

type diskLine struct {
	Kind     string   `json:"kind"`
	Target   string   `json:"target"`
	Serial   string   `json:"serial"`
	ByID     []string `json:"by_id"`
	ByPath   string   `json:"by_path"`
	Warnings []string `json:"warnings,omitempty"`
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("discover", flag.ContinueOnError)
	fs.SetOutput(stderr)
	xmlFile := fs.String("xml", "", "domain XML as libvirt defined it (virsh dumpxml --inactive)")
	uri := fs.String("uri", "", "libvirt URI to read the domain from, e.g. qemu:///system")
	domain := fs.String("domain", "", "domain name (with -uri)")
	scheme := fs.String("scheme", "", "net naming scheme: v239…v257, rhel-9.0…rhel-9.9, latest (default: the guest OS's)")
	guestOS := fs.String("os", string(kvm.SCOS9), "guest OS whose default scheme applies: fcos-38…fcos-42, scos-9, debian-12")
	timeout := fs.Duration("timeout", 30*time.Second, "deadline for libvirt calls")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if (*xmlFile == "") == (*uri == "") || (*uri != "" && *domain == "") || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "discover: use -xml FILE, or -uri URI -domain NAME")
		return 2
	}
	opts := []kvm.NamingOption{kvm.WithGuestOS(kvm.GuestOS(*guestOS))}
	if *scheme != "" {
		opts = append(opts, kvm.WithNamingScheme(*scheme))
	}

	var p *kvm.Prediction
	var err error
	if *xmlFile != "" {
		p, err = fromFile(*xmlFile, opts)
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		defer cancel()
		p, err = fromLibvirt(ctx, *uri, *domain, opts)
	}
	if err != nil {
		fmt.Fprintln(stderr, "discover:", err)
		return 1
	}
	enc := json.NewEncoder(stdout)
	for _, n := range p.NICs {
		if err := enc.Encode(nicLine{"nic", n.MAC, n.GuestPCI, n.Name, n.Candidates, n.Rule, n.NotPredictable}); err != nil {
			fmt.Fprintln(stderr, "discover:", err)
			return 1
		}
	}
	for _, d := range p.Disks {
		if err := enc.Encode(diskLine{"disk", d.Target, d.Serial, d.ByID, d.ByPath, d.Warnings}); err != nil {
			fmt.Fprintln(stderr, "discover:", err)
			return 1
		}
	}
	return 0
}

func fromFile(path string, opts []kvm.NamingOption) (*kvm.Prediction, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dom := &libvirtxml.Domain{}
	if err := dom.Unmarshal(string(b)); err != nil {
		return nil, fmt.Errorf("%s: not domain XML: %w", path, err)
	}
	return kvm.PredictNames(dom, opts...)
}

func fromLibvirt(ctx context.Context, uri, domain string, opts []kvm.NamingOption) (*kvm.Prediction, error) {
	c, err := kvm.Dial(ctx, uri)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	p, err := c.PredictNames(ctx, domain, opts...)
	if errors.Is(err, kvm.ErrNotFound) {
		return nil, fmt.Errorf("domain %q not found at %s", domain, uri)
	}
	return p, err
}
