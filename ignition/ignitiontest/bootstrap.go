package ignitiontest

import (
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/ignition/v2/config/v3_2/types"
)

// Lifetime classes of the installer's certificates.
const (
	// DefaultCertLifetime is the installer's historical short lifetime
	// (kubelet-signer, aggregator-*, kube-apiserver-*-server): one day.
	DefaultCertLifetime = 24 * time.Hour
	// LongLifetime is the installer's ValidityTenYears.
	LongLifetime = 10 * 365 * 24 * time.Hour
	// YearLifetime is the installer's ValidityOneYear.
	YearLifetime = 365 * 24 * time.Hour
	// DefaultSize is a realistic bootstrap.ign size.
	DefaultSize = 300 << 10
)

// DefaultNotBefore is the NotBefore used when the options leave it zero:
// fixed, so output does not depend on the clock.
var DefaultNotBefore = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Cert encodings for the .crt data URLs (openshift-install writes base64).
const (
	EncodingBase64  = "base64"
	EncodingPercent = "percent"
	EncodingGzip    = "gzip" // base64 of gzip, with "compression":"gzip"
)

// BootstrapOptions shape the generated cluster. Zero values get defaults.
type BootstrapOptions struct {
	Seed        uint64
	ClusterName string // default "ocp4"
	BaseDomain  string // default "example.com"
	// NotBefore of every certificate; default DefaultNotBefore.
	NotBefore time.Time
	// CertLifetime of the short-lived certificates; default 24h.
	CertLifetime time.Duration
	// Lifetimes overrides single certificates by name ("kubelet-signer",
	// "aggregator-client", "root-ca", … see CertNames).
	Lifetimes map[string]time.Duration
	// Size is the approximate size of bootstrap.ign in bytes (manifests
	// are padded to reach it); default DefaultSize. It is a floor: the
	// certificates and scripts alone take about 60 KB.
	Size int
	// CertEncoding of the .crt data URLs: EncodingBase64 (default),
	// EncodingPercent or EncodingGzip.
	CertEncoding string
	// SSHKey for user core; default a deterministic ed25519 key.
	SSHKey string
}

func (o BootstrapOptions) withDefaults() BootstrapOptions {
	if o.ClusterName == "" {
		o.ClusterName = "ocp4"
	}
	if o.BaseDomain == "" {
		o.BaseDomain = "example.com"
	}
	if o.NotBefore.IsZero() {
		o.NotBefore = DefaultNotBefore
	}
	o.NotBefore = o.NotBefore.UTC().Truncate(time.Second)
	if o.CertLifetime == 0 {
		o.CertLifetime = DefaultCertLifetime
	}
	if o.Size == 0 {
		o.Size = DefaultSize
	}
	if o.CertEncoding == "" {
		o.CertEncoding = EncodingBase64
	}
	return o
}

// Validate names the first bad field.
func (o BootstrapOptions) Validate() error {
	o = o.withDefaults()
	if strings.ContainsAny(o.ClusterName, ". /") || strings.ContainsAny(o.BaseDomain, " /") {
		return fmt.Errorf("ignitiontest: clusterName %q / baseDomain %q: not DNS labels", o.ClusterName, o.BaseDomain)
	}
	if o.CertLifetime < 0 {
		return fmt.Errorf("ignitiontest: certLifetime %s: must be positive", o.CertLifetime)
	}
	for name, d := range o.Lifetimes {
		if _, ok := certByName(name); !ok {
			return fmt.Errorf("ignitiontest: lifetimes[%q]: no such certificate (see CertNames)", name)
		}
		if d <= 0 {
			return fmt.Errorf("ignitiontest: lifetimes[%q] %s: must be positive", name, d)
		}
	}
	switch o.CertEncoding {
	case EncodingBase64, EncodingPercent, EncodingGzip:
	default:
		return fmt.Errorf("ignitiontest: certEncoding %q: want base64, percent or gzip", o.CertEncoding)
	}
	if o.Size < 0 {
		return fmt.Errorf("ignitiontest: size %d: must not be negative", o.Size)
	}
	return nil
}

