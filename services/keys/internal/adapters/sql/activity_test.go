package sql_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	keysql "github.com/partnerhub/partnerhub/services/keys/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/keys/internal/app"
	"github.com/partnerhub/partnerhub/services/keys/internal/domain"
)

// link returns a download-link record of entitlement with every field set.
func link(id, entitlement, requestID string) domain.DownloadLink {
	return domain.DownloadLink{ID: id, RequestID: requestID, EntitlementID: entitlement, VariantID: "v-en",
		CustomerID: "c1", PartnerID: "p1", CreatedBy: "user-1", ExpireTime: at(7 * 24 * time.Hour).Truncate(time.Second),
		CreateTime: at(time.Minute)}
}

// record returns an activity record with every field set.
func record(id, partner, customer string, when time.Time) domain.Activity {
	return domain.Activity{
		ID: id, Action: domain.ActionKeyRevealed,
		Actor: domain.Actor{UserID: "user-1", DisplayName: "Ada Admin", OrgID: partner, OrgKind: "PARTNER",
			Roles: []string{"ADMIN_AGENT", "GLOBAL_ADMIN"}},
		PartnerID: partner, CustomerID: customer, EntitlementID: "e1", KeyID: "e1-k0",
		MaskedKey: "XXXXX-XXXXX-XXXXX-XXXXX-7HJK2", ProductName: "Office LTSC Professional Plus 2021",
		VariantID: "v-en", LinkID: "dl1", Time: when, PeerAddress: "203.0.113.7:51234", UserAgent: "grpcurl/1.9",
		RefusalReason: "LINK_EXPIRED",
	}
}

func appendRecord(tb testing.TB, s *keysql.Store, a domain.Activity, scope, requestID string) {
	tb.Helper()
	run(tb, s, func(ctx context.Context, tx app.Tx) error { return tx.AppendActivity(ctx, a, scope, requestID) })
}

