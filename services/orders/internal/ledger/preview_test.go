package ledger

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// ent builds a valid entry for preview tests.
func ent(id, customer string, kind Kind, minor int64, cur string, incl bool, month string) Entry {
	src := Source{Kind: SourceSupportRequest, SupportRequestID: id}
	if kind != KindRefund {
		src = Source{Kind: SourceSubscriptionEvent, SubscriptionID: "s", EventID: id}
	}
	k, err := DeriveKey(src, 0)
	if err != nil {
		panic(err)
	}
	return Entry{Key: k, PartnerID: "p1", CustomerID: customer, Kind: kind, Amount: Money{Minor: minor, Currency: cur},
		TaxInclusive: incl, Source: src, InvoiceMonth: mon(month), CreateTime: ts(month + "-01T00:00:00Z")}
}

type amt struct {
	ch, cr, pe, re, tot int64
	n                   int32
}

func check(t *testing.T, what string, a Amounts, cur string, w amt) {
	t.Helper()
	got := amt{a.Charges.Minor, a.Credits.Minor, a.Penalties.Minor, a.Refunds.Minor, a.Total.Minor, a.EntryCount}
	if got != w {
		t.Errorf("%s: %+v, want %+v", what, got, w)
	}
	for _, m := range []Money{a.Charges, a.Credits, a.Penalties, a.Refunds, a.Total} {
		if m.Currency != cur {
			t.Errorf("%s: currency %q, want %q", what, m.Currency, cur)
		}
	}
}

func TestBuildPreview(t *testing.T) {
	entries := []Entry{
		ent("e1", "c2", KindCharge, 10000, "EUR", false, "2025-02"),
		ent("e2", "c2", KindCredit, -2500, "EUR", false, "2025-02"),
		ent("e3", "c2", KindPenalty, 700, "EUR", false, "2025-02"),
		ent("r1", "c2", KindRefund, -100, "EUR", false, "2025-02"),
		ent("e4", "c2", KindCharge, 5000, "USD", false, "2025-02"),
		ent("e5", "c1", KindCharge, 3000, "EUR", false, "2025-02"),
		ent("e6", "c1", KindCharge, 1100, "AUD", true, "2025-02"),
		ent("e7", "c1", KindCharge, 900, "EUR", true, "2025-02"),    // inclusive EUR: own line
		ent("e8", "c1", KindCharge, 99999, "EUR", false, "2025-03"), // other month: ignored
	}
	other := ent("e9", "c1", KindCharge, 77777, "EUR", false, "2025-02")
	other.PartnerID = "p2" // other partner: ignored
	entries = append(entries, other)

	p, err := BuildPreview("p1", mon("2025-02"), entries, ts("2025-02-28T23:59:59Z"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Closed {
		t.Error("February is still open at 28 Feb 23:59:59")
	}
	wantLines := []struct {
		cust, cur string
		incl      bool
		a         amt
	}{
		{"c1", "AUD", true, amt{1100, 0, 0, 0, 1100, 1}},
		{"c1", "EUR", false, amt{3000, 0, 0, 0, 3000, 1}},
		{"c1", "EUR", true, amt{900, 0, 0, 0, 900, 1}},
		{"c2", "EUR", false, amt{10000, -2500, 700, -100, 8100, 4}},
		{"c2", "USD", false, amt{5000, 0, 0, 0, 5000, 1}},
	}
	if len(p.CustomerLines) != len(wantLines) {
		t.Fatalf("%d lines: %+v", len(p.CustomerLines), p.CustomerLines)
	}
	for i, w := range wantLines {
		l := p.CustomerLines[i]
		if l.CustomerID != w.cust || l.Currency != w.cur || l.TaxInclusive != w.incl {
			t.Errorf("line %d = %s %s %v, want %s %s %v", i, l.CustomerID, l.Currency, l.TaxInclusive, w.cust, w.cur, w.incl)
		}
		check(t, fmt.Sprintf("line %d", i), l.Amounts, w.cur, w.a)
	}
	wantTotals := []struct {
		cur  string
		incl bool
		a    amt
	}{
		{"AUD", true, amt{1100, 0, 0, 0, 1100, 1}},
		{"EUR", false, amt{13000, -2500, 700, -100, 11100, 5}},
		{"EUR", true, amt{900, 0, 0, 0, 900, 1}},
		{"USD", false, amt{5000, 0, 0, 0, 5000, 1}},
	}
	if len(p.CurrencyTotals) != len(wantTotals) {
		t.Fatalf("%d totals: %+v", len(p.CurrencyTotals), p.CurrencyTotals)
	}
	for i, w := range wantTotals {
		c := p.CurrencyTotals[i]
		if c.Currency != w.cur || c.TaxInclusive != w.incl {
			t.Errorf("total %d = %s %v", i, c.Currency, c.TaxInclusive)
		}
		check(t, "total "+w.cur, c.Amounts, w.cur, w.a)
	}
}

func TestBuildPreviewClosedAndEmpty(t *testing.T) {
	for _, tc := range []struct {
		now    string
		closed bool
	}{{"2025-01-31T23:59:59Z", false}, {"2025-02-01T00:00:00Z", true}} {
		p, err := BuildPreview("p1", mon("2025-01"), nil, ts(tc.now))
		if err != nil || p.Closed != tc.closed || len(p.CustomerLines) != 0 || len(p.CurrencyTotals) != 0 {
			t.Errorf("at %s: %+v, %v", tc.now, p, err)
		}
	}
}

func TestBuildPreviewRefuses(t *testing.T) {
	month := mon("2025-02")
	now := time.Time{}
	dup := ent("e1", "c1", KindCharge, 1, "EUR", false, "2025-02")
	if _, err := BuildPreview("p1", month, []Entry{dup, dup}, now); !errors.Is(err, ErrDuplicateEntry) {
		t.Errorf("duplicate: err %v", err)
	}
	wrongSign := ent("e1", "c1", KindCredit, 1, "EUR", false, "2025-02")
	if _, err := BuildPreview("p1", month, []Entry{wrongSign}, now); !errors.Is(err, ErrInvalidEntry) {
		t.Errorf("positive credit: err %v", err)
	}
	forged := ent("e1", "c1", KindCharge, 1, "EUR", false, "2025-02")
	forged.Source.EventID = "e2" // key no longer matches its source
	if _, err := BuildPreview("p1", month, []Entry{forged}, now); !errors.Is(err, ErrInvalidEntry) {
		t.Errorf("mismatched key: err %v", err)
	}
	big1 := ent("e1", "c1", KindCharge, 1<<62, "EUR", false, "2025-02")
	big2 := ent("e2", "c1", KindCharge, 1<<62, "EUR", false, "2025-02")
	if _, err := BuildPreview("p1", month, []Entry{big1, big2}, now); !errors.Is(err, ErrOverflow) {
		t.Errorf("overflow: err %v", err)
	}
	if _, err := BuildPreview("", month, nil, now); err == nil {
		t.Error("no partner: want an error")
	}
	if _, err := BuildPreview("p1", Month{}, nil, now); err == nil {
		t.Error("no month: want an error")
	}
}
