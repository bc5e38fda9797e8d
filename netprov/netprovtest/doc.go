// Package netprovtest helps test code that uses netprov, in the spirit of
// net/http/httptest: fakes that speak the real protocol, so production code
// runs unchanged.
//
//   - DNSProvider and DHCPProvider are in-memory providers that record every
//     change, validate it exactly as the embedded servers do, and answer
//     lookups through the servers' own resolution logic.
//   - NewDNSServer and NewDHCPServer start the embedded servers on loopback
//     for one test and stop them at cleanup; the DHCP server runs on a
//     loopback UDP port (no root, no broadcast), which nclient4 can reach with
//     Client.
package netprovtest
