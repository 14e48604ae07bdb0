package ledger

import (
	"errors"
	"testing"
)

func TestInstallmentCount(t *testing.T) {
	tests := []struct {
		term Term
		plan BillingPlan
		want int
		err  bool
	}{
		{TermP1M, PlanMonthly, 1, false},
		{TermP1Y, PlanMonthly, 12, false},
		{TermP1Y, PlanAnnual, 1, false},
		{TermP3Y, PlanAnnual, 3, false},
		{TermP3Y, PlanTriennial, 1, false},
		{TermP3Y, PlanMonthly, 36, false},
		{TermPerpetual, PlanOneTime, 1, false},
		{TermP1M, PlanAnnual, 0, true},
		{TermP1Y, PlanTriennial, 0, true},
		{TermP1Y, PlanOneTime, 0, true},
		{TermPerpetual, PlanMonthly, 0, true},
		{TermUnspecified, PlanMonthly, 0, true},
		{TermP1Y, PlanUnspecified, 0, true},
	}
	for _, tc := range tests {
		got, err := InstallmentCount(tc.term, tc.plan)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("InstallmentCount(%d, %d) = %d, %v", tc.term, tc.plan, got, err)
		}
		if tc.err && !errors.Is(err, ErrPlanNotAllowed) {
			t.Errorf("InstallmentCount(%d, %d): err %v, want ErrPlanNotAllowed", tc.term, tc.plan, err)
		}
	}
}

func TestSchedule(t *testing.T) {
	tests := []struct {
		name      string
		unit      int64
		qty       int32
		term      Term
		plan      BillingPlan
		start     string
		amounts   []int64 // first few installments
		n         int
		lastMonth string
		lastEnd   string // last period's end, "" for none
	}{
		{"1 minor unit over 12 months", 1, 1, TermP1Y, PlanMonthly, "2025-03-10T00:00:00Z", []int64{1, 0, 0}, 12, "2026-02", "2026-03-10"},
		{"100.00 × 1 over 3 years monthly", 10000, 1, TermP3Y, PlanMonthly, "2025-01-01T00:00:00Z", []int64{278, 278}, 36, "2027-12", "2028-01-01"},
		{"33.33 × 3 over 3 years annual", 3333, 3, TermP3Y, PlanAnnual, "2025-01-15T00:00:00Z", []int64{3333, 3333, 3333}, 3, "2027-01", "2028-01-15"},
		{"100.00 over 3 years annual", 10000, 1, TermP3Y, PlanAnnual, "2025-01-15T00:00:00Z", []int64{3334, 3333, 3333}, 3, "2027-01", "2028-01-15"},
		{"triennial is one charge", 10001, 2, TermP3Y, PlanTriennial, "2025-01-15T00:00:00Z", []int64{20002}, 1, "2025-01", "2028-01-15"},
		{"monthly term", 799, 5, TermP1M, PlanMonthly, "2025-01-31T00:00:00Z", []int64{3995}, 1, "2025-01", "2025-02-28"},
		{"perpetual one time", 49999, 2, TermPerpetual, PlanOneTime, "2025-01-31T23:59:59Z", []int64{99998}, 1, "2025-01", ""},
		{"start on 31st clamps without drift", 1200, 1, TermP1Y, PlanMonthly, "2025-01-31T00:00:00Z", []int64{100}, 12, "2025-12", "2026-01-31"},
		{"zero price", 0, 3, TermP1Y, PlanMonthly, "2025-01-01T00:00:00Z", []int64{0}, 12, "2025-12", "2026-01-01"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Schedule(eur(tc.unit), tc.qty, tc.term, tc.plan, ts(tc.start))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.n {
				t.Fatalf("%d installments, want %d", len(got), tc.n)
			}
			var sum int64
			for i, in := range got {
				sum += in.Amount.Minor
				if in.Number != i+1 || in.Count != tc.n {
					t.Errorf("installment %d numbered %d/%d", i, in.Number, in.Count)
				}
				if i < len(tc.amounts) && in.Amount.Minor != tc.amounts[i] {
					t.Errorf("installment %d = %s, want %d", i+1, in.Amount, tc.amounts[i])
				}
				if in.InvoiceMonth != MonthOf(in.PeriodStart) {
					t.Errorf("installment %d due %s, period starts %s", i+1, in.InvoiceMonth, in.PeriodStart)
				}
				if i > 0 && !in.PeriodStart.Equal(got[i-1].PeriodEnd) {
					t.Errorf("gap between installments %d and %d", i, i+1)
				}
			}
			if want := tc.unit * int64(tc.qty); sum != want {
				t.Errorf("sum %d, want term price %d", sum, want)
			}
			if !got[0].PeriodStart.Equal(ts(tc.start)) {
				t.Errorf("first period starts %s", got[0].PeriodStart)
			}
			last := got[len(got)-1]
			if last.InvoiceMonth.String() != tc.lastMonth {
				t.Errorf("last due %s, want %s", last.InvoiceMonth, tc.lastMonth)
			}
			end := ""
			if !last.PeriodEnd.IsZero() {
				end = last.PeriodEnd.Format("2006-01-02")
			}
			if end != tc.lastEnd {
				t.Errorf("last period ends %q, want %q", end, tc.lastEnd)
			}
		})
	}
}

