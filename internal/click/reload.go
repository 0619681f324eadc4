package click

import (
	"context"
	"time"
)

// Reload rebuilds the snapshot from the store if the configuration changed.
// Reloads run one at a time, so an older snapshot never replaces a newer one.
func (h *Handler) Reload(ctx context.Context) error {
	h.reloading.Lock()
	defer h.reloading.Unlock()
	v, err := h.db.ConfigVersion(ctx)
	if err != nil {
		return err
	}
	if v == h.snap.Load().Version {
		return nil
	}
	s, err := Load(ctx, h.db)
	if err != nil {
		return err
	}
	h.snap.Store(s)
	h.log.Info("configuration reloaded", "version", s.Version)
	return nil
}

// Watch reloads the configuration every interval until ctx ends, so that a
// change made on any node (or by another process) reaches this one.
func (h *Handler) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := h.Reload(ctx); err != nil && ctx.Err() == nil {
				h.log.Error("reload configuration", "err", err)
			}
		}
	}
}
