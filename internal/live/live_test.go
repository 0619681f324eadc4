package live

import (
	"strconv"
	"testing"
)

func TestSlowWatcherDropsAndIsTold(t *testing.T) {
	var h Hub
	if h.Watching() {
		t.Fatal("watching with no watcher")
	}
	h.Publish("click", 1) // nobody watches: nothing to do
	w := h.Subscribe()
	if !h.Watching() {
		t.Fatal("not watching with a watcher")
	}
	for i := range Buffer + 10 {
		h.Publish("click", i) // never blocks
	}
	if n := w.Dropped(); n != 10 {
		t.Errorf("dropped %d, want 10", n)
	}
	if n := w.Dropped(); n != 0 {
		t.Errorf("dropped %d after reading the count, want 0", n)
	}
	for i := range Buffer {
		e := <-w.C
		if e.Type != "click" || string(e.Data) != strconv.Itoa(i) {
			t.Fatalf("event %d = %s %s", i, e.Type, e.Data)
		}
	}
	w.Close()
	w.Close()
	if h.Watching() {
		t.Error("still watching after Close")
	}
}

func TestWatchersAreBoundedAndEndAtClose(t *testing.T) {
	var h Hub
	var ws []*Watcher
	for range MaxWatchers {
		w := h.Subscribe()
		if w == nil {
			t.Fatal("refused below the limit")
		}
		ws = append(ws, w)
	}
	if h.Subscribe() != nil {
		t.Error("a watcher over the limit")
	}
	ws[0].Close()
	if w := h.Subscribe(); w == nil {
		t.Error("refused after one left")
	}
	h.Close()
	for _, w := range ws {
		select {
		case <-w.Done:
		default:
			t.Fatal("a watcher's Done is open after the hub closed")
		}
	}
	if h.Subscribe() != nil {
		t.Error("a new watcher after Close")
	}
	h.Close() // twice is fine
}
