package ignition

import (
	"io"
	"log/slog"
)

// Option tunes Parse and PatchConfig.
type Option func(*options)

type options struct {
	log          *slog.Logger
	allowUnknown bool
	skipOutValid bool
}

func buildOptions(opts []Option) options {
	o := options{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// WithLogger logs parse and patch decisions (versions, translations, no-op
// patches) at debug level. File contents are never logged: bootstrap
// configs carry private keys.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}

// AllowUnknownFields accepts keys the spec version does not define (Ignition
// itself only warns about them). By default they are an error, because an
// ignored key is usually a typo or a field from a newer spec.
func AllowUnknownFields() Option { return func(o *options) { o.allowUnknown = true } }

// SkipOutputValidation skips running Ignition's validator over the patched
// output in Marshal. The input was validated by Parse and every patch
// validates itself, so this only trades a safety net for speed.
func SkipOutputValidation() Option { return func(o *options) { o.skipOutValid = true } }
