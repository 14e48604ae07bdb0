package support_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/support"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

// The cast: partner A administers customer C1 by delegated admin and placed order orderA1 for
// it; partner B placed orderB1 for C1; C2 is A's customer without delegated admin (orderA2).
const (
	partnerA = "aaaaaaaa-0000-4000-8000-00000000000a"
	partnerB = "bbbbbbbb-0000-4000-8000-00000000000b"
	cust1    = "c1c1c1c1-0000-4000-8000-0000000000c1"
	cust2    = "c2c2c2c2-0000-4000-8000-0000000000c2"
	cust9    = "c9c9c9c9-0000-4000-8000-0000000000c9" // exists nowhere
	domain1  = "contoso.onmicrosoft.com"
	domain2  = "fabrikam.onmicrosoft.com"

	orderA1 = "0a1a1a1a-0000-4000-8000-0000000000a1"
	orderA2 = "0a2a2a2a-0000-4000-8000-0000000000a2"
	orderB1 = "0b1b1b1b-0000-4000-8000-0000000000b1"
	order9  = "09090909-0000-4000-8000-000000000009"

	subC1A = "5c1a5c1a-0000-4000-8000-0000000001a1" // C1's, sold by A
	subC1D = "5c1d5c1d-0000-4000-8000-0000000001d1" // C1's, bought directly (SU-8)
	subC2A = "5c2a5c2a-0000-4000-8000-0000000002a1" // C2's, sold by A
	subC2B = "5c2b5c2b-0000-4000-8000-0000000002b1" // C2's, sold by B
	sub9   = "59595959-0000-4000-8000-000000000009"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

var (
	adminA    = auth.Principal{Subject: "u-admin-a", OrgID: partnerA, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AdminAgent}}
	helpdeskA = auth.Principal{Subject: "u-help-a", OrgID: partnerA, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.HelpdeskAgent}}
	accountA  = auth.Principal{Subject: "u-acct-a", OrgID: partnerA, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AccountAdmin}}
	salesA    = auth.Principal{Subject: "u-sales-a", OrgID: partnerA, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.SalesAgent}}
	adminB    = auth.Principal{Subject: "u-admin-b", OrgID: partnerB, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AdminAgent}}
	custAdm1  = auth.Principal{Subject: "u-cust-1", OrgID: cust1, OrgKind: auth.OrgCustomer, Roles: []auth.Role{auth.CustomerGlobalAdmin}}
	custUser1 = auth.Principal{Subject: "u-user-1", OrgID: cust1, OrgKind: auth.OrgCustomer, Roles: []auth.Role{auth.CustomerUser}}
	custAdm2  = auth.Principal{Subject: "u-cust-2", OrgID: cust2, OrgKind: auth.OrgCustomer, Roles: []auth.Role{auth.CustomerGlobalAdmin}}
	service   = auth.Principal{Subject: "svc_reports", OrgID: "partnerhub", OrgKind: auth.OrgService, Roles: []auth.Role{auth.Service}}
)

// obo is a service acting on behalf of p (the devstack's other services, a saga after restart).
func obo(p auth.Principal) auth.Principal {
	return auth.Principal{Subject: "svc_x", OrgID: "partnerhub", OrgKind: auth.OrgService, Roles: []auth.Role{auth.Service}, OnBehalfOf: &p}
}

func as(p auth.Principal) context.Context { return auth.WithPrincipal(context.Background(), p) }

// memStore is support.Store in memory, with the adapter's semantics (idempotent insert by scope
// and request ID, newest-first keyset lists).
type memStore struct {
	mu     sync.Mutex
	rows   []support.Request
	scopes map[string]string // request key (scope + request ID) → support request ID
	orders map[string]domain.Order
	err    error // returned by every call when set
}

func newStore() *memStore {
	return &memStore{scopes: map[string]string{}, orders: map[string]domain.Order{
		orderA1: {ID: orderA1, PartnerID: partnerA, CustomerID: cust1},
		orderA2: {ID: orderA2, PartnerID: partnerA, CustomerID: cust2},
		orderB1: {ID: orderB1, PartnerID: partnerB, CustomerID: cust1},
	}}
}

func (m *memStore) InsertSupportRequest(_ context.Context, scope string, r support.Request) (support.Request, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return support.Request{}, false, m.err
	}
	if id, ok := m.scopes[scope+"\x00"+r.RequestID]; ok {
		return m.byID(id), false, nil
	}
	m.scopes[scope+"\x00"+r.RequestID] = r.ID
	m.rows = append(m.rows, r)
	return r, true, nil
}

func (m *memStore) SupportRequestOfRequest(_ context.Context, scope, requestID string) (support.Request, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return support.Request{}, false, m.err
	}
	id, ok := m.scopes[scope+"\x00"+requestID]
	if !ok {
		return support.Request{}, false, nil
	}
	return m.byID(id), true, nil
}

func (m *memStore) byID(id string) support.Request {
	for _, r := range m.rows {
		if r.ID == id {
			return r
		}
	}
	panic("no row " + id)
}

