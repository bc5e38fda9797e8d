// Package ignition parses, patches, validates and delivers Ignition 3.x
// configs for OKD nodes, and reads the certificate deadline of a bootstrap
// config. It is pure Go and builds every config with Ignition's own types
// (github.com/coreos/ignition/v2/config), never with string templates.
//
// # Versions: keep what came in
//
// openshift-install writes spec 3.2.0, and the Ignition on an older boot
// image may not know anything newer. So Parse remembers the version a
// config came in, and Marshal writes it back in that version. Patches work
// on a copy held in spec 3.5 (every 3.x spec is a superset of the one
// before), and Marshal converts it back field by field; only when a patch
// used something the original spec lacks — kernel arguments need 3.3 — is
// the output written in the oldest spec that can hold it, and
// Result.TranslatedFrom/TranslatedFor say from which version and for which
// field. 2.x configs, 3.6.0-experimental and unknown versions are refused
// with ErrUnsupportedVersion.
//
// # Parsing and validation
//
// Verdicts are Ignition's: its types, its validator (config/validate), and
// its own vX.Parse for the error report, so problems come back by JSON path
// ("$.storage.files[3].mode") with line and column. Malformed JSON is a
// *SyntaxError with the byte offset. Keys the spec does not define are an
// error (ErrUnknownField) unless AllowUnknownFields: Ignition only warns,
// but an ignored key is a typo or a newer-spec field, and dropping it
// silently changes what the node gets.
//
// Ignition's own Parse makes three passes over a config (see fastparse.go);
// for a 300 KB bootstrap config that is slower than the whole patch budget,
// so Parse first tries a single-pass path that reaches the same verdict and
// falls back to Ignition's Parse for anything it would not accept. FuzzParse
// holds the two to the same answers.
//
// # Patches
//
// Patches are plain structs with Validate(): Hostname, Network
// (NetworkManager keyfile, 0600, bound to the NIC's MAC, named after the
// predicted interface), SSHKeys, File (data URLs, gzip for large contents),
// Unit (units and drop-ins), KernelArguments and TrustedCA. Config.Apply
// runs them in order, all or nothing. A patch that would change what the
// config already has is ErrConflict naming the path, unless wrapped in
// Overwrite; the same path with the same contents is a no-op. Patches never
// touch ignition.config (merge/replace) or ignition.security, so a pointer
// config keeps its api-int:22623 source and its root CA byte for byte.
// Output is deterministic: same input and patches, same bytes.
//
// # Delivery and deadlines
//
// Deliver picks how a config reaches a domain over QEMU fw_cfg
// (opt/com.coreos/config): inline in the domain XML when small, otherwise a
// file written atomically with mode 0600; deliver.go documents the limits
// and their sources. Deadline reads every /opt/openshift/tls/*.crt in a
// bootstrap config: the hard deadline is the earliest NotAfter, the soft
// one the earliest half-life, each with the certificate that sets it. The
// lifetimes are read, never assumed: they have been one day and are one
// month in newer installers.
//
// Package ignitiontest generates realistic openshift-install-shaped
// configs, with real certificates, for tests.
package ignition
