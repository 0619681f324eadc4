package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/trackd/trackd/internal/track"
)

// TestNarrowClicksUpgrade: clicks written as migration 0008 kept them (a
// wide clicks row and click_facts) read back whole after 0009 narrowed
// clicks on SQLite, beside clicks written since; sub id updates reach
// them; the log lists and purge deletes both.
func TestNarrowClicksUpgrade(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.migrate(ctx, 8); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	click := func(i int) track.Click {
		c := track.Click{ClickID: fmt.Sprintf("click-%02d", i), CreatedAt: base.Add(time.Duration(i) * time.Minute),
			CampaignID: 1, StreamID: 2, OfferID: 3, LandingID: 4, TrafficSourceID: 5, ExternalID: fmt.Sprint("ext-", i),
			CreativeID: "cr", AdCampaignID: "ac", Keyword: "kw", Source: "push", Cost: 2500, OriginalCost: 2300,
			CostCurrency: "EUR", Query: "zone=7&x=é", IP: "198.51.100.7", UserAgent: "Mozilla/5.0 (Linux; Android 14)",
			Referrer: "https://ref.example/", Language: "de", Country: "DE", Region: "BE", City: "Berlin", ISP: "Telekom",
			ASN: 3320, ConnectionType: "cellular", DeviceType: "mobile", OS: "Android", OSVersion: "14", Browser: "Chrome",
			BrowserVersion: "131", IsBot: i == 1, BotReason: "datacenter", UniqueCampaign: true, UniqueGlobal: i == 0}
		c.SubIDs[0], c.SubIDs[1], c.SubIDs[29] = "zone-7", fmt.Sprint("site-", i), "last"
		return c
	}
	old := []track.Click{click(0), click(1)}
	// What InsertClicks wrote before 0009.
	err = db.tx(ctx, func(tx *Tx) error {
		for i := range old {
			args, _ := clickValues(&old[i], nil, nil)
			if _, err := tx.exec(ctx, "INSERT INTO clicks ("+strings.Join(clickColumns, ", ")+") VALUES ("+
				placeholders(len(clickColumns))+")", args...); err != nil {
				return err
			}
		}
		return tx.insertFacts(ctx, old)
	})
	if err != nil {
		t.Fatal(err)
	}
	ran, err := db.Migrate(ctx)
	if err != nil || len(ran) == 0 || ran[0] != "0009_clicks_by_id.sql" {
		t.Fatalf("Migrate ran %v, %v", ran, err)
	}
	for _, want := range old {
		got, err := db.Click(ctx, want.ClickID)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("click after the upgrade:\n got %+v\nwant %+v", got, want)
		}
	}
	// A sub id update reaches an upgraded click (and its facts).
	err = db.tx(ctx, func(tx *Tx) error { return tx.SetClickSubIDs(ctx, &old[0], map[int]string{1: "site-new"}) })
	if err != nil {
		t.Fatal(err)
	}
	byID, err := func() (map[string]track.Click, error) {
		var out map[string]track.Click
		err := db.tx(ctx, func(tx *Tx) error {
			var err error
			out, err = tx.ClicksByID(ctx, []string{old[0].ClickID, old[1].ClickID})
			return err
		})
		return out, err
	}()
	if err != nil || byID[old[0].ClickID].SubIDs[1] != "site-new" || byID[old[1].ClickID].SubIDs[1] != "site-1" {
		t.Errorf("sub ids after an update: %q, %q (%v)", byID[old[0].ClickID].SubIDs[1], byID[old[1].ClickID].SubIDs[1], err)
	}
	var fact string
	if err := db.read.QueryRow("SELECT sub_id_2 FROM click_facts WHERE click_id = ?", old[0].ClickID).Scan(&fact); err != nil || fact != "site-new" {
		t.Errorf("click_facts.sub_id_2 = %q after the update (%v)", fact, err)
	}
	// A click written now sits beside them in the log.
	if err := db.InsertClicks(ctx, []track.Click{click(2)}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, q := range []ClickQuery{{CampaignID: 1}, {}} {
		page, err := db.Clicks(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page {
			ids = append(ids, c.ClickID)
		}
	}
	if got, want := strings.Join(ids, " "), "click-02 click-01 click-00 click-02 click-01 click-00"; got != want {
		t.Errorf("click log = %s, want %s", got, want)
	}
	if got, err := db.Click(ctx, "click-02"); err != nil || fmt.Sprint(got) != fmt.Sprint(click(2)) {
		t.Errorf("new click read back:\n got %+v\nwant %+v (%v)", got, click(2), err)
	}
	// Purge takes the two old ones, oldest first, with their facts.
	if n, err := db.PurgeClicks(ctx, base.Add(90*time.Second), 10); err != nil || n != 2 {
		t.Fatalf("purged %d, %v; want 2", n, err)
	}
	var facts int
	if err := db.read.QueryRow("SELECT COUNT(*) FROM click_facts").Scan(&facts); err != nil || facts != 1 {
		t.Errorf("click_facts holds %d rows after the purge, want 1 (%v)", facts, err)
	}
}