func TestLinks(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		insert(t, s, ent("e1", "c1", "p1", "o1", "l1"), ent("e2", "c1", "p1", "o1", "l2"))
		l1 := link("dl1", "e1", "req-1")
		l2 := link("dl2", "e1", "req-2")
		l3 := link("dl3", "e1", "")
		l3.Revoked = true
		other := link("dl4", "e2", "req-4")
		run(t, s, func(ctx context.Context, tx app.Tx) error {
			for _, l := range []domain.DownloadLink{l1, l2, l3, other} {
				if err := tx.InsertLink(ctx, l); err != nil {
					return err
				}
			}
			// The record of l1's creation, under its request (see LinkOfRequest); l2's has none.
			created := record("a1", "p1", "c1", at(time.Minute))
			created.Action, created.LinkID = domain.ActionDownloadLinkCreated, "dl1"
			return tx.AppendActivity(ctx, created, "PARTNER:p1", "req-1")
		})

		run(t, s, func(ctx context.Context, tx app.Tx) error {
			for _, want := range []domain.DownloadLink{l1, l3, other} {
				if got, err := tx.Link(ctx, want.ID); err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("Link(%s) = %+v, %v\nwant %+v", want.ID, got, err, want)
				}
			}
			if _, err := tx.Link(ctx, "nope"); errs.KindOf(err) != errs.NotFound {
				t.Errorf("Link(nope) = %v; want NOT_FOUND", err)
			}
			if got, ok, err := tx.LinkOfRequest(ctx, "PARTNER:p1", "req-1"); err != nil || !ok || !reflect.DeepEqual(got, l1) {
				t.Errorf("LinkOfRequest(req-1) = %+v, %v, %v", got, ok, err)
			}
			for _, c := range []struct{ scope, requestID string }{
				{"CUSTOMER:c1", "req-1"}, // another organisation's request of the same ID
				{"PARTNER:p1", "req-2"},  // a link without its creation record
				{"PARTNER:p1", "req-9"},
				{"PARTNER:p1", ""},
				{"", ""},
			} {
				if got, ok, err := tx.LinkOfRequest(ctx, c.scope, c.requestID); err != nil || ok {
					t.Errorf("LinkOfRequest(%q, %q) = %+v, %v, %v; want none", c.scope, c.requestID, got, ok, err)
				}
			}
			return nil
		})

		err := s.Tx(ctx, func(ctx context.Context, tx app.Tx) error { return tx.InsertLink(ctx, link("dl1", "e2", "")) })
		if errs.KindOf(err) != errs.AlreadyExists {
			t.Errorf("link ID twice = %v; want ALREADY_EXISTS", err)
		}
		err = s.Tx(ctx, func(ctx context.Context, tx app.Tx) error { return tx.InsertLink(ctx, link("dl9", "nope", "")) })
		if err == nil {
			t.Error("a link of no entitlement was stored")
		}

		// KD-7: revoking counts the links not yet revoked, once.
		revoke := func(entitlement string) int {
			var n int
			run(t, s, func(ctx context.Context, tx app.Tx) error {
				var err error
				n, err = tx.RevokeLinks(ctx, entitlement)
				return err
			})
			return n
		}
		if n := revoke("e1"); n != 2 {
			t.Errorf("first revocation of e1 counted %d links, want 2", n)
		}
		if n := revoke("e1"); n != 0 {
			t.Errorf("second revocation of e1 counted %d links, want 0", n)
		}
		if n := revoke("nope"); n != 0 {
			t.Errorf("revocation of no entitlement counted %d links", n)
		}
		run(t, s, func(ctx context.Context, tx app.Tx) error {
			for id, want := range map[string]bool{"dl1": true, "dl2": true, "dl3": true, "dl4": false} {
				if got, err := tx.Link(ctx, id); err != nil || got.Revoked != want {
					t.Errorf("%s revoked = %v, %v; want %v", id, got.Revoked, err, want)
				}
			}
			return nil
		})
		if n := revoke("e2"); n != 1 {
			t.Errorf("revocation of e2 counted %d links, want 1", n)
		}
	})
}

