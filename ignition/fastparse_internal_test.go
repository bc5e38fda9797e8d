package ignition

import (
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/vincent-petithory/dataurl"

	t32 "github.com/coreos/ignition/v2/config/v3_2/types"

	"github.com/okvm/okvm/ignition/ignitiontest"
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
		"data:/,x", "data:/%zz,x", "data://[,x", "data:?,x", "data:?/a,x", "data:\x01,x", "data:;base64,aGk=\x01",
		"data:;base64,aGk=\x7f", "data:text/x#y,%zz", "data:text/x#y;base64,aGk=", "data:,a\x00",
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
	boot, err := ignitiontest.Bootstrap(ignitiontest.BootstrapOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := specs[specIndex(V3_2)].fast(boot); !ok {
		t.Fatal("fast path rejected the generated bootstrap config")
	}
	raw := []byte(`{"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/a","contents":{"source":"data:;base64,aGVsbG8K"}}]}}`)
	if _, _, ok := specs[specIndex(V3_2)].fast(raw); !ok {
		t.Fatal("fast path rejected a valid config")
	}
	bad := []byte(`{"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/a","contents":{"source":"data:;base64,aGVsbG8"}}]}}`)
	if _, _, ok := specs[specIndex(V3_2)].fast(bad); ok {
		t.Fatal("fast path accepted an invalid data URL")
	}
}

func TestKnownKeys(t *testing.T) {
	root := schemaOf(reflect.TypeOf(t32.Config{}))
	for raw, want := range map[string]bool{
		`{"ignition":{"version":"3.2.0"}}`:                                                  true,
		` { "storage" : { "files" : [ { "path" : "/a\"b" , "mode" : 420 } , {} ] } } `:      true,
		`{"storage":{"files":[{"path":"/a","contents":{"source":"x","verification":{}}}]}}`: true,
		`{"Storage":{}}`:                            false, // Ignition's check is case-sensitive
		`{"storage":{"files":[{"pathx":"/a"}]}}`:    false,
		`{"st\u006frage":{}}`:                       false, // escaped key: let Ignition decide
		`{"storage":{"files":{"path":"/a"}}}`:       false, // wrong shape
		`{"kernelArguments":{"shouldExist":["a"]}}`: false, // 3.3 field in 3.2
		`{"ignition":{"version":"3.2.0"}} x`:        false,
	} {
		if got := knownKeys([]byte(raw), root); got != want {
			t.Errorf("knownKeys(%s) = %v, want %v", raw, got, want)
		}
	}
}
