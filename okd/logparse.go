package okd

import (
	"strconv"
	"strings"
	"time"
)

// Level is a log line's severity, as logrus names it.
type Level string

const (
	LevelTrace   Level = "trace"
	LevelDebug   Level = "debug"
	LevelInfo    Level = "info"
	LevelWarning Level = "warning"
	LevelError   Level = "error"
	LevelFatal   Level = "fatal"
	// LevelOutput marks a line that is not a log entry (a tool's raw
	// output, a continuation line).
	LevelOutput Level = "output"
)

// Stage is where an install is, read from the installer's messages.
type Stage string

const (
	StageUnknown           Stage = ""
	StageManifests         Stage = "manifests"          // create manifests
	StageIgnitionConfigs   Stage = "ignition-configs"   // create ignition-configs
	StageKubeAPI           Stage = "kube-api"           // waiting for the API
	StageBootstrap         Stage = "bootstrap"          // waiting for bootstrapping
	StageBootstrapEtcd     Stage = "bootstrap-etcd"     // waiting for the bootstrap etcd member removal
	StageBootstrapComplete Stage = "bootstrap-complete" // safe to remove the bootstrap
	StageClusterInit       Stage = "cluster-init"       // waiting for the cluster to initialize
	StageOperators         Stage = "operators"          // waiting for operators to settle
	StageConsole           Stage = "console"            // checking the console route
	StageInstallComplete   Stage = "install-complete"   // Install complete!
	StageGather            Stage = "gather"             // gather bootstrap
	StageFailed            Stage = "failed"             // a wait failed
)

// Event is one installer log line, parsed. Message is redacted.
type Event struct {
	// Command is the installer command that printed it, e.g.
	// "wait-for bootstrap-complete".
	Command string
	Stage   Stage
	Level   Level
	Message string
	// Deadline is set on "Waiting up to 20m0s (until 3:04PM UTC) for …"
	// lines: when the installer will give up on this stage.
	Deadline time.Time
	// Time is when the line was read (or its time= field, when present).
	Time time.Time
}

// LogParser turns installer output into Events. It carries the current
// stage from line to line, so use one per command run. Not safe for
// concurrent use.
type LogParser struct {
	Command string
	stage   Stage
	now     func() time.Time
}

// NewLogParser returns a parser for one command's output; now stamps
// events (nil: time.Now).
func NewLogParser(command string, now func() time.Time) *LogParser {
	if now == nil {
		now = time.Now
	}
	p := &LogParser{Command: command, now: now}
	switch {
	case strings.HasPrefix(command, "create manifests"):
		p.stage = StageManifests
	case strings.HasPrefix(command, "create ignition-configs"):
		p.stage = StageIgnitionConfigs
	case strings.HasPrefix(command, "gather"):
		p.stage = StageGather
	}
	return p
}

// Stage is the stage the last parsed line left the command in.
func (p *LogParser) Stage() Stage { return p.stage }

// Parse parses one line (without its newline). It does not redact: the
// Runner redacts the line before it gets here.
func (p *LogParser) Parse(line string) Event {
	ev := ParseLine(line)
	if ev.Time.IsZero() {
		ev.Time = p.now()
	}
	ev.Command = p.Command
	if st, d, ok := stageOf(ev.Message); ok {
		p.stage = st
		if d > 0 {
			ev.Deadline = ev.Time.Add(d)
		}
	}
	if ev.Level == LevelFatal || (ev.Level == LevelError && isWaitFailure(ev.Message)) {
		p.stage = StageFailed
	}
	ev.Stage = p.stage
	return ev
}

// ParseLine parses one line in any of openshift-install's formats, without
// stage tracking:
//
//	level=info msg=Consuming Install Config from target directory
//	level=info msg="Consuming Install Config from target directory"
//	time="2024-05-01T10:00:00Z" level=debug msg="Still waiting…"
//	INFO Consuming Install Config from target directory
//	\x1b[36mINFO\x1b[0m Consuming Install Config…   (TTY, padded)
//
// A line in none of them comes back with LevelOutput and the line as its
// message. It is written by hand, not as a regexp: it runs on every line of
// a debug-level install and must not be what makes logging slow.
func ParseLine(line string) Event {
	line = strings.TrimRight(line, "\r\n")
	if strings.HasPrefix(line, "level=") || strings.HasPrefix(line, "time=") {
		if ev, ok := parseLogfmt(line); ok {
			return ev
		}
	}
	if ev, ok := parseTTY(line); ok {
		return ev
	}
	return Event{Level: LevelOutput, Message: line}
}

func parseLogfmt(line string) (Event, bool) {
	var ev Event
	rest := line
	if strings.HasPrefix(rest, "time=") {
		v, r, ok := logfmtValue(rest[len("time="):])
		if !ok {
			return ev, false
		}
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			ev.Time = t
		}
		rest = strings.TrimLeft(r, " ")
	}
	if !strings.HasPrefix(rest, "level=") {
		return ev, false
	}
	rest = rest[len("level="):]
	sp := strings.IndexByte(rest, ' ')
	if sp < 0 {
		ev.Level = normLevel(rest)
		return ev, ev.Level != ""
	}
	ev.Level = normLevel(rest[:sp])
	if ev.Level == "" {
		return ev, false
	}
	rest = rest[sp+1:]
	if !strings.HasPrefix(rest, "msg=") {
		ev.Message = rest
		return ev, true
	}
	rest = rest[len("msg="):]
	if len(rest) > 0 && rest[0] == '"' {
		// Quoted (older installers, and the .openshift_install.log file).
		if v, _, ok := logfmtValue(rest); ok {
			ev.Message = v
			return ev, true
		}
	}
	// DisableQuote: the rest of the line is the message.
	ev.Message = rest
	return ev, true
}

