package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/store/storetest"
)

// binary is trackd built once for the tests that run it as a process.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "trackd-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "trackd")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// started is a trackd serve process.
type started struct {
	cmd    *exec.Cmd
	addr   string
	stdout *syncBuffer
	done   chan error
}

// killWhen polls until ready holds, then kills the process with SIGKILL
// and waits for it to end.
func (s *started) killWhen(ready func() bool) {
	for !ready() {
		time.Sleep(time.Millisecond)
	}
	s.cmd.Process.Kill()
	exit := <-s.done
	s.done <- exit // for the cleanup
}

// syncBuffer is a bytes.Buffer that a running process may write while the
// test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startServe runs "trackd serve" on a free port with env and waits until
// it listens.
func startServe(t *testing.T, env ...string) *started {
	t.Helper()
	cmd := exec.Command(binary, "serve", "-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), env...)
	stdout := new(syncBuffer)
	cmd.Stdout = stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &started{cmd: cmd, stdout: stdout, done: make(chan error, 1)}
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-s.done
	})
	addrc := make(chan string, 1)
	listening := regexp.MustCompile(`trackd listening"? addr=(\S+)`)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addrc <- m[1]
			}
			t.Log("trackd:", sc.Text())
		}
		s.done <- cmd.Wait()
	}()
	select {
	case s.addr = <-addrc:
	case err := <-s.done:
		t.Fatalf("trackd exited before listening: %v", err)
		s.done <- err
	case <-time.After(60 * time.Second):
		t.Fatal("trackd did not start listening")
	}
	return s
}

// storeEnv makes an empty store on engine and the environment that points
// trackd at it.
func storeEnv(t *testing.T, engine store.Engine, adminPassword string) (data, dsn string, env []string) {
	t.Helper()
	data = t.TempDir()
	if engine == store.Postgres {
		dsn = storetest.DSN(t, engine)
	}
	return data, dsn, []string{"TRACKD_DATA=" + data, "TRACKD_DB=" + dsn, "TRACKD_ADMIN_PASSWORD=" + adminPassword}
}

// apikeyCreate runs "trackd apikey create" with env and returns its stdout.
func apikeyCreate(t *testing.T, env []string) []byte {
	t.Helper()
	cmd := exec.Command(binary, "apikey", "create", "--name", "test")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("apikey create: %v", err)
	}
	return out
}

func get(t *testing.T, url, key string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// TestServeAndAPIKeyOnBothEngines walks the README: first start on an empty
// data dir prints the admin password once, `trackd apikey create` works
// beside the running server, the key opens the API, and SIGTERM stops the
// server cleanly.
func TestServeAndAPIKeyOnBothEngines(t *testing.T) {
	for _, engine := range storetest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			data, _, env := storeEnv(t, engine, "")
			s := startServe(t, env...)
			if engine == store.SQLite {
				if _, err := os.Stat(filepath.Join(data, "trackd.db")); err != nil {
					t.Errorf("no database in the data dir: %v", err)
				}
			}
			if code, body := get(t, "http://"+s.addr+"/healthz", ""); code != 200 || !strings.Contains(string(body), `"ok"`) {
				t.Errorf("healthz = %d %s", code, body)
			}

			out := apikeyCreate(t, env)
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "trk_") {
				t.Fatalf("apikey create printed %q, want one key line", out)
			}
			code, body := get(t, "http://"+s.addr+"/api/v1/settings", lines[0])
			if code != 200 {
				t.Fatalf("GET settings with the new key: %d %s", code, body)
			}
			var settings map[string]any
			json.Unmarshal(body, &settings)
			if k, _ := settings["postback_key"].(string); len(k) < 16 {
				t.Errorf("no postback key in settings: %s", body)
			}
			if code, _ := get(t, "http://"+s.addr+"/api/v1/settings", ""); code != 401 {
				t.Errorf("without key: %d, want 401", code)
			}
			if code, body := get(t, "http://"+s.addr+"/metrics", ""); code != 200 || !strings.Contains(string(body), "trackd_http_requests_total") {
				t.Errorf("metrics = %d, no request counter", code)
			}

			s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case err := <-s.done:
				if err != nil {
					t.Errorf("trackd exited with %v after SIGTERM, want 0", err)
				}
				s.done <- err
			case <-time.After(30 * time.Second):
				t.Fatal("trackd did not stop after SIGTERM")
			}
			m := regexp.MustCompile(`password (\S+)`).FindStringSubmatch(s.stdout.String())
			if m == nil {
				t.Fatalf("first start did not print the admin password: %q", s.stdout.String())
			}

			// Second start: no new password, the same data.
			s2 := startServe(t, env...)
			if code, _ := get(t, "http://"+s2.addr+"/api/v1/settings", lines[0]); code != 200 {
				t.Errorf("key did not survive a restart: %d", code)
			}
			if strings.Contains(s2.stdout.String(), "password") {
				t.Errorf("second start printed a password again: %q", s2.stdout.String())
			}
		})
	}
}

