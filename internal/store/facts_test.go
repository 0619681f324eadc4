package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/trackd/trackd/internal/track"
)

// TestFactShapesBounded: past maxFactShapes column sets, clicks of new
// sets are written naming every column, once each.
func TestFactShapesBounded(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	var clicks []track.Click
	// Each click has its own set of sub ids: more sets than the bound.
	for i := range maxFactShapes + 20 {
		c := track.Click{ClickID: fmt.Sprintf("c%05d", i), CreatedAt: now, CampaignID: 1}
		for b := range track.MaxSubIDs {
			if (i+1)&(1<<b) != 0 {
				c.SubIDs[b] = fmt.Sprint("v", b)
			}
		}
		clicks = append(clicks, c)
	}
	for _, batch := range [][]track.Click{clicks[:maxFactShapes], clicks[maxFactShapes:]} {
		if err := db.InsertClicks(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	if n := db.factShapeCount.Load(); n > maxFactShapes+1 {
		t.Errorf("%d column sets prepared, want at most %d", n, maxFactShapes+1)
	}
	var n int
	var sub string
	if err := db.read.QueryRow("SELECT COUNT(*), COALESCE(MAX(sub_id_1), '') FROM click_facts").Scan(&n, &sub); err != nil {
		t.Fatal(err)
	}
	if n != len(clicks) || sub != "v0" {
		t.Errorf("click_facts holds %d rows (max sub_id_1 %q), want %d", n, sub, len(clicks))
	}
}