// logfmtValue reads a value that may be quoted and returns it and the rest.
func logfmtValue(s string) (val, rest string, ok bool) {
	if s == "" || s[0] != '"' {
		sp := strings.IndexByte(s, ' ')
		if sp < 0 {
			return s, "", true
		}
		return s[:sp], s[sp:], true
	}
	esc := false
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
			esc = true
		case c == '"':
			v := s[1:i]
			if esc {
				u, err := strconv.Unquote(s[:i+1])
				if err != nil {
					return "", "", false
				}
				v = u
			}
			return v, s[i+1:], true
		}
	}
	return "", "", false
}

func normLevel(s string) Level {
	switch s {
	case "info", "INFO":
		return LevelInfo
	case "debug", "DEBUG":
		return LevelDebug
	case "warning", "WARNING", "warn", "WARN":
		return LevelWarning
	case "error", "ERROR":
		return LevelError
	case "fatal", "FATAL", "panic", "PANIC":
		return LevelFatal
	case "trace", "TRACE":
		return LevelTrace
	}
	return ""
}

// parseTTY reads logrus' coloured/TTY form: an optional ANSI colour, the
// upper-case level, an optional reset and "[0000]" timestamp, spaces, and
// the message padded to 44 columns.
func parseTTY(line string) (Event, bool) {
	s := line
	if strings.HasPrefix(s, "\x1b[") {
		m := strings.IndexByte(s, 'm')
		if m < 0 {
			return Event{}, false
		}
		s = s[m+1:]
	}
	end := 0
	for end < len(s) && s[end] >= 'A' && s[end] <= 'Z' {
		end++
	}
	if end == 0 {
		return Event{}, false
	}
	lvl := normLevel(s[:end])
	if lvl == "" {
		return Event{}, false
	}
	s = s[end:]
	if strings.HasPrefix(s, "\x1b[0m") {
		s = s[len("\x1b[0m"):]
	}
	if strings.HasPrefix(s, "[") { // "[0000]" full-timestamp-less counter
		if c := strings.IndexByte(s, ']'); c > 0 {
			s = s[c+1:]
		}
	}
	if s != "" && s[0] != ' ' {
		return Event{}, false // "INFOS…" or "DEBUGGER" is not a level
	}
	return Event{Level: lvl, Message: strings.TrimRight(strings.TrimLeft(s, " "), " ")}, true
}

// stageOf recognises the installer messages that start a stage (texts from
// cmd/openshift-install create.go and command/waitfor.go) and reads the
// "Waiting up to 20m0s" limit. The duration, not the "(until 3:04PM UTC)"
// clock, gives the deadline: it is exact, while the clock has minute
// resolution and a zone abbreviation that may not parse here.
func stageOf(msg string) (Stage, time.Duration, bool) {
	if strings.HasPrefix(msg, "Waiting up to ") {
		d := parseWaitDuration(msg[len("Waiting up to "):])
		switch {
		case strings.Contains(msg, "for the Kubernetes API"):
			return StageKubeAPI, d, true
		case strings.Contains(msg, "for bootstrapping to complete"):
			return StageBootstrap, d, true
		case strings.Contains(msg, "bootstrap etcd member to be removed"):
			return StageBootstrapEtcd, d, true
		case strings.Contains(msg, "to initialize"):
			return StageClusterInit, d, true
		case strings.Contains(msg, "cluster operator has finished progressing"):
			return StageOperators, d, true
		}
		return StageUnknown, d, false
	}
	switch {
	case strings.HasPrefix(msg, "It is now safe to remove the bootstrap resources"):
		return StageBootstrapComplete, 0, true
	case strings.HasPrefix(msg, "Checking to see if there is a route at openshift-console/console"):
		return StageConsole, 0, true
	case strings.HasPrefix(msg, "Install complete!"):
		return StageInstallComplete, 0, true
	case strings.HasPrefix(msg, "Manifests created in:"):
		return StageManifests, 0, true
	case strings.HasPrefix(msg, "Ignition-Configs created in:"):
		return StageIgnitionConfigs, 0, true
	}
	return StageUnknown, 0, false
}

func parseWaitDuration(s string) time.Duration {
	sp := strings.IndexByte(s, ' ')
	if sp < 0 {
		sp = len(s)
	}
	d, err := time.ParseDuration(s[:sp])
	if err != nil {
		return 0
	}
	return d
}

func isWaitFailure(msg string) bool {
	return strings.HasPrefix(msg, "Bootstrap failed to complete") ||
		strings.HasPrefix(msg, "Failed waiting for Kubernetes API") ||
		strings.HasPrefix(msg, "Failed to wait for bootstrapping to complete") ||
		strings.HasPrefix(msg, "failed to initialize the cluster") ||
		strings.HasPrefix(msg, "These cluster operators were not stable")
}
