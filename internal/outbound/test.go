package outbound

import (
	"context"
	"strconv"

	"github.com/trackd/trackd/internal/click"
	"github.com/trackd/trackd/internal/track"
)

// Test asks for an outgoing postback expanded for a recorded conversion:
// the saved postback of Target, or Postback, a template not saved yet.
type Test struct {
	ConversionID int64                 `json:"conversion_id"`
	Target       string                `json:"target,omitempty"`
	Postback     *track.SourcePostback `json:"postback,omitempty"`
	// Send sends the request now (not queued, not retried).
	Send bool `json:"send"`
}

// TestResult is the expanded request and, when sent, what the receiver
// answered.
type TestResult struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
	// Fires says whether the postback would be sent for the conversion's
	// status (Send sends it anyway).
	Fires   bool                   `json:"fires"`
	Attempt *track.OutboundAttempt `json:"attempt,omitempty"`
}

// Test expands (and with t.Send sends) a postback for a conversion.
func (d *Dispatcher) Test(ctx context.Context, t Test) (TestResult, error) {
	var p *click.Postback
	snap := d.snap()
	switch {
	case t.ConversionID <= 0:
		return TestResult{}, track.Invalid("conversion_id", "is required: the conversion whose values fill the template")
	case t.Postback != nil:
		t.Postback.Normalize()
		if t.Postback.URL == "" {
			return TestResult{}, track.Invalid("postback.url", "is required")
		}
		if err := t.Postback.Validate(); err != nil {
			return TestResult{}, err
		}
		var err error
		if p, err = click.CompilePostback("test", *t.Postback); err != nil {
			return TestResult{}, track.Invalid("postback", "%v", err)
		}
	case t.Target != "":
		if p = snap.PostbackOf(t.Target); p == nil {
			return TestResult{}, track.NotFound("postback of target", strconv.Quote(t.Target))
		}
	default:
		return TestResult{}, track.Invalid("target", "give a target (source:ID, campaign:ID) or a postback template")
	}
	conv, err := d.db.Conversion(ctx, t.ConversionID)
	if err != nil {
		return TestResult{}, err
	}
	c, err := d.db.Click(ctx, conv.ClickID)
	if err != nil {
		return TestResult{}, err
	}
	now := d.now().UTC()
	e := snap.Expand(p, &c, &conv, now)
	res := TestResult{Method: e.Method, URL: e.URL, Headers: e.Header, Body: e.Body,
		Fires: p.Fires(conv.Status) && !(p.FirstConversionOnly && conv.Upsell)}
	if t.Send {
		a := d.sender.Send(ctx, Request{Method: e.Method, URL: e.URL, Header: e.Header, Body: []byte(e.Body),
			IdempotencyKey: "trackd-test-" + strconv.FormatInt(conv.ID, 10)})
		res.Attempt = &track.OutboundAttempt{At: now, URL: e.URL, StatusCode: a.StatusCode,
			LatencyMS: float64(a.Latency.Microseconds()) / 1000, Outcome: a.Outcome.String(), Reason: a.Reason, Response: a.Response}
	}
	return res, nil
}
