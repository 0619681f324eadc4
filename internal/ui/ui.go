// Package ui is trackd's web UI: static pages embedded in the binary that
// talk to the JSON API (package api) with the session cookie of a login.
//
// The pages build every element with the DOM's text nodes, never from HTML
// strings, so that values from traffic (sub ids, user agents, referrers)
// are shown as text; the Content-Security-Policy allows no inline script
// or style and no other origin, as a second wall.
package ui

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var static embed.FS

// Prefix is where the UI lives.
const Prefix = "/admin/"

// CSP is the Content-Security-Policy of the UI's pages.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Handler serves the UI under Prefix: index.html for Prefix itself, the
// files by name, with ETags so that a browser revalidates cheaply.
func Handler() http.Handler {
	files, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	etags := map[string]string{}
	err = fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, path)
		sum := sha256.Sum256(b)
		etags["/"+path] = `"` + hex.EncodeToString(sum[:8]) + `"`
		return err
	})
	if err != nil {
		panic(err)
	}
	etags["/"] = etags["/index.html"]
	server := http.StripPrefix(strings.TrimSuffix(Prefix, "/"), http.FileServerFS(files))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-cache")
		if tag, ok := etags[strings.TrimPrefix(r.URL.Path, strings.TrimSuffix(Prefix, "/"))]; ok {
			h.Set("ETag", tag)
		}
		server.ServeHTTP(w, r)
	})
}
