package ledger

import (
	"errors"
	"math"
	"testing"
)

func eur(m int64) Money { return Money{Minor: m, Currency: "EUR"} }

func TestSplit(t *testing.T) {
	tests := []struct {
		name  string
		total int64
		n     int
		want  []int64 // first distinct values with counts: expanded below
		count []int
	}{
		{"1 minor unit over 12 months", 1, 12, []int64{1, 0}, []int{1, 11}},
		{"100.00 over 36 months", 10000, 36, []int64{278, 277}, []int{28, 8}},
		{"100.00 over 3 years annual", 10000, 3, []int64{3334, 3333}, []int{1, 2}},
		{"even split", 12000, 12, []int64{1000}, []int{12}},
		{"one installment", 999, 1, []int64{999}, []int{1}},
		{"zero", 0, 12, []int64{0}, []int{12}},
		{"11 over 12", 11, 12, []int64{1, 0}, []int{11, 1}},
		{"negative keeps sign", -5, 3, []int64{-2, -1}, []int{2, 1}},
		{"max int64 over 36", math.MaxInt64, 36, []int64{math.MaxInt64/36 + 1, math.MaxInt64 / 36}, []int{int(math.MaxInt64 % 36), 36 - int(math.MaxInt64%36)}},
		{"min int64 over 12", math.MinInt64, 12, []int64{math.MinInt64/12 - 1, math.MinInt64 / 12}, []int{int(-(math.MinInt64 % 12)), 12 + int(math.MinInt64%12)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Split(eur(tc.total), tc.n)
			if err != nil {
				t.Fatal(err)
			}
			var want []int64
			for i, v := range tc.want {
				for j := 0; j < tc.count[i]; j++ {
					want = append(want, v)
				}
			}
			if len(got) != len(want) {
				t.Fatalf("len %d, want %d", len(got), len(want))
			}
			var sum int64
			for i := range got {
				if got[i].Minor != want[i] || got[i].Currency != "EUR" {
					t.Errorf("part %d = %s, want %d EUR", i, got[i], want[i])
				}
				sum += got[i].Minor
			}
			if sum != tc.total {
				t.Errorf("sum %d, want %d", sum, tc.total)
			}
		})
	}
	if _, err := Split(eur(1), 0); err == nil {
		t.Error("Split into 0 parts: want an error")
	}
}

func TestMulDivHalfAway(t *testing.T) {
	tests := []struct {
		a, b, c, want int64
		ok            bool
	}{
		{10000, 2500, 10000, 2500, true},
		{1, 1, 2, 1, true},                         // 0.5 → 1
		{-1, 1, 2, -1, true},                       // −0.5 → −1
		{1, 1, 3, 0, true},                         // 0.33 → 0
		{2, 1, 3, 1, true},                         // 0.67 → 1
		{5, 1, -2, -3, true},                       // −2.5 → −3
		{-5, -1, 2, 3, true},                       // 2.5 → 3
		{3333, 2500, 10000, 833, true},             // 833.25
		{3334, 2500, 10000, 834, true},             // 833.5 → 834
		{math.MaxInt64, 2, 2, math.MaxInt64, true}, // exact despite the intermediate
		{math.MaxInt64, 2, 1, 0, false},
		{1, 1, 0, 0, false},
	}
	for _, tc := range tests {
		got, ok := MulDivHalfAway(tc.a, tc.b, tc.c)
		if got != tc.want || ok != tc.ok {
			t.Errorf("MulDivHalfAway(%d, %d, %d) = %d, %v; want %d, %v", tc.a, tc.b, tc.c, got, ok, tc.want, tc.ok)
		}
	}
}

func TestMoneyArithmetic(t *testing.T) {
	if _, err := eur(1).Add(Money{Minor: 1, Currency: "USD"}); !errors.Is(err, ErrCurrencyMismatch) {
		t.Errorf("EUR + USD: err %v, want ErrCurrencyMismatch", err)
	}
	if _, err := eur(math.MaxInt64).Add(eur(1)); !errors.Is(err, ErrOverflow) {
		t.Errorf("overflow: err %v", err)
	}
	if _, err := eur(math.MinInt64).Neg(); !errors.Is(err, ErrOverflow) {
		t.Errorf("neg overflow: err %v", err)
	}
	if got, err := ApplyRate(eur(12345), 2500); err != nil || got != eur(3086) { // 3086.25
		t.Errorf("25 %% of 123.45 = %v, %v; want 3086", got, err)
	}
	if got, err := ApplyRate(eur(2), 2500); err != nil || got != eur(1) { // 0.5 → 1
		t.Errorf("25 %% of 0.02 = %v, %v; want 1", got, err)
	}
	for _, c := range []string{"eur", "EU", "EURO", "E1R", ""} {
		if _, err := NewMoney(1, c); !errors.Is(err, ErrInvalidCurrency) {
			t.Errorf("NewMoney(%q): err %v", c, err)
		}
	}
	if m, err := NewMoney(-7, "JPY"); err != nil || m.String() != "-7 JPY" {
		t.Errorf("NewMoney JPY = %v, %v", m, err)
	}
}
