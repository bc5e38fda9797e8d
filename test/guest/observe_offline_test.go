package guest

import (
	"os"
	"strings"
	"testing"

	"libvirt.org/go/libvirtxml"

	"github.com/okvm/okvm/kvm"
)

// These tests need no lab: they check the parser on a console log captured
// from a real q35-e1000 guest, and that compare really reports differences
// (a comparison that cannot fail would prove nothing).

func offlineCase(t *testing.T) (*libvirtxml.Domain, *kvm.Prediction, *Observation) {
	t.Helper()
	f, err := os.Open("testdata/q35-e1000.console.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	o, err := parseObservation("q35-e1000", f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("../../kvm/testdata/naming/q35-e1000.xml")
	if err != nil {
		t.Fatal(err)
	}
	dom := &libvirtxml.Domain{}
	if err := dom.Unmarshal(string(b)); err != nil {
		t.Fatal(err)
	}
	p, err := kvm.PredictNames(dom, kvm.WithNamingScheme("v252"))
	if err != nil {
		t.Fatal(err)
	}
	return dom, p, o
}

func TestParseObservation(t *testing.T) {
	_, _, o := offlineCase(t)
	if o.Udevadm != "252" || len(o.NICs) != 3 {
		t.Fatalf("udevadm %q, %d NICs", o.Udevadm, len(o.NICs))
	}
	e := o.NICs[2]
	if e.MAC != "52:54:00:0a:e1:02" || e.PCI != "0000:02:01.0" || e.Driver != "e1000" || e.Sun != 1 || e.Slot != 1 {
		t.Errorf("e1000: %+v", e)
	}
	if got := e.Name("v239"); got != "ens1" {
		t.Errorf("NamePolicy on v239 props: %s", got)
	}
	if len(e.Schemes()) != len(udevSchemes) {
		t.Errorf("schemes %v", e.Schemes())
	}
	if n := o.NICs[0]; n.Slot != 0 || n.Sun != 0 || n.Name("v252") != "enp3s0" {
		t.Errorf("root-port NIC: %+v", n)
	}

	if _, err := parseObservation("x", strings.NewReader("OKVM begin\nOKVM udevadm 252\n")); err == nil {
		t.Error("a log without OKVM end parsed as complete")
	}
}

func TestCompareReportsDifferences(t *testing.T) {
	dom, p, o := offlineCase(t)
	if d := compare(dom, p, o); len(d) != 0 {
		t.Fatalf("real guest log differs from the prediction: %v", d)
	}
	mutations := map[string]func(o *Observation){
		"name":     func(o *Observation) { o.NICs[2].Props["v247"]["ID_NET_NAME_SLOT"] = "" },
		"pci":      func(o *Observation) { o.NICs[0].PCI = "0000:02:00.0" },
		"evidence": func(o *Observation) { o.NICs[1].Sun = 4 },
		"extra":    func(o *Observation) { o.NICs = append(o.NICs, ObservedNIC{MAC: "52:54:00:ff:ff:ff"}) },
		"udevadm":  func(o *Observation) { o.Udevadm = "254" },
	}
	for name, mutate := range mutations {
		_, p, o := offlineCase(t)
		mutate(o)
		if d := compare(dom, p, o); len(d) == 0 {
			t.Errorf("%s: mutation not detected", name)
		}
	}
}
