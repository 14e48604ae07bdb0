package domain

import (
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// relT0 is the start of the tests' timelines.
func relT0() time.Time { return time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC) }

func cspPartner(country string) Partner {
	return Partner{ID: "p-" + country, LegalName: "Partner " + country, CountryCode: country,
		Enrolments: []Enrolment{{Program: ProgramCSPDirect, Time: relT0()}}}
}

func wantReason(t *testing.T, err error, kind errs.Kind, reason errs.Reason) *errs.Error {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Kind != kind || e.Reason != reason {
		t.Fatalf("err = %v; want %v / %s", err, kind, reason)
	}
	return e
}

// ID-4: codes are 16 characters of the look-alike-free alphabet, and do not repeat.
func TestInvitationCode_ID4_AlphabetAndUniqueness(t *testing.T) {
	for _, bad := range "01OIL" {
		if strings.ContainsRune(InvitationCodeAlphabet, bad) {
			t.Errorf("alphabet contains look-alike %q", bad)
		}
	}
	seen := map[string]bool{}
	counts := map[rune]int{}
	for range 2000 {
		c := NewInvitationCode()
		if n, ok := NormaliseInvitationCode(strings.ToLower(c)); !ok || n != c {
			t.Fatalf("code %q does not normalise to itself (%q, %v)", c, n, ok)
		}
		if seen[c] {
			t.Fatalf("code %q drawn twice", c)
		}
		seen[c] = true
		for _, r := range c {
			counts[r]++
		}
	}
	if len(counts) != len(InvitationCodeAlphabet) {
		t.Errorf("%d of %d symbols used in 32000 draws", len(counts), len(InvitationCodeAlphabet))
	}
	for _, bad := range []string{"", "ABCDEFGHJKMNPQR", "ABCDEFGHJKMNPQRSTU", "ABCDEFGHJKMNPQR0", "ABCDEFGHJKMNPQR-"} {
		if _, ok := NormaliseInvitationCode(bad); ok {
			t.Errorf("NormaliseInvitationCode(%q) accepted", bad)
		}
	}
}

// ID-4: an invitation is PENDING until exactly create + TTL, then EXPIRED, stored or not.
func TestInvitation_ID4_ExpiresAtCreatePlusTTL(t *testing.T) {
	inv, err := NewInvitation(cspPartner("DE"), "u1", "hello", relT0(), DefaultInvitationTTL)
	if err != nil {
		t.Fatal(err)
	}
	exp := relT0().Add(30 * 24 * time.Hour)
	if !inv.ExpireTime.Equal(exp) || inv.State != InvitationPending {
		t.Fatalf("expire %v state %s", inv.ExpireTime, inv.State)
	}
	if got := inv.StateAt(exp.Add(-time.Nanosecond)); got != InvitationPending {
		t.Errorf("just before expiry: %s", got)
	}
	if got := inv.StateAt(exp); got != InvitationExpired {
		t.Errorf("at expiry: %s", got)
	}
	c := Customer{ID: "c1", CountryCode: "DE"}
	e := wantReason(t, func() error { _, err := inv.Accept(cspPartner("DE"), c, false, exp); return err }(),
		errs.FailedPrecondition, "INVITATION_EXPIRED")
	if e.Metadata["expired_at"] != exp.Format(time.RFC3339Nano) {
		t.Errorf("expired_at = %q", e.Metadata["expired_at"])
	}
	wantReason(t, inv.Withdraw(exp), errs.FailedPrecondition, "INVITATION_EXPIRED")
}

// ID-4: single use; a pair has at most one ACTIVE relationship.
func TestInvitation_ID4_AcceptWithdrawTransitions(t *testing.T) {
	p, c := cspPartner("DE"), Customer{ID: "c1", OrganisationName: "C", CountryCode: "DE"}
	inv, _ := NewInvitation(p, "u1", "", relT0(), time.Hour)
	wantReason(t, func() error { _, err := inv.Accept(p, c, true, relT0()); return err }(), errs.FailedPrecondition, "RELATIONSHIP_EXISTS")
	if inv.State != InvitationPending {
		t.Fatal("a refused accept changed the invitation")
	}
	rel, err := inv.Accept(p, c, false, relT0())
	if err != nil {
		t.Fatal(err)
	}
	if rel.State != RelationshipActive || rel.Origin != OriginInvitationAccepted || rel.InvitationID != inv.ID ||
		inv.State != InvitationAccepted || inv.AcceptedByCustomerID != "c1" || inv.RelationshipID != rel.ID {
		t.Errorf("rel %+v inv %+v", rel, inv)
	}
	wantReason(t, func() error { _, err := inv.Accept(p, c, false, relT0()); return err }(), errs.FailedPrecondition, "INVITATION_ALREADY_USED")
	wantReason(t, inv.Withdraw(relT0()), errs.FailedPrecondition, "INVITATION_ALREADY_USED")

	inv2, _ := NewInvitation(p, "u1", "", relT0(), time.Hour)
	if err := inv2.Withdraw(relT0()); err != nil || inv2.State != InvitationWithdrawn {
		t.Fatalf("withdraw: %v %s", err, inv2.State)
	}
	wantReason(t, func() error { _, err := inv2.Accept(p, c, false, relT0()); return err }(), errs.FailedPrecondition, "INVITATION_ALREADY_USED")
}