func TestActivity_Requests(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		first := record("a1", "p1", "c1", at(0))
		appendRecord(t, s, first, "PARTNER:p1", "r1")
		// The same request ID in another organisation is another request.
		theirs := record("a2", "p2", "c2", at(time.Second))
		appendRecord(t, s, theirs, "PARTNER:p2", "r1")
		// Records of no request share the empty request ID; an anonymous download has no actor.
		anon := domain.Activity{ID: "a3", Action: domain.ActionDownloadStarted, PartnerID: "p1", CustomerID: "c1",
			LinkID: "dl1", Time: at(2 * time.Second)}
		appendRecord(t, s, anon, "", "")
		appendRecord(t, s, record("a4", "p1", "c1", at(3*time.Second)), "PARTNER:p1", "")

		run(t, s, func(ctx context.Context, tx app.Tx) error {
			if got, ok, err := tx.ActivityOfRequest(ctx, "PARTNER:p1", "r1"); err != nil || !ok || !reflect.DeepEqual(got, first) {
				t.Errorf("ActivityOfRequest(p1, r1) = %+v, %v, %v\nwant %+v", got, ok, err, first)
			}
			if got, ok, err := tx.ActivityOfRequest(ctx, "PARTNER:p2", "r1"); err != nil || !ok || !reflect.DeepEqual(got, theirs) {
				t.Errorf("ActivityOfRequest(p2, r1) = %+v, %v, %v", got, ok, err)
			}
			for _, c := range []struct{ scope, requestID string }{{"PARTNER:p1", "r2"}, {"CUSTOMER:c1", "r1"}, {"", ""}, {"PARTNER:p1", ""}} {
				if _, ok, err := tx.ActivityOfRequest(ctx, c.scope, c.requestID); err != nil || ok {
					t.Errorf("ActivityOfRequest(%q, %q) = %v, %v; want none", c.scope, c.requestID, ok, err)
				}
			}

			// A second record of a request is refused, and the transaction goes on (on PostgreSQL
			// too): it reads the first record and commits what else it appends.
			err := tx.AppendActivity(ctx, record("a5", "p1", "c1", at(time.Hour)), "PARTNER:p1", "r1")
			if errs.KindOf(err) != errs.AlreadyExists {
				t.Errorf("second record of r1 = %v; want ALREADY_EXISTS", err)
			}
			if got, ok, err := tx.ActivityOfRequest(ctx, "PARTNER:p1", "r1"); err != nil || !ok || got.ID != "a1" {
				t.Errorf("after the refusal ActivityOfRequest = %s, %v, %v", got.ID, ok, err)
			}
			return tx.AppendActivity(ctx, record("a6", "p1", "c1", at(time.Hour)), "PARTNER:p1", "r6")
		})

		got, err := s.Activities(ctx, app.ActivityQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if ids := actIDs(got); !slices.Equal(ids, []string{"a1", "a2", "a3", "a4", "a6"}) {
			t.Errorf("log = %v", ids)
		}
		if !reflect.DeepEqual(got[2], anon) {
			t.Errorf("anonymous record read back as %+v\nwant %+v", got[2], anon)
		}

		err = s.Tx(ctx, func(ctx context.Context, tx app.Tx) error {
			return tx.AppendActivity(ctx, record("a1", "p1", "c1", at(0)), "PARTNER:p1", "r7")
		})
		if errs.KindOf(err) != errs.AlreadyExists {
			t.Errorf("record ID twice = %v; want ALREADY_EXISTS", err)
		}
		for _, roles := range [][]string{{"A,B"}, {"ADMIN_AGENT", ""}} {
			bad := record("a8", "p1", "c1", at(0))
			bad.Actor.Roles = roles
			if err := s.Tx(ctx, func(ctx context.Context, tx app.Tx) error { return tx.AppendActivity(ctx, bad, "", "") }); err == nil {
				t.Errorf("roles %q were stored", roles)
			}
		}
		bad := record("a9", "p1", "c1", at(0))
		bad.Action = "KEY_DELETED"
		if err := s.Tx(ctx, func(ctx context.Context, tx app.Tx) error { return tx.AppendActivity(ctx, bad, "", "") }); err == nil {
			t.Error("an unknown action was stored")
		}
	})
}

func actIDs(as []domain.Activity) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

