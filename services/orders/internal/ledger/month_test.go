package ledger

import (
	"testing"
	"time"
)

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func mon(s string) Month {
	m, err := ParseMonth(s)
	if err != nil {
		panic(err)
	}
	return m
}

func TestNextInvoiceMonth(t *testing.T) {
	tests := []struct {
		name, at, want string
	}{
		{"last instant of January", "2025-01-31T23:59:59.999999999Z", "2025-02"},
		{"last second of January", "2025-01-31T23:59:59Z", "2025-02"},
		{"first instant of February", "2025-02-01T00:00:00Z", "2025-03"},
		{"mid month", "2025-06-15T12:00:00Z", "2025-07"},
		{"December rolls the year", "2025-12-31T23:59:59Z", "2026-01"},
		{"1 January", "2026-01-01T00:00:00Z", "2026-02"},
		{"local time converted to UTC (still January)", "2025-02-01T00:30:00+01:00", "2025-02"},
		{"local time converted to UTC (already February)", "2025-01-31T20:00:00-05:00", "2025-03"},
		{"leap day", "2024-02-29T10:00:00Z", "2024-03"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := NextInvoiceMonth(ts(tc.at)).String(); got != tc.want {
				t.Errorf("NextInvoiceMonth(%s) = %s, want %s", tc.at, got, tc.want)
			}
		})
	}
}

func TestMonth(t *testing.T) {
	m := mon("2025-01")
	if m.Start() != ts("2025-01-01T00:00:00Z") || m.End() != ts("2025-02-01T00:00:00Z") {
		t.Errorf("bounds %s %s", m.Start(), m.End())
	}
	if !m.Contains(ts("2025-01-31T23:59:59Z")) || m.Contains(ts("2025-02-01T00:00:00Z")) {
		t.Error("Contains at the boundary")
	}
	for _, tc := range []struct {
		n    int
		want string
	}{{0, "2025-01"}, {1, "2025-02"}, {11, "2025-12"}, {12, "2026-01"}, {35, "2027-12"}, {-1, "2024-12"}, {-13, "2023-12"}} {
		if got := m.AddMonths(tc.n).String(); got != tc.want {
			t.Errorf("AddMonths(%d) = %s, want %s", tc.n, got, tc.want)
		}
	}
	if !mon("2024-12").Before(m) || m.Before(m) || mon("2025-02").Before(m) {
		t.Error("Before")
	}
	for _, bad := range []string{"2025-1", "2025-13", "25-01", "2025-01-01", ""} {
		if _, err := ParseMonth(bad); err == nil {
			t.Errorf("ParseMonth(%q): want an error", bad)
		}
	}
}

func TestAddMonthsClamped(t *testing.T) {
	start := ts("2024-01-31T00:00:00Z")
	want := []string{"2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30", "2025-01-31", "2025-02-28"}
	for i, n := range []int{0, 1, 2, 3, 12, 13} {
		if got := addMonthsClamped(start, n).Format("2006-01-02"); got != want[i] {
			t.Errorf("+%d months = %s, want %s", n, got, want[i])
		}
	}
}
