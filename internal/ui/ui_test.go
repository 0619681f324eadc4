package ui_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/trackd/trackd/internal/ui"
)

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(http.StripPrefix("", ui.Handler()))
	defer srv.Close()
	get := func(path string, header ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	for _, tc := range []struct {
		path, ctype string
	}{
		{ui.Prefix, "text/html"},
		{ui.Prefix + "app.js", "text/javascript"},
		{ui.Prefix + "app.css", "text/css"},
	} {
		res := get(tc.path)
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), tc.ctype) {
			t.Errorf("%s: %d %s, want 200 %s", tc.path, res.StatusCode, res.Header.Get("Content-Type"), tc.ctype)
		}
		if res.Header.Get("Content-Security-Policy") != ui.CSP || res.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: headers %v lack the CSP or X-Frame-Options", tc.path, res.Header)
		}
		tag := res.Header.Get("ETag")
		if tag == "" {
			t.Errorf("%s: no ETag", tc.path)
			continue
		}
		if again := get(tc.path, "If-None-Match", tag); again.StatusCode != http.StatusNotModified {
			t.Errorf("%s with its ETag: %d, want 304", tc.path, again.StatusCode)
		}
	}
	if res := get(ui.Prefix + "nope.js"); res.StatusCode != 404 {
		t.Errorf("unknown file: %d, want 404", res.StatusCode)
	}
}

// TestNoMarkupFromStrings keeps the UI's scripts to the DOM's text nodes:
// the APIs that parse strings as HTML or code are never used.
func TestNoMarkupFromStrings(t *testing.T) {
	scripts, err := filepath.Glob("static/*.js")
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no scripts in static/: %v", err)
	}
	bad := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(|setTimeout\(['"]`)
	for _, name := range scripts {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(src), "\n") {
			if m := bad.FindString(line); m != "" && !strings.HasPrefix(strings.TrimSpace(line), "//") {
				t.Errorf("%s:%d uses %s: build elements with h() instead", name, i+1, m)
			}
		}
	}
}
