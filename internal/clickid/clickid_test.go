package clickid

import (
	"bytes"
	"errors"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func newGen(t testing.TB) *Generator {
	t.Helper()
	g, err := NewGenerator(testKey)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestNewGeneratorKey(t *testing.T) {
	for _, n := range []int{0, 1, 15} {
		if _, err := NewGenerator(make([]byte, n)); err == nil {
			t.Errorf("key of %d bytes accepted", n)
		}
	}
	if _, err := NewGenerator(make([]byte, 16)); err != nil {
		t.Errorf("16-byte key: %v", err)
	}
	// The key is copied: changing the caller's slice afterwards has no effect.
	key := bytes.Clone(testKey)
	g, err := NewGenerator(key)
	if err != nil {
		t.Fatal(err)
	}
	s := g.New(time.Now()).String()
	for i := range key {
		key[i] = 0
	}
	if _, err := g.Parse(s); err != nil {
		t.Errorf("after changing caller's key slice: %v", err)
	}
}

func TestRoundTrip(t *testing.T) {
	g := newGen(t)
	times := []time.Time{
		time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC),
		time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.FixedZone("X", 5*3600)),
		time.Unix(0, 0),
		time.Unix(0, 999_999),
		time.Now(),
		time.UnixMilli(maxMillis),
	}
	for _, now := range times {
		id := g.New(now)
		if id.IsZero() {
			t.Fatalf("New(%v) is zero", now)
		}
		s := id.String()
		if len(s) != EncodedLen {
			t.Fatalf("len(%q) = %d", s, len(s))
		}
		for _, c := range []byte(s) {
			if !strings.ContainsRune(alphabet, rune(c)) {
				t.Fatalf("%q has character %q", s, c)
			}
		}
		if got := string(id.AppendTo([]byte("x="))); got != "x="+s {
			t.Errorf("AppendTo = %q, want %q", got, "x="+s)
		}
		got, err := g.Parse(s)
		if err != nil || got != id {
			t.Fatalf("Parse(%q) = %v, %v; want %v", s, got, err, id)
		}
		got, err = g.ParseBytes([]byte(s))
		if err != nil || got != id {
			t.Fatalf("ParseBytes(%q) = %v, %v; want %v", s, got, err, id)
		}
		if err := g.Verify(id); err != nil {
			t.Errorf("Verify: %v", err)
		}
		want := now.Truncate(time.Millisecond).UTC()
		if tm := id.Time(); !tm.Equal(want) || tm.Location() != time.UTC {
			t.Errorf("Time() = %v, want %v", tm, want)
		}
	}
}

func TestTimeClamp(t *testing.T) {
	g := newGen(t)
	if got := g.New(time.Unix(-1, 0)).Time(); !got.Equal(time.Unix(0, 0)) {
		t.Errorf("before 1970: Time() = %v", got)
	}
	if got := g.New(time.Date(20000, 1, 1, 0, 0, 0, 0, time.UTC)).Time(); got.UnixMilli() != maxMillis {
		t.Errorf("year 20000: Time() = %v", got)
	}
}

func TestKnownEncoding(t *testing.T) {
	var id ID
	for i := range id {
		id[i] = byte(i * 13)
	}
	// Reference value from RFC 4648 base32hex, lowercased, padding removed.
	const want = "006hk9pk8575mq3lga7ppadmof8drqnn"
	if got := id.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	got, ok := decode(want)
	if !ok || got != id {
		t.Errorf("decode = %v, %v", got, ok)
	}
	if s := (ID{}).String(); s != strings.Repeat("0", 32) {
		t.Errorf("zero ID = %q", s)
	}
	if !(ID{}).IsZero() || id.IsZero() {
		t.Error("IsZero wrong")
	}
}

func TestOrdering(t *testing.T) {
	g := newGen(t)
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var strs []string
	var ms int64
	for i := 0; i < 2000; i++ {
		ms += 1 + int64(i%7)*int64(i%5)*997 // irregular, increasing steps
		strs = append(strs, g.New(base.Add(time.Duration(ms)*time.Millisecond)).String())
	}
	if !sort.StringsAreSorted(strs) {
		t.Fatal("ids made at increasing times do not sort as strings")
	}
	// Neighbouring milliseconds and carries across characters.
	var prev string
	for _, m := range []int64{0, 1, 2, 31, 32, 33, 1023, 1024, 1<<40 - 1, 1 << 40, 1<<40 + 1, maxMillis - 1, maxMillis} {
		s := g.New(time.UnixMilli(m)).String()
		if s <= prev {
			t.Errorf("ms %d: %q <= previous %q", m, s, prev)
		}
		prev = s
	}
}