func (m *memStore) SupportRequests(_ context.Context, q support.Query) ([]support.Request, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return nil, m.err
	}
	var out []support.Request
	for _, r := range m.rows {
		switch {
		case q.PartnerID != "" && r.PartnerID != q.PartnerID,
			q.CustomerID != "" && r.CustomerID != q.CustomerID,
			q.OrderID != "" && r.OrderID != q.OrderID,
			q.SubscriptionID != "" && r.SubscriptionID != q.SubscriptionID,
			len(q.States) > 0 && !slices.Contains(q.States, r.State),
			!q.Start.IsZero() && r.CreateTime.Before(q.Start),
			!q.End.IsZero() && !r.CreateTime.Before(q.End):
			continue
		}
		if !q.BeforeTime.IsZero() && !(r.CreateTime.Before(q.BeforeTime) ||
			r.CreateTime.Equal(q.BeforeTime) && r.ID < q.BeforeID) {
			continue
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b support.Request) int {
		if c := b.CreateTime.Compare(a.CreateTime); c != 0 {
			return c
		}
		switch {
		case a.ID > b.ID:
			return -1
		case a.ID < b.ID:
			return 1
		}
		return 0
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

func (m *memStore) Order(_ context.Context, id string) (domain.Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return domain.Order{}, m.err
	}
	o, ok := m.orders[id]
	if !ok {
		return domain.Order{}, errs.NotFoundf("order", id)
	}
	return o, nil
}

// customers is identity: C1 and C2; it counts lookups to prove what the use case asked.
type customers struct {
	mu    sync.Mutex
	calls []string
	err   error
}

var directory = []support.Customer{{ID: cust1, DefaultDomain: domain1}, {ID: cust2, DefaultDomain: domain2}}

func (c *customers) CustomerByID(_ context.Context, id string) (support.Customer, error) {
	return c.find("id:"+id, func(x support.Customer) bool { return x.ID == id })
}

func (c *customers) CustomerByDomain(_ context.Context, d string) (support.Customer, error) {
	return c.find("domain:"+d, func(x support.Customer) bool { return x.DefaultDomain == d })
}

func (c *customers) find(call string, match func(support.Customer) bool) (support.Customer, error) {
	c.mu.Lock()
	c.calls = append(c.calls, call)
	c.mu.Unlock()
	if c.err != nil {
		return support.Customer{}, c.err
	}
	for _, x := range directory {
		if match(x) {
			return x, nil
		}
	}
	// identity's own wording; the use case names the resource the caller asked for.
	return support.Customer{}, errs.NotFoundf("customer", "x")
}

func (c *customers) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.calls)
}

// subscriptions is the subscriptions service.
type subscriptions struct{ err error }

func (s subscriptions) Subscription(_ context.Context, id string) (support.Subscription, error) {
	if s.err != nil {
		return support.Subscription{}, s.err
	}
	switch id {
	case subC1A:
		return support.Subscription{ID: id, CustomerID: cust1, PartnerID: partnerA}, nil
	case subC1D:
		return support.Subscription{ID: id, CustomerID: cust1}, nil
	case subC2A:
		return support.Subscription{ID: id, CustomerID: cust2, PartnerID: partnerA}, nil
	case subC2B:
		return support.Subscription{ID: id, CustomerID: cust2, PartnerID: partnerB}, nil
	}
	return support.Subscription{}, errs.NotFoundf("subscription", id)
}

// delegated is delegatedadmin: A administers C1 with the support role; B's offer to C1 is
// pending; A holds only USER_ADMINISTRATOR at C2 (so the support role is not granted).
type delegated struct {
	mu    sync.Mutex
	calls []string
	err   error
}

func (d *delegated) CheckAccess(_ context.Context, partnerID, customerID, role string) (support.Access, error) {
	d.mu.Lock()
	d.calls = append(d.calls, fmt.Sprintf("%s/%s/%s", partnerID, customerID, role))
	d.mu.Unlock()
	if d.err != nil {
		return support.Access{}, d.err
	}
	switch {
	case partnerID == partnerA && customerID == cust1 && role == "SERVICE_SUPPORT_ADMINISTRATOR":
		return support.Access{Allowed: true, RelationshipID: "rel-a1"}, nil
	case partnerID == partnerB && customerID == cust1:
		return support.Access{DenialReason: "PENDING", RelationshipID: "rel-b1"}, nil
	case partnerID == partnerA && customerID == cust2:
		return support.Access{DenialReason: "ROLE_NOT_GRANTED", RelationshipID: "rel-a2"}, nil
	}
	return support.Access{DenialReason: "NO_RELATIONSHIP"}, nil
}

func (d *delegated) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.calls)
}

type harness struct {
	app   *support.App
	store *memStore
	custs *customers
	subs  *subscriptions
	da    *delegated
	clock *clock.Fake
}

func newHarness() *harness {
	h := &harness{store: newStore(), custs: &customers{}, subs: &subscriptions{}, da: &delegated{}, clock: clock.NewFake(t0)}
	n := 0
	h.app = support.New(h.store, h.custs, h.subs, h.da, h.clock, func() string {
		n++
		return fmt.Sprintf("5e5e5e5e-0000-4000-8000-%012d", n)
	})
	return h
}
