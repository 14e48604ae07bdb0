package sql_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	dasql "github.com/partnerhub/partnerhub/services/delegatedadmin/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/delegatedadmin/internal/app"
	"github.com/partnerhub/partnerhub/services/delegatedadmin/internal/domain"
	"github.com/partnerhub/partnerhub/services/delegatedadmin/migrations"
)

func TestMain(m *testing.M) { testkit.Main(m) }

const (
	partnerA  = "aaaaaaaa-0000-4000-8000-000000000001"
	partnerB  = "bbbbbbbb-0000-4000-8000-000000000002"
	customerX = "cccccccc-0000-4000-8000-000000000003"
	customerY = "dddddddd-0000-4000-8000-000000000004"
)

// t0 has nanoseconds on purpose: the domain keeps microseconds, what both engines store.
var t0 = time.Date(2026, 3, 1, 8, 30, 0, 123456789, time.UTC)

func open(t *testing.T, dsn string) *dasql.Repo {
	t.Helper()
	db := testkit.OpenDB(t, dsn, migrations.FS, "delegatedadmin_schema")
	return dasql.New(db)
}

func offerOf(partner, customer string, at time.Time, o domain.Offer) domain.Relationship {
	o.CustomerID = customer
	id := uuid.NewString()
	r, err := domain.NewRelationship(id, partner, "user-1", "https://x/"+id, o, at)
	if err != nil {
		panic(err)
	}
	return r
}

func roles(rs ...domain.Role) domain.Offer {
	return domain.Offer{Roles: rs, DurationDays: 365, DisplayName: "Helpdesk 2026", Message: "please approve"}
}

func add(t *testing.T, repo *dasql.Repo, rs ...domain.Relationship) {
	t.Helper()
	for _, r := range rs {
		if err := repo.Add(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
}

// A relationship reads back exactly as written, in every state, on both engines: times to the
// microsecond, roles in order, nullable fields unset.
func TestRepo_RoundTrip(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		repo := open(t, dsn)
		p := offerOf(partnerA, customerX, t0, roles(domain.RoleUserAdministrator, domain.RoleGlobalReader))
		active, err := offerOf(partnerA, customerX, t0, domain.Offer{Roles: []domain.Role{domain.RoleHelpdeskAdministrator}, DurationDays: 90, AutoExtendDays: 180}).
			Approve("user-c", t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		extended := active.At(active.EndTime.Add(time.Minute))
		legacy, _ := offerOf(partnerB, customerY, t0, domain.Offer{LegacyFullAdmin: true}).Approve("user-c", t0)
		term, _, _ := legacy.Terminate(domain.PartyCustomer, "user-c", "done", t0.Add(2*time.Hour))
		for _, r := range []domain.Relationship{p, extended, term} {
			add(t, repo, r)
			got, err := repo.Get(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, r) {
				t.Errorf("read back\n%+v\nwrote\n%+v", got, r)
			}
		}
		if _, err := repo.Get(ctx, uuid.NewString()); errs.KindOf(err) != errs.NotFound {
			t.Errorf("unknown ID: %v, want NOT_FOUND", err)
		}
	})
}

// Update keeps read, decision and write in one transaction: an error writes nothing, an
// unchanged result writes nothing, a change is stored with its new etag.
func TestRepo_Update(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		repo := open(t, dsn)
		r := offerOf(partnerA, customerX, t0, roles(domain.RoleUserAdministrator))
		add(t, repo, r)

		refuse := errors.New("no")
		if _, err := repo.Update(ctx, r.ID, func(cur domain.Relationship) (domain.Relationship, error) {
			next, _ := cur.Approve("user-c", t0.Add(time.Hour))
			return next, refuse
		}); !errors.Is(err, refuse) {
			t.Fatalf("Update = %v, want the closure's error", err)
		}
		if got, _ := repo.Get(ctx, r.ID); !reflect.DeepEqual(got, r) {
			t.Fatalf("a failed update wrote %+v", got)
		}

		approved, err := repo.Update(ctx, r.ID, func(cur domain.Relationship) (domain.Relationship, error) {
			return cur.Approve("user-c", t0.Add(time.Hour))
		})
		if err != nil || approved.State != domain.StateActive || approved.Etag == r.Etag {
			t.Fatalf("approve: %+v, %v", approved, err)
		}
		if got, _ := repo.Get(ctx, r.ID); !reflect.DeepEqual(got, approved) {
			t.Errorf("stored %+v\nwant %+v", got, approved)
		}
		same, err := repo.Update(ctx, r.ID, func(cur domain.Relationship) (domain.Relationship, error) { return cur, nil })
		if err != nil || !reflect.DeepEqual(same, approved) {
			t.Errorf("no-op update: %+v, %v", same, err)
		}
		if _, err := repo.Update(ctx, uuid.NewString(), func(cur domain.Relationship) (domain.Relationship, error) {
			t.Error("closure called for a missing row")
			return cur, nil
		}); errs.KindOf(err) != errs.NotFound {
			t.Errorf("missing row: %v, want NOT_FOUND", err)
		}
	})
}

