// Package clickid makes and verifies click ids: unique, unforgeable,
// time-ordered identifiers that trackd puts into offer URLs and that
// affiliate networks send back in postbacks.
//
// # Text form
//
// An id is exactly 32 characters of lowercase base32hex without padding,
// that is only the characters 0-9 and a-v. Networks that lowercase
// parameters, or that reject '-' and '_', cannot damage it, and it needs no
// URL escaping. Parsing also accepts upper-case input, because some networks
// upper-case the values they echo back; String always returns lowercase.
//
// # Layout
//
// An id is 20 bytes (160 bits, exactly 32 base32 characters, so there are no
// padding bits and every valid string has a single binary form):
//
//	bytes  0..5   Unix time in milliseconds, big-endian (48 bits)
//	bytes  6..15  random bytes from crypto/rand (80 bits)
//	bytes 16..19  MAC: first 4 bytes of HMAC-SHA256(key, bytes 0..15)
//
// Why this layout:
//
//   - The timestamp comes first and is big-endian, and base32hex's alphabet
//     (0-9 then a-v) is in ASCII order, so ids sort as strings by creation time
//     to the millisecond, which keeps database indexes on them append-mostly.
//     Ids created within the same millisecond are in random order. 48 bits of
//     milliseconds last until the year 10889; times before 1970 are stored as
//     0 and times after the year 10889 as the largest value.
//   - 80 random bits make ids unique across nodes without coordination: even
//     at a billion ids within a single millisecond the chance of any collision
//     is below 1 in 2 million (birthday bound n²/2^81).
//   - The 32-bit MAC lets the postback path reject forged or mistyped ids
//     before any database lookup. Without the key, a blind forgery passes the
//     check once in about 4 billion (2^32) tries, and a forged id that passes
//     still has to exist in the click store to have any effect, which it does
//     with probability about (clicks stored)/2^80. A longer MAC would buy
//     little for a longer id in every URL.
//
// The MAC authenticates the id, not the postback: a network (or anyone who
// sees the offer URL) can replay a real id. Deduplicating conversions is the
// caller's job.
//
// # Keys
//
// All nodes that must accept each other's ids need the same key (at least 16
// bytes, ideally 32 random bytes). Changing the key invalidates every id
// issued under the old one, so postbacks for earlier clicks would be rejected
// with ErrForged.
//
// # Performance
//
// New, Parse, ParseBytes, Verify and AppendTo do not allocate. hmac.New
// allocates, so each Generator keeps HMAC-SHA256 states in a sync.Pool and
// Resets them between uses; the pooled state also holds the scratch buffers
// passed to the hash.Hash interface, which would otherwise escape to the heap.
// (After a garbage collection the pool may have to make a new state, so an
// occasional call allocates; the average is 0.)
//
// The 10 random bytes of each id are read with crypto/rand.Read straight into
// the id, with no buffering of randomness: with the default crypto/rand.Reader
// this does not allocate (also in FIPS 140 mode), and on Linux with the vDSO
// getrandom it costs about 65 ns. Buffering 640 bytes at a time was measured to
// save only about 35 ns per id, not worth keeping random bytes around in
// memory. If a program replaces crypto/rand.Reader, New allocates.
package clickid

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"hash"
	"sync"
	"time"
)

// Sizes of an id and of its parts.
const (
	// Size is the length of an id in bytes.
	Size = 20
	// EncodedLen is the length of an id's text form.
	EncodedLen = 32

	timeLen = 6
	randLen = 10
	macLen  = 4
	bodyLen = timeLen + randLen // bytes covered by the MAC

	// MinKeyLen is the shortest key NewGenerator accepts.
	MinKeyLen = 16

	maxMillis = 1<<(8*timeLen) - 1
)

// ID is a click id in binary form. The zero ID means "no id".
type ID [Size]byte

var (
	// ErrMalformed means the input is not 32 base32hex characters.
	ErrMalformed = errors.New("clickid: malformed")
	// ErrForged means the input is well-formed but its MAC does not match:
	// it was forged, mistyped, or made with a different key.
	ErrForged = errors.New("clickid: bad signature")
)

const alphabet = "0123456789abcdefghijklmnopqrstuv"

// decodeMap maps a character to its 5-bit value, or to 0xff if the character
// is not in base32hex. Upper- and lower-case letters are both accepted.
var decodeMap = func() (m [256]byte) {
	for i := range m {
		m[i] = 0xff
	}
	for i := 0; i < len(alphabet); i++ {
		c := alphabet[i]
		m[c] = byte(i)
		if c >= 'a' && c <= 'z' {
			m[c-'a'+'A'] = byte(i)
		}
	}
	return m
}()

// Generator makes and verifies ids with one secret key. It is safe for
// concurrent use. Create it with NewGenerator; the zero Generator is not
// usable.
type Generator struct {
	pool sync.Pool // of *state
}

// state is the per-use scratch space of a Generator. It lives on the heap (in
// the pool) so that passing its buffers to interfaces does not allocate.
type state struct {
	mac  hash.Hash
	sum  [sha256.Size]byte
	body [bodyLen]byte
}

