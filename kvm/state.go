package kvm

import "fmt"

// State is a domain's run state (libvirt's virDomainState, same numbers).
type State int

const (
	StateNoState State = iota
	StateRunning
	StateBlocked
	StatePaused
	StateShutdown // shutting down
	StateShutoff
	StateCrashed
	StatePMSuspended
)

var stateNames = [...]string{"nostate", "running", "blocked", "paused", "shutdown", "shutoff", "crashed", "pmsuspended"}

func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// Active reports whether the domain has a running QEMU process.
func (s State) Active() bool { return s != StateShutoff && s != StateNoState && s != StateCrashed }
