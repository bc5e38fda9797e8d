// Command dial connects to a libvirt daemon with okvm's kvm package and
// prints what it finds: the driver URI, libvirt's version and the domains
// okvm defined (optionally only those with a label).
//
//	go run ./examples/dial -uri qemu:///system -label cluster=lab
//	go run ./examples/dial -uri 'test+unix:///default?socket=/var/run/libvirt/libvirt-sock'
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/okvm/okvm/kvm"
)

func main() {
	uri := flag.String("uri", "qemu:///system", "libvirt URI (qemu:///system, qemu:///session, qemu+ssh://host/system, test+unix:///default?socket=…)")
	label := flag.String("label", "", "only domains with this label, key=value")
	timeout := flag.Duration("timeout", 15*time.Second, "give up after this long")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	c, err := kvm.Dial(ctx, *uri, kvm.WithLogger(logger))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	driver, err := c.URI(ctx)
	if err != nil {
		log.Fatal(err)
	}
	v, err := c.Ping(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: libvirt %d.%d.%d\n", driver, v/1000000, v/1000%1000, v%1000)

	selector := map[string]string{}
	if k, val, ok := strings.Cut(*label, "="); ok {
		selector[k] = val
	}
	doms, err := c.ListDomains(ctx, selector)
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range doms {
		st, err := c.State(ctx, d.Name)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%-24s %-8s %v\n", d.Name, st, d.Labels)
	}
	if len(doms) == 0 {
		fmt.Println("no domains defined by okvm")
	}
}
