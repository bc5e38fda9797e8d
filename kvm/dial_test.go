package kvm

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseURI(t *testing.T) {
	cases := []struct {
		uri, transport, socket, host, port, driver string
	}{
		{"qemu+unix:///system?socket=/tmp/s", "unix", "/tmp/s", "", "", "qemu:///system"},
		{"test+unix:///default?socket=/run/x/libvirt-sock", "unix", "/run/x/libvirt-sock", "", "", "test:///default"},
		{"qemu+tcp://hv1/system", "tcp", "", "hv1", "", "qemu:///system"},
		{"qemu+tcp://hv1:1234/system", "tcp", "", "hv1", "1234", "qemu:///system"},
		{"qemu+tls://hv1.example.com/system?pkipath=/etc/pki/x&no_verify=1", "tls", "", "hv1.example.com", "", "qemu:///system"},
		{"qemu://hv1/system", "tls", "", "hv1", "", "qemu:///system"}, // host without transport: TLS, as libvirt does
		{"qemu+ssh://core@hv1:2222/system?keyfile=/k&socket=/var/run/libvirt/virtqemud-sock", "ssh", "/var/run/libvirt/virtqemud-sock", "hv1", "2222", "qemu:///system"},
		{"qemu+libssh2://hv1/system", "libssh2", "", "hv1", "", "qemu:///system"},
		{"qemu+unix:///system?socket=/s&name=qemu:///embed", "unix", "/s", "", "", "qemu:///embed"},
	}
	for _, tc := range cases {
		tg, err := parseURI(tc.uri)
		if err != nil {
			t.Errorf("%s: %v", tc.uri, err)
			continue
		}
		if tg.transport != tc.transport || tg.socket != tc.socket || tg.host != tc.host || tg.port != tc.port || tg.driverURI != tc.driver {
			t.Errorf("%s: got transport=%s socket=%s host=%s port=%s driver=%s", tc.uri, tg.transport, tg.socket, tg.host, tg.port, tg.driverURI)
		}
	}
}

func TestParseURISystemSocketDefault(t *testing.T) {
	tg, err := parseURI("qemu:///system")
	if err != nil {
		t.Fatal(err)
	}
	if tg.transport != "unix" || tg.driverURI != "qemu:///system" {
		t.Fatalf("got %+v", tg)
	}
	if tg.socket != systemSockets[0] && tg.socket != systemSockets[1] {
		t.Fatalf("socket %s, want one of %v", tg.socket, systemSockets)
	}
}

func TestParseURISession(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", dir)
	_, err := parseURI("qemu:///session")
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "libvirt", "libvirt-sock")) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("absent session daemon: err = %v, want one naming the socket path", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "libvirt"), 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "libvirt", "libvirt-sock")
	if err := os.WriteFile(sock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tg, err := parseURI("qemu:///session")
	if err != nil {
		t.Fatal(err)
	}
	if tg.socket != sock || tg.driverURI != "qemu:///session" {
		t.Fatalf("got socket %s driver %s", tg.socket, tg.driverURI)
	}
}

func TestParseURIRejects(t *testing.T) {
	for _, uri := range []string{
		"", "/var/run/libvirt/libvirt-sock", "vmware:///system", "qemu+udp:///system",
		"qemu+tcp:///system", "qemu+unix://host/system", "qemu://", "qemu+unix:///system?mode=direct",
		"qemu+tls://h/system?no_verify=yes",
	} {
		_, err := parseURI(uri)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "uri" {
			t.Errorf("%q: err = %v, want a FieldError on uri", uri, err)
		}
	}
}
