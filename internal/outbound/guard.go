// Package outbound delivers server-to-server postbacks and webhooks to
// third-party URLs.
package outbound

import (
	"errors"
	"net/netip"
	"sync/atomic"
	"syscall"
)

// ErrRefused is wrapped by every error of Guard.Check and Guard.Control: the
// address may not be connected to.
var ErrRefused = errors.New("outbound: address refused")

// Guard decides which addresses outgoing requests may connect to: by default
// it refuses loopback, private (RFC 1918, IPv6 ULA fc00::/7), link-local
// (incl. 169.254.169.254 cloud metadata and fe80::/10), unspecified,
// multicast, broadcast, CGNAT 100.64.0.0/10, 0.0.0.0/8, 192.0.0.0/24,
// 198.18.0.0/15, 240.0.0.0/4, IPv6 site-local fec0::/10, the AWS IPv6
// metadata fd00:ec2::254, and the IPv6 forms embedding a refused IPv4
// address: IPv4-mapped ::ffff:a.b.c.d, IPv4-translated ::ffff:0:a.b.c.d,
// IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16 and Teredo
// 2001::/32; the local-use NAT64 prefix 64:ff9b:1::/48 is refused whole.
//
// An allow-list of prefixes (e.g. 127.0.0.0/8 in tests, 10.0.0.0/8 on an
// intranet) overrides the refusal. A prefix matches an address or the IPv4
// address it embeds.
//
// The zero Guard refuses with no allow-list; a nil *Guard behaves the same.
// A Guard is safe for concurrent use, SetAllow included.
type Guard struct {
	allow atomic.Pointer[[]netip.Prefix]
}

// NewGuard returns a Guard with the allow-list allow.
func NewGuard(allow []netip.Prefix) *Guard {
	g := &Guard{}
	g.SetAllow(allow)
	return g
}

// SetAllow replaces the allow-list; invalid prefixes are dropped. It is safe
// while requests are under way; connections already open (idle in a
// Sender's pool) are not checked again (see Sender.CloseIdleConnections).
func (g *Guard) SetAllow(allow []netip.Prefix) {
	list := make([]netip.Prefix, 0, len(allow))
	for _, p := range allow {
		if !p.IsValid() {
			continue
		}
		p = p.Masked()
		// ::ffff:10.0.0.0/104 is 10.0.0.0/8.
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		list = append(list, p)
	}
	g.allow.Store(&list)
}

// refusal is the error of a refused address; it wraps ErrRefused.
type refusal struct {
	addr string
	why  string
}

func (e *refusal) Error() string { return e.addr + " is " + e.why }
func (e *refusal) Unwrap() error { return ErrRefused }

// Check returns nil when ip may be connected to; else an error wrapping
// ErrRefused whose text names the address and why, e.g.
// "127.0.0.1 is a loopback address".
func (g *Guard) Check(ip netip.Addr) error {
	if !ip.IsValid() {
		return &refusal{addr: "the zero address", why: "not a valid address"}
	}
	ip = ip.WithZone("")
	v4, form := embedded(ip)
	if g.allowed(ip, v4) {
		return nil
	}
	var why string
	if v4.IsValid() {
		if why = classify(v4); why != "" {
			why += " (" + form + " " + v4.String() + ")"
		}
	}
	if why == "" {
		why = classify(ip)
	}
	if why == "" {
		return nil
	}
	return &refusal{addr: ip.String(), why: why}
}

// Control is for net.Dialer.Control: it checks the address actually being
// connected to (after DNS resolution), which defeats DNS rebinding; a
// refusal is returned as an error wrapping ErrRefused.
func (g *Guard) Control(network, address string, c syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &refusal{addr: address, why: "not an IP address and port (" + network + ")"}
	}
	return g.Check(ap.Addr())
}