func TestCommandLine(t *testing.T) {
	data := t.TempDir()
	getenv := func(k string) string {
		if k == "TRACKD_DATA" {
			return data
		}
		return ""
	}
	ctx := context.Background()
	for _, tc := range []struct {
		args    []string
		wantErr string
		wantOut string
	}{
		{args: []string{"version"}, wantOut: "trackd "},
		{args: []string{"help"}, wantOut: "Usage:"},
		{args: []string{"frobnicate"}, wantErr: `unknown command "frobnicate"`},
		{args: []string{"apikey"}, wantErr: "usage: trackd apikey create"},
		{args: []string{"apikey", "create"}, wantErr: "name: is required"},
		{args: []string{"apikey", "create", "--name", "x", "--role", "root"}, wantErr: `unknown role "root"`},
		{args: []string{"user", "add", "--login", "ann", "--password", "short"}, wantErr: "at least 10 characters"},
		{args: []string{"user", "add", "--login", "ann", "--role", "admin"}, wantOut: "with password "},
		{args: []string{"user", "add", "--login", "ANN", "--password", "0123456789"}, wantErr: "taken"},
		{args: []string{"migrate"}, wantOut: "up to date"},
		{args: []string{"serve", "-log-format", "xml"}, wantErr: "unknown log format"},
		{args: []string{"serve", "extra"}, wantErr: `unexpected argument "extra"`},
		{args: []string{"migrate", "-db", "mysql://x"}, wantErr: "unknown database"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(ctx, tc.args, getenv, &stdout, &stderr)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("trackd %v: err = %v, want %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !strings.Contains(stdout.String(), tc.wantOut) {
			t.Errorf("trackd %v = %v, stdout %q; want %q", tc.args, err, stdout.String(), tc.wantOut)
		}
	}
}

// apiCaller returns a function that calls trackd's API at addr with key
// and fails the test unless the answer is 2xx; it returns the body.
func apiCaller(t *testing.T, addr, key string) func(method, path, body string) []byte {
	return func(method, path, body string) []byte {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+addr+"/api/v1"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
		}
		return b
	}
}

// TestSyncClicksSurviveKill9 drives clicks at a trackd in sync mode, kills
// it with SIGKILL in the middle, and checks that every click whose redirect
// reached the visitor is in the store.
func TestSyncClicksSurviveKill9(t *testing.T) {
	for _, engine := range storetest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			data, dsn, env := storeEnv(t, engine, "kill-test-password")
			s := startServe(t, env...)
			post := apiCaller(t, s.addr, strings.TrimSpace(string(apikeyCreate(t, env))))
			post("PATCH", "/settings", `{"click_durability":"sync"}`)
			post("POST", "/offers", `{"name":"O","url":"https://offer.example/?c={clickid}"}`)
			post("POST", "/campaigns", `{"alias":"k","name":"K","streams":[{"type":"default","offers":[{"offer_id":1}]}]}`)

			var (
				mu    sync.Mutex
				acked []string
				stop  atomic.Bool
				wg    sync.WaitGroup
			)
			client := &http.Client{Timeout: 5 * time.Second,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			for w := 0; w < 16; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for !stop.Load() {
						req, _ := http.NewRequest("GET", "http://"+s.addr+"/k?sub=1", nil)
						req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0")
						res, err := client.Do(req)
						if err != nil {
							continue // the kill: this click was not acknowledged
						}
						res.Body.Close()
						if loc := res.Header.Get("Location"); res.StatusCode == 302 {
							mu.Lock()
							acked = append(acked, strings.TrimPrefix(loc, "https://offer.example/?c="))
							mu.Unlock()
						}
					}
				}()
			}
			s.killWhen(func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(acked) >= 300
			})
			stop.Store(true)
			wg.Wait()

			db, err := store.Open(context.Background(), dsn, data)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			missing := 0
			for _, id := range acked {
				if _, err := db.Click(context.Background(), id); err != nil {
					missing++
				}
			}
			t.Logf("%d clicks acknowledged before SIGKILL", len(acked))
			if missing > 0 {
				t.Errorf("%d of %d acknowledged clicks are not in the store after SIGKILL", missing, len(acked))
			}
		})
	}
}

