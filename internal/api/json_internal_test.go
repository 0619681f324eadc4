package api

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

// An error after the client left is not logged as a failure; the same
// error on a live request is.
func TestWriteErrorQuietWhenTheClientLeft(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	err := errors.New("store: statistics: context canceled")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	writeError(httptest.NewRecorder(), httptest.NewRequestWithContext(ctx, "GET", "/api/v1/reports", nil), log, err)
	if buf.Len() != 0 {
		t.Errorf("logged %q for a request its client abandoned", buf.String())
	}

	writeError(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/v1/reports", nil), log, err)
	if !strings.Contains(buf.String(), "level=ERROR") {
		t.Errorf("logged %q for a failed live request, want an error", buf.String())
	}
}
