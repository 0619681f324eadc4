package outbound_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trackd/trackd/internal/clickid"
	"github.com/trackd/trackd/internal/outbound"
	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/store/storetest"
	"github.com/trackd/trackd/internal/track"
)

// benchEnv is newEnv for a benchmark: a trackd with the default delivery
// options, a source whose postback goes to a local receiver, and n clicks
// of its campaign written straight to the store.
func benchEnv(b *testing.B, engine store.Engine, n int, recv http.Handler) (*env, []string) {
	db := storetest.Open(b, engine)
	e := newEnv(b, db, outbound.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: recv}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	e.API("PATCH", "/settings", `{"outbound_allow":["127.0.0.0/8"]}`, 200)
	e.setup(`{"url":"http://`+ln.Addr().String()+`/pb?tid={tid}&p={payout}"}`, "")
	ctx := context.Background()
	key, err := db.Secret(ctx, store.SecretClickID)
	if err != nil {
		b.Fatal(err)
	}
	gen, _ := clickid.NewGenerator(key)
	ids := make([]string, n)
	clicks := make([]track.Click, 0, 1000)
	now := time.Now()
	camp, err := db.Campaign(ctx, e.camp)
	if err != nil {
		b.Fatal(err)
	}
	offer := camp.Streams[0].Offers[0].OfferID
	for i := range ids {
		ids[i] = gen.New(now).String()
		clicks = append(clicks, track.Click{ClickID: ids[i], CreatedAt: now, CampaignID: e.camp, OfferID: offer,
			TrafficSourceID: e.source})
		if len(clicks) == cap(clicks) || i == n-1 {
			if err := db.InsertClicks(ctx, clicks); err != nil {
				b.Fatal(err)
			}
			clicks = clicks[:0]
		}
	}
	return e, ids
}

// BenchmarkDeliveries measures delivered postbacks per second to a local
// receiver: b.N conversions queue while the target is paused, then it is
// resumed and the queue drains.
//
//	go test -run=^$ -bench=Deliveries -benchtime=20000x ./internal/outbound
func BenchmarkDeliveries(b *testing.B) {
	for _, engine := range storetest.Engines() {
		b.Run(string(engine), func(b *testing.B) {
			var got atomic.Int64
			e, ids := benchEnv(b, engine, b.N, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got.Add(1) }))
			target := track.Target(track.TargetSource, e.source)
			e.API("POST", "/outbound/targets/"+target+"/pause", "", 204)
			sendPostbacks(b, e, ids, 0)
			b.ResetTimer()
			e.API("POST", "/outbound/targets/"+target+"/resume", "", 204)
			for got.Load() < int64(b.N) {
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}

// BenchmarkPostbackToDelivery sends postbacks at a steady rate (RATE per
// second, open loop) and measures the time from sending each postback in
// to its postback out reaching the receiver.
//
//	go test -run=^$ -bench=PostbackToDelivery -benchtime=5000x ./internal/outbound
func BenchmarkPostbackToDelivery(b *testing.B) {
	const rate = 500
	for _, engine := range storetest.Engines() {
		b.Run(string(engine), func(b *testing.B) {
			var (
				mu      sync.Mutex
				arrived = map[string]time.Time{}
			)
			e, ids := benchEnv(b, engine, b.N, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				arrived[r.URL.Query().Get("tid")] = time.Now()
				mu.Unlock()
			}))
			b.ResetTimer()
			sent := sendPostbacks(b, e, ids, rate)
			for {
				mu.Lock()
				n := len(arrived)
				mu.Unlock()
				if n == b.N {
					break
				}
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			lat := make([]time.Duration, 0, b.N)
			for tid, at := range arrived {
				lat = append(lat, at.Sub(sent[tid]))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
		})
	}
}

// sendPostbacks sends a lead postback for each click, tid T<i>: at rate
// per second when rate > 0 (each in its own goroutine), else as fast as 32
// connections go. It returns when all are answered, with the time each was
// sent.
func sendPostbacks(b *testing.B, e *env, ids []string, rate int) map[string]time.Time {
	var (
		mu   sync.Mutex
		sent = make(map[string]time.Time, len(ids))
		wg   sync.WaitGroup
	)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	one := func(i int) {
		defer wg.Done()
		tid := fmt.Sprintf("T%d", i)
		mu.Lock()
		sent[tid] = time.Now()
		mu.Unlock()
		res, err := client.Get(fmt.Sprintf("%s/%s/postback?subid=%s&status=lead&payout=1.5&tid=%s", e.URL, e.PostbackKey, ids[i], tid))
		if err != nil {
			b.Error(err)
			return
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			b.Errorf("postback: %d", res.StatusCode)
		}
	}
	if rate > 0 {
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for i := range ids {
			<-tick.C
			wg.Add(1)
			go one(i)
		}
	} else {
		next := make(chan int)
		for range 32 {
			go func() {
				for i := range next {
					one(i)
				}
			}()
		}
		for i := range ids {
			wg.Add(1)
			next <- i
		}
		close(next)
	}
	wg.Wait()
	return sent
}
