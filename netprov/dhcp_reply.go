package netprov

import (
	"net"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/rfc1035label"
)

// Reply decides what the server answers to req and builds the answer; nil
// means stay silent. It is the whole protocol logic of the server, without
// sockets, so tests and fuzzing call it directly.
//
// The server only serves reservations (RFC 2131 with a fixed table):
//   - DISCOVER from a reserved MAC gets an OFFER of its address; an unknown
//     MAC gets nothing (and a log line), so a second DHCP server on the link
//     (libvirt's own) can still serve it.
//   - REQUEST naming another server identifier is ignored (the client chose
//     that server). For a reserved MAC, a request for its address is ACKed
//     and a request for any other address NAKed. An unknown MAC that names
//     us is NAKed; one that does not (INIT-REBOOT) gets silence, as §4.3.2
//     requires of a server with no record of the client.
//   - RELEASE and DECLINE update the lease table and are not answered.
//   - INFORM from a reserved MAC gets an ACK with the options, no lease.
func (s *DHCPServer) Reply(req *dhcpv4.DHCPv4) *dhcpv4.DHCPv4 {
	if req == nil || req.OpCode != dhcpv4.OpcodeBootRequest {
		s.stats.ignored.Add(1)
		return nil
	}
	s.stats.received.Add(1)
	mt := req.MessageType()
	idx := s.res.Load()
	var res *Reservation
	if k, ok := macKey(req.ClientHWAddr); ok {
		res = idx.byMAC[k]
	}
	sid := req.ServerIdentifier()
	forUs := sid == nil || sid.Equal(s.serverID)
	now := s.cfg.now()

	switch mt {
	case dhcpv4.MessageTypeDiscover:
		s.stats.discovers.Add(1)
		if res == nil {
			s.unknown(req)
			return nil
		}
		s.leases.set(res, LeaseOffered, now)
		s.stats.offers.Add(1)
		return s.build(req, idx, res, dhcpv4.MessageTypeOffer)

	case dhcpv4.MessageTypeRequest:
		s.stats.requests.Add(1)
		if !forUs {
			s.stats.ignored.Add(1)
			return nil
		}
		want := req.RequestedIPAddress() // SELECTING, INIT-REBOOT
		if want == nil || want.IsUnspecified() {
			want = req.ClientIPAddr // RENEWING, REBINDING
		}
		if res == nil {
			s.unknown(req)
			if sid == nil {
				return nil
			}
			return s.nak(req, "no reservation for this MAC")
		}
		if want == nil || want.IsUnspecified() || !want.Equal(net.IP(res.IP.AsSlice())) {
			s.cfg.logger.Info("dhcp NAK: address not reserved for this MAC",
				"mac", req.ClientHWAddr.String(), "requested", ipString(want), "reserved", res.IP.String())
			return s.nak(req, "requested address is not reserved for this MAC")
		}
		s.leases.set(res, LeaseBound, now)
		s.stats.acks.Add(1)
		return s.build(req, idx, res, dhcpv4.MessageTypeAck)

	case dhcpv4.MessageTypeRelease:
		s.stats.releases.Add(1)
		if res != nil && forUs && req.ClientIPAddr.Equal(net.IP(res.IP.AsSlice())) {
			s.leases.set(res, LeaseReleased, now)
		}
		return nil

	case dhcpv4.MessageTypeDecline:
		s.stats.declines.Add(1)
		if res != nil && forUs {
			// Someone else answers ARP for the reserved address: a
			// misconfigured host or a second cluster on the same network.
			s.cfg.logger.Warn("dhcp DECLINE: reserved address is in use by another host",
				"mac", req.ClientHWAddr.String(), "ip", res.IP.String())
			s.leases.set(res, LeaseDeclined, now)
		}
		return nil

	case dhcpv4.MessageTypeInform:
		s.stats.informs.Add(1)
		if res == nil {
			s.unknown(req)
			return nil
		}
		s.stats.acks.Add(1)
		return s.build(req, idx, res, dhcpv4.MessageTypeInform)
	}
	s.stats.ignored.Add(1)
	return nil
}

func (s *DHCPServer) unknown(req *dhcpv4.DHCPv4) {
	s.stats.unknown.Add(1)
	s.cfg.logger.Info("dhcp: no reservation for this MAC, not answering",
		"mac", req.ClientHWAddr.String(), "type", req.MessageType().String())
}

func ipString(ip net.IP) string {
	if ip == nil {
		return "none"
	}
	return ip.String()
}

