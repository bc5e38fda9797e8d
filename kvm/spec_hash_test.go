package kvm

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand"
	"reflect"
	"strings"
	"testing"
)

// specHashJSON is the definition appendSpecJSON must keep to.
func specHashJSON(n DomainSpec) string {
	b, _ := json.Marshal(n)
	h := sha256.Sum256(append([]byte(specVersion+"\n"), b...))
	return "sha256:" + hex.EncodeToString(h[:])
}

// A new field in a spec type must be added to appendSpecJSON (and this
// count), or specHash would stop seeing it.
func TestSpecJSONKnowsEveryField(t *testing.T) {
	for typ, want := range map[reflect.Type]int{
		reflect.TypeOf(DomainSpec{}):   15,
		reflect.TypeOf(DiskSpec{}):     11,
		reflect.TypeOf(NICSpec{}):      6,
		reflect.TypeOf(IgnitionSpec{}): 2,
	} {
		if got := typ.NumField(); got != want {
			t.Errorf("%s has %d fields, appendSpecJSON knows %d: update it", typ, got, want)
		}
	}
}

var jsonTrickyStrings = []string{
	"", "a", "master-0", `"quoted"`, `back\slash`, "<tag>&amp;", "tab\there", "nl\ncr\r",
	"\b\f\x00\x01\x1f\x7f", "ünïcödé", "\u2028\u2029", "\xff\xfe bad utf8 \xc3", "😀 emoji",
	`{"ignition":{"version":"3.2.0"}}`, "\xe2\x80", "a\u2028b",
}

func randString(r *rand.Rand) string {
	if r.Intn(3) == 0 {
		return jsonTrickyStrings[r.Intn(len(jsonTrickyStrings))]
	}
	var sb strings.Builder
	for n := r.Intn(12); n > 0; n-- {
		switch r.Intn(4) {
		case 0:
			sb.WriteByte(byte(r.Intn(256)))
		case 1:
			sb.WriteRune(rune(r.Intn(0x3000)))
		default:
			sb.WriteByte(byte(' ' + r.Intn(95)))
		}
	}
	return sb.String()
}

func randSpec(r *rand.Rand) DomainSpec {
	str := func() string {
		if r.Intn(2) == 0 {
			return ""
		}
		return randString(r)
	}
	u := func() uint {
		if r.Intn(2) == 0 {
			return 0
		}
		return uint(r.Uint32())
	}
	s := DomainSpec{
		Name: str(), MemoryMiB: u(), VCPUs: u(), CPUMode: str(), CPUModel: str(),
		Machine: str(), Firmware: str(), Type: str(),
		StableNICNames: r.Intn(2) == 0, NoConsole: r.Intn(2) == 0, NoGuestAgent: r.Intn(2) == 0,
	}
	for n := r.Intn(4); n > 0; n-- {
		s.Disks = append(s.Disks, DiskSpec{Pool: str(), Volume: str(), BaseVolume: str(), Path: str(),
			Format: str(), SizeBytes: uint64(u()) << uint(r.Intn(30)), Bus: str(), Target: str(),
			Serial: str(), BootOrder: u(), ReadOnly: r.Intn(2) == 0})
	}
	if r.Intn(5) == 0 {
		s.Disks = []DiskSpec{}
	}
	for n := r.Intn(4); n > 0; n-- {
		s.NICs = append(s.NICs, NICSpec{Network: str(), Bridge: str(), MAC: str(), Model: str(),
			ACPIIndex: u(), BootOrder: u()})
	}
	if r.Intn(2) == 0 {
		s.Ignition = &IgnitionSpec{Value: str(), File: str()}
	}
	switch r.Intn(3) {
	case 0:
		s.Labels = map[string]string{}
		fallthrough
	case 1:
		for n := r.Intn(12); n > 0; n-- {
			if s.Labels == nil {
				s.Labels = map[string]string{}
			}
			s.Labels[randString(r)] = str()
		}
	}
	return s
}

func TestSpecJSONMatchesEncodingJSON(t *testing.T) {
	specs := []DomainSpec{{}, masterSpec(), masterSpec().Normalize(),
		{Disks: []DiskSpec{{}}, NICs: []NICSpec{{}}, Ignition: &IgnitionSpec{}, Labels: map[string]string{"": ""}}}
	r := rand.New(rand.NewSource(1))
	for range 5000 {
		specs = append(specs, randSpec(r))
	}
	for _, s := range specs {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendSpecJSON(nil, &s); string(got) != string(want) {
			t.Fatalf("appendSpecJSON differs from json.Marshal for %#v:\n got %s\nwant %s", s, got, want)
		}
		if got, want := specHash(s), specHashJSON(s); got != want {
			t.Fatalf("specHash = %s, want %s", got, want)
		}
	}
}

func FuzzSpecJSON(f *testing.F) {
	for _, s := range jsonTrickyStrings {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		s := DomainSpec{Name: a, CPUModel: b, Disks: []DiskSpec{{Path: b, Serial: a}},
			NICs: []NICSpec{{Bridge: a}}, Ignition: &IgnitionSpec{Value: b}, Labels: map[string]string{a: b, b: a}}
		want, _ := json.Marshal(s)
		if got := appendSpecJSON(nil, &s); string(got) != string(want) {
			t.Fatalf("got %s\nwant %s", got, want)
		}
	})
}
