package outbound

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// loopbackAllowed is the allow-list of tests that reach a local receiver.
var loopbackAllowed = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

func TestGuardDefault(t *testing.T) {
	tests := []struct {
		addr string
		why  string // "" when allowed; else a part of the refusal's text
	}{
		{"127.0.0.1", "loopback"},
		{"127.255.0.9", "loopback"},
		{"::1", "loopback"},
		{"10.0.0.1", "private"},
		{"10.255.255.255", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.254", "private"},
		{"192.168.1.1", "private"},
		{"169.254.169.254", "cloud metadata"},
		{"169.254.1.1", "link-local"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"fc00::1", "private"},
		{"fd12:3456::1", "private"},
		{"fd00:ec2::254", "cloud metadata"},
		{"fec0::1", "site-local"},
		{"::ffff:127.0.0.1", "loopback"},
		{"::ffff:10.0.0.1", "private address (IPv4-mapped 10.0.0.1)"},
		{"::ffff:169.254.169.254", "cloud metadata"},
		{"64:ff9b::7f00:1", "loopback address (NAT64 of 127.0.0.1)"},
		{"64:ff9b::a9fe:a9fe", "cloud metadata"},
		{"64:ff9b:1::1", "local-use NAT64"},
		{"::ffff:0:a00:1", "private address (IPv4-translated 10.0.0.1)"},
		{"::7f00:1", "loopback address (IPv4-compatible 127.0.0.1)"},
		{"2002:c0a8:101::1", "private address (6to4 of 192.168.1.1)"},
		{"100.64.0.1", "CGNAT"},
		{"100.127.255.255", "CGNAT"},
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "0.0.0.0/8"},
		{"::", "unspecified"},
		{"224.0.0.1", "multicast"},
		{"239.1.2.3", "multicast"},
		{"ff02::1", "multicast"},
		{"255.255.255.255", "broadcast"},
		{"240.0.0.1", "240.0.0.0/4"},
		{"192.0.0.8", "192.0.0.0/24"},
		{"198.18.0.1", "198.18.0.0/15"},
		{"198.19.255.255", "198.18.0.0/15"},

		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"2606:4700::1111", ""},
		{"2a00:1450:4001::200e", ""},
		{"::ffff:8.8.8.8", ""},
		{"64:ff9b::808:808", ""},
		{"2002:808:808::1", ""},
		{"100.63.255.255", ""},
		{"100.128.0.0", ""},
		{"172.32.0.1", ""},
		{"198.20.0.1", ""},
		{"192.0.2.1", ""},
	}
	for _, g := range []*Guard{NewGuard(nil), {}, nil} {
		for _, tt := range tests {
			err := g.Check(netip.MustParseAddr(tt.addr))
			switch {
			case tt.why == "" && err != nil:
				t.Errorf("Check(%s) = %v, want allowed", tt.addr, err)
			case tt.why != "" && err == nil:
				t.Errorf("Check(%s) allowed, want refused (%s)", tt.addr, tt.why)
			case tt.why != "" && !errors.Is(err, ErrRefused):
				t.Errorf("Check(%s) = %v, does not wrap ErrRefused", tt.addr, err)
			case tt.why != "" && !strings.Contains(err.Error(), tt.why):
				t.Errorf("Check(%s) = %q, want it to say %q", tt.addr, err, tt.why)
			}
		}
	}
}

func TestGuardCheckText(t *testing.T) {
	g := NewGuard(nil)
	for addr, want := range map[string]string{
		"127.0.0.1":       "127.0.0.1 is a loopback address",
		"10.1.2.3":        "10.1.2.3 is a private address",
		"::ffff:10.0.0.1": "::ffff:10.0.0.1 is a private address (IPv4-mapped 10.0.0.1)",
		"fe80::1%eth0":    "fe80::1 is a link-local address",
	} {
		if err := g.Check(netip.MustParseAddr(addr)); err == nil || err.Error() != want {
			t.Errorf("Check(%s) = %v, want %q", addr, err, want)
		}
	}
	if err := g.Check(netip.Addr{}); !errors.Is(err, ErrRefused) {
		t.Errorf("Check(zero Addr) = %v, want a refusal", err)
	}
}

