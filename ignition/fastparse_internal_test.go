package ignition

import (
	"net/url"
	"strings"
	"testing"

	"github.com/vincent-petithory/dataurl"
)

// ignitionDataURLValid is Ignition's validateURL for data URLs.
func ignitionDataURLValid(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "data" {
		return false
	}
	_, err = dataurl.DecodeString(s)
	return err == nil
}

func FuzzDataURLValid(f *testing.F) {
	for _, s := range []string{
		"data:,", "data:,hello%20world", "data:,bad%2", "data:,bad%zz", "data:,a b", "data:,<>",
		"data:;base64,aGVsbG8K", "data:;base64,aGVsbG8", "data:;base64,aGVs\nbG8K", "data:;base64,aGVs\rbG8K",
		"data:text/plain;charset=utf-8;base64,aGk=", "data:text/plain;charset=\"a,b\";base64,aGk=",
		"data:text/plain;charset=utf-8,%E2%82%AC", "data:image/png;x=y,é", "data:text/;base64,aGk=",
		"data:,#frag", "data:,%", "DATA:,x", "data:a/b;base64;x=y,aGk=", "data:;base64,====",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !strings.HasPrefix(s, "data:") {
			s = "data:" + s
		}
		if got, want := dataURLValid(s), ignitionDataURLValid(s); got != want {
			t.Fatalf("dataURLValid(%q) = %v, Ignition says %v", s, got, want)
		}
	})
}

// TestFastPathTaken guards the benchmark's premise: a generated bootstrap
// config is accepted by the fast path (not silently by the fallback).
func TestFastPathTaken(t *testing.T) {
	raw := []byte(`{"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/a","contents":{"source":"data:;base64,aGVsbG8K"}}]}}`)
	if _, _, ok := specs[specIndex(V3_2)].fast(raw); !ok {
		t.Fatal("fast path rejected a valid config")
	}
	bad := []byte(`{"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/a","contents":{"source":"data:;base64,aGVsbG8"}}]}}`)
	if _, _, ok := specs[specIndex(V3_2)].fast(bad); ok {
		t.Fatal("fast path accepted an invalid data URL")
	}
}
