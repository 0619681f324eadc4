package click

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/trackd/trackd/internal/track"
)

// seenSet remembers visitors for the uniqueness windows. It is a fixed
// table allocated once: each slot packs a 32-bit fingerprint of a hashed
// identity (scope, kind, visitor) with the minute until which a new visit
// is not unique. A key lives in one of probeLen slots after its home slot;
// a new key takes an empty or expired slot there, or else the slot that
// expires first. So memory is constant (8 bytes a slot, no pointers for
// the garbage collector to scan) whatever the traffic, and a full table
// forgets the visitors closest to expiry first. Per node: several nodes
// each keep their own (the cookie still works across nodes).
type seenSet struct {
	seed   maphash.Seed
	slots  []uint64
	mask   uint64
	shards [64]sync.Mutex
}

const probeLen = 8

// seenEpoch is the start of the minutes counted in a slot: 32 bits of
// minutes reach past the year 10,000.
var seenEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Unix()

func newSeenSet(max int) *seenSet {
	n := 1024
	for n < max {
		n <<= 1
	}
	return &seenSet{seed: maphash.MakeSeed(), slots: make([]uint64, n), mask: uint64(n - 1)}
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

// visit records a visit at now (Unix seconds) and reports whether key was
// unseen or its window had passed. The window starts again with each visit.
func (s *seenSet) visit(key uint64, now, window int64) bool {
	fp := key >> 32
	if fp == 0 {
		fp = 1 // 0 marks an empty slot
	}
	nowMin := uint64(max(now-seenEpoch, 0) / 60)
	until := uint64(max(now+window-seenEpoch, 0)/60) + 1
	home := key & s.mask
	// Probes stay inside one aligned group of probeLen slots, so one lock
	// per group covers them.
	group := home &^ (probeLen - 1)
	mu := &s.shards[(group/probeLen)%uint64(len(s.shards))]
	mu.Lock()
	defer mu.Unlock()
	victim, victimUntil := group, uint64(1<<32)
	for i := uint64(0); i < probeLen; i++ {
		idx := group + (home+i)%probeLen
		slot := s.slots[idx]
		slotFP, slotUntil := slot>>32, slot&0xffffffff
		if slotFP == fp {
			s.slots[idx] = fp<<32 | until
			return slotUntil <= nowMin
		}
		if slotUntil < victimUntil {
			victim, victimUntil = idx, slotUntil
		}
	}
	s.slots[victim] = fp<<32 | until
	return true
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
