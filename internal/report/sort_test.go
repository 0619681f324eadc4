package report

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// Rows with equal metrics come in the same order whatever order they were
// read in: by their dimensions, ascending, also under a descending sort.
func TestSortRowsBreaksTiesByDimensions(t *testing.T) {
	row := func(sub, offer string, clicks int64) Row {
		return Row{Dims: map[string]string{"sub_id_1": sub, "offer": offer}, Metrics: Metrics{Clicks: clicks}}
	}
	want := []Row{row("b", "2", 30), row("a", "10", 20), row("a", "9", 20), row("c", "1", 20), row("a", "1", 10)}
	// offer is an id: 9 before 10 ascending.
	want[1], want[2] = want[2], want[1]
	label := func(rs []Row) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Dims["sub_id_1"]+"/"+r.Dims["offer"])
		}
		return out
	}
	for seed := range uint64(20) {
		rows := slices.Clone(want)
		rand.New(rand.NewPCG(seed, 1)).Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		sortRows(rows, []string{"sub_id_1", "offer"}, "clicks", true)
		if got := label(rows); !slices.Equal(got, label(want)) {
			t.Fatalf("order %v, want %v", got, label(want))
		}
	}
}