// base is the reply skeleton of RFC 2131 §4.3.1 table 3: xid, flags,
// giaddr and chaddr from the request, plus the relay agent information
// (RFC 3046) and client identifier (RFC 6842) echoed back.
func (s *DHCPServer) base(req *dhcpv4.DHCPv4, mt dhcpv4.MessageType) *dhcpv4.DHCPv4 {
	resp := &dhcpv4.DHCPv4{
		OpCode:        dhcpv4.OpcodeBootReply,
		HWType:        req.HWType,
		TransactionID: req.TransactionID,
		Flags:         req.Flags,
		ClientIPAddr:  net.IPv4zero,
		YourIPAddr:    net.IPv4zero,
		ServerIPAddr:  net.IPv4zero,
		GatewayIPAddr: req.GatewayIPAddr,
		ClientHWAddr:  req.ClientHWAddr,
		Options:       make(dhcpv4.Options, 16),
	}
	if resp.GatewayIPAddr == nil {
		resp.GatewayIPAddr = net.IPv4zero
	}
	resp.UpdateOption(dhcpv4.OptMessageType(mt))
	resp.UpdateOption(dhcpv4.OptServerIdentifier(s.serverID))
	for _, code := range []dhcpv4.OptionCode{dhcpv4.OptionRelayAgentInformation, dhcpv4.OptionClientIdentifier} {
		if v := req.Options.Get(code); v != nil {
			resp.Options.Update(dhcpv4.OptGeneric(code, v))
		}
	}
	return resp
}

func (s *DHCPServer) nak(req *dhcpv4.DHCPv4, why string) *dhcpv4.DHCPv4 {
	s.stats.naks.Add(1)
	resp := s.base(req, dhcpv4.MessageTypeNak)
	resp.UpdateOption(dhcpv4.OptMessage(why))
	// RFC 2131 §4.1: a NAK goes to every client on the link when there is
	// no relay, because the client may hold no usable address.
	resp.SetBroadcast()
	return resp
}

// build makes an OFFER or ACK for res. mt INFORM means an ACK to INFORM:
// options only, no address or lease (RFC 2131 §4.3.5). The option values
// were encoded once when the reservations were set (replyOptions).
func (s *DHCPServer) build(req *dhcpv4.DHCPv4, idx *reservationIndex, res *Reservation, mt dhcpv4.MessageType) *dhcpv4.DHCPv4 {
	inform := mt == dhcpv4.MessageTypeInform
	if inform {
		mt = dhcpv4.MessageTypeAck
	}
	resp := s.base(req, mt)
	if inform {
		resp.ClientIPAddr = req.ClientIPAddr
	} else {
		resp.YourIPAddr = net.IP(res.IP.AsSlice())
		if mt == dhcpv4.MessageTypeAck && req.ClientIPAddr != nil && !req.ClientIPAddr.IsUnspecified() {
			resp.ClientIPAddr = req.ClientIPAddr
		}
	}
	k, _ := macKey(res.MAC)
	for code, v := range idx.opts[k] { // the same index res came from
		if inform && leaseOption(code) {
			continue
		}
		resp.Options[code] = v // shared, read-only: Marshal only reads it
	}
	return resp
}

func leaseOption(code uint8) bool {
	switch code {
	case dhcpv4.OptionIPAddressLeaseTime.Code(), dhcpv4.OptionRenewTimeValue.Code(), dhcpv4.OptionRebindingTimeValue.Code():
		return true
	}
	return false
}

// replyOptions encodes the options every reply to r carries.
func replyOptions(r *Reservation) dhcpv4.Options {
	o := make(dhcpv4.Options, 10)
	lt := r.LeaseTime
	o.Update(dhcpv4.OptIPAddressLeaseTime(lt))
	// T1/T2 at the RFC 2131 §4.4.5 defaults, sent explicitly so every
	// client renews at the same points.
	o.Update(dhcpv4.OptRenewTimeValue(lt / 2))
	o.Update(dhcpv4.OptRebindingTimeValue(lt * 7 / 8 / time.Second * time.Second))
	o.Update(dhcpv4.OptSubnetMask(net.CIDRMask(r.Prefix, 32)))
	if r.Router.IsValid() {
		o.Update(dhcpv4.OptRouter(net.IP(r.Router.AsSlice())))
	}
	if len(r.DNS) > 0 {
		dns := make([]net.IP, len(r.DNS))
		for i, d := range r.DNS {
			dns[i] = net.IP(d.AsSlice())
		}
		o.Update(dhcpv4.OptDNS(dns...))
	}
	if r.Domain != "" {
		o.Update(dhcpv4.OptDomainName(r.Domain))
		o.Update(dhcpv4.OptDomainSearch(&rfc1035label.Labels{Labels: []string{r.Domain}}))
	}
	if r.Hostname != "" {
		o.Update(dhcpv4.OptHostName(r.Hostname))
	}
	return o
}

// replyAddr is where a reply goes (RFC 2131 §4.1): to the relay when there
// is one, to the sender when it has a usable address (a renewing client, or
// a test client on loopback), else broadcast to the client port, because
// unicasting to yiaddr would need an ARP entry the client cannot answer yet.
func replyAddr(req *dhcpv4.DHCPv4, peer net.Addr) net.Addr {
	if req.GatewayIPAddr != nil && !req.GatewayIPAddr.IsUnspecified() {
		return &net.UDPAddr{IP: req.GatewayIPAddr, Port: dhcpv4.ServerPort}
	}
	if u, ok := peer.(*net.UDPAddr); ok && u.IP != nil && !u.IP.IsUnspecified() && !u.IP.Equal(net.IPv4bcast) {
		return u
	}
	return &net.UDPAddr{IP: net.IPv4bcast, Port: dhcpv4.ClientPort}
}
