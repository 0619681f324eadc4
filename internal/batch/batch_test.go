package batch

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestEveryRecordOnceInOrderPerWriter(t *testing.T) {
	var (
		mu      sync.Mutex
		seen    = map[int]int{}
		batches int
	)
	w := New(func(_ context.Context, xs []int) error {
		mu.Lock()
		defer mu.Unlock()
		batches++
		for _, x := range xs {
			seen[x]++
		}
		return nil
	}, Options{MaxBatch: 64})
	const goroutines, each = 8, 2000
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := w.Add(context.Background(), g*each+i, i%2 == 0); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(seen) != goroutines*each {
		t.Fatalf("%d distinct records written, want %d", len(seen), goroutines*each)
	}
	for x, n := range seen {
		if n != 1 {
			t.Fatalf("record %d written %d times", x, n)
		}
	}
	st := w.Stats()
	if st.Records != goroutines*each || st.Queued != 0 || int(st.Batches) != batches {
		t.Errorf("stats = %+v, batches %d", st, batches)
	}
	if batches >= goroutines*each {
		t.Errorf("%d batches for %d records: nothing was grouped", batches, goroutines*each)
	}
	if err := w.Add(context.Background(), 1, false); !errors.Is(err, ErrClosed) {
		t.Errorf("Add after Close = %v, want ErrClosed", err)
	}
}

func TestWaitSeesTheCommit(t *testing.T) {
	var committed atomic.Int64
	w := New(func(_ context.Context, xs []int) error {
		committed.Add(int64(len(xs)))
		return nil
	}, Options{})
	defer w.Close(context.Background())
	for i := 1; i <= 100; i++ {
		if err := w.Add(context.Background(), i, true); err != nil {
			t.Fatal(err)
		}
		if got := committed.Load(); got != int64(i) {
			t.Fatalf("after a waited Add of record %d, %d were committed", i, got)
		}
	}
}

func TestFailedBatchIsRetried(t *testing.T) {
	var calls atomic.Int64
	var failures atomic.Int64
	w := New(func(_ context.Context, xs []int) error {
		if calls.Add(1) <= 3 {
			return errors.New("disk on fire")
		}
		return nil
	}, Options{Retry: time.Millisecond, OnError: func(error, int) { failures.Add(1) }})
	defer w.Close(context.Background())
	if err := w.Add(context.Background(), 7, true); err != nil {
		t.Fatalf("Add = %v, want success after retries", err)
	}
	if failures.Load() != 3 {
		t.Errorf("OnError called %d times, want 3", failures.Load())
	}
}

func TestBackPressure(t *testing.T) {
	release := make(chan struct{})
	w := New(func(_ context.Context, xs []int) error {
		<-release
		return nil
	}, Options{MaxBatch: 2, MaxQueued: 1})
	// The writer holds one batch, the queue one more, cur one: the next
	// full batch cannot be handed over.
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			if err := w.Add(ctx, i, false); err != nil {
				errc <- err
				return
			}
			if i > 1000 {
				errc <- errors.New("1000 records queued behind a stuck writer: no back-pressure")
				return
			}
		}
	}()
	waitBlocked(w, 20*time.Millisecond)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("blocked Add returned %v, want context.Canceled", err)
	}
	if q := w.Stats().Queued; q > 8 {
		t.Errorf("%d records queued, want a handful", q)
	}
	close(release)
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestBackPressureWithManyAdders: with a stuck writer, every adder waits,
// not only those that filled a batch, so the records held stay bounded
// by the queue whatever the number of callers; nothing accepted is lost
// or written twice once the writer goes on.
func TestBackPressureWithManyAdders(t *testing.T) {
	const maxBatch, maxQueued, adders = 4, 2, 64
	release := make(chan struct{})
	var (
		mu      sync.Mutex
		written = map[int]int{}
	)
	w := New(func(_ context.Context, xs []int) error {
		<-release
		mu.Lock()
		defer mu.Unlock()
		for _, x := range xs {
			written[x]++
		}
		return nil
	}, Options{MaxBatch: maxBatch, MaxQueued: maxQueued})
	ctx, cancel := context.WithCancel(context.Background())
	var (
		wg       sync.WaitGroup
		accepted sync.Map
	)
	for g := range adders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				x := g*1_000_000 + i
				err := w.Add(ctx, x, false)
				if err != nil {
					if !errors.Is(err, context.Canceled) {
						t.Errorf("Add: %v", err)
					}
					return
				}
				accepted.Store(x, true)
			}
		}()
	}
	waitBlocked(w, 50*time.Millisecond)
	// The writer's batch, the queue's, the full one being queued.
	if q, most := w.Stats().Queued, (maxQueued+2)*maxBatch; q > most {
		t.Errorf("%d records held behind a stuck writer by %d adders, want at most %d", q, adders, most)
	}
	cancel()
	wg.Wait()
	close(release)
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	accepted.Range(func(k, _ any) bool {
		if written[k.(int)] != 1 {
			t.Errorf("accepted record %d written %d times", k, written[k.(int)])
		}
		return true
	})
	for x, n := range written {
		if n != 1 {
			t.Errorf("record %d written %d times", x, n)
		}
	}
}

