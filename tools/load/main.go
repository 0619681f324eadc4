// Command load drives trackd's click path (or any URL) with realistic,
// varied requests and reports throughput and latency percentiles.
//
// Closed loop (saturation): -c connections send as fast as answers come.
// Open loop (-rate N): requests start at N per second whatever the answers,
// so latency is measured without coordinated omission.
//
//	go run ./tools/load -url http://127.0.0.1:8080/camp -c 64 -d 10s
//	go run ./tools/load -url http://127.0.0.1:8080/camp -rate 5000 -d 10s
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var userAgents = []string{
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.135 Mobile Safari/537.36",
	"Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-A536B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
	"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
	"Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/489.0.0.0;]",
	"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
}

var languages = []string{"en-US,en;q=0.9", "de-DE,de;q=0.9,en;q=0.8", "pt-BR,pt;q=0.9", "ru-RU,ru;q=0.9", "", "fr-FR"}

// ips is a spread of public addresses so that geo lookups vary.
func randomIP(r *rand.Rand) string {
	for {
		a := r.IntN(223) + 1
		if a == 10 || a == 127 || a == 172 || a == 192 || a == 100 {
			continue
		}
		return fmt.Sprintf("%d.%d.%d.%d", a, r.IntN(256), r.IntN(256), r.IntN(254)+1)
	}
}

// request builds one click with varied source parameters.
func request(base string, r *rand.Rand) *http.Request {
	var q strings.Builder
	q.WriteString(base)
	if strings.Contains(base, "?") {
		q.WriteByte('&')
	} else {
		q.WriteByte('?')
	}
	fmt.Fprintf(&q, "clickid=%016x&zone=%d&campaign=%d&banner=%d&cost=0.00%d&sub1=%s&sub2=site-%d.example&utm_source=push",
		r.Uint64(), r.IntN(5000), r.IntN(50), r.IntN(300), r.IntN(90)+10, strconv.Itoa(r.IntN(100000)), r.IntN(2000))
	req, _ := http.NewRequest("GET", q.String(), nil)
	req.Header.Set("User-Agent", userAgents[r.IntN(len(userAgents))])
	if l := languages[r.IntN(len(languages))]; l != "" {
		req.Header.Set("Accept-Language", l)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	req.Header.Set("X-Forwarded-For", randomIP(r))
	if r.IntN(3) == 0 {
		req.Header.Set("Referer", "https://news-site-"+strconv.Itoa(r.IntN(100))+".example/article")
	}
	return req
}

type result struct {
	latencies []time.Duration
	codes     map[int]int
	errors    int
}

func main() {
	url := flag.String("url", "http://127.0.0.1:8080/camp", "campaign link to drive")
	conns := flag.Int("c", 64, "connections (closed loop) or max in flight (open loop)")
	dur := flag.Duration("d", 10*time.Second, "duration")
	rate := flag.Int("rate", 0, "requests per second (open loop); 0 = as fast as possible")
	total := flag.Int("n", 0, "stop after this many requests (0 = use -d)")
	flag.Parse()

	tr := &http.Transport{
		MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns, DisableCompression: true,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ctx, cancel := context.WithTimeout(context.Background(), *dur)
	defer cancel()

	var sent atomic.Int64
	results := make([]result, *conns)
	// do sends one request; latency counts from start, which in the open
	// loop is the scheduled time, so a stalled server shows as latency.
	do := func(r *rand.Rand, res *result, start time.Time) {
		resp, err := client.Do(request(*url, r))
		if err != nil {
			res.errors++
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		res.latencies = append(res.latencies, time.Since(start))
		res.codes[resp.StatusCode]++
	}
	// worker runs one connection's requests: as fast as answers come, or
	// at the start times handed out on starts.
	worker := func(i int, starts <-chan time.Time, wg *sync.WaitGroup) {
		defer wg.Done()
		r := rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))
		res := &results[i]
		res.codes = map[int]int{}
		if starts != nil {
			for at := range starts {
				do(r, res, at)
			}
			return
		}
		for ctx.Err() == nil && (*total == 0 || sent.Add(1) <= int64(*total)) {
			do(r, res, time.Now())
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	missed := 0
	if *rate == 0 {
		for i := 0; i < *conns; i++ {
			wg.Add(1)
			go worker(i, nil, &wg)
		}
	} else {
		starts := make(chan time.Time, *conns)
		for i := 0; i < *conns; i++ {
			wg.Add(1)
			go worker(i, starts, &wg)
		}
		interval := time.Second / time.Duration(*rate)
		next := time.Now()
	loop:
		for ctx.Err() == nil && (*total == 0 || sent.Add(1) <= int64(*total)) {
			select {
			case starts <- next:
			default:
				missed++ // every worker busy: counted as an error
			}
			next = next.Add(interval)
			if d := time.Until(next); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					break loop
				}
			}
		}
		close(starts)
	}
	wg.Wait()
	elapsed := time.Since(start)
	if missed > 0 {
		results[0].errors += missed
		fmt.Fprintf(os.Stderr, "load: %d requests could not start: all %d workers busy\n", missed, *conns)
	}

	var all []time.Duration
	codes := map[int]int{}
	errs := 0
	for _, r := range results {
		all = append(all, r.latencies...)
		for c, n := range r.codes {
			codes[c] += n
		}
		errs += r.errors
	}
	slices.Sort(all)
	pct := func(p float64) time.Duration {
		if len(all) == 0 {
			return 0
		}
		return all[min(len(all)-1, int(float64(len(all))*p))]
	}
	fmt.Printf("requests %d in %.1fs = %.0f req/s; errors %d; codes %v\n", len(all), elapsed.Seconds(),
		float64(len(all))/elapsed.Seconds(), errs, codes)
	fmt.Printf("latency p50 %v  p90 %v  p99 %v  max %v\n", pct(0.50).Round(time.Microsecond),
		pct(0.90).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), pct(1).Round(time.Microsecond))
}