func TestSingleCharacterChange(t *testing.T) {
	g := newGen(t)
	for n := 0; n < 3; n++ {
		s := g.New(time.Now()).String()
		b := []byte(s)
		for i := range b {
			orig := b[i]
			for _, c := range []byte(alphabet) {
				if c == orig {
					continue
				}
				b[i] = c
				id, err := g.ParseBytes(b)
				if !errors.Is(err, ErrForged) && !errors.Is(err, ErrMalformed) {
					t.Fatalf("%q (position %d changed to %q): got %v, %v", b, i, c, id, err)
				}
				if !id.IsZero() {
					t.Fatalf("non-zero id returned with error %v", err)
				}
			}
			b[i] = orig
		}
	}
}

func TestOtherKey(t *testing.T) {
	g := newGen(t)
	other, err := NewGenerator([]byte("another key, 32 bytes long......"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		id := g.New(time.Now())
		if _, err := other.Parse(id.String()); !errors.Is(err, ErrForged) {
			t.Fatalf("other key: Parse = %v, want ErrForged", err)
		}
		if err := other.Verify(id); !errors.Is(err, ErrForged) {
			t.Fatalf("other key: Verify = %v, want ErrForged", err)
		}
	}
}

func TestMalformed(t *testing.T) {
	g := newGen(t)
	valid := g.New(time.Now()).String()
	cases := map[string]string{
		"empty":       "",
		"short":       valid[:31],
		"long":        valid + "0",
		"padding":     valid[:31] + "=",
		"w":           valid[:31] + "w",
		"z":           "z" + valid[1:],
		"dash":        valid[:10] + "-" + valid[11:],
		"underscore":  valid[:10] + "_" + valid[11:],
		"space":       " " + valid[1:],
		"nul":         valid[:5] + "\x00" + valid[6:],
		"high bit":    valid[:5] + "\x80" + valid[6:],
		"0xff":        valid[:5] + "\xff" + valid[6:],
		"non-ASCII":   valid[:30] + "é",
		"non-ASCII 2": "ä" + valid[2:],
		"kelvin":      valid[:29] + "\u212a", // folds to 'k' in Unicode
		"dotted I":    valid[:30] + "İ",      // strings.ToLower makes it 'i'
		"64 KB":       strings.Repeat(valid, 2048),
		"64 KB 0":     strings.Repeat("0", 64<<10),
		"uuid":        "123e4567-e89b-12d3-a456-426614174000",
	}
	for name, s := range cases {
		if id, err := g.Parse(s); !errors.Is(err, ErrMalformed) || !id.IsZero() {
			t.Errorf("%s: Parse = %v, %v; want ErrMalformed", name, id, err)
		}
		if id, err := g.ParseBytes([]byte(s)); !errors.Is(err, ErrMalformed) || !id.IsZero() {
			t.Errorf("%s: ParseBytes = %v, %v; want ErrMalformed", name, id, err)
		}
	}
	if _, err := g.ParseBytes(nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("ParseBytes(nil) = %v", err)
	}
	// Well-formed but unsigned.
	if _, err := g.Parse(strings.Repeat("0", 32)); !errors.Is(err, ErrForged) {
		t.Errorf("all zeros: %v, want ErrForged", err)
	}
}

func TestUpperCase(t *testing.T) {
	g := newGen(t)
	for i := 0; i < 100; i++ {
		id := g.New(time.Now())
		s := id.String()
		for _, in := range []string{strings.ToUpper(s), mixCase(s, i)} {
			got, err := g.Parse(in)
			if err != nil || got != id {
				t.Fatalf("Parse(%q) = %v, %v; want %v", in, got, err, id)
			}
			if got.String() != s {
				t.Fatalf("String() = %q, want %q", got.String(), s)
			}
		}
	}
}

func mixCase(s string, seed int) string {
	b := []byte(s)
	for i := range b {
		if (i+seed)%3 == 0 && b[i] >= 'a' {
			b[i] -= 'a' - 'A'
		}
	}
	return string(b)
}

func TestRandomPart(t *testing.T) {
	g := newGen(t)
	now := time.Now()
	seen := make(map[[randLen]byte]bool)
	for i := 0; i < 1000; i++ {
		id := g.New(now)
		r := [randLen]byte(id[timeLen:bodyLen])
		if r == ([randLen]byte{}) || seen[r] {
			t.Fatalf("id %d: random part %x zero or repeated", i, r)
		}
		seen[r] = true
	}
}

func TestUnique(t *testing.T) {
	total := 2_000_000
	if testing.Short() || raceEnabled {
		total = 200_000
	}
	const workers = 4
	g := newGen(t)
	now := time.Now() // the same millisecond for all: the worst case
	parts := make([][]ID, workers)
	var wg sync.WaitGroup
	for w := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids := make([]ID, total/workers)
			for i := range ids {
				ids[i] = g.New(now)
			}
			parts[w] = ids
		}()
	}
	wg.Wait()
	seen := make(map[ID]struct{}, total)
	for _, ids := range parts {
		for _, id := range ids {
			if _, dup := seen[id]; dup {
				t.Fatalf("duplicate id %v", id)
			}
			seen[id] = struct{}{}
		}
	}
	if len(seen) != total/workers*workers {
		t.Fatalf("got %d ids, want %d", len(seen), total)
	}
}

