package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// logger prints the way openshift-install's logrus setup does: stderr in
// TextFormatter{DisableTimestamp, DisableLevelTruncation, DisableQuote,
// ForceColors: isatty} at the --log-level, and <dir>/.openshift_install.log
// at trace level with time= and quoted messages.
type logger struct {
	w      io.Writer
	format string
	min    int
	file   *os.File
	now    func() time.Time
}

var levelRank = map[string]int{"trace": 0, "debug": 1, "info": 2, "warning": 3, "error": 4, "fatal": 5}

// ANSI colours logrus uses per level.
var levelColor = map[string]int{"trace": 37, "debug": 37, "info": 36, "warning": 33, "error": 31, "fatal": 31}

func newLogger(w io.Writer, format, level, file string, now func() time.Time) *logger {
	rank, ok := levelRank[level]
	if !ok {
		rank = levelRank["info"]
	}
	l := &logger{w: w, format: format, min: rank, now: now}
	if fh, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o640); err == nil {
		l.file = fh
	}
	return l
}

func (l *logger) close() {
	if l.file != nil {
		l.file.Close()
	}
}

func (l *logger) emit(level, msg string) {
	// logrus splits nothing, but the installer logs multi-line messages
	// line by line; keep one line per log entry.
	for _, line := range strings.Split(msg, "\n") {
		if l.file != nil {
			fmt.Fprintf(l.file, "time=%q level=%s msg=%s\n", l.now().UTC().Format(time.RFC3339), level, strconv.Quote(line))
		}
		if levelRank[level] < l.min {
			continue
		}
		switch l.format {
		case "tty":
			// Coloured level, reset, message padded to 44 columns.
			fmt.Fprintf(l.w, "\x1b[%dm%s\x1b[0m %-44s\n", levelColor[level], strings.ToUpper(level), line)
		case "quoted":
			fmt.Fprintf(l.w, "level=%s msg=%s\n", level, strconv.Quote(line))
		default:
			fmt.Fprintf(l.w, "level=%s msg=%s\n", level, line)
		}
	}
}

func (l *logger) debug(m string)            { l.emit("debug", m) }
func (l *logger) info(m string)             { l.emit("info", m) }
func (l *logger) warn(m string)             { l.emit("warning", m) }
func (l *logger) errorf(f string, a ...any) { l.emit("error", fmt.Sprintf(f, a...)) }
func (l *logger) fatal(m string)            { l.emit("fatal", m) }
func (l *logger) infof(f string, a ...any)  { l.emit("info", fmt.Sprintf(f, a...)) }
func (l *logger) debugf(f string, a ...any) { l.emit("debug", fmt.Sprintf(f, a...)) }
