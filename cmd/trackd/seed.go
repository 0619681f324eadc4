package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/trackd/trackd/internal/clickid"
	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/track"
)

// seed fills the store with generated traffic for demos and benchmarks:
// traffic sources, offers and campaigns, then clicks spread over the last
// days and conversions of some of them, written as the tracker writes them
// (statistics included).
func seed(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("trackd seed", flag.ContinueOnError)
	var sf storeFlags
	sf.register(fs, getenv)
	clicks := fs.Int("clicks", 100_000, "clicks to make")
	days := fs.Int("days", 30, "over how many days, ending now")
	campaigns := fs.Int("campaigns", 20, "campaigns to make")
	rate := fs.Float64("conversion-rate", 0.02, "share of clicks that convert")
	seedValue := fs.Uint64("seed", 1, "random seed: the same seed makes the same traffic")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if *clicks < 0 || *days < 1 || *days > 400 || *campaigns < 1 || *campaigns > 1000 || *rate < 0 || *rate > 1 {
		return usageError{"seed: want -clicks ≥ 0, -days 1..400, -campaigns 1..1000, -conversion-rate 0..1"}
	}
	return sf.with(ctx, stderr, "warn", func(db *store.DB) error {
		password := track.RandomToken(12)
		created, err := db.Init(ctx, "admin", password)
		if err != nil {
			return err
		}
		if created {
			fmt.Fprintf(stdout, "Created the admin user: login admin, password %s\n", password)
		}
		key, err := db.Secret(ctx, store.SecretClickID)
		if err != nil {
			return err
		}
		ids, err := clickid.NewGenerator(key)
		if err != nil {
			return err
		}
		g := &generator{r: rand.New(rand.NewPCG(*seedValue, 7)), ids: ids, db: db}
		if err := g.objects(ctx, *campaigns); err != nil {
			return err
		}
		start := time.Now()
		n, convs, err := g.traffic(ctx, *clicks, time.Duration(*days)*24*time.Hour, *rate)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "seeded %d clicks and %d conversions over %d days in %s\n", n, convs, *days,
			time.Since(start).Round(time.Millisecond))
		return nil
	})
}

type seedCampaign struct {
	id, source int64
	streams    []seedStream
}

type seedStream struct {
	id     int64
	offers []int64
}

type generator struct {
	r         *rand.Rand
	ids       *clickid.Generator
	db        *store.DB
	campaigns []seedCampaign
}

var (
	seedCountries = []string{"US", "US", "US", "GB", "DE", "DE", "FR", "BR", "BR", "IN", "IN", "IN", "ID", "MX", "TR", "VN", "TH", "PH", "CA", "AU"}
	seedDevices   = []string{"mobile", "mobile", "mobile", "desktop", "tablet"}
	seedOS        = []string{"Android", "Android", "iOS", "Windows", "macOS", "Linux"}
	seedBrowsers  = []string{"Chrome", "Chrome", "Safari", "Samsung Internet", "Firefox", "Edge", "Opera"}
)

// objects makes 5 traffic sources, 10 offers and n campaigns of 3 streams.
func (g *generator) objects(ctx context.Context, n int) error {
	var sources, offers []int64
	for i := range 5 {
		s := track.TrafficSource{Name: "Seed source " + strconv.Itoa(i+1),
			Params: []track.SourceParam{{Slot: "external_id", Param: "clickid"}, {Slot: "sub_id_1", Param: "zone"}}}
		s.Normalize()
		if err := g.db.CreateTrafficSource(ctx, &s); err != nil {
			return err
		}
		sources = append(sources, s.ID)
	}
	for i := range 10 {
		o := track.Offer{Name: "Seed offer " + strconv.Itoa(i+1), URL: "https://offer.example/?s={clickid}", UpsellsAllowed: true}
		o.Normalize("USD")
		if err := g.db.CreateOffer(ctx, &o); err != nil {
			return err
		}
		offers = append(offers, o.ID)
	}
	suffix := strconv.FormatInt(time.Now().Unix()%100000, 36)
	for i := range n {
		src := sources[i%len(sources)]
		pick := g.r.Perm(len(offers))
		c := track.Campaign{Alias: "seed-" + suffix + "-" + strconv.Itoa(i+1), Name: "Seed campaign " + strconv.Itoa(i+1),
			TrafficSourceID: &src, Streams: []track.Stream{
				{Name: "tier 1", Filters: []track.Filter{{Type: "country", Values: []string{"US", "GB", "DE", "CA", "AU"}}},
					Offers: []track.OfferShare{{OfferID: offers[pick[0]], Share: 70}, {OfferID: offers[pick[1]], Share: 30}}},
				{Name: "mobile", Filters: []track.Filter{{Type: "device_type", Values: []string{"mobile"}}},
					Offers: []track.OfferShare{{OfferID: offers[pick[2]]}}},
				{Name: "rest", Type: "default", Offers: []track.OfferShare{{OfferID: offers[pick[3]]}}},
			}}
		c.Normalize("USD")
		if err := c.Validate(); err != nil {
			return err
		}
		if err := g.db.CreateCampaign(ctx, &c); err != nil {
			return err
		}
		sc := seedCampaign{id: c.ID, source: src}
		for _, st := range c.Streams {
			var os []int64
			for _, o := range st.Offers {
				os = append(os, o.OfferID)
			}
			sc.streams = append(sc.streams, seedStream{st.ID, os})
		}
		g.campaigns = append(g.campaigns, sc)
	}
	return nil
}

