package track

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"reflect"
	"strconv"
	"strings"
)

// Money is an amount in micro-units (one millionth of the currency unit).
// It is never a float: 1.5 USD is Money(1_500_000).
type Money int64

// MoneyScale is the number of micro-units in one currency unit.
const MoneyScale = 1_000_000

// ParseMoney parses a decimal such as "12", "-0.5" or "1.234567" exactly.
// It accepts at most 6 fraction digits and refuses exponents, NaN, infinities
// and values that do not fit in an int64 of micro-units.
func ParseMoney(s string) (Money, error) {
	v, err := parseFixed(s, 6)
	return Money(v), err
}

// String formats m as a plain decimal with no trailing zeros: "1.5", "-0.25", "3".
func (m Money) String() string { return formatFixed(int64(m), 6) }

// MarshalJSON writes m as a JSON number with the exact decimal value.
func (m Money) MarshalJSON() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalJSON accepts a JSON number or a string holding a decimal.
func (m *Money) UnmarshalJSON(b []byte) error {
	v, err := parseFixed(unquoteNumber(b), 6)
	if err != nil {
		return decimalError(b, err, reflect.TypeFor[Money]())
	}
	*m = Money(v)
	return nil
}

// Rate is an exchange rate with 9 decimal places: Rate(1_080_000_000) is 1.08.
type Rate int64

// RateScale is the number of rate units in 1.0.
const RateScale = 1_000_000_000

// ParseRate parses a positive decimal exchange rate with at most 9 fraction digits.
func ParseRate(s string) (Rate, error) {
	v, err := parseFixed(s, 9)
	return Rate(v), err
}

// String formats r as a plain decimal.
func (r Rate) String() string { return formatFixed(int64(r), 9) }

// MarshalJSON writes r as a JSON number with the exact decimal value.
func (r Rate) MarshalJSON() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalJSON accepts a JSON number or a string holding a decimal.
func (r *Rate) UnmarshalJSON(b []byte) error {
	v, err := parseFixed(unquoteNumber(b), 9)
	if err != nil {
		return decimalError(b, err, reflect.TypeFor[Rate]())
	}
	*r = Rate(v)
	return nil
}

// decimalError is a *json.UnmarshalTypeError, so that encoding/json adds
// the name of the field to it.
func decimalError(b []byte, err error, t reflect.Type) error {
	v := string(b)
	if len(v) > 40 {
		v = v[:40] + "…"
	}
	return &json.UnmarshalTypeError{Value: v + " (" + err.Error() + ")", Type: t}
}

func unquoteNumber(b []byte) string {
	s := string(b)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	return s
}

var errDecimal = errors.New("not a decimal number")

// parseFixed parses s as a decimal with at most scale fraction digits and
// returns it multiplied by 10^scale.
func parseFixed(s string, scale int) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "null" {
		return 0, errDecimal
	}
	neg := false
	switch s[0] {
	case '-':
		neg = true
		s = s[1:]
	case '+':
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" && frac == "" || hasDot && frac == "" && intPart == "" {
		return 0, errDecimal
	}
	if !allDigits(intPart) || !allDigits(frac) {
		return 0, errDecimal
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > scale {
		return 0, fmt.Errorf("more than %d decimal places", scale)
	}
	intPart = strings.TrimLeft(intPart, "0")
	digits := intPart + frac + strings.Repeat("0", scale-len(frac))
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		return 0, nil
	}
	if len(digits) > 19 {
		return 0, errors.New("number too large")
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, errors.New("number too large")
	}
	if neg {
		v = -v
	}
	return v, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func formatFixed(v int64, scale int) string {
	neg := v < 0
	u := uint64(v)
	if neg {
		u = uint64(-v)
	}
	s := strconv.FormatUint(u, 10)
	if len(s) <= scale {
		s = strings.Repeat("0", scale-len(s)+1) + s
	}
	intPart, frac := s[:len(s)-scale], strings.TrimRight(s[len(s)-scale:], "0")
	out := intPart
	if frac != "" {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}

// Convert returns m (in some currency) in the account currency, where r is
// the value of one unit of that currency in account units. It rounds half
// away from zero and saturates instead of overflowing.
func Convert(m Money, r Rate) Money {
	if r == RateScale {
		return m
	}
	neg := (m < 0) != (r < 0)
	a, b := absU(int64(m)), absU(int64(r))
	hi, lo := bits.Mul64(a, b)
	if hi >= RateScale {
		return saturate(neg)
	}
	q, rem := bits.Div64(hi, lo, RateScale)
	if rem*2 >= RateScale {
		q++
	}
	if q > math.MaxInt64 {
		return saturate(neg)
	}
	if neg {
		return Money(-int64(q))
	}
	return Money(q)
}

func absU(v int64) uint64 {
	if v < 0 {
		return uint64(-v)
	}
	return uint64(v)
}

func saturate(neg bool) Money {
	if neg {
		return Money(math.MinInt64 + 1)
	}
	return Money(math.MaxInt64)
}

// Percent returns p percent of m, rounded half away from zero.
func (m Money) Percent(p int) Money {
	if p == 100 {
		return m
	}
	x := new(big.Int).Mul(big.NewInt(int64(m)), big.NewInt(int64(p)))
	q, r := new(big.Int).QuoRem(x, big.NewInt(100), new(big.Int))
	if r.Abs(r).Int64()*2 >= 100 {
		if x.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	if !q.IsInt64() {
		if x.Sign() < 0 {
			return Money(math.MinInt64)
		}
		return Money(math.MaxInt64)
	}
	return Money(q.Int64())
}
