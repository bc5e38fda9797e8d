package okd

import (
	"crypto/x509"
	"net/netip"
	"slices"
	"strings"

	certv1 "k8s.io/api/certificates/v1"
)

// The requester, groups and usages of the kubelet's TLS bootstrap, from
// reference §4.1 (kubelet + cluster-machine-approver csr_check.go).
const (
	// csrBootstrapperUser files every node's first client CSR, with the
	// bootstrap kubeconfig that the machine-config server hands out.
	csrBootstrapperUser = "system:serviceaccount:openshift-machine-config-operator:node-bootstrapper"
	csrNodeUserPrefix   = "system:node:"
	csrNodesGroup       = "system:nodes"
	csrAuthenticated    = "system:authenticated"
)

// csrBootstrapperGroups is the exact group set the API server attaches to
// the node-bootstrapper service account.
var csrBootstrapperGroups = []string{
	"system:serviceaccounts:openshift-machine-config-operator",
	"system:serviceaccounts",
	csrAuthenticated,
}

// Usage sets: the current kubelet asks for the first, older kubelets (and
// RSA keys) add key encipherment. Both are exact sets, not supersets.
var (
	csrClientUsages = [][]certv1.KeyUsage{
		{certv1.UsageDigitalSignature, certv1.UsageClientAuth},
		{certv1.UsageDigitalSignature, certv1.UsageKeyEncipherment, certv1.UsageClientAuth},
	}
	csrServingUsages = [][]certv1.KeyUsage{
		{certv1.UsageDigitalSignature, certv1.UsageServerAuth},
		{certv1.UsageDigitalSignature, certv1.UsageKeyEncipherment, certv1.UsageServerAuth},
	}
)

// csrKindOf maps the signer to the CSR kind; any other signer is not ours to
// judge (reference §4.3 step 1) and yields ok=false.
func csrKindOf(csr *certv1.CertificateSigningRequest) (CSRKind, bool) {
	switch csr.Spec.SignerName {
	case certv1.KubeAPIServerClientKubeletSignerName:
		return CSRKindClient, true
	case certv1.KubeletServingSignerName:
		return CSRKindServing, true
	}
	return "", false
}

// csrFinal reports whether the CSR already carries an Approved or Denied
// condition (Failed too: the signer gave up on it). Those are skipped.
func csrFinal(csr *certv1.CertificateSigningRequest) bool {
	for _, c := range csr.Status.Conditions {
		switch c.Type {
		case certv1.CertificateApproved, certv1.CertificateDenied, certv1.CertificateFailed:
			return true
		}
	}
	return false
}

// csrNodeFromClientCN returns <n> of CN=system:node:<n>, or "".
func csrNodeFromCN(cn string) string {
	n, ok := strings.CutPrefix(cn, csrNodeUserPrefix)
	if !ok {
		return ""
	}
	return n
}

