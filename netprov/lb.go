package netprov

import (
	"net/netip"
	"time"
)

// Ports of an OKD cluster's load balancer.
const (
	PortAPI           = 6443
	PortMachineConfig = 22623
	PortHTTP          = 80
	PortHTTPS         = 443
)

// CheckKind is how a load balancer probes a backend.
type CheckKind string

const (
	// CheckHTTPS is an HTTP GET over TLS (certificate not verified: the
	// API's serving cert is signed by the cluster's own CA) expecting 200.
	CheckHTTPS CheckKind = "https"
	// CheckTCP only opens a connection.
	CheckTCP CheckKind = "tcp"
)

// HealthCheck says how and how often backends are probed. The defaults
// follow the OpenShift UPI docs: a failing API server must leave the pool
// within 30 s (every 5 s, out after 3 failures, back after 2 successes).
type HealthCheck struct {
	Kind     CheckKind     `json:"kind"`
	Path     string        `json:"path,omitempty"` // for CheckHTTPS
	Interval time.Duration `json:"interval"`
	Rise     int           `json:"rise"`
	Fall     int           `json:"fall"`
}

// Balance is how a frontend spreads connections.
type Balance string

const (
	// BalanceRoundRobin: the API must be stateless, no persistence (docs).
	BalanceRoundRobin Balance = "roundrobin"
	// BalanceSource keeps a client on one router (docs: persistence
	// recommended for ingress).
	BalanceSource Balance = "source"
)

// Backend is one server of a frontend's pool.
type Backend struct {
	// Name is the node's short name.
	Name string         `json:"name"`
	Addr netip.AddrPort `json:"addr"`
	// Backup marks the bootstrap: as in the OpenShift docs' HAProxy sample
	// it only takes traffic while no master passes its check, so clients
	// move to the masters as soon as they can serve.
	Backup bool `json:"backup,omitempty"`
}

// Frontend is one listening port and its pool.
type Frontend struct {
	// Name is stable and usable as an HAProxy section name: api,
	// machine-config, ingress-http, ingress-https.
	Name string `json:"name"`
	// Bind is the API or ingress address with the port.
	Bind     netip.AddrPort `json:"bind"`
	Balance  Balance        `json:"balance"`
	Check    HealthCheck    `json:"check"`
	Backends []Backend      `json:"backends"`
	// Internal frontends (machine-config, 22623) must not be reachable from
	// outside the cluster network: the MCS hands out node configs.
	Internal bool `json:"internal,omitempty"`
}

// LoadBalancer is the TCP (layer 4, passthrough) load balancer of a plan.
type LoadBalancer struct {
	Frontends []Frontend `json:"frontends"`
}

// LoadBalancer returns the plan's load balancer: 6443 (/readyz check) and
// 22623 (TCP check) to the bootstrap and masters, 80 and 443 (TCP check) to
// the workers, or to the masters when there are no workers (compact
// clusters schedule routers on masters). WithoutBootstrap().LoadBalancer()
// is the pool after bootstrap removal.
func (p *Plan) LoadBalancer() LoadBalancer {
	var control, routers []Node
	for _, n := range p.Nodes {
		switch n.Role {
		case RoleBootstrap, RoleMaster:
			control = append(control, n)
		case RoleWorker:
			routers = append(routers, n)
		}
	}
	if len(routers) == 0 {
		routers = p.NodesWithRole(RoleMaster)
	}
	pool := func(nodes []Node, port uint16) []Backend {
		out := make([]Backend, len(nodes))
		for i, n := range nodes {
			out[i] = Backend{Name: n.Name, Addr: netip.AddrPortFrom(n.IP, port), Backup: n.Role == RoleBootstrap}
		}
		return out
	}
	check := func(k CheckKind, path string) HealthCheck {
		return HealthCheck{Kind: k, Path: path, Interval: 5 * time.Second, Rise: 2, Fall: 3}
	}
	return LoadBalancer{Frontends: []Frontend{
		{Name: "api", Bind: netip.AddrPortFrom(p.API, PortAPI), Balance: BalanceRoundRobin,
			Check: check(CheckHTTPS, "/readyz"), Backends: pool(control, PortAPI)},
		{Name: "machine-config", Bind: netip.AddrPortFrom(p.API, PortMachineConfig), Balance: BalanceRoundRobin,
			Check: check(CheckTCP, ""), Backends: pool(control, PortMachineConfig), Internal: true},
		{Name: "ingress-http", Bind: netip.AddrPortFrom(p.Ingress, PortHTTP), Balance: BalanceSource,
			Check: check(CheckTCP, ""), Backends: pool(routers, PortHTTP)},
		{Name: "ingress-https", Bind: netip.AddrPortFrom(p.Ingress, PortHTTPS), Balance: BalanceSource,
			Check: check(CheckTCP, ""), Backends: pool(routers, PortHTTPS)},
	}}
}
