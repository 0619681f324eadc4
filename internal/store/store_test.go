package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/store/storetest"
	"github.com/trackd/trackd/internal/track"
)

func TestMigrateIsIdempotent(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ran, err := db.Migrate(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(ran) != 0 {
			t.Errorf("second Migrate ran %v, want nothing", ran)
		}
	})
}

func TestInitCreatesSecretsAndOneAdmin(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		created, err := db.Init(ctx, "admin", "correct horse battery")
		if err != nil || !created {
			t.Fatalf("first Init = %v, %v; want true, nil", created, err)
		}
		key1, err := db.Secret(ctx, store.SecretClickID)
		if err != nil || len(key1) != 32 {
			t.Fatalf("click id key = %x, %v; want 32 bytes", key1, err)
		}
		created, err = db.Init(ctx, "admin", "another password")
		if err != nil || created {
			t.Fatalf("second Init = %v, %v; want false, nil", created, err)
		}
		key2, _ := db.Secret(ctx, store.SecretClickID)
		if string(key1) != string(key2) {
			t.Error("second Init changed the click id key")
		}
		if _, err := db.CheckUserPassword(ctx, "ADMIN", "correct horse battery"); err != nil {
			t.Errorf("admin password does not check: %v", err)
		}
		if _, err := db.CheckUserPassword(ctx, "admin", "another password"); !errors.Is(err, track.ErrBadCredentials) {
			t.Errorf("wrong password: err = %v, want ErrBadCredentials", err)
		}
		s, err := db.Settings(ctx)
		if err != nil || len(s.PostbackKey) < 16 {
			t.Errorf("settings = %+v, %v; want a postback key", s, err)
		}
	})
}

func TestCampaignStreamsKeepTheirIDs(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o1 := track.Offer{Name: "o1", URL: "https://o.example/?c={clickid}"}
		o2 := track.Offer{Name: "o2", URL: "https://o.example/2"}
		for _, o := range []*track.Offer{&o1, &o2} {
			o.Normalize("USD")
			if err := db.CreateOffer(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
		c := track.Campaign{Alias: "camp", Name: "Camp", Streams: []track.Stream{
			{Name: "a", Offers: []track.OfferShare{{OfferID: o1.ID, Share: 30}, {OfferID: o2.ID, Share: 70}}},
			{Name: "b", Type: "default", Offers: []track.OfferShare{{OfferID: o2.ID}}},
		}}
		c.Normalize("USD")
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateCampaign(ctx, &c); err != nil {
			t.Fatal(err)
		}
		idA, idB := c.Streams[0].ID, c.Streams[1].ID
		// Swap the order, drop o1 from a, add a new stream.
		c.Streams = []track.Stream{c.Streams[1], c.Streams[0], {Name: "new", Offers: []track.OfferShare{{OfferID: o1.ID, Share: 1}}}}
		c.Streams[1].Offers = c.Streams[1].Offers[1:]
		c.Normalize("USD")
		if err := db.UpdateCampaign(ctx, &c); err != nil {
			t.Fatal(err)
		}
		got, err := db.Campaign(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Streams) != 3 || got.Streams[0].ID != idB || got.Streams[1].ID != idA || got.Streams[2].ID == 0 {
			t.Fatalf("streams after update = %+v; want b(%d), a(%d), new", got.Streams, idB, idA)
		}
		if o := got.Streams[1].Offers; len(o) != 1 || o[0].OfferID != o2.ID || o[0].Share != 70 {
			t.Errorf("stream a offers = %+v, want only o2 with share 70", o)
		}
		// o1 is still used by the new stream.
		var ce *track.ConflictError
		if err := db.DeleteOffer(ctx, o1.ID); !errors.As(err, &ce) {
			t.Errorf("DeleteOffer(used) = %v, want a conflict", err)
		}
		// Removing the stream frees it; the campaign list agrees with Campaign.
		got.Streams = got.Streams[:2]
		if err := db.UpdateCampaign(ctx, &got); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteOffer(ctx, o1.ID); err != nil {
			t.Errorf("DeleteOffer(unused) = %v", err)
		}
		all, err := db.Campaigns(ctx)
		if err != nil || len(all) != 1 || len(all[0].Streams) != 2 || all[0].Streams[0].ID != idB {
			t.Errorf("Campaigns = %+v, %v", all, err)
		}
	})
}
