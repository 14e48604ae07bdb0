package ledger

import (
	"fmt"
	"time"
)

// Month is a UTC calendar month: the unit of a monthly invoice ("YYYY-MM"). The zero Month is
// "unset". Months are comparable with == and ordered with Before.
type Month struct {
	Year  int
	Month time.Month
}

// MonthOf is the UTC calendar month containing t (t is converted to UTC first, so
// 2025-02-01T00:30:00+01:00 is in 2025-01).
func MonthOf(t time.Time) Month {
	u := t.UTC()
	return Month{Year: u.Year(), Month: u.Month()}
}

// ParseMonth parses "YYYY-MM".
func ParseMonth(s string) (Month, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil || len(s) != 7 {
		return Month{}, fmt.Errorf("ledger: invoice month %q is not YYYY-MM", s)
	}
	return MonthOf(t), nil
}

// IsZero reports whether m is unset.
func (m Month) IsZero() bool { return m == Month{} }

// String is "YYYY-MM".
func (m Month) String() string { return fmt.Sprintf("%04d-%02d", m.Year, int(m.Month)) }

// AddMonths returns the month n months after m (n may be negative).
func (m Month) AddMonths(n int) Month {
	idx := m.Year*12 + int(m.Month) - 1 + n
	y, mo := idx/12, idx%12
	if mo < 0 {
		y, mo = y-1, mo+12
	}
	return Month{Year: y, Month: time.Month(mo + 1)}
}

// Before reports whether m is earlier than o.
func (m Month) Before(o Month) bool {
	return m.Year < o.Year || (m.Year == o.Year && m.Month < o.Month)
}

// Start is the first instant of m, 00:00:00 UTC on the 1st.
func (m Month) Start() time.Time { return time.Date(m.Year, m.Month, 1, 0, 0, 0, 0, time.UTC) }

// End is the first instant after m (exclusive), 00:00:00 UTC on the 1st of the next month.
func (m Month) End() time.Time { return m.AddMonths(1).Start() }

// Contains reports whether t falls in m (UTC).
func (m Month) Contains(t time.Time) bool { return MonthOf(t) == m }

// NextInvoiceMonth is the monthly invoice a cancellation credit goes on (OR-3, BI-3): the UTC
// calendar month AFTER the one containing t. The invoice of the month in progress is not "next"
// even though it is still open, so a credit never nets out silently against the purchase it
// reverses on the same invoice. At the boundary: 2025-01-31T23:59:59.999999999Z → 2025-02;
// 2025-02-01T00:00:00Z → 2025-03.
func NextInvoiceMonth(t time.Time) Month { return MonthOf(t).AddMonths(1) }

// addMonthsClamped returns t plus n calendar months keeping the time of day, with the day
// clamped to the target month's last day (31 Jan + 1 month = 28/29 Feb, never 3 Mar). Always
// computed from the original t, so a schedule does not drift (31 Jan, 28 Feb, 31 Mar, 30 Apr…).
func addMonthsClamped(t time.Time, n int) time.Time {
	u := t.UTC()
	target := MonthOf(u).AddMonths(n)
	day := u.Day()
	if last := target.End().AddDate(0, 0, -1).Day(); day > last {
		day = last
	}
	return time.Date(target.Year, target.Month, day, u.Hour(), u.Minute(), u.Second(), u.Nanosecond(), time.UTC)
}
