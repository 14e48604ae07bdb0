package domain

import (
	"testing"
	"time"
)

func withID(r Relationship, id string) Relationship {
	r.ID = id
	return r
}

// DA-6: the access decision, reason precedence, granting relationship, grant end and cache TTL.
func TestCheckAccess_DA6_Decision(t *testing.T) {
	act := t0.Add(Day)
	user := approved(t, offer(365, 0, RoleUserAdministrator), act)               // ends act+365d
	global := approved(t, offer(100, 0, RoleGlobalAdministrator), act)           // ends act+100d
	extending := approved(t, offer(200, ExtendDays, RoleUserAdministrator), act) // ends act+200d, extends
	legacy := approved(t, Offer{CustomerID: customerID, LegacyFullAdmin: true}, act)
	pend := pending(t, offer(365, 0, RoleUserAdministrator), t0)
	rej, _ := pending(t, offer(365, 0, RoleUserAdministrator), t0).Reject("c", "", t0.Add(time.Hour))
	term, _, _ := approved(t, offer(365, 0, RoleUserAdministrator), act).Terminate(PartyCustomer, "c", "", act.Add(time.Hour))
	now := act.Add(10 * Day)

	tests := []struct {
		name    string
		rels    []Relationship
		role    Role
		now     time.Time
		allowed bool
		denial  Denial
		id      string
		end     time.Time
		ttl     time.Duration
	}{
		{"no relationship", nil, RoleUserAdministrator, now, false, DenialNoRelationship, "", time.Time{}, MaxDenialCacheTTL},
		{"role granted", []Relationship{withID(user, "a")}, RoleUserAdministrator, now, true, DenialNone, "a", act.Add(365 * Day), MaxAccessCacheTTL},
		{"global administrator grants every role", []Relationship{withID(global, "g")}, RoleExchangeAdministrator, now, true, DenialNone, "g", act.Add(100 * Day), MaxAccessCacheTTL},
		{"legacy full admin: no grant end", []Relationship{withID(legacy, "l")}, RoleTeamsAdministrator, now.Add(3650 * Day), true, DenialNone, "l", time.Time{}, MaxAccessCacheTTL},
		{"role not granted", []Relationship{withID(user, "a")}, RoleBillingAdministrator, now, false, DenialRoleNotGranted, "a", time.Time{}, MaxDenialCacheTTL},
		{"the one ending last grants", []Relationship{withID(global, "g"), withID(user, "a"), withID(extending, "e")}, RoleUserAdministrator, now,
			true, DenialNone, "a", act.Add(365 * Day), MaxAccessCacheTTL},
		{"legacy ends last of all", []Relationship{withID(user, "a"), withID(legacy, "l")}, RoleUserAdministrator, now, true, DenialNone, "l", time.Time{}, MaxAccessCacheTTL},
		{"EXPIRING still grants", []Relationship{withID(user, "a")}, RoleUserAdministrator, act.Add(364 * Day), true, DenialNone, "a", act.Add(365 * Day), MaxAccessCacheTTL},
		{"one second before the end: TTL is that second", []Relationship{withID(user, "a")}, RoleUserAdministrator, act.Add(365*Day - time.Second),
			true, DenialNone, "a", act.Add(365 * Day), time.Second},
		{"exactly at the end: EXPIRED", []Relationship{withID(user, "a")}, RoleUserAdministrator, act.Add(365 * Day), false, DenialExpired, "a", time.Time{}, MaxDenialCacheTTL},
		{"auto-extend at the end: still allowed, grant end moved", []Relationship{withID(extending, "e")}, RoleUserAdministrator, act.Add(200 * Day),
			true, DenialNone, "e", act.Add(380 * Day), MaxAccessCacheTTL},
		{"auto-extend: grant end counts no coming extension", []Relationship{withID(extending, "e")}, RoleUserAdministrator, act.Add(200*Day - 10*time.Second),
			true, DenialNone, "e", act.Add(200 * Day), 10 * time.Second},
		{"pending", []Relationship{withID(pend, "p")}, RoleUserAdministrator, now, false, DenialPending, "p", time.Time{}, MaxDenialCacheTTL},
		{"pending lapse shortens the TTL", []Relationship{withID(pend, "p")}, RoleUserAdministrator, t0.Add(OfferLifetime - 2*time.Second),
			false, DenialPending, "p", time.Time{}, 2 * time.Second},
		{"lapsed offer: EXPIRED", []Relationship{withID(pend, "p")}, RoleUserAdministrator, t0.Add(OfferLifetime), false, DenialExpired, "p", time.Time{}, MaxDenialCacheTTL},
		{"terminated", []Relationship{withID(term, "t")}, RoleUserAdministrator, now, false, DenialTerminated, "t", time.Time{}, MaxDenialCacheTTL},
		{"rejected", []Relationship{withID(rej, "r")}, RoleUserAdministrator, now, false, DenialRejected, "r", time.Time{}, MaxDenialCacheTTL},
		{"ROLE_NOT_GRANTED beats PENDING", []Relationship{withID(pend, "p"), withID(user, "a")}, RoleTeamsAdministrator, now, false, DenialRoleNotGranted, "a", time.Time{}, MaxDenialCacheTTL},
		{"EXPIRED beats TERMINATED and REJECTED (the offer has lapsed too)", []Relationship{withID(rej, "r"), withID(term, "t"), withID(user, "a"), withID(pend, "p")},
			RoleUserAdministrator, act.Add(400 * Day), false, DenialExpired, "a", time.Time{}, MaxDenialCacheTTL},
		{"PENDING beats TERMINATED and REJECTED", []Relationship{withID(rej, "r"), withID(term, "t"), withID(pend, "p")}, RoleUserAdministrator, now,
			false, DenialPending, "p", time.Time{}, MaxDenialCacheTTL},
		{"TERMINATED beats REJECTED", []Relationship{withID(rej, "r"), withID(term, "t")}, RoleUserAdministrator, now, false, DenialTerminated, "t", time.Time{}, MaxDenialCacheTTL},
		{"a granting one beats every denial", []Relationship{withID(rej, "r"), withID(term, "t"), withID(pend, "p"), withID(global, "g")}, RoleUserAdministrator, now,
			true, DenialNone, "g", act.Add(100 * Day), MaxAccessCacheTTL},
		{"the most recently updated of the reason's kind", []Relationship{withID(term, "t1"), withID(func() Relationship {
			r, _, _ := approved(t, offer(365, 0, RoleUserAdministrator), act).Terminate(PartyPartner, "p", "", act.Add(2*time.Hour))
			return r
		}(), "t2")}, RoleUserAdministrator, now, false, DenialTerminated, "t2", time.Time{}, MaxDenialCacheTTL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := DecideAccess(tt.rels, tt.role, tt.now)
			if a.Allowed != tt.allowed || a.Denial != tt.denial || a.RelationshipID != tt.id || !a.GrantEnd.Equal(tt.end) || a.CacheTTL != tt.ttl {
				t.Errorf("got %+v\nwant allowed %v denial %q id %q end %v ttl %v", a, tt.allowed, tt.denial, tt.id, tt.end, tt.ttl)
			}
		})
	}
}