// Concurrent read-modify-writes of one row serialize: every approval attempt but one sees a
// non-PENDING offer, and the row is approved once.
func TestRepo_Update_Concurrent(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		repo := open(t, dsn)
		r := offerOf(partnerA, customerX, t0, roles(domain.RoleUserAdministrator))
		add(t, repo, r)
		const n = 8
		results := make(chan error, n)
		for i := range n {
			go func() {
				_, err := repo.Update(ctx, r.ID, func(cur domain.Relationship) (domain.Relationship, error) {
					return cur.Approve(fmt.Sprintf("user-%d", i), t0.Add(time.Duration(i+1)*time.Second))
				})
				results <- err
			}()
		}
		ok := 0
		for range n {
			err := <-results
			switch {
			case err == nil:
				ok++
			case errs.ReasonOf(err) != domain.ReasonOfferNotPending:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if ok != 1 {
			t.Errorf("%d approvals succeeded, want 1", ok)
		}
	})
}

// The sweeper's reads and writes: Due finds rows whose next transition is at or before now,
// earliest first; SaveTransition writes only over the etag it read (several replicas, DA-5);
// rows that never change again are never due.
func TestRepo_DueAndSaveTransition(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		repo := open(t, dsn)
		lapsing := offerOf(partnerA, customerX, t0, roles(domain.RoleUserAdministrator))                 // due at t0+90d
		expiring, _ := offerOf(partnerA, customerX, t0, roles(domain.RoleGlobalReader)).Approve("c", t0) // due at t0+335d
		legacy, _ := offerOf(partnerA, customerX, t0, domain.Offer{LegacyFullAdmin: true}).Approve("c", t0)
		rejected, _ := offerOf(partnerA, customerX, t0, roles(domain.RoleGlobalReader)).Reject("c", "", t0)
		add(t, repo, lapsing, expiring, legacy, rejected)

		ids := func(rs []domain.Relationship) []string {
			var out []string
			for _, r := range rs {
				out = append(out, r.ID)
			}
			return out
		}
		lapse := t0.Add(domain.OfferLifetime)
		if due, err := repo.Due(ctx, lapse.Add(-time.Microsecond), 10); err != nil || len(due) != 0 {
			t.Fatalf("due a microsecond before the lapse: %v, %v", ids(due), err)
		}
		due, err := repo.Due(ctx, lapse, 10)
		if err != nil || !reflect.DeepEqual(ids(due), []string{lapsing.ID}) {
			t.Fatalf("due at the lapse: %v, %v", ids(due), err)
		}
		far := t0.Add(400 * domain.Day)
		if due, _ := repo.Due(ctx, far, 10); !reflect.DeepEqual(ids(due), []string{lapsing.ID, expiring.ID}) {
			t.Fatalf("due a year later: %v, want the lapsing then the expiring one", ids(due))
		}
		if due, _ := repo.Due(ctx, far, 1); len(due) != 1 {
			t.Errorf("limit 1 gave %d rows", len(due))
		}

		next := lapsing.At(far)
		if ok, err := repo.SaveTransition(ctx, "stale", next); err != nil || ok {
			t.Fatalf("save over a stale etag: %v, %v; want not saved", ok, err)
		}
		if got, _ := repo.Get(ctx, lapsing.ID); got.State != domain.StatePending {
			t.Fatalf("a stale save changed the row to %s", got.State)
		}
		if ok, err := repo.SaveTransition(ctx, lapsing.Etag, next); err != nil || !ok {
			t.Fatalf("save: %v, %v", ok, err)
		}
		if ok, _ := repo.SaveTransition(ctx, lapsing.Etag, next); ok {
			t.Error("a second replica's save over the same old etag succeeded")
		}
		if got, _ := repo.Get(ctx, lapsing.ID); !reflect.DeepEqual(got, next) {
			t.Errorf("stored %+v\nwant %+v", got, next)
		}
		if due, _ := repo.Due(ctx, far, 10); !reflect.DeepEqual(ids(due), []string{expiring.ID}) {
			t.Errorf("after the save, due: %v; want only the expiring one", ids(due))
		}
	})
}

