package postback

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/trackd/trackd/internal/clickid"
	"github.com/trackd/trackd/internal/track"
)

// TestPostback is a postback an admin sends through the real path.
type TestPostback struct {
	ClickID  string      `json:"click_id"`
	Status   string      `json:"status"`
	Payout   track.Money `json:"payout"`
	Currency string      `json:"currency"`
	TID      string      `json:"tid"`
}

// Admin processes a postback made by the API (test, import, edit, replay):
// authenticated as an admin, so the network's key, allow-list and
// signature do not apply; everything else does, and it is logged.
func (s *Service) Admin(ctx context.Context, method, rawClickID string, params url.Values, force bool) (Result, error) {
	req := &Request{At: s.now().UTC(), Method: method, Auth: AuthAdmin, Force: force}
	req.Raw = method + " ?" + params.Encode()
	req.Params = Params{v: params}
	id, err := s.ids.Parse(strings.TrimSpace(rawClickID))
	switch {
	case errors.Is(err, clickid.ErrForged):
		return Result{}, track.Invalid("click_id", "click id %q fails verification: forged or mistyped", cut(rawClickID, 64))
	case err != nil:
		return Result{}, track.Invalid("click_id", "%q is not a trackd click id", cut(rawClickID, 64))
	}
	req.ClickID = id
	return s.Process(ctx, req), nil
}

// Test sends t through the postback path.
func (s *Service) Test(ctx context.Context, t TestPostback) (Result, error) {
	v := url.Values{}
	for k, val := range map[string]string{"status": t.Status, "currency": t.Currency, "tid": t.TID} {
		if val != "" {
			v.Set(k, val)
		}
	}
	v.Set("payout", t.Payout.String())
	return s.Admin(ctx, "TEST", t.ClickID, v, false)
}

// SetStatus changes a conversion's status as an admin: any change is
// allowed, and logged like a postback.
func (s *Service) SetStatus(ctx context.Context, c track.Conversion, st track.Status) (Result, error) {
	if !st.Valid() {
		return Result{}, track.Invalid("status", "unknown status %q (want lead, sale, rejected or rebill)", st)
	}
	v := url.Values{"status": {string(st)}}
	if c.TID != "" {
		v.Set("tid", c.TID)
	}
	return s.Admin(ctx, "EDIT", c.ClickID, v, true)
}

// Replay processes a logged postback again, as an admin (after its
// network's status mapping or a currency rate was fixed, say).
func (s *Service) Replay(ctx context.Context, e track.PostbackLogEntry) (Result, error) {
	req, err := s.FromLog(e)
	if err != nil {
		return Result{}, track.Invalid("id", "postback %d cannot be replayed: %v", e.ID, err)
	}
	req.At, req.Method, req.Auth, req.LogID = s.now().UTC(), "REPLAY", AuthAdmin, 0
	req.Raw = cut("REPLAY of postback "+fmt.Sprint(e.ID)+"\n"+e.Request, maxRaw)
	return s.Process(ctx, req), nil
}

// ImportLine is the outcome of one line of an import.
type ImportLine struct {
	Line int `json:"line"`
	Result
}

// MaxImportLines bounds one import.
const MaxImportLines = 10000

// Import records conversions from CSV lines clickid,payout,tid,status
// (payout, tid and status may be empty; a first line starting with
// "clickid" is a header). Each line is one postback with its own outcome.
func (s *Service) Import(ctx context.Context, r io.Reader) ([]ImportLine, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var out []ImportLine
	for n := 1; ; n++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, track.Invalid("body", "line %d: %v", n, err)
		}
		if n > MaxImportLines {
			return nil, track.Invalid("body", "more than %d lines: split the import", MaxImportLines)
		}
		if n == 1 && len(rec) > 0 && strings.EqualFold(strings.TrimSpace(rec[0]), "clickid") {
			continue
		}
		if len(rec) < 1 || len(rec) > 4 {
			return nil, track.Invalid("body", "line %d: want clickid,payout,tid,status", n)
		}
		rec = append(rec, "", "", "")[:4]
		v := url.Values{}
		for i, k := range []string{"", "payout", "tid", "status"} {
			if i > 0 && strings.TrimSpace(rec[i]) != "" {
				v.Set(k, strings.TrimSpace(rec[i]))
			}
		}
		res, err := s.Admin(ctx, "IMPORT", rec[0], v, false)
		if err != nil {
			res = Result{Status: http.StatusBadRequest, Outcome: track.OutcomeRefused, Reason: err.Error()}
		}
		out = append(out, ImportLine{Line: n, Result: res})
	}
}
