package kvm

// Byte-level equivalents of the name regexps in domain_spec.go, used by
// DomainSpec validation (regexp matching was a twentieth of DomainSpec.XML).
// TestNameMatchersAgreeWithRegexps holds each one to its regexp.

// isDNSLabel is dnsLabelRE: 1-63 of [a-z0-9-], not starting or ending with '-'.
func isDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// isSerial is serialRE: 1-20 of [A-Za-z0-9_-].
func isSerial(s string) bool {
	if len(s) == 0 || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(isAlnum(c) || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// isTarget is targetRE: vd, sd or hd and one or two of [a-z].
func isTarget(s string) bool {
	if len(s) != 3 && len(s) != 4 {
		return false
	}
	switch s[:2] {
	case "vd", "sd", "hd":
	default:
		return false
	}
	for i := 2; i < len(s); i++ {
		if c := s[i]; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// isBridge is bridgeRE: 1-15 of [A-Za-z0-9_.:-].
func isBridge(s string) bool {
	if len(s) == 0 || len(s) > 15 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(isAlnum(c) || c == '_' || c == '.' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// isLabelKey is labelKeyRE: 1-253 of [A-Za-z0-9._/-], starting with a
// letter or digit.
func isLabelKey(s string) bool {
	if len(s) == 0 || len(s) > 253 || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !(isAlnum(c) || c == '.' || c == '_' || c == '/' || c == '-') {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
