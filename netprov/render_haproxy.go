package netprov

import (
	"fmt"
	"strconv"
	"strings"
)

// RenderHAProxy returns an haproxy.cfg for the plan's LoadBalancer: TCP
// passthrough (TLS ends at the API servers and routers), one frontend and
// backend per port. The API is probed with GET /readyz over TLS without
// verifying (the serving certificate is signed by the cluster's own CA), the
// others with a TCP connect. The bootstrap is a backup server, as in the
// OpenShift docs' sample, and WithoutBootstrap().RenderHAProxy() is the file
// to reload at bootstrap removal.
//
// Client and server timeouts are long (4h, as helpernode uses) because API
// watches and `oc logs -f` hold idle connections open for a long time.
func (p *Plan) RenderHAProxy() []byte {
	lb := p.LoadBalancer()
	var b strings.Builder
	b.Grow(1024 + 4*100*len(p.Nodes))
	p.header(&b, "#", "HAProxy configuration")
	// No global maxconn: haproxy derives it from the file-descriptor limit,
	// and a fixed one larger than half that limit stops it from starting.
	// Logs go to stdout, which the Debian unit (haproxy -Ws) and containers
	// hand to the journal or the runtime.
	b.WriteString(`global
	log stdout format raw local0

defaults
	log global
	mode tcp
	option tcplog
	option dontlognull
	timeout connect 10s
	timeout client 4h
	timeout server 4h
	timeout check 10s
`)
	for _, f := range lb.Frontends {
		b.WriteString("\nfrontend " + f.Name + "\n")
		if f.Internal {
			b.WriteString("\t# internal only: do not expose outside the cluster network\n")
		}
		b.WriteString("\tbind " + f.Bind.String() + "\n")
		b.WriteString("\tdefault_backend " + f.Name + "\n")
		b.WriteString("\nbackend " + f.Name + "\n")
		b.WriteString("\tbalance " + string(f.Balance) + "\n")
		tls := ""
		if f.Check.Kind == CheckHTTPS {
			b.WriteString("\toption httpchk GET " + f.Check.Path + "\n")
			b.WriteString("\thttp-check expect status 200\n")
			tls = " check-ssl verify none"
		}
		fmt.Fprintf(&b, "\tdefault-server inter %s rise %d fall %d\n", haDuration(f.Check.Interval.Milliseconds()), f.Check.Rise, f.Check.Fall)
		if len(f.Backends) == 0 {
			b.WriteString("\t# no backends\n")
		}
		for _, s := range f.Backends {
			b.WriteString("\tserver " + s.Name + " " + s.Addr.String() + " check" + tls)
			if s.Backup {
				b.WriteString(" backup")
			}
			b.WriteString("\n")
		}
	}
	return []byte(b.String())
}

func haDuration(ms int64) string {
	if ms%1000 == 0 {
		return strconv.FormatInt(ms/1000, 10) + "s"
	}
	return strconv.FormatInt(ms, 10) + "ms"
}