type lifetimeClass int

const (
	short lifetimeClass = iota
	year
	long
)

// certSpec is one certificate the installer puts in /opt/openshift/tls.
type certSpec struct {
	name   string
	signer string // "" = self-signed
	ca     bool
	class  lifetimeClass
	cn     string
	ou     string
	client bool
	server bool
	dns    func(o BootstrapOptions) []string
}

func apiNames(o BootstrapOptions) []string {
	return []string{"api." + o.ClusterName + "." + o.BaseDomain}
}

func apiIntNames(o BootstrapOptions) []string {
	return []string{"api-int." + o.ClusterName + "." + o.BaseDomain}
}

// certSpecs follows pkg/asset/tls in openshift-install (names, chains and
// lifetime classes), signers before the certificates they sign.
var certSpecs = []certSpec{
	{name: "root-ca", ca: true, class: long, cn: "root-ca", ou: "openshift"},
	{name: "admin-kubeconfig-signer", ca: true, class: long, cn: "admin-kubeconfig-signer", ou: "openshift"},
	{name: "admin-kubeconfig-client", signer: "admin-kubeconfig-signer", class: long, cn: "system:admin", ou: "system:masters", client: true},
	{name: "kubelet-signer", ca: true, class: short, cn: "kubelet-signer", ou: "openshift"},
	{name: "kubelet-bootstrap-kubeconfig-signer", ca: true, class: long, cn: "kubelet-bootstrap-kubeconfig-signer", ou: "openshift"},
	{name: "kubelet-client", signer: "kubelet-bootstrap-kubeconfig-signer", class: long, cn: "system:serviceaccount:openshift-machine-config-operator:node-bootstrapper", ou: "system:serviceaccounts:openshift-machine-config-operator", client: true},
	{name: "aggregator-signer", ca: true, class: short, cn: "aggregator-signer", ou: "openshift"},
	{name: "aggregator-client", signer: "aggregator-signer", class: short, cn: "system:kube-apiserver-proxy", ou: "kube-master", client: true},
	{name: "kube-apiserver-lb-signer", ca: true, class: long, cn: "kube-apiserver-lb-signer", ou: "openshift"},
	{name: "kube-apiserver-lb-server", signer: "kube-apiserver-lb-signer", class: short, cn: "system:kube-apiserver", ou: "kube-master", server: true, dns: apiNames},
	{name: "kube-apiserver-internal-lb-server", signer: "kube-apiserver-lb-signer", class: short, cn: "system:kube-apiserver", ou: "kube-master", server: true, dns: apiIntNames},
	{name: "kube-apiserver-localhost-signer", ca: true, class: long, cn: "kube-apiserver-localhost-signer", ou: "openshift"},
	{name: "kube-apiserver-localhost-server", signer: "kube-apiserver-localhost-signer", class: short, cn: "system:kube-apiserver", ou: "kube-master", server: true, dns: func(BootstrapOptions) []string { return []string{"localhost"} }},
	{name: "kube-apiserver-service-network-signer", ca: true, class: long, cn: "kube-apiserver-service-network-signer", ou: "openshift"},
	{name: "kube-apiserver-service-network-server", signer: "kube-apiserver-service-network-signer", class: short, cn: "system:kube-apiserver", ou: "kube-master", server: true, dns: func(BootstrapOptions) []string {
		return []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "openshift", "openshift.default", "openshift.default.svc", "openshift.default.svc.cluster.local"}
	}},
	{name: "kube-control-plane-signer", ca: true, class: year, cn: "kube-control-plane-signer", ou: "openshift"},
	{name: "kube-control-plane-kube-controller-manager-client", signer: "kube-control-plane-signer", class: year, cn: "system:admin", ou: "system:masters", client: true},
	{name: "kube-control-plane-kube-scheduler-client", signer: "kube-control-plane-signer", class: year, cn: "system:admin", ou: "system:masters", client: true},
	{name: "machine-config-server", signer: "root-ca", class: long, cn: "system:machine-config-server", server: true, dns: apiIntNames},
	{name: "journal-gatewayd", signer: "root-ca", class: long, cn: "journal-gatewayd", ou: "RH", server: true, dns: func(BootstrapOptions) []string { return []string{"localhost"} }},
}

