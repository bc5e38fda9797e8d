package netprov

import (
	"fmt"
	"net"
	"net/netip"
	"sort"
)

// allocate turns a normalized spec's nodes into planned nodes in plan order,
// giving each node without an IP the lowest free address (see NewPlan for the
// rule and why it is stable).
func allocate(s *PlanSpec) ([]Node, error) {
	nodes := make([]Node, len(s.Nodes))
	for i, n := range s.Nodes {
		mac, _ := net.ParseMAC(n.MAC) // validated by normalize
		nodes[i] = Node{Name: n.Name, Role: n.Role, MAC: mac, IP: n.IP}
	}
	sort.SliceStable(nodes, func(i, j int) bool { return nodeLess(nodes[i], nodes[j]) })

	used := map[netip.Addr]bool{
		s.MachineNetwork.Addr():    true,
		lastAddr(s.MachineNetwork): true,
		s.Gateway:                  true,
		s.APIAddress:               true,
		s.IngressAddress:           true,
	}
	for _, a := range s.DNSServers {
		used[a] = true
	}
	for _, a := range s.Reserved {
		used[a] = true
	}
	for _, n := range nodes {
		if n.IP.IsValid() {
			used[n.IP] = true
		}
	}
	next := s.AllocationStart
	if !next.IsValid() {
		next = s.MachineNetwork.Addr().Next()
	}
	for i := range nodes {
		if nodes[i].IP.IsValid() {
			continue
		}
		for next.IsValid() && s.MachineNetwork.Contains(next) && used[next] {
			next = next.Next()
		}
		if !next.IsValid() || !s.MachineNetwork.Contains(next) {
			return nil, &FieldError{Field: "machineNetwork", Value: s.MachineNetwork.String(),
				Reason: fmt.Sprintf("has no free address left for node %s (after reserved, infrastructure and pinned addresses)", nodes[i].Name)}
		}
		nodes[i].IP, nodes[i].Allocated = next, true
		used[next] = true
	}
	return nodes, nil
}

// nodeLess is plan order: role, then name with digit runs compared as
// numbers, so worker-10 follows worker-9 as a person expects.
func nodeLess(a, b Node) bool {
	if ra, rb := a.Role.rank(), b.Role.rank(); ra != rb {
		return ra < rb
	}
	return naturalLess(a.Name, b.Name)
}

func naturalLess(a, b string) bool {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ca, cb := a[i], b[j]
		if isDigit(ca) && isDigit(cb) {
			si, sj := i, j
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			for j < len(b) && isDigit(b[j]) {
				j++
			}
			na, nb := trimZeros(a[si:i]), trimZeros(b[sj:j])
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			continue
		}
		if ca != cb {
			return ca < cb
		}
		i++
		j++
	}
	if len(a)-i != len(b)-j {
		return len(a)-i < len(b)-j
	}
	return a < b // total order even for "w01" vs "w1"
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func trimZeros(s string) string {
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	return s
}
