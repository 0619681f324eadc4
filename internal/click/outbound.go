package click

import (
	"fmt"
	"strconv"
	"time"

	"github.com/trackd/trackd/internal/macro"
	"github.com/trackd/trackd/internal/track"
)

// Postback is an outgoing postback compiled: a traffic source's or a
// campaign's.
type Postback struct {
	// Target names it for the delivery queue: "source:3" or "campaign:7".
	Target string
	track.SourcePostback
	url, body *macro.Template
	headers   map[string]*macro.Template
}

// CompilePostback compiles p (validated) for target; nil without a URL.
func CompilePostback(target string, p track.SourcePostback) (*Postback, error) {
	if p.URL == "" {
		return nil, nil
	}
	pb := &Postback{Target: target, SourcePostback: p, headers: map[string]*macro.Template{}}
	var err error
	if pb.url, err = macro.Parse(p.URL, macro.Conversion); err != nil {
		return nil, fmt.Errorf("%s postback url: %w", target, err)
	}
	if p.Body != "" {
		if pb.body, err = macro.Parse(p.Body, macro.Conversion); err != nil {
			return nil, fmt.Errorf("%s postback body: %w", target, err)
		}
	}
	for k, v := range p.Headers {
		if pb.headers[k], err = macro.Parse(v, macro.Conversion); err != nil {
			return nil, fmt.Errorf("%s postback header %s: %w", target, k, err)
		}
	}
	return pb, nil
}

// Postbacks returns the outgoing postbacks for conversions of click c: its
// campaign's, and its traffic source's unless the campaign replaces it.
func (s *Snapshot) Postbacks(c *track.Click) []*Postback {
	var out []*Postback
	replace := false
	if camp := s.byID[c.CampaignID]; camp != nil && camp.postback != nil {
		out = append(out, camp.postback)
		replace = camp.Postback.ReplaceSource
	}
	if src := s.sources[c.TrafficSourceID]; src != nil && src.postback != nil && !replace {
		out = append(out, src.postback)
	}
	return out
}

// PostbackOf returns the postback of a target ("source:ID" or
// "campaign:ID"), or nil.
func (s *Snapshot) PostbackOf(target string) *Postback {
	for _, src := range s.sources {
		if src.postback != nil && src.postback.Target == target {
			return src.postback
		}
	}
	for _, c := range s.byID {
		if c.postback != nil && c.postback.Target == target {
			return c.postback
		}
	}
	return nil
}

// Webhooks returns the webhooks.
func (s *Snapshot) Webhooks() []track.Webhook { return s.webhooks }

// Expanded is an outgoing request made from a template.
type Expanded struct {
	Method, URL, Body string
	Header            map[string]string
}

// Expand fills p's templates for conv and its click c.
func (s *Snapshot) Expand(p *Postback, c *track.Click, conv *track.Conversion, now time.Time) Expanded {
	v := &conversionValues{values: values{c: c, campaign: s.byID[c.CampaignID], query: c.Query}, conv: conv,
		payout: conv.Payout.Percent(p.PayoutSharePercent), currency: s.Settings.AccountCurrency, src: s.sources[c.TrafficSourceID]}
	e := Expanded{Method: p.Method, URL: string(p.url.Expand(nil, v, now))}
	if p.body != nil {
		e.Body = string(p.body.ExpandJSON(nil, v, now))
	}
	if len(p.headers) > 0 {
		e.Header = make(map[string]string, len(p.headers))
		for k, t := range p.headers {
			e.Header[k] = string(t.Expand(nil, v, now))
		}
	}
	return e
}

// conversionValues gives outgoing postback templates the values of a
// conversion and its click.
type conversionValues struct {
	values
	conv     *track.Conversion
	payout   track.Money // the share of the payout the postback reports
	currency string
	src      *source
}

// AppendValue implements macro.Values.
func (v *conversionValues) AppendValue(dst []byte, name, arg string) ([]byte, bool) {
	switch name {
	case "status":
		return append(dst, v.conv.Status...), true
	case "payout":
		return append(dst, v.payout.String()...), true
	case "revenue":
		return append(dst, v.conv.Payout.String()...), true
	case "currency":
		return append(dst, v.currency...), true
	case "tid":
		return append(dst, v.conv.TID...), true
	case "profit":
		return append(dst, (v.conv.Payout - v.c.Cost).String()...), true
	case "conversion_id":
		return strconv.AppendInt(dst, v.conv.ID, 10), true
	case "campaign_name":
		if v.campaign == nil {
			return dst, false
		}
	case "traffic_source_name":
		if v.src == nil {
			return dst, false
		}
		return append(dst, v.src.Name...), true
	}
	return v.values.AppendValue(dst, name, arg)
}