func (g *Guard) allowed(ip, v4 netip.Addr) bool {
	if g == nil {
		return false
	}
	p := g.allow.Load()
	if p == nil {
		return false
	}
	for _, pre := range *p {
		if pre.Contains(ip) || (v4.IsValid() && pre.Contains(v4)) {
			return true
		}
	}
	return false
}

var (
	thisNetwork   = netip.MustParsePrefix("0.0.0.0/8")
	sharedCGNAT   = netip.MustParsePrefix("100.64.0.0/10")
	ietfProtocol  = netip.MustParsePrefix("192.0.0.0/24")
	benchmarking  = netip.MustParsePrefix("198.18.0.0/15")
	reserved4     = netip.MustParsePrefix("240.0.0.0/4")
	broadcast     = netip.MustParseAddr("255.255.255.255")
	metadata4     = netip.MustParseAddr("169.254.169.254")
	metadataAWS6  = netip.MustParseAddr("fd00:ec2::254")
	siteLocal     = netip.MustParsePrefix("fec0::/10")
	nat64         = netip.MustParsePrefix("64:ff9b::/96")
	nat64Local    = netip.MustParsePrefix("64:ff9b:1::/48")
	translated    = netip.MustParsePrefix("::ffff:0:0:0/96")
	v4Compatible  = netip.MustParsePrefix("::/96")
	sixToFour     = netip.MustParsePrefix("2002::/16")
	teredo        = netip.MustParsePrefix("2001::/32")
	unspecifiedV6 = netip.IPv6Unspecified()
)

// classify returns why ip (with no zone) is refused by default, as "a
// loopback address", or "" when it is not. An IPv6 address embedding an
// IPv4 one is judged by its own range only (see embedded).
func classify(ip netip.Addr) string {
	switch {
	case ip.IsUnspecified():
		return "an unspecified address"
	case ip.IsLoopback():
		return "a loopback address"
	case ip == metadata4 || ip == metadataAWS6:
		return "a link-local cloud metadata address"
	case ip.IsLinkLocalUnicast():
		return "a link-local address"
	case ip.IsPrivate():
		return "a private address"
	case ip == broadcast:
		return "a broadcast address"
	case ip.IsMulticast():
		return "a multicast address"
	case ip.Is4():
		switch {
		case thisNetwork.Contains(ip):
			return "in 0.0.0.0/8 (this network)"
		case sharedCGNAT.Contains(ip):
			return "a shared (CGNAT) address"
		case ietfProtocol.Contains(ip):
			return "in 192.0.0.0/24 (IETF protocol assignments)"
		case benchmarking.Contains(ip):
			return "in 198.18.0.0/15 (benchmarking)"
		case reserved4.Contains(ip):
			return "in 240.0.0.0/4 (reserved)"
		}
	case siteLocal.Contains(ip):
		return "a site-local address"
	case nat64Local.Contains(ip):
		return "a local-use NAT64 address"
	}
	return ""
}

// embedded returns the IPv4 address an IPv6 address carries and the name of
// the form, or an invalid address when it carries none.
func embedded(ip netip.Addr) (netip.Addr, string) {
	if !ip.Is6() {
		return netip.Addr{}, ""
	}
	b := ip.As16()
	last := netip.AddrFrom4([4]byte(b[12:16]))
	switch {
	case ip.Is4In6():
		return last, "IPv4-mapped"
	case nat64.Contains(ip):
		return last, "NAT64 of"
	case translated.Contains(ip):
		return last, "IPv4-translated"
	case v4Compatible.Contains(ip):
		if ip == unspecifiedV6 || ip == netip.IPv6Loopback() {
			return netip.Addr{}, ""
		}
		return last, "IPv4-compatible"
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte(b[2:6])), "6to4 of"
	case teredo.Contains(ip):
		// The client's address, obfuscated; the server's (b[4:8]) is
		// only where the tunnel is set up.
		return netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]}), "Teredo of"
	}
	return netip.Addr{}, ""
}
