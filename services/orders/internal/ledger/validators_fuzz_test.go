package ledger

import (
	"errors"
	"math"
	"math/big"
	"testing"
	"time"
)

// FuzzMoneyArithmetic checks the money invariants against math/big: Add is commutative, exact
// when the sum fits and ErrOverflow (never a wrapped value) when it does not, and refuses mixed
// currencies; Neg is exact or ErrOverflow; a + b − b == a when both steps fit; Prorate is the
// exact quotient rounded half away from zero, or ErrOverflow; Split's parts sum to the total,
// differ by at most one minor unit, and are ordered by magnitude.
func FuzzMoneyArithmetic(f *testing.F) {
	f.Add(int64(1999), int64(-1999), "EUR", "EUR", int64(2500), int64(10000), uint8(12))
	f.Add(int64(math.MaxInt64), int64(1), "USD", "USD", int64(1), int64(3), uint8(1))
	f.Add(int64(math.MinInt64), int64(-1), "JPY", "JPY", int64(-1), int64(1), uint8(36))
	f.Add(int64(math.MinInt64), int64(0), "EUR", "USD", int64(math.MaxInt64), int64(math.MaxInt64), uint8(255))
	f.Add(int64(5), int64(7), "eur", "EUR", int64(1), int64(2), uint8(3))
	f.Add(int64(-5), int64(0), "GBP", "GBP", int64(1), int64(0), uint8(3))
	f.Fuzz(func(t *testing.T, a, b int64, ca, cb string, num, den int64, n uint8) {
		x, y := Money{Minor: a, Currency: ca}, Money{Minor: b, Currency: cb}
		exact := new(big.Int).Add(big.NewInt(a), big.NewInt(b))
		s1, err1 := x.Add(y)
		s2, err2 := y.Add(x)
		switch {
		case ca != cb:
			if !errors.Is(err1, ErrCurrencyMismatch) || !errors.Is(err2, ErrCurrencyMismatch) {
				t.Fatalf("%v + %v = %v, %v", x, y, err1, err2)
			}
		case !exact.IsInt64():
			if !errors.Is(err1, ErrOverflow) || !errors.Is(err2, ErrOverflow) {
				t.Fatalf("%v + %v = %v, %v; want ErrOverflow", x, y, s1, s2)
			}
		default:
			if err1 != nil || err2 != nil || s1 != s2 || s1.Minor != exact.Int64() || s1.Currency != ca {
				t.Fatalf("%v + %v = %v, %v / %v, %v; want %v", x, y, s1, err1, s2, err2, exact)
			}
			// a + b − b == a, when −b fits.
			if nb, err := y.Neg(); err == nil {
				if back, err := s1.Add(nb); err != nil || back != x {
					t.Fatalf("(%v + %v) − %v = %v, %v", x, y, y, back, err)
				}
			}
		}

		neg, err := x.Neg()
		if a == math.MinInt64 {
			if !errors.Is(err, ErrOverflow) {
				t.Fatalf("−%v = %v, %v; want ErrOverflow", x, neg, err)
			}
		} else if err != nil || neg.Minor != -a || neg.Currency != ca {
			t.Fatalf("−%v = %v, %v", x, neg, err)
		}

		q, err := Prorate(x, num, den)
		if den <= 0 {
			if err == nil {
				t.Fatalf("Prorate(%v, %d, %d) accepted a non-positive denominator", x, num, den)
			}
		} else {
			want := halfAway(new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(a), big.NewInt(num)), big.NewInt(den)))
			switch {
			case !want.IsInt64():
				if !errors.Is(err, ErrOverflow) {
					t.Fatalf("Prorate(%v, %d, %d) = %v, %v; want ErrOverflow", x, num, den, q, err)
				}
			case err != nil || q.Minor != want.Int64() || q.Currency != ca:
				t.Fatalf("Prorate(%v, %d, %d) = %v, %v; want %v", x, num, den, q, err, want)
			}
		}

		parts, err := Split(x, int(n))
		if n == 0 {
			if err == nil {
				t.Fatalf("Split into 0 parts = %v", parts)
			}
			return
		}
		if err != nil || len(parts) != int(n) {
			t.Fatalf("Split(%v, %d) = %v, %v", x, n, parts, err)
		}
		sum := new(big.Int)
		for i, p := range parts {
			sum.Add(sum, big.NewInt(p.Minor))
			if p.Currency != ca || (p.Minor != 0 && (p.Minor < 0) != (a < 0)) {
				t.Fatalf("Split(%v, %d)[%d] = %v", x, n, i, p)
			}
			if i > 0 {
				d := new(big.Int).Sub(abs(parts[i-1].Minor), abs(p.Minor))
				if d.Sign() < 0 || d.Cmp(big.NewInt(1)) > 0 {
					t.Fatalf("Split(%v, %d): parts %d and %d are %v and %v", x, n, i-1, i, parts[i-1], p)
				}
			}
		}
		if sum.Cmp(big.NewInt(a)) != 0 {
			t.Fatalf("Split(%v, %d) sums to %v", x, n, sum)
		}
	})
}

