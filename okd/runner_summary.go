package okd

import (
	"strings"
	"time"
)

// InstallSummary is what `wait-for install-complete` prints at the end.
type InstallSummary struct {
	// ConsoleURL: "Access the OpenShift web-console here: <url>".
	ConsoleURL string `json:"consoleURL,omitempty"`
	// Kubeconfig: "export KUBECONFIG=<path>".
	Kubeconfig string `json:"kubeconfig,omitempty"`
	// User and Password from the "Login to the console" line. Password
	// redacts itself; prefer reading auth/kubeadmin-password when needed.
	User     string `json:"user,omitempty"`
	Password Secret `json:"password,omitempty"`
	// Elapsed: "Time elapsed: 25m3s".
	Elapsed time.Duration `json:"elapsed,omitempty"`
}

// observe reads summary lines. It takes the raw (unredacted) message,
// because the password is on the login line; callers only ever log the
// redacted one.
func (s *InstallSummary) observe(raw string) {
	switch {
	case strings.HasPrefix(raw, "Access the OpenShift web-console here: "):
		s.ConsoleURL = strings.TrimSpace(raw[len("Access the OpenShift web-console here: "):])
	case strings.HasPrefix(strings.TrimSpace(raw), "export KUBECONFIG="):
		s.Kubeconfig = strings.TrimSpace(strings.TrimSpace(raw)[len("export KUBECONFIG="):])
	case strings.HasPrefix(raw, loginMarker):
		rest := raw[len(loginMarker):]
		if i := strings.IndexByte(rest, '"'); i >= 0 {
			if j := strings.IndexByte(rest[i+1:], '"'); j >= 0 {
				s.User = rest[i+1 : i+1+j]
			}
		}
		if _, pw := redactLoginLine(raw); pw != "" {
			s.Password = Secret(pw)
		}
	case strings.HasPrefix(raw, "Time elapsed: "):
		if d, err := time.ParseDuration(strings.TrimSpace(raw[len("Time elapsed: "):])); err == nil {
			s.Elapsed = d
		}
	}
}
