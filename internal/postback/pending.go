package postback

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/track"
)

// authText is what the log keeps of a postback's authentication: enough
// to process it again later without the key itself.
func authText(req *Request) string {
	switch req.Auth {
	case AuthNetworkKey:
		return AuthNetworkKey + ":" + strconv.FormatInt(req.NetworkID, 10)
	case AuthSignature:
		return AuthSignature + ":" + req.SigTS + ":" + req.Sig
	}
	return req.Auth
}

// FromLog rebuilds the request of a log entry: to retry a pending
// postback, or to replay one (auth then says who asks).
func (s *Service) FromLog(e track.PostbackLogEntry) (*Request, error) {
	head, rest, _ := strings.Cut(e.Request, "\n")
	_, target, _ := strings.Cut(head, " ")
	_, rawQuery, _ := strings.Cut(target, "?")
	var ctype, body string
	if rest != "" {
		h, b, _ := strings.Cut(rest, "\n\n")
		ctype, body = strings.TrimPrefix(h, "Content-Type: "), b
	}
	params, err := ParseParams(rawQuery, ctype, []byte(body))
	if err != nil {
		return nil, err
	}
	req := &Request{At: e.ReceivedAt, Method: e.Method, Params: params, Raw: e.Request, LogID: e.ID}
	req.SourceIP, _ = netip.ParseAddr(e.SourceIP)
	kind, arg, _ := strings.Cut(e.Auth, ":")
	req.Auth = kind
	switch kind {
	case AuthNetworkKey:
		req.NetworkID, _ = strconv.ParseInt(arg, 10, 64)
	case AuthSignature:
		req.SigTS, req.Sig, _ = strings.Cut(arg, ":")
		req.SigMessage = withoutParam(rawQuery, "sig") + "\n" + body
	}
	if req.ClickID, err = s.ids.Parse(e.ClickID); err != nil {
		return nil, err
	}
	return req, nil
}

// RetryPending processes pending postbacks again every interval until ctx
// ends: their clicks may have arrived since (from another node's batch).
func (s *Service) RetryPending(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.stop:
			return
		case <-t.C:
		}
		s.RetryPendingOnce(ctx)
	}
}

// RetryPendingOnce processes the pending postbacks again.
func (s *Service) RetryPendingOnce(ctx context.Context) {
	entries, err := s.db.PostbackLog(ctx, store.PostbackQuery{Outcome: track.OutcomePending, Limit: 500})
	if err != nil {
		s.log.Warn("read pending postbacks", "err", err)
		return
	}
	for _, e := range entries {
		req, err := s.FromLog(e)
		if err != nil {
			s.log.Warn("pending postback unreadable", "id", e.ID, "err", err)
			continue
		}
		req.Retry = true
		if err := s.w.Add(ctx, &job{req: req}, false); err != nil {
			return
		}
	}
	// One commit for all of them; their outcomes are in the log.
	if err := s.w.Flush(ctx); err != nil {
		s.log.Warn("retry pending postbacks", "err", err)
	}
}