// traffic writes n clicks spread over span ending now, in batches, and
// converts a share of them.
func (g *generator) traffic(ctx context.Context, n int, span time.Duration, rate float64) (int, int, error) {
	const batch = 5000
	end := time.Now().UTC()
	made, converted := 0, 0
	buf := make([]track.Click, 0, batch)
	for made < n {
		buf = buf[:0]
		for range min(batch, n-made) {
			buf = append(buf, g.click(end.Add(-time.Duration(g.r.Int64N(int64(span))))))
		}
		if err := g.db.InsertClicks(ctx, buf); err != nil {
			return made, converted, err
		}
		made += len(buf)
		err := g.db.Update(ctx, func(tx *store.Tx) error {
			for i := range buf {
				if g.r.Float64() >= rate {
					continue
				}
				if err := g.convert(ctx, tx, &buf[i], end); err != nil {
					return err
				}
				converted++
			}
			return nil
		})
		if err != nil {
			return made, converted, err
		}
	}
	return made, converted, nil
}

func (g *generator) click(at time.Time) track.Click {
	r := g.r
	c := g.campaigns[r.IntN(len(g.campaigns))]
	st := c.streams[r.IntN(len(c.streams))]
	ck := track.Click{ClickID: g.ids.New(at).String(), CreatedAt: at.Truncate(time.Millisecond), CampaignID: c.id,
		StreamID: st.id, OfferID: st.offers[r.IntN(len(st.offers))], TrafficSourceID: c.source,
		ExternalID: strconv.FormatUint(r.Uint64(), 36), Cost: track.Money(500 + r.IntN(9500)),
		Country: seedCountries[r.IntN(len(seedCountries))], DeviceType: seedDevices[r.IntN(len(seedDevices))],
		OS: seedOS[r.IntN(len(seedOS))], Browser: seedBrowsers[r.IntN(len(seedBrowsers))],
		IsBot: r.IntN(20) == 0, UniqueCampaign: r.IntN(10) < 7, UniqueStream: r.IntN(10) < 8, UniqueGlobal: r.IntN(10) < 5,
		CreativeID: "cr" + strconv.Itoa(r.IntN(50)), Source: "push"}
	// Zones are skewed: a few send most of the traffic.
	ck.SubIDs[0] = strconv.Itoa(int(r.ExpFloat64() * 400))
	ck.SubIDs[1] = "site-" + strconv.Itoa(r.IntN(2000)) + ".example"
	return ck
}

// convert records a conversion of c as the postback path would: a lead,
// a sale or a rejection, now and then a rebill, with its statistics.
func (g *generator) convert(ctx context.Context, tx *store.Tx, c *track.Click, now time.Time) error {
	r := g.r
	status := track.StatusLead
	switch x := r.IntN(100); {
	case x < 45:
		status = track.StatusSale
	case x < 60:
		status = track.StatusRejected
	}
	payout := track.Money((50 + r.IntN(1950)) * 10_000) // 0.50 .. 20.00
	at := c.CreatedAt.Add(time.Duration(r.Int64N(int64(6 * time.Hour))))
	if at.After(now) {
		at = now
	}
	conv := track.Conversion{ClickID: c.ClickID, TID: "T" + c.ExternalID, Status: status, RawStatus: string(status),
		Payout: payout, OriginalPayout: payout, OriginalCurrency: "USD", Rate: track.Rate(1_000_000_000),
		ClickTime: c.CreatedAt, CampaignID: c.CampaignID, StreamID: c.StreamID, OfferID: c.OfferID,
		TrafficSourceID: c.TrafficSourceID, CreatedAt: at, UpdatedAt: at}
	if _, err := tx.InsertConversion(ctx, &conv); err != nil {
		return err
	}
	if err := tx.ConversionChanged(ctx, nil, &conv, c); err != nil {
		return err
	}
	if status == track.StatusSale && r.IntN(10) == 0 {
		rebill := conv
		rebill.TID, rebill.Status, rebill.RawStatus, rebill.Upsell = conv.TID+"-R", track.StatusRebill, "rebill", true
		if _, err := tx.InsertConversion(ctx, &rebill); err != nil {
			return err
		}
		return tx.ConversionChanged(ctx, nil, &rebill, c)
	}
	return nil
}