func TestScheduleClampedPeriods(t *testing.T) {
	got, err := Schedule(eur(1200), 1, TermP1Y, PlanMonthly, ts("2024-01-31T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30"}
	for i, w := range want {
		if s := got[i].PeriodStart.Format("2006-01-02"); s != w {
			t.Errorf("period %d starts %s, want %s", i+1, s, w)
		}
	}
}

func TestScheduleRefuses(t *testing.T) {
	start := ts("2025-01-01T00:00:00Z")
	for name, f := range map[string]func() error{
		"negative price": func() error { _, err := Schedule(eur(-1), 1, TermP1Y, PlanAnnual, start); return err },
		"zero quantity":  func() error { _, err := Schedule(eur(1), 0, TermP1Y, PlanAnnual, start); return err },
		"bad currency": func() error {
			_, err := Schedule(Money{Minor: 1, Currency: "eur"}, 1, TermP1Y, PlanAnnual, start)
			return err
		},
		"plan not allowed": func() error { _, err := Schedule(eur(1), 1, TermP1Y, PlanTriennial, start); return err },
		"no start": func() error {
			_, err := Schedule(eur(1), 1, TermP1Y, PlanAnnual, ts("0001-01-01T00:00:00Z"))
			return err
		},
		"overflow": func() error {
			_, err := Schedule(eur(1<<62), 4, TermP1Y, PlanAnnual, start)
			if !errors.Is(err, ErrOverflow) {
				return nil
			}
			return err
		},
	} {
		if f() == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

func testLine() OrderLine {
	return OrderLine{
		PartnerID: "p1", CustomerID: "c1", OrderID: "o1", LineID: "l1", SubscriptionID: "s1",
		SKUID: "sku-m365", Quantity: 3, UnitPrice: eur(10000), Term: TermP1Y, Plan: PlanMonthly,
		Start: ts("2025-01-15T00:00:00Z"),
	}
}

func TestOrderLineCharges(t *testing.T) {
	created := ts("2025-01-15T10:00:00Z")
	got, err := OrderLineCharges(testLine(), created)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 12 {
		t.Fatalf("%d entries", len(got))
	}
	again, _ := OrderLineCharges(testLine(), created.Add(1e9))
	keys := map[EntryKey]bool{}
	var sum int64
	for i, e := range got {
		if e.Kind != KindCharge || e.Source.Kind != SourceOrderLine || e.Key.Installment != i+1 {
			t.Errorf("entry %d: %+v", i, e)
		}
		if keys[e.Key] {
			t.Errorf("duplicate key %s", e.Key)
		}
		keys[e.Key] = true
		if again[i].Key != e.Key {
			t.Errorf("retry derived a different key: %s vs %s", again[i].Key, e.Key)
		}
		sum += e.Amount.Minor
	}
	if sum != 30000 || got[0].Amount.Minor != 2500 {
		t.Errorf("sum %d, first %s", sum, got[0].Amount)
	}
	if got[0].InvoiceMonth.String() != "2025-01" || got[11].InvoiceMonth.String() != "2025-12" {
		t.Errorf("due months %s … %s", got[0].InvoiceMonth, got[11].InvoiceMonth)
	}
	if got[0].Key.String() != "order-line/o1/l1/1" {
		t.Errorf("key %s", got[0].Key)
	}
	bad := testLine()
	bad.PartnerID = ""
	if _, err := OrderLineCharges(bad, created); !errors.Is(err, ErrInvalidEntry) {
		t.Errorf("no partner: err %v", err)
	}
}
