// Package ignitiontest generates Ignition configs shaped like the ones
// openshift-install writes, for tests that must not depend on the real
// installer: a bootstrap config (spec 3.2.0, ~300 KB) full of real x509
// certificates under /opt/openshift/tls with lifetimes the test chooses, and
// master/worker pointer configs that merge from api-int:22623 and trust a
// real root CA.
//
// Everything is deterministic from BootstrapOptions.Seed: the same options
// give byte-identical configs. That rules out ECDSA and RSA, whose Go
// implementations draw their own randomness (crypto/ecdsa.GenerateKey
// ignores the supplied reader in current Go, and ECDSA signatures are
// randomized), so every key here is Ed25519 derived from the seed with
// ed25519.NewKeyFromSeed, and Ed25519 signatures are deterministic by
// design. openshift-install uses RSA-2048; nothing that reads these configs
// (deadline computation, CA trust, CSR flows in okdtest) depends on the key
// algorithm, only on real, parseable, correctly chained certificates.
package ignitiontest
