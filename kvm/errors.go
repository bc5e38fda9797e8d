package kvm

import (
	"context"
	"errors"
	"fmt"

	libvirt "github.com/digitalocean/go-libvirt"
)

// Sentinels class every error kvm returns, whether it came from a real
// libvirtd or from kvmtest's fake: test with errors.Is, never by message.
var (
	// ErrNotFound: the domain, network, pool or volume does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists: the object already exists (and is not ours to change).
	ErrExists = errors.New("already exists")
	// ErrUnsupported: the driver cannot do this (the test driver has no
	// leases or uploads, a session daemon has no bridges…).
	ErrUnsupported = errors.New("unsupported by the libvirt driver")
	// ErrInvalid: bad input, detected before anything was created. The
	// error is (or wraps) a *FieldError naming the field and the value.
	ErrInvalid = errors.New("invalid input")
	// ErrConflict: the request contradicts the current state, e.g. a
	// running domain whose spec changed.
	ErrConflict = errors.New("conflict")
	// ErrDisconnected: the connection to libvirtd was lost during the call.
	// The next call redials.
	ErrDisconnected = errors.New("disconnected from libvirt")
)

// FieldError reports bad input: which field, which value, and why.
type FieldError struct {
	Field  string // e.g. "disks[1].serial"
	Value  any    // the offending value
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("kvm: invalid %s %s: %s", e.Field, e.valueString(), e.Reason)
}

func (e *FieldError) valueString() string {
	if s, ok := e.Value.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(e.Value)
}

// Is makes errors.Is(err, ErrInvalid) hold for every *FieldError.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

func fieldErr(field string, value any, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Value: value, Reason: fmt.Sprintf(format, args...)}
}

// Error is a libvirt error with the operation that caused it. Code is
// libvirt's virErrorNumber (0 when the error did not come from libvirt).
// errors.Is(err, ErrNotFound) and friends hold according to Code.
type Error struct {
	Op   string              // e.g. `define domain "node-0"`
	Code libvirt.ErrorNumber // libvirt's error number
	Err  error               // the underlying error (a libvirt.Error, usually)
}

func (e *Error) Error() string { return "kvm: " + e.Op + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Is maps libvirt error codes onto the sentinels.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return isNotFoundCode(e.Code)
	case ErrExists:
		switch e.Code {
		case libvirt.ErrDomExist, libvirt.ErrNetworkExist, libvirt.ErrStorageVolExist,
			libvirt.ErrNetworkPortExist, libvirt.ErrStoragePoolBuilt:
			return true
		}
	case ErrUnsupported:
		switch e.Code {
		case libvirt.ErrNoSupport, libvirt.ErrOperationUnsupported,
			libvirt.ErrArgumentUnsupported, libvirt.ErrConfigUnsupported:
			return true
		}
	case ErrInvalid:
		switch e.Code {
		case libvirt.ErrInvalidArg, libvirt.ErrInvalidMac, libvirt.ErrXMLError,
			libvirt.ErrXMLDetail, libvirt.ErrXMLInvalidSchema:
			return true
		}
	case ErrConflict:
		return e.Code == libvirt.ErrOperationInvalid
	}
	return false
}

func isNotFoundCode(c libvirt.ErrorNumber) bool {
	switch c {
	case libvirt.ErrNoDomain, libvirt.ErrNoNetwork, libvirt.ErrNoStoragePool,
		libvirt.ErrNoStorageVol, libvirt.ErrNoNodeDevice, libvirt.ErrNoInterface,
		libvirt.ErrNoNwfilter, libvirt.ErrNoSecret, libvirt.ErrNoDomainSnapshot,
		libvirt.ErrNoDomainMetadata, libvirt.ErrNoNetworkPort, libvirt.ErrNoNwfilterBinding,
		libvirt.ErrNoDomainCheckpoint, libvirt.ErrNoDomainBackup, libvirt.ErrNoHostname:
		return true
	}
	return false
}

// wrapErr classes an error returned by a libvirt call. Context errors and
// our own errors pass through with the operation prefixed.
func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var le libvirt.Error
	if errors.As(err, &le) {
		return &Error{Op: op, Code: libvirt.ErrorNumber(le.Code), Err: err}
	}
	var pe *libvirt.Error
	if errors.As(err, &pe) && pe != nil {
		return &Error{Op: op, Code: libvirt.ErrorNumber(pe.Code), Err: err}
	}
	switch {
	case errors.Is(err, libvirt.ErrUnsupported):
		return &Error{Op: op, Code: libvirt.ErrNoSupport, Err: err}
	case errors.Is(err, libvirt.ErrInterrupted):
		return fmt.Errorf("kvm: %s: %w: %w", op, ErrDisconnected, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("kvm: %s: %w", op, err)
	}
	return &Error{Op: op, Err: err}
}

// IsNotFound reports whether err means a missing object of any kind.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

func isCode(err error, code libvirt.ErrorNumber) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}
