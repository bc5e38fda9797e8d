package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestHelpDocumentsFlags(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"-h"}, &out, &errOut); code != 0 {
		t.Fatalf("-h exit %d", code)
	}
	for _, want := range []string{"Usage:", "-add-workers", "-destroy", "-uri", "-network", "resumes"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("-h output lacks %q:\n%s", want, errOut.String())
		}
	}
}

// TestInstallRerunDestroy runs the example on fakes: install, a rerun that
// finds the cluster installed, and -destroy that leaves nothing.
func TestInstallRerunDestroy(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the fake installer and runs a whole install")
	}
	dir := t.TempDir()
	steps := []struct {
		args []string
		want string
	}{
		{nil, "Install complete in"},
		{nil, "Cluster lab was already installed (nothing to do"},
		{[]string{"-add-workers", "1"}, "added 1 workers"},
		{[]string{"-destroy"}, "domains: 0, volumes: 0, network present: false"},
	}
	for _, s := range steps {
		var out, errOut bytes.Buffer
		args := append([]string{"-dir", dir}, s.args...)
		if code := run(args, &out, &errOut); code != 0 {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, out.String(), errOut.String())
		}
		if !strings.Contains(out.String(), s.want) {
			t.Errorf("%v: output lacks %q:\n%s", args, s.want, out.String())
		}
	}
}