// TestPostbacksSurviveKill9 sends postbacks from many connections, kills
// trackd with SIGKILL in the middle, and checks that every postback
// answered 2xx is in the store; then, as a network would, it sends again
// every postback (answered or not) to a restarted trackd and checks that
// each click has exactly one conversion.
func TestPostbacksSurviveKill9(t *testing.T) {
	for _, engine := range storetest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			data, dsn, env := storeEnv(t, engine, "kill-test-password")
			s := startServe(t, env...)
			key := strings.TrimSpace(string(apikeyCreate(t, env)))
			post := apiCaller(t, s.addr, key)
			post("PATCH", "/settings", `{"click_durability":"sync"}`)
			post("POST", "/offers", `{"name":"O","url":"https://offer.example/?c={clickid}"}`)
			post("POST", "/campaigns", `{"alias":"k","name":"K","streams":[{"type":"default","offers":[{"offer_id":1}]}]}`)
			var settings struct {
				PostbackKey string `json:"postback_key"`
			}
			if err := json.Unmarshal(post("GET", "/settings", ""), &settings); err != nil || settings.PostbackKey == "" {
				t.Fatalf("settings: %v, postback key %q", err, settings.PostbackKey)
			}

			noRedirect := &http.Client{Timeout: 5 * time.Second,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			const clicks = 1000
			ids := make([]string, 0, clicks)
			for range clicks {
				res, err := noRedirect.Get("http://" + s.addr + "/k")
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				ids = append(ids, strings.TrimPrefix(res.Header.Get("Location"), "https://offer.example/?c="))
			}
			postback := func(addr, id string) (int, error) {
				res, err := noRedirect.Get("http://" + addr + "/" + settings.PostbackKey +
					"/postback?subid=" + id + "&status=lead&payout=1.25&tid=T" + id)
				if err != nil {
					return 0, err
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				return res.StatusCode, nil
			}

			var (
				mu         sync.Mutex
				acked, all []string
				wg         sync.WaitGroup
			)
			todo := make(chan string, len(ids))
			for _, id := range ids {
				todo <- id
			}
			close(todo)
			for range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for id := range todo {
						mu.Lock()
						all = append(all, id)
						mu.Unlock()
						code, err := postback(s.addr, id)
						if err != nil {
							return // the kill: this postback was not answered
						}
						if code != 200 {
							t.Errorf("postback for %s: %d", id, code)
							return
						}
						mu.Lock()
						acked = append(acked, id)
						mu.Unlock()
					}
				}()
			}
			s.killWhen(func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(acked) >= 400
			})
			wg.Wait()
			if t.Failed() {
				return
			}
			t.Logf("%d of %d postbacks sent were answered before SIGKILL", len(acked), len(all))

			count := func() map[string]int {
				db, err := store.Open(context.Background(), dsn, data)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				n := map[string]int{}
				for _, id := range all {
					cs, err := db.Conversions(context.Background(), store.ConversionQuery{ClickID: id})
					if err != nil {
						t.Fatal(err)
					}
					n[id] = len(cs)
				}
				return n
			}
			after := count()
			for _, id := range acked {
				if n := after[id]; n != 1 {
					t.Errorf("acknowledged postback for %s: %d conversions after SIGKILL, want 1", id, n)
				}
			}

			// The network retries: every postback again, answered or not.
			s = startServe(t, env...)
			for _, id := range all {
				if code, err := postback(s.addr, id); err != nil || code != 200 {
					t.Fatalf("retried postback for %s: %d %v", id, code, err)
				}
			}
			s.cmd.Process.Signal(syscall.SIGTERM)
			<-s.done
			s.done <- nil
			for id, n := range count() {
				if n != 1 {
					t.Errorf("click %s has %d conversions after the retries, want 1", id, n)
				}
			}
		})
	}
}

