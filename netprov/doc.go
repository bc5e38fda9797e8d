// Package netprov plans and provides a cluster's network services: DNS
// records, addresses (IPAM), DHCP reservations and the load balancer layout
// an OKD user-provisioned install needs, and delivers them.
//
// # One plan, three delivery paths
//
// The records an OKD install needs are few and fixed (api, api-int, *.apps,
// every node, PTRs), yet they are what installs trip on most: a missing
// *.apps wildcard breaks the console and OAuth, an api-int that the
// initramfs cannot resolve stalls every node at :22623, a missing PTR
// gives a node the wrong name. The fix is not a better template per tool
// but one source of truth: a [Plan], built by [NewPlan] from a [PlanSpec],
// from which every path takes the same values:
//
//   - the libvirt network's own dnsmasq: [Plan.LibvirtNetwork] (<dns><host>,
//     <dhcp><host>, and the *.apps wildcard as a <dnsmasq:options> address=
//     line, since libvirt's XML has no wildcard element);
//   - okvm's embedded DNS and DHCP servers, which serve [Plan.Zones] (miekg/dns
//     records as they are) and [Plan.Reservations];
//   - rendered configuration for the team's existing servers: BIND zone files
//     ([Plan.RenderBIND], [RenderBINDZone], [Plan.RenderBINDConf]), dnsmasq
//     ([Plan.RenderDnsmasq]), Kea ([Plan.RenderKea]), ISC dhcpd
//     ([Plan.RenderDhcpd]), HAProxy ([Plan.RenderHAProxy]) and /etc/hosts
//     ([Plan.RenderHosts]).
//
// Because all of them read one Plan, switching paths (a lab on libvirt's
// dnsmasq, production on the corporate BIND) changes no address or name.
// Each renderer's output is checked by the program that reads it
// (named-checkzone, named-checkconf, dnsmasq --test, kea-dhcp4 -t, dhcpd -t,
// haproxy -c) and, in test-made network namespaces, run: dnsmasq answers
// dig; dnsmasq, Kea and dhcpd hand ISC dhclient its reserved lease across a
// veth; haproxy routes to the right pools and drops an API server failing
// /readyz within 30 s. The libvirt network is started in a real libvirtd
// and its dnsmasq queried with dig.
//
// # Planning
//
// [NewPlan] validates the spec (errors name the field and value; a value
// claimed twice is a [*ConflictError] naming both parties; everything
// unwraps to [ErrInvalidPlan]) and assigns addresses to nodes that have none.
// IPAM is deterministic and ignores input order: nodes sorted by role
// (bootstrap, masters, workers) then by name, numbers compared as numbers,
// each taking the lowest free address from AllocationStart on. The gateway,
// DNS servers, API and ingress addresses, reserved addresses and pinned node
// IPs are never handed out. Adding workers that sort last moves nobody; pin
// addresses to freeze them for good.
//
// The reverse zone is the in-addr.arpa zone of the machine network rounded
// out to an octet boundary (a /26 lives in its /24's zone, a /20 in its
// /16's): reverse zones are delegated per octet, and a cluster rarely owns a
// classless delegation. *.apps has no PTR (a wildcard has no single name).
//
// The load balancer ([Plan.LoadBalancer]) follows the OpenShift UPI docs:
// 6443 (GET /readyz over TLS) and 22623 (TCP) to the bootstrap and masters,
// 80 and 443 to the workers, or to the masters when there are none. The
// bootstrap is a backup server, and [Plan.WithoutBootstrap] gives the plan
// after bootstrap removal (no bootstrap backend, record or reservation; the
// zone serial one higher), to apply as soon as bootstrap-complete holds.
//
// # What the paths cannot do
//
// /etc/hosts has no wildcards, so [Plan.RenderHosts] lists
// [WellKnownAppHosts] under apps instead of *.apps and says so in the file;
// any other route needs a real DNS path. dnsmasq (and so libvirt) sends the
// node's short name as DHCP option 12 with the domain in option 15, while
// Kea, dhcpd and the embedded server send the FQDN of Reservation.Hostname.
// IPv6 is designed for (netip everywhere, AAAA chosen by address family) but
// refused by validation today.
package netprov
