package enrich

import (
	"hash/maphash"
	"sync"
)

// cache is a bounded, sharded map safe for concurrent use.
//
// A hit takes one shard read lock and one map lookup: no allocation. When a
// shard is full, inserting a new key evicts one entry chosen at random (Go
// randomises where map iteration starts), so the total number of entries never
// exceeds cap (rounded up to a multiple of the shard count). Random eviction
// keeps popular keys with high probability, needs no per-entry bookkeeping on
// the hit path and cannot be driven into pathological behaviour by an attacker
// cycling through keys.
type cache[K comparable, V any] struct {
	shards   []cacheShard[K, V]
	mask     uint64
	perShard int
	hash     func(K) uint64
}

type cacheShard[K comparable, V any] struct {
	mu sync.RWMutex
	m  map[K]V
	_  [40]byte // keep shards on separate cache lines
}

const maxShards = 64

func newCache[K comparable, V any](size int, hash func(K) uint64) *cache[K, V] {
	if size < 1 {
		size = 1
	}
	// Aim for at least 16 entries per shard, at most maxShards shards,
	// power-of-two count so the shard is picked with a mask.
	n := 1
	for n < maxShards && n*2*16 <= size {
		n *= 2
	}
	per := (size + n - 1) / n
	c := &cache[K, V]{
		shards:   make([]cacheShard[K, V], n),
		mask:     uint64(n - 1),
		perShard: per,
		hash:     hash,
	}
	for i := range c.shards {
		c.shards[i].m = make(map[K]V) // grows with use: no memory for unused capacity
	}
	return c
}

func (c *cache[K, V]) shard(k K) *cacheShard[K, V] {
	return &c.shards[c.hash(k)&c.mask]
}

func (c *cache[K, V]) get(k K) (V, bool) {
	s := c.shard(k)
	s.mu.RLock()
	v, ok := s.m[k]
	s.mu.RUnlock()
	return v, ok
}

func (c *cache[K, V]) put(k K, v V) {
	s := c.shard(k)
	s.mu.Lock()
	if _, ok := s.m[k]; !ok && len(s.m) >= c.perShard {
		for old := range s.m {
			delete(s.m, old)
			break
		}
	}
	s.m[k] = v
	s.mu.Unlock()
}

// len reports the number of cached entries (for tests and metrics).
func (c *cache[K, V]) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

// capacity is the most entries the cache can hold.
func (c *cache[K, V]) capacity() int { return c.perShard * len(c.shards) }

func stringHasher() func(string) uint64 {
	seed := maphash.MakeSeed()
	return func(s string) uint64 { return maphash.String(seed, s) }
}

// mix64 is the SplitMix64 finaliser: spreads integer keys over all bits.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func uintptrHasher(k uintptr) uint64 { return mix64(uint64(k)) }
