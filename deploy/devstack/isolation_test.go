package main

import (
	"context"
	"flag"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	delegatedadminv1 "github.com/partnerhub/partnerhub/gen/partnerhub/delegatedadmin/v1"
	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
)

var isolationSeed = flag.Uint64("isolation-seed", 0, "run TestIsolation_ID8 on the world of this seed only")

// isoPartner is a partner of the random world and what the test knows it may see.
type isoPartner struct {
	org
	agent   actor           // Admin agent (creates customers, invites)
	users   []string        // every user ID of the partner
	country string          // DE or AT
	active  map[string]bool // customers with an ACTIVE reseller relationship (the model)
}

type isoCustomer struct {
	org
	country string
	users   []string
}

// TestIsolation_ID8 builds random worlds of partners, customers and reseller relationships
// through the API (created, invited, accepted, removed, moved), and checks that no Get or List
// ever shows a partner another partner's customer, user or relationship, or a customer anything
// beyond its own tenant (ID-8). The seed is logged; rerun one world with -isolation-seed.
func TestIsolation_ID8(t *testing.T) {
	s := theSuite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	seed, rounds := uint64(time.Now().UnixNano()), 3
	if *isolationSeed != 0 {
		seed, rounds = *isolationSeed, 1
	}
	for round := range rounds {
		seed := seed + uint64(round)
		t.Logf("world %d: seed %d", round, seed)
		checkWorld(ctx, t, s, buildWorld(ctx, t, s, rand.New(rand.NewPCG(seed, seed))))
	}
}

type isoWorld struct {
	partners  []*isoPartner
	customers []*isoCustomer
}

func buildWorld(ctx context.Context, t *testing.T, s *tenancySuite, rnd *rand.Rand) *isoWorld {
	w := &isoWorld{}
	countries := []string{"DE", "AT"}
	for range 2 + rnd.IntN(3) {
		country := countries[rnd.IntN(2)]
		p := &isoPartner{org: s.newPartner(ctx, t, "Iso Partner", country), country: country, active: map[string]bool{}}
		domain := "iso" + rid()[:8] + ".example"
		p.agent = s.newUser(ctx, t, p.org, domain, commonv1.Role_ROLE_ADMIN_AGENT)
		p.users = []string{p.agent.userID, s.newUser(ctx, t, p.org, domain, commonv1.Role_ROLE_BILLING_AGENT).userID}
		for range rnd.IntN(3) {
			c := &isoCustomer{org: s.newCustomer(ctx, t, p.agent.token, "Iso Customer", country), country: country}
			c.users = []string{s.newUser(ctx, t, c.org, "", commonv1.Role_ROLE_CUSTOMER_USER).userID}
			p.active[c.id] = true
			w.customers = append(w.customers, c)
		}
		w.partners = append(w.partners, p)
	}
	// Random relationship changes: invitations accepted by customers of other partners
	// (multi-partner), removals by either side, and moves within a country (ID-5).
	for range 2 * len(w.customers) {
		if len(w.customers) == 0 {
			break
		}
		c := w.customers[rnd.IntN(len(w.customers))]
		p := w.partners[rnd.IntN(len(w.partners))]
		switch op := rnd.IntN(3); {
		case op == 0 && !p.active[c.id]:
			s.invite(ctx, t, p.agent.token, c.org)
			p.active[c.id] = true
		case op == 1 && p.active[c.id]:
			rel, err := s.relationships().CheckRelationship(as(ctx, s.operator), &identityv1.CheckRelationshipRequest{PartnerId: p.id, CustomerId: c.id})
			if err != nil {
				t.Fatal(err)
			}
			token := p.agent.token
			if rnd.IntN(2) == 0 {
				token = c.adminToken // the customer's side removes
			}
			if _, err := s.relationships().RemoveRelationship(as(ctx, token), &identityv1.RemoveRelationshipRequest{RequestId: rid(), RelationshipId: rel.GetRelationshipId()}); err != nil {
				t.Fatalf("RemoveRelationship: %v", err)
			}
			delete(p.active, c.id)
		case op == 2 && p.active[c.id] && p.country == c.country:
			// Another partner of the same country takes c over from p: it needs c's consent
			// first (an accepted invitation), then moves.
			for _, q := range w.partners {
				if q == p || q.country != c.country {
					continue
				}
				if !q.active[c.id] {
					s.invite(ctx, t, q.agent.token, c.org)
					q.active[c.id] = true
				}
				if _, err := s.relationships().MoveCustomer(as(ctx, q.agent.token), &identityv1.MoveCustomerRequest{RequestId: rid(), CustomerId: c.id, SourcePartnerId: p.id}); err != nil {
					t.Fatalf("MoveCustomer: %v", err)
				}
				delete(p.active, c.id)
				break
			}
		}
	}
	return w
}

