package netprov

import "errors"

// Errors of the embedded servers and providers. Every error they return wraps
// one of these (test with errors.Is); bad input also names the field and the
// value that were wrong.
var (
	// ErrInvalidZone: a Zone handed to SetZones or NewDNSServer cannot be
	// served (bad origin, record outside its zone, CNAME next to other data…).
	ErrInvalidZone = errors.New("netprov: invalid zone")
	// ErrInvalidReservation: a Reservation cannot be served (missing MAC or
	// IP, duplicate MAC, prefix out of range…).
	ErrInvalidReservation = errors.New("netprov: invalid reservation")
	// ErrServerConfig: an option or address given to a server is unusable.
	ErrServerConfig = errors.New("netprov: invalid server configuration")
	// ErrServerState: Start on a running server, Shutdown on one never started.
	ErrServerState = errors.New("netprov: server state")
)