func csrUsagesOK(got []certv1.KeyUsage, allowed [][]certv1.KeyUsage) bool {
	seen := map[certv1.KeyUsage]bool{}
	for _, u := range got {
		if seen[u] {
			return false // a repeated usage is not what a kubelet sends
		}
		seen[u] = true
	}
	for _, want := range allowed {
		if len(want) != len(got) {
			continue
		}
		ok := true
		for _, u := range want {
			if !seen[u] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func csrSameSet(got, want []string) bool {
	g := map[string]bool{}
	for _, s := range got {
		g[s] = true
	}
	if len(g) != len(want) {
		return false
	}
	for _, s := range want {
		if !g[s] {
			return false
		}
	}
	return true
}

// csrCheckClientStatic runs the checks of reference §4.3 step 2 that need no
// cluster state: requester, groups, usages, subject, allow-list and SANs. It
// returns the claimed node name (possibly "" or not expected) for the
// decision record. Node absence, the time window and once-per-boot are the
// approver's (they need the API and its memory).
func csrCheckClientStatic(csr *certv1.CertificateSigningRequest, req *x509.CertificateRequest, expected map[string]csrExpectedNode) (string, *CSRRejectedError) {
	node := csrNodeFromCN(req.Subject.CommonName)
	if csr.Spec.Username != csrBootstrapperUser {
		return node, csrReject(CSRCheckUsername, "client CSR requested by %q, want %q", csr.Spec.Username, csrBootstrapperUser)
	}
	if !csrSameSet(csr.Spec.Groups, csrBootstrapperGroups) {
		return node, csrReject(CSRCheckGroups, "groups %q, want exactly %q", csr.Spec.Groups, csrBootstrapperGroups)
	}
	if !csrUsagesOK(csr.Spec.Usages, csrClientUsages) {
		return node, csrReject(CSRCheckUsages, "usages %q, want exactly %q (or without key encipherment)", csr.Spec.Usages, csrClientUsages[1])
	}
	if !slices.Equal(req.Subject.Organization, []string{csrNodesGroup}) {
		return node, csrReject(CSRCheckSubject, "O=%q, want exactly [%q]", req.Subject.Organization, csrNodesGroup)
	}
	if node == "" {
		return node, csrReject(CSRCheckCommonName, "CN=%q, want %s<node>", req.Subject.CommonName, csrNodeUserPrefix)
	}
	if _, ok := expected[node]; !ok {
		return node, csrReject(CSRCheckExpected, "node %q is not on the allow-list", node)
	}
	if n := len(req.DNSNames) + len(req.IPAddresses) + len(req.EmailAddresses) + len(req.URIs); n != 0 {
		return node, csrReject(CSRCheckSANs, "client CSR carries %d SANs (dns=%q ip=%v email=%q uri=%v), want none",
			n, req.DNSNames, req.IPAddresses, req.EmailAddresses, req.URIs)
	}
	return node, nil
}

// csrCheckServingStatic runs the state-free checks of reference §4.3 step 3.
// Only "Node exists" is left to the approver.
func csrCheckServingStatic(csr *certv1.CertificateSigningRequest, req *x509.CertificateRequest, expected map[string]csrExpectedNode) (string, *CSRRejectedError) {
	node, ok := strings.CutPrefix(csr.Spec.Username, csrNodeUserPrefix)
	if !ok || node == "" {
		return "", csrReject(CSRCheckUsername, "serving CSR requested by %q, want %s<node>", csr.Spec.Username, csrNodeUserPrefix)
	}
	exp, ok := expected[node]
	if !ok {
		return node, csrReject(CSRCheckExpected, "node %q is not on the allow-list", node)
	}
	if !slices.Contains(csr.Spec.Groups, csrNodesGroup) || !slices.Contains(csr.Spec.Groups, csrAuthenticated) {
		return node, csrReject(CSRCheckGroups, "groups %q lack %q or %q", csr.Spec.Groups, csrNodesGroup, csrAuthenticated)
	}
	if !csrUsagesOK(csr.Spec.Usages, csrServingUsages) {
		return node, csrReject(CSRCheckUsages, "usages %q, want exactly %q (or without key encipherment)", csr.Spec.Usages, csrServingUsages[1])
	}
	if req.Subject.CommonName != csr.Spec.Username {
		return node, csrReject(CSRCheckCommonName, "CN=%q differs from the requester %q", req.Subject.CommonName, csr.Spec.Username)
	}
	if !slices.Contains(req.Subject.Organization, csrNodesGroup) {
		return node, csrReject(CSRCheckSubject, "O=%q lacks %q", req.Subject.Organization, csrNodesGroup)
	}
	// Stricter than cluster-machine-approver's fallback (§4.3 step 3): a
	// kubelet serving certificate never needs email or URI SANs.
	if len(req.EmailAddresses) != 0 || len(req.URIs) != 0 {
		return node, csrReject(CSRCheckSANs, "serving CSR carries email %q / URI %v SANs, want none", req.EmailAddresses, req.URIs)
	}
	for _, d := range req.DNSNames {
		if !exp.dns[csrDNSNorm(d)] {
			return node, csrReject(CSRCheckSANs, "DNS SAN %q is not one of node %q's names", d, node)
		}
	}
	for _, raw := range req.IPAddresses {
		ip, ok := netip.AddrFromSlice(raw)
		if !ok || !exp.ips[ip.Unmap()] {
			return node, csrReject(CSRCheckSANs, "IP SAN %s is not one of node %q's addresses", raw, node)
		}
	}
	return node, nil
}
