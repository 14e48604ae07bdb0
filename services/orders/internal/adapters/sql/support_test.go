package sql_test

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/support"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

// supportRequest returns a request with every field set, opened by partner p1's agent about an
// order of customer c1 at created.
func supportRequest(id string, created time.Time) support.Request {
	return support.Request{
		ID: id, RequestID: "req-" + id, CustomerID: "c1", CustomerDomain: "contoso.onmicrosoft.com",
		PartnerID: "p1", OpenedByKind: auth.OrgPartner, OpenedBy: "u1", OrderID: "o1",
		RefundReason: support.ReasonCancellationWindowMissed, ReasonDetails: "missed the 7 days by one",
		Amount:  domain.Money{Minor: 12999, Currency: "EUR"},
		Contact: support.Contact{Name: "Jane Doe", Email: "jane@contoso.com", Phone: "+4930123456"},
		Title:   "Refund for Windows Server", State: support.StateOpen, Resolution: "", Version: 1,
		CreateTime: created, UpdateTime: created,
	}
}

// byCustomer is a request the customer c1's admin opened about a subscription.
func byCustomer(id string, created time.Time) support.Request {
	r := supportRequest(id, created)
	r.PartnerID, r.OpenedByKind, r.OpenedBy = "", auth.OrgCustomer, "cu1"
	r.OrderID, r.SubscriptionID = "", "s1"
	return r
}

func insertSupport(t *testing.T, s interface {
	InsertSupportRequest(context.Context, string, support.Request) (support.Request, bool, error)
}, scope string, rs ...support.Request) {
	t.Helper()
	for _, r := range rs {
		got, ok, err := s.InsertSupportRequest(context.Background(), scope, r)
		if err != nil || !ok {
			t.Fatalf("InsertSupportRequest(%s) = %v, %v", r.ID, ok, err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("InsertSupportRequest returned\n%+v\nwant\n%+v", got, r)
		}
	}
}

func ids(rs []support.Request) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// OR-6: every field survives a round trip on both engines; OR-7: a second insert of the same
// request (scope, request_id) stores nothing and returns the first.
func TestSupportRequests_InsertIdempotentByRequest_OR6_OR7(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		first := supportRequest("sr1", at(0))
		insertSupport(t, s, scope, first)

		again := supportRequest("sr2", at(time.Second))
		again.RequestID = first.RequestID
		got, inserted, err := s.InsertSupportRequest(ctx, scope, again)
		if err != nil || inserted || !reflect.DeepEqual(got, first) {
			t.Fatalf("second insert of the request = %+v, %v, %v; want the first, false", got, inserted, err)
		}
		// Another organisation's request ID is its own (the interceptor's scopes).
		other := supportRequest("sr3", at(2*time.Second))
		other.RequestID = first.RequestID
		insertSupport(t, s, "PARTNER:p2", other)

		if got, ok, err := s.SupportRequestOfRequest(ctx, scope, first.RequestID); err != nil || !ok || !reflect.DeepEqual(got, first) {
			t.Fatalf("SupportRequestOfRequest = %+v, %v, %v", got, ok, err)
		}
		if _, ok, err := s.SupportRequestOfRequest(ctx, "CUSTOMER:c1", first.RequestID); err != nil || ok {
			t.Fatalf("SupportRequestOfRequest(other scope) = %v, %v; want none", ok, err)
		}
		all, err := s.SupportRequests(ctx, support.Query{})
		if err != nil || !reflect.DeepEqual(ids(all), []string{"sr3", "sr1"}) {
			t.Fatalf("SupportRequests = %v, %v; want [sr3 sr1]", ids(all), err)
		}

		// The same support request ID twice is a bug of the caller: ALREADY_EXISTS.
		dup := supportRequest("sr1", at(3*time.Second))
		dup.RequestID = "req-other"
		if _, _, err := s.InsertSupportRequest(ctx, scope, dup); errs.KindOf(err) != errs.AlreadyExists {
			t.Fatalf("duplicate ID: err = %v; want ALREADY_EXISTS", err)
		}
	})
}