// NewGenerator returns a Generator that signs and verifies ids with key. The
// key must be at least MinKeyLen (16) bytes long; 32 random bytes are
// recommended. The key is copied.
func NewGenerator(key []byte) (*Generator, error) {
	if len(key) < MinKeyLen {
		return nil, errors.New("clickid: key shorter than 16 bytes")
	}
	k := append([]byte(nil), key...)
	g := &Generator{}
	g.pool.New = func() any {
		return &state{mac: hmac.New(sha256.New, k)}
	}
	return g, nil
}

// sign writes the MAC of body into mac.
func (s *state) sign(mac *[macLen]byte, body *[bodyLen]byte) {
	s.body = *body
	s.mac.Reset()
	s.mac.Write(s.body[:])
	s.mac.Sum(s.sum[:0])
	copy(mac[:], s.sum[:macLen])
}

// New returns a fresh id for a click at time now. It does not allocate.
func (g *Generator) New(now time.Time) ID {
	ms := now.UnixMilli()
	if ms < 0 {
		ms = 0
	} else if ms > maxMillis {
		ms = maxMillis
	}
	var id ID
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(ms))
	copy(id[:timeLen], ts[8-timeLen:])

	// crypto/rand.Read never returns an error: it crashes the program if
	// the system has no randomness to give. With the default Reader it
	// does not make its argument escape, so this does not allocate.
	rand.Read(id[timeLen:bodyLen])
	s := g.pool.Get().(*state)
	s.sign((*[macLen]byte)(id[bodyLen:]), (*[bodyLen]byte)(id[:bodyLen]))
	g.pool.Put(s)
	return id
}

// Verify reports whether id carries a valid MAC for this Generator's key: nil
// if it does, ErrForged if not. Parse and ParseBytes already verify; Verify is
// for ids obtained in binary form. It does not allocate.
func (g *Generator) Verify(id ID) error {
	var want [macLen]byte
	s := g.pool.Get().(*state)
	s.sign(&want, (*[bodyLen]byte)(id[:bodyLen]))
	g.pool.Put(s)
	if subtle.ConstantTimeCompare(want[:], id[bodyLen:]) != 1 {
		return ErrForged
	}
	return nil
}

// Parse decodes and verifies the text form of an id. It accepts lower- and
// upper-case input. It returns ErrMalformed if s is not 32 base32hex
// characters and ErrForged if the MAC does not match. It does not allocate.
func (g *Generator) Parse(s string) (ID, error) {
	return parse(g, s)
}

// ParseBytes is like Parse for a byte slice. It does not retain b and does not
// allocate.
func (g *Generator) ParseBytes(b []byte) (ID, error) {
	return parse(g, b)
}

func parse[T string | []byte](g *Generator, s T) (ID, error) {
	id, ok := decode(s)
	if !ok {
		return ID{}, ErrMalformed
	}
	if err := g.Verify(id); err != nil {
		return ID{}, err
	}
	return id, nil
}

// decode decodes 32 base32hex characters (either case) into an ID.
func decode[T string | []byte](s T) (id ID, ok bool) {
	if len(s) != EncodedLen {
		return ID{}, false
	}
	// 8 characters (40 bits) make 5 bytes.
	for i := 0; i < EncodedLen/8; i++ {
		var v uint64
		var bad byte
		for j := 0; j < 8; j++ {
			d := decodeMap[s[8*i+j]]
			bad |= d
			v = v<<5 | uint64(d&0x1f)
		}
		if bad&0xe0 != 0 { // only invalid characters map to values above 31
			return ID{}, false
		}
		o := id[5*i : 5*i+5]
		o[0] = byte(v >> 32)
		o[1] = byte(v >> 24)
		o[2] = byte(v >> 16)
		o[3] = byte(v >> 8)
		o[4] = byte(v)
	}
	return id, true
}

// AppendTo appends the 32-character text form of id to dst and returns the
// extended slice. It allocates only if dst has to grow.
func (id ID) AppendTo(dst []byte) []byte {
	var buf [EncodedLen]byte
	id.encode(&buf)
	return append(dst, buf[:]...)
}

func (id ID) encode(dst *[EncodedLen]byte) {
	// 5 bytes (40 bits) make 8 characters.
	for i := 0; i < Size/5; i++ {
		b := id[5*i : 5*i+5]
		v := uint64(b[0])<<32 | uint64(b[1])<<24 | uint64(b[2])<<16 | uint64(b[3])<<8 | uint64(b[4])
		o := dst[8*i : 8*i+8]
		for j := 7; j >= 0; j-- {
			o[j] = alphabet[v&0x1f]
			v >>= 5
		}
	}
}

// String returns the 32-character lowercase text form of id.
func (id ID) String() string {
	var buf [EncodedLen]byte
	id.encode(&buf)
	return string(buf[:])
}

// Time returns the time id was created, in UTC, to the millisecond. It does not
// verify the id.
func (id ID) Time() time.Time {
	var ts [8]byte
	copy(ts[8-timeLen:], id[:timeLen])
	return time.UnixMilli(int64(binary.BigEndian.Uint64(ts[:]))).UTC()
}

// IsZero reports whether id is the zero ID, which stands for "no id".
func (id ID) IsZero() bool {
	return id == ID{}
}
