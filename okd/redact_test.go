package okd

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestRedactor(t *testing.T) {
	r := NewRedactor("ab") // too short: ignored
	r.AddPullSecret(`{"auths":{"quay.io":{"auth":"c2VjcmV0dXNlcjpwYXNz"}}}`)
	for in, want := range map[string]string{
		`pull secret {"auths":{"quay.io":{"auth":"c2VjcmV0dXNlcjpwYXNz"}}} here`:               "pull secret <redacted> here",
		`auth c2VjcmV0dXNlcjpwYXNz alone`:                                                      "auth <redacted> alone",
		`Login to the console with user: "kubeadmin", and password: "abcde-fghij-klmno-pqrst"`: `Login to the console with user: "kubeadmin", and password: "<redacted>"`,
		`level=info msg=Login to the console with user: "kubeadmin", and password: "x-y"`:      `level=info msg=Login to the console with user: "kubeadmin", and password: "<redacted>"`,
		`Login to the console with user: "kubeadmin", and password: "unterminated`:             `Login to the console with user: "kubeadmin", and password: "<redacted>`,
		"nothing here ab": "nothing here ab",
	} {
		if got := r.String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
	r.Add("abcde-fghij-klmno-pqrst")
	if got := r.String("echo abcde-fghij-klmno-pqrst"); got != "echo <redacted>" {
		t.Errorf("learned password not redacted: %q", got)
	}
	base := errors.New("boom abcde-fghij-klmno-pqrst")
	err := r.Error(fmt.Errorf("wrap: %w", base))
	if strings.Contains(err.Error(), "klmno") || !errors.Is(err, base) {
		t.Errorf("Error(): %v (is base: %v)", err, errors.Is(err, base))
	}
	var nilR *Redactor
	if nilR.String("x") != "x" {
		t.Error("nil redactor")
	}
}

func TestSecretFormatting(t *testing.T) {
	s := Secret("hunter2-hunter2")
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%s|%v|%q|%x|%d|%#v|%+v|%10s", s, s, s, s, s, s, s, s), s.String(), s.GoString()} {
		if strings.Contains(out, "hunter2") {
			t.Errorf("leak: %s", out)
		}
	}
	b, _ := s.MarshalText()
	if string(b) != RedactedText || s.Reveal() != "hunter2-hunter2" {
		t.Errorf("MarshalText %q", b)
	}
	if Secret("").String() != "" {
		t.Error("empty secret should print empty")
	}
}
