// Package batch collects records from many goroutines and writes them in
// batches from one goroutine: group commit with bounded memory.
//
// The writer takes whatever has accumulated as soon as its previous write is
// done, so a lone record is written at once and, under load, records pile up
// into large batches while a commit is in flight. A caller may wait for the
// commit of the batch that holds its record (sync durability) or not (async).
// When the writer falls behind, Add blocks: back-pressure, never unbounded
// memory.
package batch

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrClosed is returned by Add after Close.
var ErrClosed = errors.New("batch: closed")

// Stats are counters a caller may export as metrics.
type Stats struct {
	Batches, Records, Failed uint64
	// Queued is the number of records waiting or being written now.
	Queued int
}

// Writer batches records of type T.
type Writer[T any] struct {
	write    func(context.Context, []T) error
	maxBatch int
	retry    time.Duration
	onError  func(err error, n int)
	onBatch  func(n int, took time.Duration)
	linger   time.Duration

	mu      sync.Mutex
	cur     *pending[T]
	last    *pending[T]      // the newest batch closed to new records
	full    bool             // cur is full: its last adder is queueing it
	room    chan struct{}    // closed when a full cur has gone to the queue
	spare   []T              // a batch slice to reuse
	queue   chan *pending[T] // full batches waiting for the writer
	kick    chan struct{}    // cur became non-empty
	closed  bool
	stats   Stats
	done    chan struct{}
	closing chan struct{}
}

// pending is one batch and the outcome its waiters learn.
type pending[T any] struct {
	items []T
	done  chan struct{}
	err   error
	since time.Time // when the first record came, with linger
	wait  bool      // someone waits for the commit
}

// Options tune a Writer.
type Options struct {
	// MaxBatch is the most records written at once (default 1000).
	MaxBatch int
	// MaxQueued is how many full batches may wait for the writer before Add
	// blocks (default 4).
	MaxQueued int
	// Retry is the pause between attempts to write a batch that failed
	// (default 1s). A failed batch is retried until Close; its waiters get
	// the error of each failed attempt only when the writer gives up.
	Retry time.Duration
	// OnError is called after each failed write attempt.
	OnError func(err error, n int)
	// OnBatch is called after each written batch.
	OnBatch func(n int, took time.Duration)
	// Linger is how long records nobody waits for may wait for more to
	// join them before they are written (default 0: at once). Fewer,
	// larger commits cost the store much less per record; a record added
	// with wait ends the lingering of its batch.
	Linger time.Duration
}

// New starts a writer that calls write with each batch from one goroutine.
func New[T any](write func(context.Context, []T) error, o Options) *Writer[T] {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1000
	}
	if o.MaxQueued <= 0 {
		o.MaxQueued = 4
	}
	if o.Retry <= 0 {
		o.Retry = time.Second
	}
	w := &Writer[T]{
		write:    write,
		maxBatch: o.MaxBatch,
		retry:    o.Retry,
		onError:  o.OnError,
		onBatch:  o.OnBatch,
		linger:   max(o.Linger, 0),
		queue:    make(chan *pending[T], o.MaxQueued),
		kick:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		closing:  make(chan struct{}),
		room:     make(chan struct{}),
	}
	w.cur = w.newPending()
	go w.run()
	return w
}

func (w *Writer[T]) newPending() *pending[T] {
	items := w.spare
	w.spare = nil
	if items == nil {
		items = make([]T, 0, w.maxBatch)
	}
	return &pending[T]{items: items[:0], done: make(chan struct{})}
}

