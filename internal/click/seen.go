package click

import (
	"hash/maphash"
	"sync"

	"github.com/trackd/trackd/internal/track"
)

// seenSet remembers visitors for the uniqueness windows: hashed identity →
// the time (Unix seconds) until which a new visit is not unique. It is
// bounded: a full shard first drops expired entries, then arbitrary ones, so
// memory stays flat whatever the traffic. Per node: several nodes each keep
// their own (the cookie still works across nodes).
type seenSet struct {
	seed     maphash.Seed
	perShard int
	shards   [64]seenShard
}

type seenShard struct {
	mu sync.Mutex
	m  map[uint64]int64
}

func newSeenSet(max int) *seenSet {
	s := &seenSet{seed: maphash.MakeSeed(), perShard: max/64 + 1}
	for i := range s.shards {
		s.shards[i].m = make(map[uint64]int64)
	}
	return s
}

// key hashes a scope (a campaign or stream id, 0 for global), a kind of
// identity and the identity itself.
func (s *seenSet) key(scope int64, kind byte, ident ...string) uint64 {
	var h maphash.Hash
	h.SetSeed(s.seed)
	var b [9]byte
	for i := 0; i < 8; i++ {
		b[i] = byte(scope >> (8 * i))
	}
	b[8] = kind
	h.Write(b[:])
	for _, x := range ident {
		h.WriteString(x)
		h.WriteByte(0)
	}
	return h.Sum64()
}

// visit records a visit at now and reports whether key was unseen (or its
// window had passed). The window starts again with each visit.
func (s *seenSet) visit(key uint64, now, window int64) bool {
	sh := &s.shards[key%uint64(len(s.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	until, ok := sh.m[key]
	fresh := !ok || until <= now
	if !ok && len(sh.m) >= s.perShard {
		sh.evict(now, s.perShard)
	}
	sh.m[key] = now + window
	return fresh
}

func (sh *seenShard) evict(now int64, max int) {
	for k, until := range sh.m {
		if until <= now {
			delete(sh.m, k)
		}
	}
	// Still full: drop arbitrary entries (map order is random) down to 90%.
	for k := range sh.m {
		if len(sh.m) < max*9/10 {
			break
		}
		delete(sh.m, k)
	}
}

// recentClicks keeps the last clicks in memory so that a landing click
// finds its click without a database read. A ring of fixed size bounds it.
type recentClicks struct {
	mu   sync.Mutex
	ring []string
	next int
	m    map[string]*track.Click
}

func newRecentClicks(size int) *recentClicks {
	return &recentClicks{ring: make([]string, size), m: make(map[string]*track.Click, size)}
}

func (r *recentClicks) add(c *track.Click) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.ring[r.next]; old != "" {
		delete(r.m, old)
	}
	r.ring[r.next] = c.ClickID
	r.next = (r.next + 1) % len(r.ring)
	r.m[c.ClickID] = c
}

func (r *recentClicks) get(id string) (*track.Click, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.m[id]
	return c, ok
}
