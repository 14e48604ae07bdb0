package clock_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	testingv1 "github.com/partnerhub/partnerhub/gen/partnerhub/testing/v1"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/errs"
)

var start = time.Date(2025, 1, 31, 23, 0, 0, 0, time.UTC)

func TestReal_IsUTC(t *testing.T) {
	var c clock.Clock = clock.Real{}
	before := time.Now()
	now := c.Now()
	if now.Location() != time.UTC {
		t.Errorf("Real.Now() location = %v, want UTC", now.Location())
	}
	if now.Before(before.Add(-time.Second)) {
		t.Errorf("Real.Now() = %v, not near %v", now, before)
	}
}

func TestFake_NewIsUTC(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	f := clock.NewFake(time.Date(2025, 1, 1, 1, 0, 0, 0, berlin))
	if got := f.Now(); got.Location() != time.UTC || !got.Equal(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Now() = %v", got)
	}
}

func assertReason(t *testing.T, err error, kind errs.Kind, reason errs.Reason) {
	t.Helper()
	if errs.KindOf(err) != kind || errs.ReasonOf(err) != reason {
		t.Errorf("err = %v, want %v %v", err, kind, reason)
	}
}

func TestFake_Set(t *testing.T) {
	tests := []struct {
		name   string
		to     time.Time
		want   time.Time // the clock afterwards
		reason errs.Reason
	}{
		{"forward", start.Add(90 * 24 * time.Hour), start.Add(90 * 24 * time.Hour), ""},
		{"same instant", start, start, ""},
		{"other zone, same instant", start.In(time.FixedZone("X", -5*3600)), start, ""},
		{"backwards by a nanosecond", start.Add(-time.Nanosecond), start, errs.ReasonClockBackwards},
		{"backwards by a year", start.AddDate(-1, 0, 0), start, errs.ReasonClockBackwards},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := clock.NewFake(start)
			got, err := f.Set(tt.to)
			if tt.reason != "" {
				assertReason(t, err, errs.FailedPrecondition, tt.reason)
				if e, _ := errs.As(err); e == nil || e.Metadata["now"] != start.Format(time.RFC3339Nano) {
					t.Errorf("metadata = %v, want now=%s", e, start.Format(time.RFC3339Nano))
				}
			} else if err != nil {
				t.Fatalf("Set: %v", err)
			}
			if !got.Equal(tt.want) || !f.Now().Equal(tt.want) || f.Now().Location() != time.UTC {
				t.Errorf("Set returned %v, Now() = %v; want %v (UTC)", got, f.Now(), tt.want)
			}
		})
	}
}

func TestFake_Advance(t *testing.T) {
	tests := []struct {
		name string
		by   time.Duration
		want time.Time
		ok   bool
	}{
		{"a day", 24 * time.Hour, start.Add(24 * time.Hour), true},
		{"a nanosecond", time.Nanosecond, start.Add(time.Nanosecond), true},
		{"zero refused", 0, start, false},
		{"negative refused", -time.Hour, start, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := clock.NewFake(start)
			got, err := f.Advance(tt.by)
			if tt.ok && err != nil {
				t.Fatalf("Advance: %v", err)
			}
			if !tt.ok {
				assertReason(t, err, errs.InvalidArgument, errs.ReasonInvalidRequest)
				if e, _ := errs.As(err); e == nil || len(e.Violations) != 1 || e.Violations[0].Field != "by" {
					t.Errorf("violations = %v, want one on field by", e)
				}
			}
			if !got.Equal(tt.want) || !f.Now().Equal(tt.want) {
				t.Errorf("Advance returned %v, Now() = %v; want %v", got, f.Now(), tt.want)
			}
		})
	}
}

func TestFake_ConcurrentAdvance(t *testing.T) {
	f := clock.NewFake(start)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, err := f.Advance(time.Second); err != nil {
				t.Error(err)
			}
			_ = f.Now()
		})
	}
	wg.Wait()
	if want := start.Add(50 * time.Second); !f.Now().Equal(want) {
		t.Errorf("Now() = %v, want %v", f.Now(), want)
	}
}

func TestService(t *testing.T) {
	ctx := context.Background()
	type call func(*clock.Service) (*timestamppb.Timestamp, error)
	getTime := func(s *clock.Service) (*timestamppb.Timestamp, error) {
		r, err := s.GetTime(ctx, &testingv1.GetTimeRequest{})
		return r.GetNow(), err
	}
	setTime := func(ts *timestamppb.Timestamp) call {
		return func(s *clock.Service) (*timestamppb.Timestamp, error) {
			r, err := s.SetTime(ctx, &testingv1.SetTimeRequest{Time: ts})
			return r.GetNow(), err
		}
	}
	advance := func(d *durationpb.Duration) call {
		return func(s *clock.Service) (*timestamppb.Timestamp, error) {
			r, err := s.Advance(ctx, &testingv1.AdvanceRequest{By: d})
			return r.GetNow(), err
		}
	}
	tests := []struct {
		name   string
		call   call
		want   time.Time // response time and the clock afterwards
		kind   errs.Kind
		reason errs.Reason
	}{
		{"GetTime", getTime, start, 0, ""},
		{"SetTime forward", setTime(timestamppb.New(start.AddDate(0, 0, 30))), start.AddDate(0, 0, 30), 0, ""},
		{"SetTime backwards", setTime(timestamppb.New(start.Add(-time.Second))), start, errs.FailedPrecondition, errs.ReasonClockBackwards},
		{"SetTime without time", setTime(nil), start, errs.InvalidArgument, errs.ReasonInvalidRequest},
		{"SetTime invalid timestamp", setTime(&timestamppb.Timestamp{Seconds: 1, Nanos: -1}), start, errs.InvalidArgument, errs.ReasonInvalidRequest},
		{"Advance", advance(durationpb.New(7 * 24 * time.Hour)), start.Add(7 * 24 * time.Hour), 0, ""},
		{"Advance without duration", advance(nil), start, errs.InvalidArgument, errs.ReasonInvalidRequest},
		{"Advance negative", advance(durationpb.New(-time.Hour)), start, errs.InvalidArgument, errs.ReasonInvalidRequest},
		{"Advance zero", advance(durationpb.New(0)), start, errs.InvalidArgument, errs.ReasonInvalidRequest},
		{"Advance invalid duration", advance(&durationpb.Duration{Seconds: 1, Nanos: -1}), start, errs.InvalidArgument, errs.ReasonInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := clock.NewFake(start)
			s := clock.NewService(f)
			got, err := tt.call(s)
			if tt.kind != 0 {
				assertReason(t, err, tt.kind, tt.reason)
				if got != nil {
					t.Errorf("response carries a time with an error: %v", got.AsTime())
				}
			} else {
				if err != nil {
					t.Fatalf("call: %v", err)
				}
				if !got.AsTime().Equal(tt.want) {
					t.Errorf("response now = %v, want %v", got.AsTime(), tt.want)
				}
			}
			if !f.Now().Equal(tt.want) {
				t.Errorf("clock = %v, want %v", f.Now(), tt.want)
			}
		})
	}
}
