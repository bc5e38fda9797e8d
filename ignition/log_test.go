package ignition_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/okvm/okvm/ignition"
	"github.com/okvm/okvm/ignition/ignitiontest"
)

// TestLoggingNeverShowsContents: debug logging reports decisions, never
// file contents (bootstrap configs carry private keys).
func TestLoggingNeverShowsContents(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	raw, err := ignitiontest.Bootstrap(ignitiontest.BootstrapOptions{Seed: 4, Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	const secret = "s3cr3t-value-that-must-not-leak"
	res, err := ignition.PatchConfig(raw, []ignition.Patch{
		ignition.File{Path: "/etc/secret", Mode: 0o600, Contents: []byte(secret)},
		ignition.KernelArguments{Add: []string{"console=ttyS0"}},
	}, ignition.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "translated config to a newer spec") || !strings.Contains(out, "parsed config") {
		t.Errorf("expected parse and translation to be logged, got:\n%s", out)
	}
	if strings.Contains(out, secret) || strings.Contains(out, "PRIVATE KEY") || strings.Contains(out, "data:") {
		t.Errorf("log shows file contents:\n%s", out)
	}
	if !bytes.Contains(res.JSON, []byte("/etc/secret")) {
		t.Error("patch not applied")
	}
}

func TestZeroConfig(t *testing.T) {
	var c ignition.Config
	if _, err := c.Marshal(); err == nil {
		t.Error("Marshal of a zero Config succeeded")
	}
}