func TestGuardAllowList(t *testing.T) {
	g := NewGuard(loopbackAllowed)
	for _, a := range []string{"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"} {
		if err := g.Check(netip.MustParseAddr(a)); err != nil {
			t.Errorf("allow-list %v: Check(%s) = %v, want allowed", loopbackAllowed, a, err)
		}
	}
	for _, a := range []string{"10.0.0.1", "169.254.169.254", "::2", "fe80::1"} {
		if err := g.Check(netip.MustParseAddr(a)); err == nil {
			t.Errorf("allow-list %v: Check(%s) allowed, want refused", loopbackAllowed, a)
		}
	}

	// An intranet's list; an IPv4-mapped prefix means its IPv4 one.
	g.SetAllow([]netip.Prefix{netip.MustParsePrefix("::ffff:10.0.0.0/104"), netip.MustParsePrefix("fe80::/10"), {}})
	for _, a := range []string{"10.0.0.1", "10.9.8.7", "::ffff:10.0.0.1", "64:ff9b::a00:1", "fe80::1%eth0"} {
		if err := g.Check(netip.MustParseAddr(a)); err != nil {
			t.Errorf("intranet list: Check(%s) = %v, want allowed", a, err)
		}
	}
	for _, a := range []string{"127.0.0.1", "11.0.0.1", "192.168.0.1"} {
		if got, want := g.Check(netip.MustParseAddr(a)) == nil, a == "11.0.0.1"; got != want {
			t.Errorf("intranet list: Check(%s) allowed = %v, want %v", a, got, want)
		}
	}

	g.SetAllow(nil)
	if err := g.Check(netip.MustParseAddr("10.0.0.1")); err == nil {
		t.Error("empty allow-list: 10.0.0.1 allowed")
	}
}

func TestGuardSetAllowConcurrent(t *testing.T) {
	g := NewGuard(nil)
	ip := netip.MustParseAddr("10.0.0.1")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 500 {
				if i%2 == 0 {
					if j%2 == 0 {
						g.SetAllow([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
					} else {
						g.SetAllow(nil)
					}
				} else {
					_ = g.Check(ip)
				}
			}
		})
	}
	wg.Wait()
}

// countingServer is an HTTP server that counts the connections it accepted
// and the requests it served.
type countingServer struct {
	*httptest.Server
	conns, requests atomic.Int64
}

func newCountingServer(t *testing.T) *countingServer {
	t.Helper()
	cs := &countingServer{}
	cs.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs.requests.Add(1)
		w.Write([]byte("hello"))
	}))
	cs.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			cs.conns.Add(1)
		}
	}
	cs.Start()
	t.Cleanup(cs.Close)
	return cs
}

func TestGuardControlRefusesDial(t *testing.T) {
	srv := newCountingServer(t)
	addr := srv.Listener.Addr().String()

	d := &net.Dialer{Control: NewGuard(nil).Control}
	c, err := d.DialContext(context.Background(), "tcp", addr)
	if err == nil {
		c.Close()
		t.Fatalf("dial %s with the default guard: connected", addr)
	}
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "127.0.0.1 is a loopback address") {
		t.Fatalf("dial %s: %v, want a refusal of a loopback address", addr, err)
	}

	// A dial the guard allows, then a request on it: the server accepts
	// connections in order, so by the time that request is served a
	// connection of the refused dial would have been counted.
	allowed := &net.Dialer{Control: NewGuard(loopbackAllowed).Control}
	client := &http.Client{Transport: &http.Transport{DialContext: allowed.DialContext}}
	defer client.CloseIdleConnections()
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatalf("GET with 127.0.0.0/8 allowed: %v", err)
	}
	resp.Body.Close()
	if n, r := srv.conns.Load(), srv.requests.Load(); n != 1 || r != 1 {
		t.Errorf("server saw %d connections and %d requests, want 1 and 1 (only the allowed one)", n, r)
	}
}

func TestGuardControlUnparsableAddress(t *testing.T) {
	err := NewGuard(loopbackAllowed).Control("unix", "/tmp/x.sock", nil)
	if !errors.Is(err, ErrRefused) {
		t.Errorf("Control(unix socket) = %v, want a refusal", err)
	}
	if err := NewGuard(nil).Control("tcp6", "[2606:4700::1111]:443", nil); err != nil {
		t.Errorf("Control(public v6) = %v, want nil", err)
	}
	if err := NewGuard(nil).Control("tcp6", "[fe80::1%eth0]:80", nil); !errors.Is(err, ErrRefused) {
		t.Errorf("Control(link-local with zone) = %v, want a refusal", err)
	}
}
