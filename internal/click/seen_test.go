package click

import (
	"testing"
	"time"
)

// BenchmarkSeenVisit is a click's six probes of the default table (4 M
// slots) with keys that miss the caches, as visitors do.
//
//	go test -run=^$ -bench=SeenVisit ./internal/click
func BenchmarkSeenVisit(b *testing.B) {
	s := newSeenSet(1 << 22)
	now := time.Now().Unix()
	var x uint64 = 88172645463325252
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		s.visit(x, now, 86400)
	}
}