// Lists are newest first with keyset pages, and filter by partner, customer, state and role
// (GLOBAL_ADMINISTRATOR and legacy full admin match every role).
func TestRepo_ListAndForPair(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		repo := open(t, dsn)
		var all []domain.Relationship
		mk := func(partner, customer string, o domain.Offer, approve bool) domain.Relationship {
			r := offerOf(partner, customer, t0.Add(time.Duration(len(all))*time.Minute), o)
			if approve {
				r, _ = r.Approve("c", r.CreateTime)
			}
			all = append(all, r)
			add(t, repo, r)
			return r
		}
		user := mk(partnerA, customerX, roles(domain.RoleUserAdministrator), true)
		global := mk(partnerA, customerX, roles(domain.RoleGlobalAdministrator), false)
		legacy := mk(partnerA, customerY, domain.Offer{LegacyFullAdmin: true}, true)
		reader := mk(partnerA, customerY, roles(domain.RoleGlobalReader), false)
		other := mk(partnerB, customerX, roles(domain.RoleUserAdministrator), true)

		list := func(f app.ListFilter) []string {
			t.Helper()
			if f.Limit == 0 {
				f.Limit = 100
			}
			rs, err := repo.List(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, r := range rs {
				out = append(out, r.ID)
			}
			return out
		}
		for _, tt := range []struct {
			name string
			f    app.ListFilter
			want []domain.Relationship
		}{
			{"partner A, newest first", app.ListFilter{PartnerID: partnerA}, []domain.Relationship{reader, legacy, global, user}},
			{"customer X", app.ListFilter{CustomerID: customerX}, []domain.Relationship{other, global, user}},
			{"pair", app.ListFilter{PartnerID: partnerA, CustomerID: customerX}, []domain.Relationship{global, user}},
			{"active ones of A", app.ListFilter{PartnerID: partnerA, States: []domain.State{domain.StateActive}}, []domain.Relationship{legacy, user}},
			{"pending or active of X", app.ListFilter{CustomerID: customerX, States: []domain.State{domain.StatePending, domain.StateActive}}, []domain.Relationship{other, global, user}},
			{"user administrator: direct, global and legacy", app.ListFilter{PartnerID: partnerA, Role: domain.RoleUserAdministrator}, []domain.Relationship{legacy, global, user}},
			{"global reader", app.ListFilter{PartnerID: partnerA, Role: domain.RoleGlobalReader}, []domain.Relationship{reader, legacy, global}},
			{"teams administrator of customer Y", app.ListFilter{CustomerID: customerY, Role: domain.RoleTeamsAdministrator}, []domain.Relationship{legacy}},
			{"nothing", app.ListFilter{PartnerID: partnerB, States: []domain.State{domain.StateRejected}}, nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				var want []string
				for _, r := range tt.want {
					want = append(want, r.ID)
				}
				if got := list(tt.f); !reflect.DeepEqual(got, want) {
					t.Errorf("got %v\nwant %v", got, want)
				}
			})
		}

		t.Run("keyset pages", func(t *testing.T) {
			var got []string
			f := app.ListFilter{PartnerID: partnerA, Limit: 1}
			for range 10 {
				rs, err := repo.List(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				if len(rs) == 0 {
					break
				}
				got = append(got, rs[0].ID)
				f.AfterCreate, f.AfterID = rs[0].CreateTime, rs[0].ID
			}
			if want := []string{reader.ID, legacy.ID, global.ID, user.ID}; !reflect.DeepEqual(got, want) {
				t.Errorf("paged %v, want %v", got, want)
			}
		})

		pair, err := repo.ForPair(ctx, partnerA, customerX)
		if err != nil || len(pair) != 2 {
			t.Fatalf("ForPair: %d, %v", len(pair), err)
		}
		for _, r := range pair {
			if r.PartnerID != partnerA || r.CustomerID != customerX {
				t.Errorf("ForPair returned %s/%s", r.PartnerID, r.CustomerID)
			}
		}
	})
}

// Two rows created in the same microsecond page by ID, so none is skipped or repeated.
func TestRepo_ListSameCreateTime(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		repo := open(t, dsn)
		var ids []string
		for range 3 {
			r := offerOf(partnerA, customerX, t0, roles(domain.RoleGlobalReader))
			add(t, repo, r)
			ids = append(ids, r.ID)
		}
		seen := map[string]bool{}
		f := app.ListFilter{PartnerID: partnerA, Limit: 2}
		for range 5 {
			rs, err := repo.List(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) == 0 {
				break
			}
			for _, r := range rs {
				if seen[r.ID] {
					t.Errorf("%s listed twice", r.ID)
				}
				seen[r.ID] = true
			}
			last := rs[len(rs)-1]
			f.AfterCreate, f.AfterID = last.CreateTime, last.ID
		}
		if len(seen) != 3 {
			t.Errorf("listed %d of 3", len(seen))
		}
		for _, id := range ids {
			if !seen[id] {
				t.Errorf("%s never listed", id)
			}
		}
	})
}