// ID-1: only CSP partners invite; the message is at most 1000 characters.
func TestNewInvitation_ID1_ProgramsAndMessage(t *testing.T) {
	open := Partner{ID: "p", Enrolments: []Enrolment{{Program: ProgramOpen}}}
	wantReason(t, func() error { _, err := NewInvitation(open, "u", "", relT0(), time.Hour); return err }(),
		errs.FailedPrecondition, ReasonProgramNotEnrolled)
	wantReason(t, func() error {
		_, err := NewInvitation(cspPartner("DE"), "u", strings.Repeat("ü", 1001), relT0(), time.Hour)
		return err
	}(), errs.InvalidArgument, errs.ReasonInvalidRequest)
	if _, err := NewInvitation(cspPartner("DE"), "u", strings.Repeat("ü", 1000), relT0(), time.Hour); err != nil {
		t.Errorf("1000 characters: %v", err)
	}
}

// ID-5: a move needs the same country; the source ends MOVED.
func TestMove_ID5_SameCountry(t *testing.T) {
	c := Customer{ID: "c1", CountryCode: "DE"}
	source := NewRelationship(cspPartner("DE"), c, OriginCustomerCreated, "", relT0())
	targetRel := NewRelationship(cspPartner("AT"), c, OriginInvitationAccepted, "i", relT0())
	e := wantReason(t, func() error {
		_, err := Move(c, cspPartner("AT"), targetRel, &source, "u", relT0())
		return err
	}(), errs.FailedPrecondition, "NOT_SAME_COUNTRY")
	if e.Metadata["partner_country"] != "AT" || e.Metadata["customer_country"] != "DE" || source.State != RelationshipActive {
		t.Errorf("metadata %v, source %s", e.Metadata, source.State)
	}
	target := cspPartner("DE")
	target.ID = "p-DE-2"
	m, err := Move(c, target, targetRel, &source, "u", relT0().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if source.State != RelationshipMoved || !source.EndTime.Equal(relT0().Add(time.Hour)) || m.SourceRelationshipID != source.ID ||
		m.TargetRelationshipID != targetRel.ID || m.CountryCode != "DE" || m.TargetPartnerID != "p-DE-2" {
		t.Errorf("move %+v source %+v", m, source)
	}
}

func TestRelationship_RemoveIsIdempotent(t *testing.T) {
	r := NewRelationship(cspPartner("DE"), Customer{ID: "c"}, OriginCustomerCreated, "", relT0())
	if !r.Remove("u", relT0()) || r.State != RelationshipRemoved || r.RemovedByUserID != "u" {
		t.Fatalf("%+v", r)
	}
	etag := r.Etag
	if r.Remove("v", relT0().Add(time.Hour)) || r.Etag != etag || r.RemovedByUserID != "u" {
		t.Errorf("second removal changed %+v", r)
	}
}

func TestCheckRelationshipOf(t *testing.T) {
	c, p := &Customer{CountryCode: "DE", PartnerManaged: true}, &Partner{CountryCode: "AT"}
	active := &Relationship{ID: "r1", State: RelationshipActive}
	moved := &Relationship{ID: "r2", State: RelationshipMoved}
	removed := &Relationship{ID: "r3", State: RelationshipRemoved}
	for _, tc := range []struct {
		c      *Customer
		p      *Partner
		latest *Relationship
		want   RelationshipCheck
	}{
		{nil, p, nil, RelationshipCheck{Denial: DenialCustomerNotFound, PartnerCountryCode: "AT"}},
		{c, nil, nil, RelationshipCheck{Denial: DenialPartnerNotFound, CustomerCountryCode: "DE", CustomerPartnerManaged: true}},
		{c, p, nil, RelationshipCheck{Denial: DenialNoRelationship, CustomerCountryCode: "DE", PartnerCountryCode: "AT", CustomerPartnerManaged: true}},
		{c, p, active, RelationshipCheck{Active: true, RelationshipID: "r1", CustomerCountryCode: "DE", PartnerCountryCode: "AT", CustomerPartnerManaged: true}},
		{c, p, moved, RelationshipCheck{Denial: DenialMoved, RelationshipID: "r2", CustomerCountryCode: "DE", PartnerCountryCode: "AT", CustomerPartnerManaged: true}},
		{c, p, removed, RelationshipCheck{Denial: DenialRemoved, RelationshipID: "r3", CustomerCountryCode: "DE", PartnerCountryCode: "AT", CustomerPartnerManaged: true}},
	} {
		tc.want.CacheTTL = 30 * time.Second
		if got := CheckRelationshipOf(tc.c, tc.p, tc.latest); got != tc.want {
			t.Errorf("got %+v, want %+v", got, tc.want)
		}
	}
}
