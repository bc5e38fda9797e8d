// Command fake-openshift-install behaves like openshift-install for the
// commands okvm's Runner drives, without a cluster: it reads the
// install-config, writes the installer's artifacts (manifests, real
// Ignition configs with x509 certificates from ignitiontest, metadata.json,
// auth/…), and prints the installer's log lines in either of its formats,
// with scripted timing, failures and exit codes. Tests build it with
// okdtest.BuildFakeInstaller.
//
// Behaviour is scripted by environment variables, overridden by
// <dir>/.fake/script.json (same names, lower camel case):
//
//	OKVM_FAKE_SPEED       simulated seconds per real second (default 6000)
//	OKVM_FAKE_LOG_FORMAT  logfmt (level=info msg=…, default), quoted
//	                      (msg="…", older releases) or tty (INFO …, ANSI)
//	OKVM_FAKE_FAIL        "wait-for bootstrap-complete=5,create manifests=3"
//	OKVM_FAKE_WAIT        delay (default) or file: waits end when the test
//	                      creates <dir>/.fake/{api-up,bootstrap-complete,
//	                      install-complete} (or …-failed files, whose
//	                      content is the error)
//	OKVM_FAKE_RELEASE     the version printed (default 4.19.0-okd-scos.1)
//	OKVM_FAKE_STREAM      scos (qcow2.gz, default) or fcos (qcow2.xz)
//	OKVM_FAKE_STREAM_FILE a stream JSON to print instead
//	OKVM_FAKE_PASSWORD    the kubeadmin password (default: random)
//
// Every invocation is appended to <dir>/.fake/invocations.log.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Exit codes of openshift-install (cmd/openshift-install: iota + 3).
const (
	exitGeneric           = 1
	exitInstallConfig     = 3
	exitInfrastructure    = 4
	exitBootstrap         = 5
	exitInstall           = 6
	exitOperatorStability = 7
	exitInterrupt         = 8
)

type args struct {
	command   string
	dir       string
	logLevel  string
	bootstrap string
	masters   []string
	key       string
}

func parseArgs(in []string) (*args, error) {
	a := &args{dir: ".", logLevel: "info"}
	var cmd []string
	for i := 0; i < len(in); i++ {
		s := in[i]
		if !strings.HasPrefix(s, "-") {
			cmd = append(cmd, s)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(s, "-"), "=")
		if !hasVal {
			if i+1 >= len(in) {
				return nil, fmt.Errorf("flag needs an argument: --%s", name)
			}
			i++
			val = in[i]
		}
		switch name {
		case "dir":
			a.dir = val
		case "log-level":
			a.logLevel = val
		case "bootstrap":
			a.bootstrap = val
		case "master":
			a.masters = append(a.masters, val)
		case "key":
			a.key = val
		default:
			return nil, fmt.Errorf("unknown flag: --%s", name)
		}
	}
	a.command = strings.Join(cmd, " ")
	return a, nil
}

func main() {
	a, err := parseArgs(os.Args[1:])
	if err != nil {
		// cobra's form
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		os.Exit(exitGeneric)
	}
	f, err := newFake(a)
	if err != nil {
		fmt.Fprintf(os.Stderr, "level=fatal msg=%v\n", err)
		os.Exit(exitGeneric)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		f.log.warn("Received interrupt signal")
		f.close()
		os.Exit(exitInterrupt)
	}()
	code := f.run()
	f.close()
	os.Exit(code)
}
