package domain

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

const (
	partnerID  = "11111111-1111-4111-8111-111111111111"
	customerID = "22222222-2222-4222-8222-222222222222"
	relID      = "33333333-3333-4333-8333-333333333333"
)

// t0 sits just before a leap day on purpose: durations are days of 24 h UTC, so the calendar
// never matters.
var t0 = time.Date(2024, 2, 28, 10, 0, 0, 0, time.UTC)

func offer(days, extend int, roles ...Role) Offer {
	return Offer{CustomerID: customerID, Roles: roles, DurationDays: days, AutoExtendDays: extend}
}

func pending(t *testing.T, o Offer, at time.Time) Relationship {
	t.Helper()
	r, err := NewRelationship(relID, partnerID, "user-p", "https://x/"+relID, o, at)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// approved returns a relationship offered at t0 and approved at at.
func approved(t *testing.T, o Offer, at time.Time) Relationship {
	t.Helper()
	r, err := pending(t, o, t0).Approve("user-c", at)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type want struct {
	state       State
	end         time.Time
	extendCount int
	lastExtend  time.Time
	closeTime   time.Time
	update      time.Time
}

func check(t *testing.T, r Relationship, w want) {
	t.Helper()
	if r.State != w.state || !r.EndTime.Equal(w.end) || r.ExtendCount != w.extendCount ||
		!r.LastExtendTime.Equal(w.lastExtend) || !r.CloseTime.Equal(w.closeTime) || !r.UpdateTime.Equal(w.update) {
		t.Errorf("got state %s end %v extends %d last %v close %v update %v\nwant %+v",
			r.State, r.EndTime, r.ExtendCount, r.LastExtendTime, r.CloseTime, r.UpdateTime, w)
	}
}

// DA-5: a PENDING offer lapses to EXPIRED exactly 90 days (of 24 h) after it was made.
func TestLifecycle_DA5_OfferLapsesAfter90Days(t *testing.T) {
	r := pending(t, offer(365, 0, RoleUserAdministrator), t0)
	lapse := t0.Add(90 * Day)
	if !r.OfferExpireTime.Equal(lapse) {
		t.Fatalf("offer_expire_time %v, want %v", r.OfferExpireTime, lapse)
	}
	tests := []struct {
		name string
		now  time.Time
		want want
	}{
		{"just created", t0, want{state: StatePending, update: t0}},
		{"one second before the lapse", lapse.Add(-time.Second), want{state: StatePending, update: t0}},
		{"one microsecond before the lapse", lapse.Add(-time.Microsecond), want{state: StatePending, update: t0}},
		{"exactly at offer_expire_time", lapse, want{state: StateExpired, closeTime: lapse, update: lapse}},
		{"a year later: closed at the lapse, not at now", lapse.Add(365 * Day), want{state: StateExpired, closeTime: lapse, update: lapse}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { check(t, r.At(tt.now), tt.want) })
	}
	if _, err := r.Approve("user-c", lapse); errs.ReasonOf(err) != ReasonOfferNotPending || errs.KindOf(err) != errs.FailedPrecondition {
		t.Errorf("approve at the lapse = %v, want FAILED_PRECONDITION OFFER_NOT_PENDING", err)
	} else if e, _ := errs.As(err); e.Metadata["state"] != "EXPIRED" {
		t.Errorf("metadata %v, want state EXPIRED", e.Metadata)
	}
	if a, err := r.Approve("user-c", lapse.Add(-time.Second)); err != nil || a.State != StateActive {
		t.Errorf("approve one second before the lapse = %v, %v", a.State, err)
	}
}

// DA-5: ACTIVE → EXPIRING 30 days before end_time → EXPIRED at end_time, without auto-extend.
func TestLifecycle_DA5_ExpiringThenExpired(t *testing.T) {
	act := t0.Add(3 * Day)
	r := approved(t, offer(365, 0, RoleUserAdministrator), act)
	end := act.Add(365 * Day)
	expiring := end.Add(-30 * Day)
	if !r.ActivateTime.Equal(act) || !r.EndTime.Equal(end) || r.DecidedByUserID != "user-c" {
		t.Fatalf("approved: activate %v end %v by %q", r.ActivateTime, r.EndTime, r.DecidedByUserID)
	}
	tests := []struct {
		name string
		now  time.Time
		want want
	}{
		{"at approval", act, want{state: StateActive, end: end, update: act}},
		{"one second before the 30-day window", expiring.Add(-time.Second), want{state: StateActive, end: end, update: act}},
		{"exactly 30 days before end_time", expiring, want{state: StateExpiring, end: end, update: expiring}},
		{"one second before end_time", end.Add(-time.Second), want{state: StateExpiring, end: end, update: expiring}},
		{"exactly at end_time", end, want{state: StateExpired, end: end, closeTime: end, update: end}},
		{"long after", end.Add(1000 * Day), want{state: StateExpired, end: end, closeTime: end, update: end}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { check(t, r.At(tt.now), tt.want) })
	}
}

// DA-5 auto-extend: at end_time an ACTIVE relationship is extended by 180 days instead of
// expiring, repeatedly, and is never EXPIRING.
func TestLifecycle_DA5_AutoExtend(t *testing.T) {
	r := approved(t, offer(90, ExtendDays, RoleHelpdeskAdministrator), t0)
	end := t0.Add(90 * Day)
	ext := 180 * Day
	tests := []struct {
		name string
		now  time.Time
		want want
	}{
		{"30 days before end_time: still ACTIVE", end.Add(-30 * Day), want{state: StateActive, end: end, update: t0}},
		{"one second before end_time", end.Add(-time.Second), want{state: StateActive, end: end, update: t0}},
		{"exactly at end_time: extended", end, want{state: StateActive, end: end.Add(ext), extendCount: 1, lastExtend: end, update: end}},
		{"one second before the second end", end.Add(ext - time.Second), want{state: StateActive, end: end.Add(ext), extendCount: 1, lastExtend: end, update: end}},
		{"exactly at the second end", end.Add(ext), want{state: StateActive, end: end.Add(2 * ext), extendCount: 2, lastExtend: end.Add(ext), update: end.Add(ext)}},
		{"three extensions in one jump", end.Add(2*ext + Day), want{state: StateActive, end: end.Add(3 * ext), extendCount: 3, lastExtend: end.Add(2 * ext), update: end.Add(2 * ext)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { check(t, r.At(tt.now), tt.want) })
	}
}

// DA-5: a relationship of 30 days or less without auto-extend is EXPIRING as soon as it is
// approved (the ApproveRelationship contract says so); 31 days is ACTIVE for one day.
func TestLifecycle_DA5_ShortDurations(t *testing.T) {
	for _, tt := range []struct {
		days, extend int
		want         State
	}{
		{1, 0, StateExpiring}, {30, 0, StateExpiring}, {31, 0, StateActive}, {30, ExtendDays, StateActive}, {1, ExtendDays, StateActive},
	} {
		r := approved(t, offer(tt.days, tt.extend, RoleGlobalReader), t0)
		if r.State != tt.want || !r.UpdateTime.Equal(t0) {
			t.Errorf("%d days, extend %d: %s updated %v, want %s at approval", tt.days, tt.extend, r.State, r.UpdateTime, tt.want)
		}
	}
	r := approved(t, offer(31, 0, RoleGlobalReader), t0)
	check(t, r.At(t0.Add(Day)), want{state: StateExpiring, end: t0.Add(31 * Day), update: t0.Add(Day)})
	check(t, r.At(t0.Add(31*Day)), want{state: StateExpired, end: t0.Add(31 * Day), closeTime: t0.Add(31 * Day), update: t0.Add(31 * Day)})
}

// Durations are days of 24 h UTC: a 2-day relationship approved on 2024-02-28 10:00 ends on
// 2024-03-01 10:00 across the leap day, and 730 days is exactly 730 × 24 h.
func TestLifecycle_DA5_DaysAre24Hours(t *testing.T) {
	if r := approved(t, offer(2, 0, RoleGlobalReader), t0); !r.EndTime.Equal(time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("end %v", r.EndTime)
	}
	if r := approved(t, offer(730, 0, RoleGlobalReader), t0); r.EndTime.Sub(r.ActivateTime) != 730*24*time.Hour {
		t.Errorf("730 days = %v", r.EndTime.Sub(r.ActivateTime))
	}
}

// DA-5: legacy full admin (DAP) grants every role, has no end and never expires.
func TestLifecycle_DA5_LegacyFullAdminNeverExpires(t *testing.T) {
	r := approved(t, Offer{CustomerID: customerID, LegacyFullAdmin: true}, t0)
	if !reflect.DeepEqual(r.Roles, AllRoles()) || !r.EndTime.IsZero() || r.State != StateActive {
		t.Fatalf("legacy: roles %v end %v state %s", r.Roles, r.EndTime, r.State)
	}
	if _, ok := r.NextTransition(); ok {
		t.Error("legacy full admin has a next transition")
	}
	later := r.At(t0.Add(100 * 365 * Day))
	if !reflect.DeepEqual(later, r) {
		t.Errorf("legacy changed over a century: %+v", later)
	}
}

// Final states never change with time.
func TestLifecycle_DA5_FinalStatesStay(t *testing.T) {
	p := pending(t, offer(10, 0, RoleGlobalReader), t0)
	rej, err := p.Reject("user-c", "no", t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	term, _, err := approved(t, offer(10, ExtendDays, RoleGlobalReader), t0).Terminate(PartyPartner, "user-p", "", t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []Relationship{rej, term, p.At(t0.Add(OfferLifetime))} {
		if got := r.At(t0.Add(5000 * Day)); !reflect.DeepEqual(got, r) {
			t.Errorf("%s changed: %+v", r.State, got)
		}
	}
}

// The state at an instant does not depend on how often it was computed or persisted on the way:
// stepping through intermediate instants gives exactly the one-jump answer, etag included. This
// is what lets reads compute the state while the sweeper persists it later, with the same etag.
func TestLifecycle_DA5_PathIndependent(t *testing.T) {
	for _, r := range []Relationship{
		pending(t, offer(365, 0, RoleGlobalReader), t0),
		approved(t, offer(365, 0, RoleGlobalReader), t0),
		approved(t, offer(45, ExtendDays, RoleGlobalReader), t0),
	} {
		final := t0.Add(900 * Day)
		step := r
		for d := time.Duration(0); d <= 900*Day; d += 7*Day + 3*time.Hour {
			step = step.At(t0.Add(d))
		}
		step = step.At(final)
		if jump := r.At(final); !reflect.DeepEqual(step, jump) {
			t.Errorf("stepwise %+v\none jump %+v", step, jump)
		}
	}
}

// Every change of content gives a new etag; no change keeps it.
func TestLifecycle_EtagFollowsContent(t *testing.T) {
	p := pending(t, offer(365, 0, RoleGlobalReader), t0)
	a := approved(t, offer(365, 0, RoleGlobalReader), t0.Add(time.Hour))
	e := a.At(a.EndTime.Add(-30 * Day))
	x := a.At(a.EndTime)
	seen := map[string]State{}
	for _, r := range []Relationship{p, a, e, x} {
		if prev, dup := seen[r.Etag]; dup {
			t.Errorf("etag of %s repeats the one of %s", r.State, prev)
		}
		seen[r.Etag] = r.State
	}
	if a.At(t0.Add(2*time.Hour)).Etag != a.Etag {
		t.Error("etag changed without a change")
	}
	if err := a.CheckEtag(p.Etag); errs.KindOf(err) != errs.Aborted || errs.ReasonOf(err) != errs.ReasonEtagMismatch {
		t.Errorf("stale etag: %v, want ABORTED ETAG_MISMATCH", err)
	}
	if a.CheckEtag("") != nil || a.CheckEtag(a.Etag) != nil {
		t.Error("empty or current etag refused")
	}
}

// DA-1: only a PENDING offer may be approved or rejected; the error names the state.
func TestLifecycle_DA1_DecideOnlyPending(t *testing.T) {
	a := approved(t, offer(365, 0, RoleGlobalReader), t0)
	rej, _ := pending(t, offer(365, 0, RoleGlobalReader), t0).Reject("c", "", t0)
	term, _, _ := pending(t, offer(365, 0, RoleGlobalReader), t0).Terminate(PartyPartner, "p", "withdrawn", t0)
	for _, r := range []Relationship{a, rej, term} {
		if _, err := r.Approve("c", t0.Add(time.Hour)); errs.ReasonOf(err) != ReasonOfferNotPending {
			t.Errorf("approve %s: %v", r.State, err)
		}
		if _, err := r.Reject("c", "", t0.Add(time.Hour)); errs.ReasonOf(err) != ReasonOfferNotPending {
			t.Errorf("reject %s: %v", r.State, err)
		}
	}
	if term.TerminatedBy != PartyPartner || term.CloseReason != "withdrawn" || !term.CloseTime.Equal(t0) {
		t.Errorf("withdrawn offer: %+v", term)
	}
	if rej.State != StateRejected || !rej.CloseTime.Equal(t0) || rej.DecidedByUserID != "c" {
		t.Errorf("rejected: %+v", rej)
	}
}

// DA-5 terminate: PENDING, ACTIVE, EXPIRING → TERMINATED; TERMINATED unchanged; EXPIRED and
// REJECTED → RELATIONSHIP_NOT_ACTIVE with the state.
func TestLifecycle_DA5_Terminate(t *testing.T) {
	a := approved(t, offer(365, 0, RoleGlobalReader), t0)
	now := t0.Add(10 * Day)
	rej, _ := pending(t, offer(365, 0, RoleGlobalReader), t0).Reject("c", "", t0)
	for _, tt := range []struct {
		name      string
		r         Relationship
		at        time.Time
		wantErr   bool
		wantState State
	}{
		{"pending (withdrawn)", pending(t, offer(365, 0, RoleGlobalReader), t0), now, false, StateTerminated},
		{"active", a, now, false, StateTerminated},
		{"expiring", a, a.EndTime.Add(-Day), false, StateTerminated},
		{"expired", a, a.EndTime, true, StateExpired},
		{"lapsed offer", pending(t, offer(365, 0, RoleGlobalReader), t0), t0.Add(OfferLifetime), true, StateExpired},
		{"rejected", rej, now, true, StateRejected},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, changed, err := tt.r.Terminate(PartyCustomer, "c", "bye", tt.at)
			if tt.wantErr {
				e, ok := errs.As(err)
				if !ok || e.Kind != errs.FailedPrecondition || e.Reason != ReasonRelationshipNotActive || e.Metadata["state"] != string(tt.wantState) {
					t.Fatalf("err %v, want FAILED_PRECONDITION RELATIONSHIP_NOT_ACTIVE state=%s", err, tt.wantState)
				}
				return
			}
			if err != nil || !changed || got.State != StateTerminated || got.TerminatedBy != PartyCustomer || !got.CloseTime.Equal(tt.at) {
				t.Fatalf("got %+v changed %v err %v", got, changed, err)
			}
			again, changed, err := got.Terminate(PartyPartner, "p", "", tt.at.Add(Day))
			if err != nil || changed || !reflect.DeepEqual(again, got) {
				t.Errorf("terminating a TERMINATED one: changed %v err %v", changed, err)
			}
		})
	}
	if _, _, err := a.Terminate(PartyPartner, "p", strings.Repeat("x", MaxReason+1), now); errs.KindOf(err) != errs.InvalidArgument {
		t.Errorf("long reason: %v", err)
	}
}

// Validation of offers (DA-5, contract limits): INVALID_REQUEST for roles and texts,
// DURATION_OUT_OF_RANGE when only the duration or auto-extend is wrong; a violation per field.
func TestOfferValidate_DA5(t *testing.T) {
	good := offer(730, ExtendDays, RoleUserAdministrator, RoleGlobalReader)
	tests := []struct {
		name   string
		change func(o *Offer)
		reason errs.Reason // "" for valid
		fields []string
	}{
		{"valid", func(*Offer) {}, "", nil},
		{"valid 1 day, no extend", func(o *Offer) { o.DurationDays, o.AutoExtendDays = 1, 0 }, "", nil},
		{"valid legacy", func(o *Offer) { *o = Offer{CustomerID: customerID, LegacyFullAdmin: true} }, "", nil},
		{"valid 50-character name, 1000-character message", func(o *Offer) {
			o.DisplayName, o.Message = strings.Repeat("ä", 50), strings.Repeat("ß", 1000)
		}, "", nil},
		{"duration 0", func(o *Offer) { o.DurationDays = 0 }, ReasonDurationOutOfRange, []string{"duration_days"}},
		{"duration 731", func(o *Offer) { o.DurationDays = 731 }, ReasonDurationOutOfRange, []string{"duration_days"}},
		{"duration negative", func(o *Offer) { o.DurationDays = -1 }, ReasonDurationOutOfRange, []string{"duration_days"}},
		{"auto-extend 90", func(o *Offer) { o.AutoExtendDays = 90 }, ReasonDurationOutOfRange, []string{"auto_extend_days"}},
		{"both durations", func(o *Offer) { o.DurationDays, o.AutoExtendDays = 1000, 1 }, ReasonDurationOutOfRange, []string{"duration_days", "auto_extend_days"}},
		{"legacy with a duration", func(o *Offer) { *o = Offer{CustomerID: customerID, LegacyFullAdmin: true, DurationDays: 30} }, ReasonDurationOutOfRange, []string{"duration_days"}},
		{"legacy with auto-extend", func(o *Offer) { *o = Offer{CustomerID: customerID, LegacyFullAdmin: true, AutoExtendDays: 180} }, ReasonDurationOutOfRange, []string{"auto_extend_days"}},
		{"legacy with roles", func(o *Offer) { o.LegacyFullAdmin, o.DurationDays, o.AutoExtendDays = true, 0, 0 }, errs.ReasonInvalidRequest, []string{"roles"}},
		{"no roles", func(o *Offer) { o.Roles = nil }, errs.ReasonInvalidRequest, []string{"roles"}},
		{"duplicate role", func(o *Offer) { o.Roles = []Role{RoleGlobalReader, RoleUserAdministrator, RoleGlobalReader} }, errs.ReasonInvalidRequest, []string{"roles[2]"}},
		{"unspecified role", func(o *Offer) { o.Roles = []Role{"UNSPECIFIED"} }, errs.ReasonInvalidRequest, []string{"roles[0]"}},
		{"unknown role", func(o *Offer) { o.Roles = []Role{RoleGlobalReader, "99"} }, errs.ReasonInvalidRequest, []string{"roles[1]"}},
		{"51-character name", func(o *Offer) { o.DisplayName = strings.Repeat("a", 51) }, errs.ReasonInvalidRequest, []string{"display_name"}},
		{"1001-character message", func(o *Offer) { o.Message = strings.Repeat("a", 1001) }, errs.ReasonInvalidRequest, []string{"message"}},
		{"no customer", func(o *Offer) { o.CustomerID = "" }, errs.ReasonInvalidRequest, []string{"customer_id"}},
		{"customer not a UUID", func(o *Offer) { o.CustomerID = "acme" }, errs.ReasonInvalidRequest, []string{"customer_id"}},
		{"roles and duration: INVALID_REQUEST lists both", func(o *Offer) { o.Roles, o.DurationDays = nil, 0 }, errs.ReasonInvalidRequest, []string{"roles", "duration_days"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good
			o.Roles = append([]Role(nil), good.Roles...)
			tt.change(&o)
			err := o.Validate()
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("valid offer refused: %v", err)
				}
				return
			}
			e, ok := errs.As(err)
			if !ok || e.Kind != errs.InvalidArgument || e.Reason != tt.reason {
				t.Fatalf("err %v, want INVALID_ARGUMENT %s", err, tt.reason)
			}
			var fields []string
			for _, v := range e.Violations {
				fields = append(fields, v.Field)
			}
			if !reflect.DeepEqual(fields, tt.fields) {
				t.Errorf("violations on %v, want %v", fields, tt.fields)
			}
		})
	}
}

// Roles are stored in contract order, whatever order the offer named them in.
func TestNewRelationship_RolesInContractOrder(t *testing.T) {
	r := pending(t, offer(10, 0, RoleTeamsAdministrator, RoleGlobalAdministrator, RoleBillingAdministrator), t0)
	if want := []Role{RoleGlobalAdministrator, RoleBillingAdministrator, RoleTeamsAdministrator}; !reflect.DeepEqual(r.Roles, want) {
		t.Errorf("roles %v, want %v", r.Roles, want)
	}
	if r.State != StatePending || r.Etag == "" || !r.CreateTime.Equal(t0) || r.ApprovalLink != "https://x/"+relID {
		t.Errorf("new relationship %+v", r)
	}
}
