package ignition

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// maxDecoded caps what a gzip data URL may expand to, so a hostile config
// cannot make Deadline or a conflict check allocate gigabytes.
const maxDecoded = 256 << 20

// gzipThreshold is the size above which File contents are gzipped (when
// that makes them smaller): fw_cfg reads are slow in the guest, and a
// smaller config also fits inline delivery more often.
const gzipThreshold = 4 << 10

// DecodeDataURL decodes an RFC 2397 data URL (base64 or percent-encoded)
// and, when compression is "gzip", gunzips the result. compression "" means
// none.
func DecodeDataURL(source, compression string) ([]byte, error) {
	if len(source) < 5 || !strings.EqualFold(source[:5], "data:") {
		return nil, fmt.Errorf("%w: not a data URL (%.20q)", ErrDataURL, source)
	}
	header, payload, ok := strings.Cut(source[5:], ",")
	if !ok {
		return nil, fmt.Errorf("%w: missing ',' after the media type", ErrDataURL)
	}
	isB64 := len(header) >= 7 && strings.EqualFold(header[len(header)-7:], ";base64")
	var data []byte
	if strings.IndexByte(payload, '%') >= 0 {
		s, err := url.PathUnescape(payload)
		if err != nil {
			return nil, fmt.Errorf("%w: percent-encoding: %v", ErrDataURL, err)
		}
		payload = s
	}
	if isB64 {
		var err error
		data, err = base64.StdEncoding.DecodeString(payload)
		if err != nil {
			if d, err2 := base64.RawStdEncoding.DecodeString(payload); err2 == nil {
				data = d
			} else {
				return nil, fmt.Errorf("%w: base64: %v", ErrDataURL, err)
			}
		}
	} else {
		data = []byte(payload)
	}
	switch compression {
	case "":
		return data, nil
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%w: gzip: %v", ErrDataURL, err)
		}
		out, err := io.ReadAll(io.LimitReader(zr, maxDecoded+1))
		if err != nil {
			return nil, fmt.Errorf("%w: gzip: %v", ErrDataURL, err)
		}
		if len(out) > maxDecoded {
			return nil, fmt.Errorf("%w: gzip contents exceed %d bytes", ErrDataURL, maxDecoded)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("%w: unknown compression %q", ErrDataURL, compression)
	}
}

// EncodeDataURL returns a data URL for data: short printable text is
// percent-encoded (readable in the JSON, as openshift-install does for
// /etc/hostname), anything else base64.
func EncodeDataURL(data []byte) string {
	if len(data) <= 256 && isPlainText(data) {
		return "data:," + percentEncode(data)
	}
	return "data:;base64," + base64.StdEncoding.EncodeToString(data)
}

func isPlainText(data []byte) bool {
	for _, c := range data {
		if c != '\n' && c != '\t' && (c < 0x20 || c > 0x7e) {
			return false
		}
	}
	return true
}

// percentEncode escapes everything outside a conservative safe set, so both
// Ignition's data URL parser and any RFC 3986 reader accept the result.
func percentEncode(data []byte) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(data) * 3 / 2)
	for _, c := range data {
		if ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '/' || c == ':' || c == '=' || c == '@' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// gzipBytes compresses deterministically: no name, no mtime, fixed level.
func gzipBytes(data []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(data)
	_ = zw.Close()
	return buf.Bytes()
}

func b64(data []byte) string { return base64.StdEncoding.EncodeToString(data) }
