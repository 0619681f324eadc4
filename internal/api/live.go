package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/trackd/trackd/internal/track"
)

// liveHeartbeat keeps idle feeds (and the proxies in front of them) open.
const liveHeartbeat = 15 * time.Second

// liveFeed streams clicks and conversion changes as Server-Sent Events:
// "event: click" and "event: conversion" with a JSON object each, and
// "event: dropped" with how many a slow reader missed.
func (a *API) liveFeed(w http.ResponseWriter, r *http.Request) error {
	if a.Live == nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "no live feed on this node"}
	}
	rc := http.NewResponseController(w)
	wt := a.Live.Subscribe()
	if wt == nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: "busy", Message: "too many live feeds open, or shutting down"}
	}
	defer wt.Close()
	// The feed outlives the server's write timeout.
	rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": trackd live feed\n\n")
	if err := rc.Flush(); err != nil {
		return nil // not a streaming connection; the status is sent
	}
	tick := time.NewTicker(liveHeartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-wt.Done:
			return nil // shutting down
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return nil
			}
		case e := <-wt.C:
			if n := wt.Dropped(); n > 0 {
				fmt.Fprintf(w, "event: dropped\ndata: {\"dropped\":%d}\n\n", n)
			}
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Type, e.Data); err != nil {
				return nil
			}
		}
		rc.Flush()
	}
}

func (a *API) liveRoutes() []Route {
	return []Route{{Method: "GET", Path: "/live", Role: track.RoleViewer, Handler: a.liveFeed,
		Summary: "Live feed of clicks and conversion changes (Server-Sent Events: click, conversion, dropped)",
		Stream:  "text/event-stream"}}
}