func checkWorld(ctx context.Context, t *testing.T, s *tenancySuite, w *isoWorld) {
	t.Helper()
	for _, p := range w.partners {
		pctx := as(ctx, p.agent.token)
		// ListCustomers shows exactly the partner's related customers: none of anyone else's.
		var listed []string
		for page := ""; ; {
			resp, err := s.customers().ListCustomers(pctx, &identityv1.ListCustomersRequest{PageSize: 2, PageToken: page})
			if err != nil {
				t.Fatalf("ListCustomers: %v", err)
			}
			for _, c := range resp.GetCustomers() {
				listed = append(listed, c.GetCustomerId())
			}
			if page = resp.GetNextPageToken(); page == "" {
				break
			}
		}
		var want []string
		for id := range p.active {
			want = append(want, id)
		}
		slices.Sort(listed)
		slices.Sort(want)
		if !slices.Equal(listed, want) {
			t.Errorf("partner %s lists customers %v, want %v", p.id, listed, want)
		}
		for _, c := range w.customers {
			_, err := s.customers().GetCustomer(pctx, &identityv1.GetCustomerRequest{CustomerId: c.id})
			if p.active[c.id] != (err == nil) || (err != nil && status.Code(err) != codes.NotFound) {
				t.Errorf("partner %s GetCustomer %s (related %v): %v", p.id, c.id, p.active[c.id], err)
			}
			for _, u := range c.users {
				if _, err := s.users().GetUser(pctx, &identityv1.GetUserRequest{UserId: u}); status.Code(err) != codes.NotFound {
					t.Errorf("partner %s reads user %s of customer %s without delegated admin: %v", p.id, u, c.id, err)
				}
			}
		}
		for _, q := range w.partners {
			if q == p {
				continue
			}
			for _, u := range q.users {
				if _, err := s.users().GetUser(pctx, &identityv1.GetUserRequest{UserId: u}); status.Code(err) != codes.NotFound {
					t.Errorf("partner %s reads user %s of partner %s: %v", p.id, u, q.id, err)
				}
			}
			if _, err := s.users().ListUsers(pctx, &identityv1.ListUsersRequest{OrgId: q.id}); status.Code(err) != codes.NotFound {
				t.Errorf("partner %s lists users of partner %s: %v", p.id, q.id, err)
			}
			if _, err := s.partners().GetPartner(pctx, &identityv1.GetPartnerRequest{PartnerId: q.id}); status.Code(err) != codes.NotFound {
				t.Errorf("partner %s reads partner %s: %v", p.id, q.id, err)
			}
		}
		rels, err := s.relationships().ListRelationships(pctx, &identityv1.ListRelationshipsRequest{PageSize: 500,
			States: []identityv1.ResellerRelationshipState{identityv1.ResellerRelationshipState_RESELLER_RELATIONSHIP_STATE_ACTIVE,
				identityv1.ResellerRelationshipState_RESELLER_RELATIONSHIP_STATE_REMOVED, identityv1.ResellerRelationshipState_RESELLER_RELATIONSHIP_STATE_MOVED}})
		if err != nil {
			t.Fatalf("ListRelationships: %v", err)
		}
		for _, r := range rels.GetRelationships() {
			if r.GetPartnerId() != p.id {
				t.Errorf("partner %s sees relationship %s of partner %s", p.id, r.GetRelationshipId(), r.GetPartnerId())
			}
		}
		das, err := s.delegated().ListRelationships(pctx, &delegatedadminv1.ListRelationshipsRequest{PageSize: 500})
		if err != nil {
			t.Fatalf("delegatedadmin ListRelationships: %v", err)
		}
		for _, r := range das.GetRelationships() {
			if r.GetPartnerId() != p.id {
				t.Errorf("partner %s sees delegated-admin relationship of partner %s", p.id, r.GetPartnerId())
			}
		}
	}
	for _, c := range w.customers {
		cctx := as(ctx, c.adminToken)
		resp, err := s.customers().ListCustomers(cctx, &identityv1.ListCustomersRequest{})
		if err != nil || len(resp.GetCustomers()) != 1 || resp.GetCustomers()[0].GetCustomerId() != c.id {
			t.Errorf("customer %s lists %v, %v; want only itself", c.id, resp.GetCustomers(), err)
		}
		for _, o := range w.customers {
			if o == c {
				continue
			}
			if _, err := s.customers().GetCustomer(cctx, &identityv1.GetCustomerRequest{CustomerId: o.id}); status.Code(err) != codes.NotFound {
				t.Errorf("customer %s reads customer %s: %v", c.id, o.id, err)
			}
			for _, u := range o.users {
				if _, err := s.users().GetUser(cctx, &identityv1.GetUserRequest{UserId: u}); status.Code(err) != codes.NotFound {
					t.Errorf("customer %s reads user %s of customer %s: %v", c.id, u, o.id, err)
				}
			}
		}
		rels, err := s.relationships().ListRelationships(cctx, &identityv1.ListRelationshipsRequest{PageSize: 500})
		if err != nil {
			t.Fatalf("customer ListRelationships: %v", err)
		}
		for _, r := range rels.GetRelationships() {
			if r.GetCustomerId() != c.id {
				t.Errorf("customer %s sees relationship of customer %s", c.id, r.GetCustomerId())
			}
		}
	}
}