// Add queues v. With wait, it returns after the batch holding v is
// committed, with that commit's error; without, at once. It blocks while the
// writer is too far behind, and fails with ctx's error if ctx ends first
// (v may then still be written).
func (w *Writer[T]) Add(ctx context.Context, v T, wait bool) error {
	w.mu.Lock()
	for w.full && !w.closed {
		// The current batch is full and its last adder is handing it to
		// the queue, which is full: wait with it. So every adder waits,
		// not only the one that filled a batch, and memory holds at most
		// MaxQueued + 2 batches however many callers there are.
		room := w.room
		w.mu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
			return ctx.Err()
		}
		w.mu.Lock()
	}
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	p := w.cur
	p.items = append(p.items, v)
	w.stats.Queued++
	full := len(p.items) >= w.maxBatch
	w.full = full
	first := len(p.items) == 1
	if first && w.linger > 0 {
		p.since = time.Now()
	}
	if wait && !p.wait {
		p.wait, first = true, true
	}
	w.mu.Unlock()

	if full {
		select {
		case w.queue <- p:
			w.sealed(p)
		case <-ctx.Done():
			go func() {
				w.queue <- p
				w.sealed(p)
			}()
			return ctx.Err()
		}
	} else if first {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	if !wait {
		return nil
	}
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sealed makes a new current batch once the full one, p, is in the queue,
// and lets the adders waiting for room go on.
func (w *Writer[T]) sealed(p *pending[T]) {
	w.mu.Lock()
	w.cur = w.newPending()
	w.full = false
	w.last = p
	close(w.room)
	w.room = make(chan struct{})
	w.mu.Unlock()
}

// take returns the batch to write next, or nil when closed and drained.
func (w *Writer[T]) take() *pending[T] {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		select {
		case p := <-w.queue:
			return p
		default:
		}
		w.mu.Lock()
		var wake <-chan time.Time
		// A full cur is its last adder's to queue: wait for it there.
		sealing := w.full
		if n := len(w.cur.items); n > 0 && !sealing {
			left := w.linger - time.Since(w.cur.since)
			if w.cur.wait || w.closed || w.linger == 0 || left <= 0 {
				p := w.cur
				w.cur = w.newPending()
				w.last = p
				w.mu.Unlock()
				return p
			}
			if timer == nil {
				timer = time.NewTimer(left)
			} else {
				timer.Reset(left)
			}
			wake = timer.C
		}
		closed := w.closed
		w.mu.Unlock()
		if closed && !sealing {
			select {
			case p := <-w.queue:
				return p
			default:
				return nil
			}
		}
		select {
		case p := <-w.queue:
			return p
		case <-w.kick:
		case <-w.closing:
		case <-wake:
		}
	}
}

func (w *Writer[T]) run() {
	defer close(w.done)
	for {
		p := w.take()
		if p == nil {
			return
		}
		w.flush(p)
	}
}

// Flush returns when every record added before it is committed (or its
// commit failed), or when ctx ends. It ends the lingering of the records
// waiting.
func (w *Writer[T]) Flush(ctx context.Context) error {
	w.mu.Lock()
	p := w.cur
	if len(p.items) == 0 {
		// Batches are written in the order they were sealed: waiting
		// for the newest waits for all.
		p = w.last
		if p == nil {
			w.mu.Unlock()
			return nil
		}
	} else if !p.wait {
		p.wait = true
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	w.mu.Unlock()
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flush writes one batch, retrying until it succeeds or the writer closes.
func (w *Writer[T]) flush(p *pending[T]) {
	for {
		start := time.Now()
		err := w.write(context.Background(), p.items)
		if err == nil {
			if w.onBatch != nil {
				w.onBatch(len(p.items), time.Since(start))
			}
			w.finish(p, nil)
			return
		}
		if w.onError != nil {
			w.onError(err, len(p.items))
		}
		select {
		case <-w.closing:
			w.finish(p, err)
			return
		case <-time.After(w.retry):
		}
	}
}

func (w *Writer[T]) finish(p *pending[T], err error) {
	p.err = err
	w.mu.Lock()
	w.stats.Queued -= len(p.items)
	if err == nil {
		w.stats.Batches++
		w.stats.Records += uint64(len(p.items))
	} else {
		w.stats.Failed += uint64(len(p.items))
	}
	// Reuse the slice once no one can read it: waiters only read p.err.
	clear(p.items)
	if w.spare == nil {
		w.spare = p.items[:0]
	}
	p.items = nil
	w.mu.Unlock()
	close(p.done)
}

// Stats returns the writer's counters.
func (w *Writer[T]) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

// Close stops taking records, writes what is queued and returns when done
// or when ctx ends. A batch that keeps failing is given up at Close.
func (w *Writer[T]) Close(ctx context.Context) error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.closing)
	}
	w.mu.Unlock()
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