func abs(v int64) *big.Int { return new(big.Int).Abs(big.NewInt(v)) }

// halfAway rounds r to the nearest integer, halves away from zero.
func halfAway(r *big.Rat) *big.Int {
	num, den := new(big.Int).Abs(r.Num()), r.Denom()
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	if new(big.Int).Lsh(m, 1).Cmp(den) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if r.Sign() < 0 {
		q.Neg(q)
	}
	return q
}

// FuzzValidateCurrency: ValidateCurrency and NewMoney accept exactly three ASCII upper-case
// letters, and NewMoney keeps the amount and code as given.
func FuzzValidateCurrency(f *testing.F) {
	for _, s := range []string{"EUR", "USD", "JPY", "eur", "EU", "EURO", "", "E1R", "ÄUR", "EU\x00", "XXX"} {
		f.Add(s, int64(100))
	}
	f.Fuzz(func(t *testing.T, c string, minor int64) {
		want := len(c) == 3
		for i := 0; i < len(c); i++ {
			want = want && 'A' <= c[i] && c[i] <= 'Z'
		}
		err := ValidateCurrency(c)
		if (err == nil) != want || (err != nil && !errors.Is(err, ErrInvalidCurrency)) {
			t.Fatalf("ValidateCurrency(%q) = %v; want accepted=%v", c, err, want)
		}
		m, err := NewMoney(minor, c)
		if (err == nil) != want || (want && m != (Money{Minor: minor, Currency: c})) || (!want && m != (Money{})) {
			t.Fatalf("NewMoney(%d, %q) = %v, %v", minor, c, m, err)
		}
	})
}

// FuzzParseMonth: a month ParseMonth accepts formats back to the same text (parse(s).String()
// == s, so "YYYY-MM" has one spelling), and every month String writes parses back to itself.
// AddMonths is consistent with Before and with time's calendar.
func FuzzParseMonth(f *testing.F) {
	for _, s := range []string{"2025-01", "2025-12", "0000-01", "9999-12", "2025-13", "2025-00", "2025-1", "25-01", "2025/01", "2025-01 ", "+202-01", "２０２５-01"} {
		f.Add(s, int16(1))
	}
	f.Add("2024-02", int16(-25))
	f.Fuzz(func(t *testing.T, s string, n int16) {
		m, err := ParseMonth(s)
		if err != nil {
			if !m.IsZero() {
				t.Fatalf("ParseMonth(%q) refused but returned %v", s, m)
			}
			return
		}
		if m.String() != s || m.Month < time.January || m.Month > time.December {
			t.Fatalf("ParseMonth(%q) = %v", s, m)
		}
		if m.Start() != time.Date(m.Year, m.Month, 1, 0, 0, 0, 0, time.UTC) || !m.Contains(m.Start()) || m.Contains(m.End()) {
			t.Fatalf("%v: start %v, end %v", m, m.Start(), m.End())
		}
		later := m.AddMonths(int(n))
		if later.AddMonths(-int(n)) != m || (n > 0) != m.Before(later) || MonthOf(m.Start().AddDate(0, int(n), 0)) != later {
			t.Fatalf("%v + %d months = %v", m, n, later)
		}
		if later.Year >= 0 && later.Year <= 9999 {
			if back, err := ParseMonth(later.String()); err != nil || back != later {
				t.Fatalf("ParseMonth(%q) = %v, %v", later.String(), back, err)
			}
		}
	})
}
