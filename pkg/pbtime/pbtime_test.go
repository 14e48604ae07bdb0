package pbtime

import (
	"testing"
	"time"
)

func TestFrom(t *testing.T) {
	if From(time.Time{}) != nil {
		t.Error("the zero time is not unset")
	}
	now := time.Date(2026, 11, 21, 12, 0, 0, 5, time.UTC)
	if got := From(now).AsTime(); !got.Equal(now) {
		t.Errorf("From(%v) = %v", now, got)
	}
}

func TestTo(t *testing.T) {
	if got := To(nil); !got.IsZero() {
		t.Errorf("To(nil) = %v, want the zero time", got)
	}
	at := time.Date(2026, 3, 2, 9, 30, 0, 123000, time.FixedZone("CET", 3600))
	if got := To(From(at)); !got.Equal(at) || got.Location() != time.UTC {
		t.Errorf("To(From(%v)) = %v, want the same instant in UTC", at, got)
	}
}
