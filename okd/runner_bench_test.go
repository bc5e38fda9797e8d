package okd

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// BenchmarkRunnerConsume is the Runner's whole per-line path on a stream
// of installer output: line scanning, parsing with stage tracking, summary
// observation, redaction and the (disabled-level) slog call. One op = one
// line.
func BenchmarkRunnerConsume(b *testing.B) {
	var blob bytes.Buffer
	const lines = 10000
	for i := 0; i < lines; i++ {
		blob.WriteString(benchLines[i%len(benchLines)])
		blob.WriteByte('\n')
	}
	r := &Runner{logger: slog.New(slog.DiscardHandler), now: time.Now, redactor: NewRedactor()}
	r.redactor.AddPullSecret(OKDFakePullSecret)
	r.redactor.Add("abcde-fghij-klmno-pqrst")
	data := blob.Bytes()
	b.SetBytes(int64(len(data)) / lines)
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n += lines {
		h := &lineHandler{r: r, ctx: context.Background(), parser: NewLogParser("wait-for install-complete", r.now), res: &runResult{}}
		h.consume(bytes.NewReader(data))
	}
}

func TestRunnerConsumeLongLine(t *testing.T) {
	r := &Runner{logger: slog.New(slog.DiscardHandler), now: time.Now, redactor: NewRedactor()}
	h := &lineHandler{r: r, ctx: context.Background(), parser: NewLogParser("x", nil), res: &runResult{}, collect: true}
	long := strings.Repeat("a", maxLine+10)
	h.consume(strings.NewReader("level=info msg=first\n" + long + "\nlevel=info msg=after\n"))
	if len(h.res.lines) != 2 || h.res.lines[0] != "first" || !strings.Contains(h.res.lines[1], "too long") {
		t.Errorf("lines = %q", h.res.lines)
	}
}
