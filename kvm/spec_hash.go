package kvm

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"
)

// specHash identifies a normalised, resolved spec. It is stored in the
// domain's metadata; Define compares it instead of diffing libvirt's
// rewritten XML (which adds addresses, controllers, aliases…).
//
// The hashed bytes are specVersion, a newline and the spec as
// json.Marshal(n) encodes it. appendSpecJSON writes those bytes directly
// (json.Marshal's reflection was a tenth of DomainSpec.XML), so hashes
// stored by earlier versions stay valid; TestSpecJSONMatchesEncodingJSON
// holds it to json.Marshal byte for byte and fails when a spec type gains a
// field this encoder does not know.
func specHash(n DomainSpec) string {
	bp := specJSONBufs.Get().(*[]byte)
	b := append((*bp)[:0], specVersion...)
	b = append(b, '\n')
	b = appendSpecJSON(b, &n)
	sum := sha256.Sum256(b)
	*bp = b
	specJSONBufs.Put(bp)
	var out [len("sha256:") + 2*sha256.Size]byte
	copy(out[:], "sha256:")
	hex.Encode(out[len("sha256:"):], sum[:])
	return string(out[:])
}

var specJSONBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// appendSpecJSON appends json.Marshal(*n) to b: fields in declaration
// order under their json names, omitempty as encoding/json applies it,
// label keys sorted, strings escaped as encoding/json escapes them (HTML
// characters included).
func appendSpecJSON(b []byte, n *DomainSpec) []byte {
	b = append(b, `{"name":`...)
	b = appendJSONString(b, n.Name)
	b = append(b, `,"memoryMiB":`...)
	b = strconv.AppendUint(b, uint64(n.MemoryMiB), 10)
	b = append(b, `,"vcpus":`...)
	b = strconv.AppendUint(b, uint64(n.VCPUs), 10)
	b = appendJSONStringField(b, "cpuMode", n.CPUMode)
	b = appendJSONStringField(b, "cpuModel", n.CPUModel)
	b = appendJSONStringField(b, "machine", n.Machine)
	b = appendJSONStringField(b, "firmware", n.Firmware)
	b = appendJSONStringField(b, "type", n.Type)
	if len(n.Disks) > 0 {
		b = append(b, `,"disks":[`...)
		for i := range n.Disks {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendDiskJSON(b, &n.Disks[i])
		}
		b = append(b, ']')
	}
	if len(n.NICs) > 0 {
		b = append(b, `,"nics":[`...)
		for i := range n.NICs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendNICJSON(b, &n.NICs[i])
		}
		b = append(b, ']')
	}
	b = appendJSONBoolField(b, "stableNICNames", n.StableNICNames)
	if ig := n.Ignition; ig != nil {
		b = append(b, `,"ignition":`...)
		start := len(b)
		b = appendJSONStringField(b, "value", ig.Value)
		b = appendJSONStringField(b, "file", ig.File)
		b = closeJSONObject(b, start)
	}
	b = appendJSONBoolField(b, "noConsole", n.NoConsole)
	b = appendJSONBoolField(b, "noGuestAgent", n.NoGuestAgent)
	if len(n.Labels) > 0 {
		var arr [8]string
		keys := arr[:0]
		for k := range n.Labels {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, `,"labels":{`...)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, n.Labels[k])
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendDiskJSON(b []byte, d *DiskSpec) []byte {
	start := len(b)
	b = appendJSONStringField(b, "pool", d.Pool)
	b = appendJSONStringField(b, "volume", d.Volume)
	b = appendJSONStringField(b, "baseVolume", d.BaseVolume)
	b = appendJSONStringField(b, "path", d.Path)
	b = appendJSONStringField(b, "format", d.Format)
	b = appendJSONUintField(b, "sizeBytes", d.SizeBytes)
	b = appendJSONStringField(b, "bus", d.Bus)
	b = appendJSONStringField(b, "target", d.Target)
	b = appendJSONStringField(b, "serial", d.Serial)
	b = appendJSONUintField(b, "bootOrder", uint64(d.BootOrder))
	b = appendJSONBoolField(b, "readOnly", d.ReadOnly)
	return closeJSONObject(b, start)
}

func appendNICJSON(b []byte, c *NICSpec) []byte {
	start := len(b)
	b = appendJSONStringField(b, "network", c.Network)
	b = appendJSONStringField(b, "bridge", c.Bridge)
	b = appendJSONStringField(b, "mac", c.MAC)
	b = appendJSONStringField(b, "model", c.Model)
	b = appendJSONUintField(b, "acpiIndex", uint64(c.ACPIIndex))
	b = appendJSONUintField(b, "bootOrder", uint64(c.BootOrder))
	return closeJSONObject(b, start)
}

// The field appenders write `,"name":value` (omitempty: nothing for a zero
// value). For an object whose fields are all optional, closeJSONObject
// turns the first field's comma into the opening brace, or writes {} when
// no field was written.
func closeJSONObject(b []byte, start int) []byte {
	if len(b) == start {
		return append(b, '{', '}')
	}
	b[start] = '{' // the first field's leading comma
	return append(b, '}')
}

func appendJSONStringField(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendJSONString(b, v)
}

func appendJSONUintField(b []byte, name string, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return strconv.AppendUint(b, v, 10)
}

func appendJSONBoolField(b []byte, name string, v bool) []byte {
	if !v {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	return append(b, `":true`...)
}

const jsonHex = "0123456789abcdef"

// appendJSONString is encoding/json's string encoding with HTML escaping
// (json.Marshal's default): '"' and '\\' backslashed, \b \f \n \r \t by
// name, other control bytes and < > & as \u00XX, invalid UTF-8 as \ufffd,
// U+2028 and U+2029 as \u2028 and \u2029.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', jsonHex[c>>4], jsonHex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', jsonHex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