// TestDeliveriesSurviveKill9 queues outgoing postbacks to a slow local
// receiver, kills trackd with SIGKILL mid-delivery, restarts it, and
// checks that every conversion's postback arrives; a conversion delivered
// twice was in flight at the kill, and both times with the same
// Idempotency-Key.
func TestDeliveriesSurviveKill9(t *testing.T) {
	for _, engine := range storetest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			var (
				mu   sync.Mutex
				keys = map[string]map[string]int{} // tid → Idempotency-Key → deliveries
				n    atomic.Int64
			)
			gate := make(chan struct{}) // held until every conversion is queued
			recv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				<-gate
				time.Sleep(20 * time.Millisecond)
				tid := r.URL.Query().Get("tid")
				mu.Lock()
				if keys[tid] == nil {
					keys[tid] = map[string]int{}
				}
				keys[tid][r.Header.Get("Idempotency-Key")]++
				mu.Unlock()
				n.Add(1)
			})}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go recv.Serve(ln)
			defer recv.Close()

			_, _, env := storeEnv(t, engine, "kill-test-password")
			env = append(env, "TRACKD_OUTBOUND_LEASE=10s")
			s := startServe(t, env...)
			key := strings.TrimSpace(string(apikeyCreate(t, env)))
			post := apiCaller(t, s.addr, key)
			post("PATCH", "/settings", `{"click_durability":"sync","outbound_allow":["127.0.0.0/8"]}`)
			post("POST", "/traffic-sources", `{"name":"S","postback":{"url":"http://`+ln.Addr().String()+`/pb?tid={tid}"}}`)
			post("POST", "/offers", `{"name":"O","url":"https://offer.example/?c={clickid}"}`)
			post("POST", "/campaigns", `{"alias":"k","name":"K","traffic_source_id":1,"streams":[{"type":"default","offers":[{"offer_id":1}]}]}`)
			var settings struct {
				PostbackKey string `json:"postback_key"`
			}
			json.Unmarshal(post("GET", "/settings", ""), &settings)
			noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			const conversions = 300
			for i := range conversions {
				res, err := noRedirect.Get("http://" + s.addr + "/k")
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				id := strings.TrimPrefix(res.Header.Get("Location"), "https://offer.example/?c=")
				res, err = http.Get(fmt.Sprintf("http://%s/%s/postback?subid=%s&status=lead&tid=T%d", s.addr, settings.PostbackKey, id, i))
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != 200 {
					t.Fatalf("postback %d: %d", i, res.StatusCode)
				}
			}
			close(gate)
			s.killWhen(func() bool { return n.Load() >= 50 })
			before := n.Load()
			t.Logf("%d deliveries before SIGKILL", before)

			// Every job ends delivered: those the dead node had claimed once
			// their lease runs out (at once on SQLite, which only one node uses).
			s = startServe(t, env...)
			get := apiCaller(t, s.addr, key)
			for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				mu.Lock()
				got := len(keys)
				mu.Unlock()
				if got == conversions && strings.Contains(string(get("GET", "/outbound?state=pending", "")), `"items":[]`) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d conversions delivered after the restart", got, conversions)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			twice := 0
			for tid, ks := range keys {
				if len(ks) != 1 {
					t.Errorf("conversion %s delivered with %d different Idempotency-Keys: %v", tid, len(ks), ks)
				}
				for _, c := range ks {
					if c > 1 {
						twice++
					}
				}
			}
			t.Logf("%d conversions delivered twice (in flight at the kill)", twice)
			if twice > 64 { // the workers in flight at once
				t.Errorf("%d conversions delivered twice: more than could be in flight at the kill", twice)
			}
		})
	}
}
