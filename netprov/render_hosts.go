package netprov

import "strings"

// WellKnownAppHosts are the *.apps names an operator's browser and `oc
// login` need. /etc/hosts has no wildcards, so RenderHosts lists these
// instead of *.apps; any other route must be added by hand.
var WellKnownAppHosts = []string{
	"console-openshift-console",
	"oauth-openshift",
	"downloads-openshift-console",
	"canary-openshift-ingress-canary",
	"default-route-openshift-image-registry",
}

// RenderHosts returns /etc/hosts lines for the cluster: api and api-int,
// every node (FQDN and short name) and WellKnownAppHosts under apps. It is
// the fallback for a workstation that cannot use the cluster's DNS; it
// cannot replace it, because /etc/hosts has no wildcard for *.apps (the
// output says so in a comment) and nodes need real DNS.
func (p *Plan) RenderHosts() []byte {
	var b strings.Builder
	b.Grow(256 + 64*len(p.Nodes))
	p.header(&b, "#", "/etc/hosts entries")
	b.WriteString("# /etc/hosts cannot hold the wildcard *.apps." + p.Domain + " -> " + p.Ingress.String() + ":\n")
	b.WriteString("# only the routes listed below resolve; add any other route by hand.\n")
	b.WriteString(p.API.String() + "\tapi." + p.Domain + " api-int." + p.Domain + "\n")
	b.WriteString(p.Ingress.String() + "\t")
	sep := ""
	for _, h := range WellKnownAppHosts {
		b.WriteString(sep + h + ".apps." + p.Domain)
		sep = " "
	}
	b.WriteString("\n")
	for _, n := range p.Nodes {
		b.WriteString(n.IP.String() + "\t" + n.FQDN + " " + n.Name)
		if n.Role == RoleBootstrap && n.Name != "bootstrap" {
			b.WriteString(" bootstrap." + p.Domain)
		}
		b.WriteString("\n")
	}
	return []byte(b.String())
}