func TestConcurrentParse(t *testing.T) {
	g := newGen(t)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				id := g.New(time.Now())
				got, err := g.Parse(id.String())
				if err != nil || got != id {
					t.Errorf("Parse = %v, %v; want %v", got, err, id)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	g := newGen(t)
	now := time.Now()
	id := g.New(now)
	s := id.String()
	upper := []byte(strings.ToUpper(s))
	buf := make([]byte, 0, 64)
	checks := []struct {
		name string
		f    func()
	}{
		{"New", func() { id = g.New(now) }},
		{"Parse", func() { id, _ = g.Parse(s) }},
		{"ParseBytes", func() { id, _ = g.ParseBytes(upper) }},
		{"Parse forged", func() { _, _ = g.Parse(strings.Repeat("0", 32)) }},
		{"Parse malformed", func() { _, _ = g.Parse("nope") }},
		{"Verify", func() { _ = g.Verify(id) }},
		{"AppendTo", func() { buf = id.AppendTo(buf[:0]) }},
		{"Time", func() { _ = id.Time() }},
	}
	for _, c := range checks {
		if n := testing.AllocsPerRun(1000, c.f); n != 0 {
			t.Errorf("%s: %v allocs per run, want 0", c.name, n)
		}
	}
	if !slices.Equal(buf, []byte(id.String())) {
		t.Error("AppendTo result wrong")
	}
}

func FuzzParse(f *testing.F) {
	g, err := NewGenerator(testKey)
	if err != nil {
		f.Fatal(err)
	}
	valid := g.New(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)).String()
	for _, s := range []string{
		"", valid, strings.ToUpper(valid), valid[:31], valid + "0",
		strings.Repeat("0", 32), strings.Repeat("v", 32), strings.Repeat("V", 32),
		strings.Repeat("w", 32), valid[:29] + "\u212a", "ä" + valid[2:],
		valid[:30] + "İ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := g.Parse(s)
		id2, err2 := g.ParseBytes([]byte(s))
		if id != id2 || err != err2 {
			t.Fatalf("Parse = %v, %v; ParseBytes = %v, %v", id, err, id2, err2)
		}
		if err != nil {
			if err != ErrMalformed && err != ErrForged {
				t.Fatalf("unexpected error %v", err)
			}
			if !id.IsZero() {
				t.Fatalf("non-zero id with error %v", err)
			}
			return
		}
		if got, want := id.String(), strings.ToLower(s); got != want {
			t.Fatalf("String() = %q, want %q", got, want)
		}
		if err := g.Verify(id); err != nil {
			t.Fatalf("Verify after Parse: %v", err)
		}
	})
}

// FuzzDecode checks the decoder alone (without the MAC, which the fuzzer
// cannot get past): whatever decodes, encodes back to the lowercase input.
func FuzzDecode(f *testing.F) {
	f.Add(strings.Repeat("0", 32))
	f.Add("006HK9PK8575MQ3LGA7PPADMOF8DRQNN")
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := decode(s)
		if !ok {
			// Check byte by byte: strings.ToLower maps some non-ASCII
			// letters, such as 'İ', to ASCII ones.
			if len(s) == EncodedLen && strings.Trim(s, alphabet+strings.ToUpper(alphabet)) == "" {
				t.Fatalf("valid input %q rejected", s)
			}
			return
		}
		if got, want := id.String(), strings.ToLower(s); got != want {
			t.Fatalf("String() = %q, want %q", got, want)
		}
	})
}

func BenchmarkNew(b *testing.B) {
	g := newGen(b)
	now := time.Now()
	b.ReportAllocs()
	var id ID
	for b.Loop() {
		id = g.New(now)
	}
	_ = id
}

func BenchmarkNewParallel(b *testing.B) {
	g := newGen(b)
	now := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = g.New(now)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	g := newGen(b)
	s := g.New(time.Now()).String()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Parse(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseMalformed(b *testing.B) {
	g := newGen(b)
	s := "0123456789abcdef0123456789abcdez"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Parse(s); err == nil {
			b.Fatal("accepted")
		}
	}
}

func BenchmarkAppendTo(b *testing.B) {
	g := newGen(b)
	id := g.New(time.Now())
	buf := make([]byte, 0, EncodedLen)
	b.ReportAllocs()
	for b.Loop() {
		buf = id.AppendTo(buf[:0])
	}
}

func BenchmarkString(b *testing.B) {
	g := newGen(b)
	id := g.New(time.Now())
	b.ReportAllocs()
	for b.Loop() {
		_ = id.String()
	}
}