// CertNames lists the generated certificates (keys of Lifetimes); each is
// /opt/openshift/tls/<name>.crt with its key in <name>.key.
func CertNames() []string {
	out := make([]string, len(certSpecs))
	for i, c := range certSpecs {
		out[i] = c.name
	}
	return out
}

func certByName(name string) (certSpec, bool) {
	for _, c := range certSpecs {
		if c.name == name {
			return c, true
		}
	}
	return certSpec{}, false
}

// Cert describes one generated certificate.
type Cert struct {
	Name      string
	Path      string // /opt/openshift/tls/<name>.crt
	PEM       []byte
	KeyPEM    []byte
	Cert      *x509.Certificate
	NotBefore time.Time
	NotAfter  time.Time
}

type keyed struct {
	cert *x509.Certificate
	key  ed25519.PrivateKey
}

// derive returns 32 deterministic bytes for (seed, label).
func derive(seed uint64, label string) [32]byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seed)
	return sha256.Sum256(append(append([]byte("okvm/ignitiontest/v1/"), b[:]...), label...))
}

func lifetime(o BootstrapOptions, c certSpec) time.Duration {
	if d, ok := o.Lifetimes[c.name]; ok {
		return d
	}
	switch c.class {
	case long:
		return LongLifetime
	case year:
		return YearLifetime
	default:
		return o.CertLifetime
	}
}

func makeCerts(o BootstrapOptions) ([]Cert, error) {
	made := map[string]keyed{}
	var out []Cert
	for _, cs := range certSpecs {
		s := derive(o.Seed, "key/"+cs.name)
		key := ed25519.NewKeyFromSeed(s[:])
		sn := derive(o.Seed, "serial/"+cs.name)
		notAfter := o.NotBefore.Add(lifetime(o, cs))
		tmpl := &x509.Certificate{
			SerialNumber:          new(big.Int).SetBytes(sn[:16]),
			Subject:               pkix.Name{CommonName: cs.cn},
			NotBefore:             o.NotBefore,
			NotAfter:              notAfter,
			KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
			BasicConstraintsValid: true,
		}
		if cs.ou != "" {
			tmpl.Subject.OrganizationalUnit = []string{cs.ou}
		}
		if cs.ca {
			tmpl.IsCA = true
			tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
		}
		if cs.client {
			tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
		}
		if cs.server {
			tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
		}
		if cs.dns != nil {
			tmpl.DNSNames = cs.dns(o)
		}
		parent, signer := tmpl, key
		if cs.signer != "" {
			p, ok := made[cs.signer]
			if !ok {
				return nil, fmt.Errorf("ignitiontest: internal: signer %s not made before %s", cs.signer, cs.name)
			}
			parent, signer = p.cert, p.key
		}
		// Ed25519 signing draws no randomness; the reader is only a
		// deterministic fallback should x509 ask for any.
		rnd := rand.NewChaCha8(derive(o.Seed, "rand/"+cs.name))
		der, err := x509.CreateCertificate(rnd, tmpl, parent, key.Public(), signer)
		if err != nil {
			return nil, fmt.Errorf("ignitiontest: create %s: %w", cs.name, err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("ignitiontest: parse %s: %w", cs.name, err)
		}
		made[cs.name] = keyed{cert, key}
		p8, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, err
		}
		out = append(out, Cert{
			Name: cs.name, Path: "/opt/openshift/tls/" + cs.name + ".crt",
			PEM:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			KeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}),
			Cert:   cert, NotBefore: cert.NotBefore, NotAfter: cert.NotAfter,
		})
	}
	return out, nil
}

