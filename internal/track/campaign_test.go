package track

import (
	"errors"
	"testing"
)

func TestFilterValidate(t *testing.T) {
	for _, tc := range []struct {
		f     Filter
		field string // "" = valid
	}{
		{Filter{Type: "country", Mode: "accept", Values: []string{"US", "DE"}}, ""},
		{Filter{Type: "country", Mode: "accept", Values: []string{"us"}}, "values[0]"},
		{Filter{Type: "country", Mode: "accept"}, "values"},
		{Filter{Type: "planet", Mode: "accept", Values: []string{"x"}}, "type"},
		{Filter{Type: "os", Mode: "maybe", Values: []string{"iOS"}}, "mode"},
		{Filter{Type: "ip", Mode: "reject", Values: []string{"10.0.0.0/8", "2001:db8::1", "1.2.3.4"}}, ""},
		{Filter{Type: "ip", Mode: "reject", Values: []string{"10.0.0.0/33"}}, "values[0]"},
		{Filter{Type: "asn", Mode: "accept", Values: []string{"AS15169", "13335"}}, ""},
		{Filter{Type: "asn", Mode: "accept", Values: []string{"Google"}}, "values[0]"},
		{Filter{Type: "bot", Mode: "reject"}, ""},
		{Filter{Type: "bot", Mode: "reject", Values: []string{"yes"}}, "values"},
		{Filter{Type: "referrer", Mode: "accept", Op: "empty"}, ""},
		{Filter{Type: "referrer", Mode: "accept", Op: "contains", Values: []string{"google."}}, ""},
		{Filter{Type: "referrer", Mode: "accept", Op: "regex", Values: []string{`^https?://(www\.)?fb\.`}}, ""},
		{Filter{Type: "referrer", Mode: "accept", Op: "regex", Values: []string{`(a+)+\1`}}, "values[0]"},
		{Filter{Type: "referrer", Mode: "accept", Op: "like", Values: []string{"x"}}, "op"},
		{Filter{Type: "param", Mode: "accept", Name: "zone", Op: "in", Values: []string{"1", "2"}}, ""},
		{Filter{Type: "param", Mode: "accept", Name: "", Op: "empty"}, "name"},
		{Filter{Type: "param", Mode: "accept", Name: "a b", Op: "empty"}, "name"},
		{Filter{Type: "param", Mode: "accept", Name: "zone", Op: "equals", Values: []string{"1", "2"}}, "values"},
		{Filter{Type: "schedule", Mode: "accept", Days: []int{1, 2, 3, 4, 5}, Hours: []int{9, 17}, Timezone: "America/New_York"}, ""},
		{Filter{Type: "schedule", Mode: "accept", Days: []int{7}}, "days[0]"},
		{Filter{Type: "schedule", Mode: "accept", Hours: []int{24}}, "hours[0]"},
		{Filter{Type: "schedule", Mode: "accept"}, "days"},
		{Filter{Type: "schedule", Mode: "accept", Hours: []int{1}, Timezone: "Moon/Base"}, "timezone"},
		{Filter{Type: "language", Mode: "accept", Values: []string{"en", "de"}}, ""},
		{Filter{Type: "city", Mode: "accept", Values: []string{"\xff"}}, "values[0]"},
	} {
		err := tc.f.Validate()
		var ie *InvalidError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%+v: unexpected error %v", tc.f, err)
		case tc.field != "" && !errors.As(err, &ie):
			t.Errorf("%+v: err = %v, want invalid %s", tc.f, err, tc.field)
		case tc.field != "" && ie.Field != tc.field:
			t.Errorf("%+v: field = %q, want %q (%v)", tc.f, ie.Field, tc.field, err)
		}
	}
}

func TestStreamSchemas(t *testing.T) {
	for _, tc := range []struct {
		name  string
		s     Stream
		field string
	}{
		{"offers", Stream{Offers: []OfferShare{{OfferID: 1}}}, ""},
		{"no offers", Stream{}, "offers"},
		{"landings without offers", Stream{Landings: []LandingShare{{LandingID: 1}}}, "offers"},
		{"landings", Stream{Landings: []LandingShare{{LandingID: 1}}, Offers: []OfferShare{{OfferID: 2}}}, ""},
		{"action with offers", Stream{Schema: "action", Action: &Action{Type: "not_found"}, Offers: []OfferShare{{OfferID: 1}}}, "schema"},
		{"text action", Stream{Action: &Action{Type: "text"}}, "action.content"},
		{"url action", Stream{Action: &Action{Type: "url", URL: "https://x.example/?s={sub_id_1}"}}, ""},
		{"url action with a conversion macro", Stream{Action: &Action{Type: "url", URL: "https://x.example/?p={payout}"}}, "action.url"},
		{"twice the same offer", Stream{Offers: []OfferShare{{OfferID: 1}, {OfferID: 1}}}, "offers[1].offer_id"},
		{"negative share", Stream{Offers: []OfferShare{{OfferID: 1, Share: -5}}}, "offers[0].share"},
		{"weight", Stream{Weight: -1, Offers: []OfferShare{{OfferID: 1}}}, "weight"},
		{"redirect", Stream{Redirect: "ftp", Offers: []OfferShare{{OfferID: 1}}}, "redirect"},
		{"type", Stream{Type: "sometimes", Offers: []OfferShare{{OfferID: 1}}}, "type"},
	} {
		c := Campaign{Alias: "a", Name: "A", Streams: []Stream{tc.s}}
		c.Normalize("USD")
		err := c.Validate()
		var ie *InvalidError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s: unexpected error %v", tc.name, err)
		case tc.field != "" && !errors.As(err, &ie):
			t.Errorf("%s: err = %v, want invalid streams[0].%s", tc.name, err, tc.field)
		case tc.field != "" && ie.Field != "streams[0]."+tc.field:
			t.Errorf("%s: field = %q, want streams[0].%s (%v)", tc.name, ie.Field, tc.field, err)
		}
	}
}
