// Package live fans out what happens (clicks, conversions) to the clients
// that watch: the live feed of the API. It costs the hot paths one atomic
// load when nobody watches, and never blocks them: a client that reads too
// slowly misses events (and is told how many).
package live

import (
	"encoding/json"
	"sync"
	"sync/atomic"
)

// Event is one thing that happened, as JSON.
type Event struct {
	Type string // "click" or "conversion"
	Data []byte
}

// Hub is the set of watchers.
type Hub struct {
	n      atomic.Int32
	mu     sync.Mutex
	subs   map[*sub]struct{}
	closed chan struct{} // closed by Close
}

func (h *Hub) done() chan struct{} {
	if h.closed == nil {
		h.closed = make(chan struct{})
	}
	return h.closed
}

// Close ends every watch (the server shuts down): their Done channels
// close, and Subscribe refuses new ones.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.done():
	default:
		close(h.done())
	}
}

type sub struct {
	ch      chan Event
	dropped atomic.Int64
}

// Buffer is how many events a watcher may fall behind before it misses some.
const Buffer = 256

// MaxWatchers bounds the watchers of a hub.
const MaxWatchers = 100

// Watching reports whether anyone watches: callers skip building events
// when not.
func (h *Hub) Watching() bool { return h != nil && h.n.Load() > 0 }

// Publish sends v, as JSON, to every watcher that has room.
func (h *Hub) Publish(typ string, v any) {
	if !h.Watching() {
		return
	}
	data, err := json.Marshal(v)
	if err != nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		select {
		case s.ch <- Event{typ, data}:
		default:
			s.dropped.Add(1)
		}
	}
}

// Watcher is one client of the feed.
type Watcher struct {
	// C delivers the events; Done is closed when the hub closes.
	C    <-chan Event
	Done <-chan struct{}
	s    *sub
	hub  *Hub
}

// Dropped returns how many events the watcher missed since the last call.
func (w *Watcher) Dropped() int64 { return w.s.dropped.Swap(0) }

// Close removes the watcher.
func (w *Watcher) Close() {
	h := w.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[w.s]; ok {
		delete(h.subs, w.s)
		h.n.Add(-1)
	}
}

// Subscribe adds a watcher, or returns nil when the hub has MaxWatchers
// or is closed.
func (h *Hub) Subscribe() *Watcher {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.done():
		return nil
	default:
	}
	if len(h.subs) >= MaxWatchers {
		return nil
	}
	if h.subs == nil {
		h.subs = map[*sub]struct{}{}
	}
	s := &sub{ch: make(chan Event, Buffer)}
	h.subs[s] = struct{}{}
	h.n.Add(1)
	return &Watcher{C: s.ch, Done: h.done(), s: s, hub: h}
}
