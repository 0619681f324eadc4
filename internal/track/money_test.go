package track

import (
	"encoding/json"
	"testing"
)

func TestParseMoney(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Money
		ok   bool
	}{
		{"0", 0, true},
		{"12", 12_000_000, true},
		{"12.5", 12_500_000, true},
		{"-0.25", -250_000, true},
		{"+3.000000", 3_000_000, true},
		{"0.000001", 1, true},
		{".5", 500_000, true},
		{"5.", 5_000_000, true},
		{"-0", 0, true},
		{"000123.4500", 123_450_000, true},
		{"9223372036854.775807", 9223372036854775807, true},
		{"9223372036854.775808", 0, false},
		{"0.0000001", 0, false},
		{"1,5", 0, false},
		{"1e3", 0, false},
		{"1e308", 0, false},
		{"NaN", 0, false},
		{"Inf", 0, false},
		{"abc", 0, false},
		{"", 0, false},
		{"-", 0, false},
		{".", 0, false},
		{"1.2.3", 0, false},
		{"1234567890123456789012345678901234567890", 0, false},
		{" 7 ", 7_000_000, true},
	} {
		got, err := ParseMoney(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseMoney(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestMoneyRoundTrip(t *testing.T) {
	for _, m := range []Money{0, 1, -1, 1_500_000, -250_000, 123_456_789, 9223372036854775807, -9223372036854775807} {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var back Money
		if err := json.Unmarshal(b, &back); err != nil || back != m {
			t.Errorf("Money %d → %s → %d, %v", m, b, back, err)
		}
	}
	if s := Money(1_500_000).String(); s != "1.5" {
		t.Errorf("String = %q, want 1.5", s)
	}
	if s := Rate(1_080_000_000).String(); s != "1.08" {
		t.Errorf("Rate String = %q, want 1.08", s)
	}
}

func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{"0", "1.5", "-0.000001", "9223372036854.775807", "1e3", "abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMoney(s)
		if err != nil {
			return
		}
		back, err := ParseMoney(m.String())
		if err != nil || back != m {
			t.Fatalf("ParseMoney(%q) = %d, but its String %q parses to %d, %v", s, m, m.String(), back, err)
		}
	})
}

func TestConvert(t *testing.T) {
	for _, tc := range []struct {
		m    Money
		r    Rate
		want Money
	}{
		{10_000_000, 1_080_000_000, 10_800_000},   // 10 EUR at 1.08 = 10.8
		{-10_000_000, 1_080_000_000, -10_800_000}, // negative corrections too
		{1, 500_000_000, 1},                       // 0.5 micro rounds away from zero
		{1, 499_999_999, 0},
		{3_333_333, 3_000_000_000, 9_999_999},
		{9_223_372_036_854_775_807, 2_000_000_000, 9_223_372_036_854_775_807}, // saturates
		{123_456, RateScale, 123_456},
	} {
		if got := Convert(tc.m, tc.r); got != tc.want {
			t.Errorf("Convert(%v, %v) = %v, want %v", tc.m, tc.r, got, tc.want)
		}
	}
}