// Artifacts is what `openshift-install create ignition-configs` leaves
// behind, generated.
type Artifacts struct {
	Bootstrap  []byte // bootstrap.ign, spec 3.2.0
	Master     []byte // master.ign, pointer config
	Worker     []byte // worker.ign, pointer config
	RootCA     []byte // root-ca PEM (the CA embedded in the pointer configs)
	APIIntHost string // api-int.<cluster>.<domain>
	Certs      []Cert // every certificate in bootstrap.ign, in file order
}

// Cert returns the generated certificate with the given name.
func (a *Artifacts) Cert(name string) (Cert, bool) {
	for _, c := range a.Certs {
		if c.Name == name {
			return c, true
		}
	}
	return Cert{}, false
}

// Bootstrap generates bootstrap.ign.
func Bootstrap(opts BootstrapOptions) ([]byte, error) {
	a, err := NewCluster(opts)
	if err != nil {
		return nil, err
	}
	return a.Bootstrap, nil
}

// NewCluster generates bootstrap, master and worker configs that belong
// together (the pointer configs trust the bootstrap's root-ca).
func NewCluster(opts BootstrapOptions) (*Artifacts, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	certs, err := makeCerts(o)
	if err != nil {
		return nil, err
	}
	a := &Artifacts{APIIntHost: "api-int." + o.ClusterName + "." + o.BaseDomain, Certs: certs}
	a.RootCA = certs[0].PEM
	a.Master = Pointer("master", a.APIIntHost, a.RootCA)
	a.Worker = Pointer("worker", a.APIIntHost, a.RootCA)
	a.Bootstrap, err = buildBootstrap(o, certs, a.RootCA)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Pointer returns a pointer config exactly as openshift-install writes it:
// spec 3.2.0, merging https://<apiIntHost>:22623/config/<role>, trusting ca
// (PEM). apiIntHost may carry its own port (platform baremetal uses the
// API VIP).
func Pointer(role, apiIntHost string, ca []byte) []byte {
	host := apiIntHost
	if !strings.Contains(host, ":") || strings.HasSuffix(host, "]") {
		host += ":22623"
	}
	var c types.Config
	c.Ignition.Version = types.MaxVersion.String()
	c.Ignition.Config.Merge = []types.Resource{{Source: ptr("https://" + host + "/config/" + role)}}
	c.Ignition.Security.TLS.CertificateAuthorities = []types.Resource{{Source: ptr(dataURL(ca))}}
	b, err := json.Marshal(c)
	if err != nil {
		panic(err) // plain structs of strings: cannot fail
	}
	return b
}

func ptr[T any](v T) *T { return &v }

func dataURL(b []byte) string {
	return "data:text/plain;charset=utf-8;base64," + base64.StdEncoding.EncodeToString(b)
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

func file(path string, mode int, contents []byte) types.File {
	f := types.File{}
	f.Path = path
	f.Overwrite = ptr(true)
	f.User.Name = ptr("root")
	f.Mode = ptr(mode)
	f.Contents.Source = ptr(dataURL(contents))
	return f
}

func certFile(o BootstrapOptions, path string, pemBytes []byte) types.File {
	f := file(path, 0o644, pemBytes)
	switch o.CertEncoding {
	case EncodingPercent:
		f.Contents.Source = ptr("data:," + url.PathEscape(string(pemBytes)))
	case EncodingGzip:
		f.Contents.Compression = ptr("gzip")
		f.Contents.Source = ptr("data:;base64," + base64.StdEncoding.EncodeToString(gz(pemBytes)))
	}
	return f
}

var errTooSmall = errors.New("ignitiontest: internal: padding did not converge")