// OR-7: concurrent retries of one request open one support request, and all get it back.
func TestSupportRequests_ConcurrentRetries_OR7(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		s := open(t, dsn)
		const n = 8
		var wg sync.WaitGroup
		got := make([]support.Request, n)
		inserted := make([]bool, n)
		failures := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := supportRequest(fmt.Sprintf("sr%d", i), at(0))
				r.RequestID = "req-same"
				got[i], inserted[i], failures[i] = s.InsertSupportRequest(context.Background(), scope, r)
			}()
		}
		wg.Wait()
		winners := 0
		for i := range n {
			if failures[i] != nil {
				t.Fatalf("insert %d: %v", i, failures[i])
			}
			if inserted[i] {
				winners++
			}
			if got[i].ID != got[0].ID {
				t.Errorf("insert %d returned %s, insert 0 %s; want one request", i, got[i].ID, got[0].ID)
			}
		}
		if winners != 1 {
			t.Errorf("%d inserts stored a row; want 1", winners)
		}
	})
}

// The schema refuses a request about both an order and a subscription, a non-positive amount
// and a partner request without its partner (the rules the app enforces, kept by the database).
func TestSupportRequests_SchemaChecks(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		bad := map[string]func(r *support.Request){
			"order and subscription": func(r *support.Request) { r.SubscriptionID = "s1" },
			"neither":                func(r *support.Request) { r.OrderID = "" },
			"zero amount":            func(r *support.Request) { r.Amount.Minor = 0 },
			"partner without ID":     func(r *support.Request) { r.PartnerID = "" },
			"unknown state":          func(r *support.Request) { r.State = "CLOSED" },
			"unknown reason":         func(r *support.Request) { r.RefundReason = "BORED" },
		}
		for name, mutate := range bad {
			r := supportRequest("sr-"+name, at(0))
			mutate(&r)
			if _, _, err := s.InsertSupportRequest(ctx, scope, r); err == nil {
				t.Errorf("%s: inserted; want a constraint error", name)
			}
		}
	})
}

// ID-8 and the list filters: partner, customer, order, subscription, states, the time range;
// newest first, paged by keyset.
func TestSupportRequests_ListFiltersAndKeyset(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := open(t, dsn)
		a := supportRequest("a", at(0))
		b := byCustomer("b", at(time.Second))
		c := supportRequest("c", at(2*time.Second))
		c.PartnerID, c.CustomerID, c.OrderID, c.State = "p2", "c2", "o2", support.StateGranted
		// d and e share a creation time: the ID breaks the tie.
		d := supportRequest("d", at(3*time.Second))
		d.State = support.StateRefused
		e := supportRequest("e", at(3*time.Second))
		e.OrderID = "o3"
		insertSupport(t, s, scope, a, b, c, d, e)

		tests := []struct {
			name string
			q    support.Query
			want []string
		}{
			{"all", support.Query{}, []string{"e", "d", "c", "b", "a"}},
			{"partner p1", support.Query{PartnerID: "p1"}, []string{"e", "d", "a"}},
			{"customer c1", support.Query{CustomerID: "c1"}, []string{"e", "d", "b", "a"}},
			{"order o1", support.Query{OrderID: "o1"}, []string{"d", "a"}},
			{"subscription s1", support.Query{SubscriptionID: "s1"}, []string{"b"}},
			{"states", support.Query{States: []support.State{support.StateGranted, support.StateRefused}}, []string{"d", "c"}},
			{"from a+1s", support.Query{Start: at(time.Second)}, []string{"e", "d", "c", "b"}},
			{"before a+2s", support.Query{End: at(2 * time.Second)}, []string{"b", "a"}},
			{"limit", support.Query{Limit: 2}, []string{"e", "d"}},
			{"after e", support.Query{BeforeTime: at(3 * time.Second), BeforeID: "e", Limit: 2}, []string{"d", "c"}},
			{"after d, partner p1", support.Query{PartnerID: "p1", BeforeTime: at(3 * time.Second), BeforeID: "d"}, []string{"a"}},
			{"nothing", support.Query{PartnerID: "p9"}, []string{}},
		}
		for _, tt := range tests {
			got, err := s.SupportRequests(ctx, tt.q)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if !reflect.DeepEqual(ids(got), tt.want) {
				t.Errorf("%s: got %v, want %v", tt.name, ids(got), tt.want)
			}
		}
		got, err := s.SupportRequests(ctx, support.Query{SubscriptionID: "s1"})
		if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], b) {
			t.Fatalf("read back %+v, %v; want %+v", got, err, b)
		}
	})
}