func TestActivities_FiltersAndPaging(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		actions := []domain.ActivityAction{domain.ActionKeyRevealed, domain.ActionDownloadLinkCreated,
			domain.ActionDownloadStarted, domain.ActionDownloadRefused}
		day := func(d int) time.Time { return time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC) }
		var all []domain.Activity
		run(t, s, func(ctx context.Context, tx app.Tx) error {
			for i := range 300 {
				partner, customer := "p1", fmt.Sprintf("c%d", i%3)
				if i%4 == 0 {
					partner = "p2"
				}
				// Four records a day from March 1st, the first of each day at midnight exactly; runs
				// of three share a time, and IDs do not follow time, so the ID breaks ties.
				when := day(1 + i/12).Add(time.Duration(i%12/3) * 6 * time.Hour)
				a := record(fmt.Sprintf("a%03d", (i*37)%300), partner, customer, when)
				a.Action, a.Actor.UserID = actions[i%len(actions)], fmt.Sprintf("user-%d", i%5)
				if i%7 == 0 {
					a.Actor.Roles = nil
				}
				all = append(all, a)
				if err := tx.AppendActivity(ctx, a, "PARTNER:"+partner, fmt.Sprintf("r%d", i)); err != nil {
					return err
				}
			}
			return nil
		})
		slices.SortFunc(all, func(a, b domain.Activity) int {
			if c := a.Time.Compare(b.Time); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
		inRange := func(a domain.Activity, start, end time.Time) bool {
			return !a.Time.Before(start) && a.Time.Before(end)
		}
		cases := []struct {
			name string
			q    app.ActivityQuery
			keep func(domain.Activity) bool
		}{
			{"all", app.ActivityQuery{}, func(domain.Activity) bool { return true }},
			{"partner", app.ActivityQuery{PartnerID: "p2"}, func(a domain.Activity) bool { return a.PartnerID == "p2" }},
			{"customer", app.ActivityQuery{CustomerID: "c1"}, func(a domain.Activity) bool { return a.CustomerID == "c1" }},
			{"partner and customer", app.ActivityQuery{PartnerID: "p1", CustomerID: "c2"},
				func(a domain.Activity) bool { return a.PartnerID == "p1" && a.CustomerID == "c2" }},
			{"user", app.ActivityQuery{PartnerID: "p1", UserID: "user-3"},
				func(a domain.Activity) bool { return a.PartnerID == "p1" && a.Actor.UserID == "user-3" }},
			{"actions", app.ActivityQuery{Actions: []domain.ActivityAction{domain.ActionKeyRevealed, domain.ActionDownloadRefused}},
				func(a domain.Activity) bool {
					return a.Action == domain.ActionKeyRevealed || a.Action == domain.ActionDownloadRefused
				}},
			// Start is inclusive and End exclusive: the records at midnight of March 5th are in, those
			// at midnight of March 9th out.
			{"range", app.ActivityQuery{Start: day(5), End: day(9)},
				func(a domain.Activity) bool { return inRange(a, day(5), day(9)) }},
			{"from", app.ActivityQuery{PartnerID: "p1", Start: day(20)},
				func(a domain.Activity) bool { return a.PartnerID == "p1" && !a.Time.Before(day(20)) }},
			{"until", app.ActivityQuery{CustomerID: "c0", End: day(3)},
				func(a domain.Activity) bool { return a.CustomerID == "c0" && a.Time.Before(day(3)) }},
			{"one instant", app.ActivityQuery{Start: day(7), End: day(7).Add(time.Microsecond)},
				func(a domain.Activity) bool { return a.Time.Equal(day(7)) }},
			{"empty range", app.ActivityQuery{Start: day(7), End: day(7)}, func(domain.Activity) bool { return false }},
			{"everything", app.ActivityQuery{PartnerID: "p1", CustomerID: "c1", UserID: "user-1",
				Actions: []domain.ActivityAction{domain.ActionDownloadStarted}, Start: day(2), End: day(25)},
				func(a domain.Activity) bool {
					return a.PartnerID == "p1" && a.CustomerID == "c1" && a.Actor.UserID == "user-1" &&
						a.Action == domain.ActionDownloadStarted && inRange(a, day(2), day(25))
				}},
		}
		for _, c := range cases {
			var want []domain.Activity
			for _, a := range all {
				if c.keep(a) {
					want = append(want, a)
				}
			}
			got, err := s.Activities(ctx, c.q)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: got %d records %v\nwant %d %v", c.name, len(got), actIDs(got), len(want), actIDs(want))
			}
			// In pages of 7, each continuing from the last record of the one before.
			q := c.q
			q.Limit = 7
			var paged []domain.Activity
			for range 100 {
				page, err := s.Activities(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				paged = append(paged, page...)
				if len(page) < q.Limit {
					break
				}
				q.AfterTime, q.AfterID = page[len(page)-1].Time, page[len(page)-1].ID
			}
			if !reflect.DeepEqual(paged, want) {
				t.Errorf("%s in pages: got %d records %v\nwant %d %v", c.name, len(paged), actIDs(paged), len(want), actIDs(want))
			}
		}
		if n := len(all); n != 300 {
			t.Fatalf("%d records", n)
		}
	})
}