// waitBlocked returns once w's queued count stops growing over a pause:
// its adders are blocked.
func waitBlocked(w *Writer[int], pause time.Duration) {
	for prev := -1; ; {
		time.Sleep(pause)
		q := w.Stats().Queued
		if q == prev {
			return
		}
		prev = q
	}
}

func BenchmarkAddAsync(b *testing.B) {
	w := New(func(context.Context, []int) error { return nil }, Options{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w.Add(context.Background(), 1, false)
		}
	})
	w.Close(context.Background())
}

func TestLinger(t *testing.T) {
	writes := make(chan []int, 10)
	w := New(func(_ context.Context, xs []int) error {
		writes <- append([]int(nil), xs...)
		return nil
	}, Options{Linger: time.Hour})
	for i := 1; i <= 3; i++ {
		if err := w.Add(context.Background(), i, false); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case xs := <-writes:
		t.Fatalf("records nobody waits for were written at once (%v) despite an hour of linger", xs)
	case <-time.After(20 * time.Millisecond):
	}
	// A record someone waits for ends the lingering and takes the others along.
	if err := w.Add(context.Background(), 4, true); err != nil {
		t.Fatal(err)
	}
	if xs := <-writes; len(xs) != 4 {
		t.Fatalf("the waited batch held %v, want the 3 lingering records and the waited one", xs)
	}
	// Close writes what lingers.
	if err := w.Add(context.Background(), 5, false); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if xs := <-writes; len(xs) != 1 || xs[0] != 5 {
		t.Fatalf("Close wrote %v, want [5]", xs)
	}
}

func TestLingerEnds(t *testing.T) {
	writes := make(chan []int, 10)
	w := New(func(_ context.Context, xs []int) error {
		writes <- append([]int(nil), xs...)
		return nil
	}, Options{Linger: 5 * time.Millisecond})
	defer w.Close(context.Background())
	start := time.Now()
	for i := 1; i <= 3; i++ {
		if err := w.Add(context.Background(), i, false); err != nil {
			t.Fatal(err)
		}
	}
	var got []int
	for len(got) < 3 {
		got = append(got, <-writes...) // the test times out if they never come
	}
	if d := time.Since(start); d < 5*time.Millisecond {
		t.Errorf("records written after %v, before the linger of 5ms", d)
	}
}

func TestFlush(t *testing.T) {
	var committed atomic.Int64
	w := New(func(_ context.Context, xs []int) error {
		committed.Add(int64(len(xs)))
		return nil
	}, Options{Linger: time.Hour})
	defer w.Close(context.Background())
	if err := w.Flush(context.Background()); err != nil {
		t.Fatalf("Flush of an empty writer = %v", err)
	}
	for i := 0; i < 5; i++ {
		if err := w.Add(context.Background(), i, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := committed.Load(); got != 5 {
		t.Fatalf("after Flush %d records committed, want 5", got)
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// Flush waits for a batch the writer has taken but not yet committed.
func TestFlushWaitsForTheBatchInFlight(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var committed atomic.Int64
	w := New(func(_ context.Context, xs []int) error {
		close(started)
		<-release
		committed.Add(int64(len(xs)))
		return nil
	}, Options{})
	defer w.Close(context.Background())
	if err := w.Add(context.Background(), 1, false); err != nil {
		t.Fatal(err)
	}
	<-started // the writer holds the batch; cur is empty
	flushed := make(chan error)
	go func() { flushed <- w.Flush(context.Background()) }()
	select {
	case <-flushed:
		t.Fatal("Flush returned while the batch was being written")
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	if err := <-flushed; err != nil || committed.Load() != 1 {
		t.Fatalf("Flush = %v with %d committed", err, committed.Load())
	}
}
