package kvm

import (
	"math/rand"
	"regexp"
	"strings"
	"testing"
)

func TestNameMatchersAgreeWithRegexps(t *testing.T) {
	matchers := []struct {
		name string
		re   *regexp.Regexp
		fn   func(string) bool
	}{
		{"dnsLabel", dnsLabelRE, isDNSLabel},
		{"serial", serialRE, isSerial},
		{"target", targetRE, isTarget},
		{"bridge", bridgeRE, isBridge},
		{"labelKey", labelKeyRE, isLabelKey},
	}
	alphabet := "abcdhsvxyzAZ09-_.:/ \n\x00é\xff"
	fixed := []string{"", "a", "-", "a-", "-a", "vda", "vdaa", "vdaaa", "sdz", "hdab", "xda", "vd", "VDA", "vd1",
		"br0", "virbr0.100", "eth:1", "master-0", "a\n", "k8s.io/role", "/x", ".x", "é", "a\xff",
		strings.Repeat("a", 15), strings.Repeat("a", 16), strings.Repeat("a", 20), strings.Repeat("a", 21),
		strings.Repeat("a", 63), strings.Repeat("a", 64), strings.Repeat("a", 253), strings.Repeat("a", 254)}
	r := rand.New(rand.NewSource(3))
	for _, m := range matchers {
		check := func(s string) {
			if got, want := m.fn(s), m.re.MatchString(s); got != want {
				t.Errorf("%s(%q) = %v, regexp says %v", m.name, s, got, want)
			}
		}
		for _, s := range fixed {
			check(s)
		}
		for range 50000 {
			n := r.Intn(6)
			if r.Intn(10) == 0 {
				n = r.Intn(260)
			}
			b := make([]byte, 0, n)
			for range n {
				b = append(b, alphabet[r.Intn(len(alphabet))])
			}
			check(string(b))
		}
	}
}
