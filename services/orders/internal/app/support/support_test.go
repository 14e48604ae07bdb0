package support_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/support"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

// input is a valid request of partner A about its order for C1.
func input() support.CreateInput {
	return support.CreateInput{
		RequestID: uuid.NewString(), CustomerID: cust1, OrderID: orderA1,
		RefundReason: support.ReasonCancellationWindowMissed, ReasonDetails: "missed the window by a day",
		Amount:  domain.Money{Minor: 12999, Currency: "EUR"},
		Contact: support.Contact{Name: "Jane Doe", Email: "jane@contoso.com", Phone: "+4930123456"},
		Title:   "Refund Windows Server 2022",
	}
}

func wantErr(t *testing.T, err error, kind errs.Kind, reason errs.Reason) *errs.Error {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Kind != kind || e.Reason != reason {
		t.Fatalf("err = %v; want %v / %s", err, kind, reason)
	}
	return e
}

// OR-6, DA-4: a partner's Admin agent with an active delegated-admin relationship granting the
// support role opens a request for the customer; it is OPEN, names the partner and the resolved
// domain, and everything the request carried.
func TestCreate_WithDelegatedAdmin_Opens_DA4_OR6(t *testing.T) {
	h := newHarness()
	in := input()
	got, err := h.app.CreateSupportRequest(as(adminA), in)
	if err != nil {
		t.Fatal(err)
	}
	want := support.Request{ID: "5e5e5e5e-0000-4000-8000-000000000001", RequestID: in.RequestID,
		CustomerID: cust1, CustomerDomain: domain1, PartnerID: partnerA, OpenedByKind: auth.OrgPartner,
		OpenedBy: adminA.Subject, OrderID: orderA1, RefundReason: in.RefundReason, ReasonDetails: in.ReasonDetails,
		Amount: in.Amount, Contact: in.Contact, Title: in.Title, State: support.StateOpen, Version: 1,
		CreateTime: t0, UpdateTime: t0}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%+v\nwant\n%+v", got, want)
	}
	if !reflect.DeepEqual(h.da.calls, []string{partnerA + "/" + cust1 + "/SERVICE_SUPPORT_ADMINISTRATOR"}) {
		t.Errorf("delegatedadmin asked %v", h.da.calls)
	}
	if len(h.store.rows) != 1 || h.store.scopes["PARTNER:"+partnerA+"\x00"+in.RequestID] != got.ID {
		t.Errorf("stored %v under %v; want one row in the partner's idempotency scope", h.store.rows, h.store.scopes)
	}
}

// DA-4: the Helpdesk agent (beyond the seeds) opens requests with delegated admin too, also
// through a service acting on its behalf.
func TestCreate_HelpdeskAgent_DA4(t *testing.T) {
	h := newHarness()
	for _, p := range []auth.Principal{helpdeskA, obo(helpdeskA)} {
		got, err := h.app.CreateSupportRequest(as(p), input())
		if err != nil || got.PartnerID != partnerA || got.OpenedBy != helpdeskA.Subject {
			t.Errorf("%s: %+v, %v", p.Subject, got, err)
		}
	}
}

// DA-4: without an active relationship granting the support role the partner is refused with
// DELEGATED_ADMIN_REQUIRED and delegatedadmin's reason; nothing is stored, and a customer named
// by ID is not even looked up, so the refusal tells nothing about the tenant.
func TestCreate_WithoutDelegatedAdmin_Refused_DA4(t *testing.T) {
	for _, tc := range []struct {
		name     string
		caller   auth.Principal
		customer string
		order    string
		denial   string
	}{
		{"pending offer", adminB, cust1, orderB1, "PENDING"},
		{"role not granted", adminA, cust2, orderA2, "ROLE_NOT_GRANTED"},
		{"no relationship", adminA, cust9, orderA1, "NO_RELATIONSHIP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness()
			in := input()
			in.CustomerID, in.OrderID = tc.customer, tc.order
			_, err := h.app.CreateSupportRequest(as(tc.caller), in)
			e := wantErr(t, err, errs.PermissionDenied, support.ReasonDelegatedAdminRequired)
			if e.Metadata["denial_reason"] != tc.denial || e.Metadata["required_role"] != "SERVICE_SUPPORT_ADMINISTRATOR" {
				t.Errorf("metadata %v", e.Metadata)
			}
			if len(h.store.rows) != 0 || h.custs.count() != 0 {
				t.Errorf("stored %d rows, %d customer lookups; want none", len(h.store.rows), h.custs.count())
			}
		})
	}
}

// OR-6: the customer may be named by its default domain (any case); the request carries the
// resolved tenant ID. An unknown domain is RESOURCE_NOT_FOUND naming the domain; a known one
// without delegated admin is DELEGATED_ADMIN_REQUIRED.
func TestCreate_ByDomain_OR6(t *testing.T) {
	h := newHarness()
	in := input()
	in.CustomerID, in.CustomerDomain = "", "  Contoso.OnMicrosoft.com "
	got, err := h.app.CreateSupportRequest(as(adminA), in)
	if err != nil || got.CustomerID != cust1 || got.CustomerDomain != domain1 {
		t.Fatalf("by domain: %+v, %v", got, err)
	}

	in = input()
	in.CustomerID, in.CustomerDomain = "", "nobody.onmicrosoft.com"
	_, err = h.app.CreateSupportRequest(as(adminA), in)
	if e := wantErr(t, err, errs.NotFound, errs.ReasonResourceNotFound); e.Metadata["resource"] != "customer domain" ||
		e.Metadata["id"] != "nobody.onmicrosoft.com" {
		t.Errorf("metadata %v", e.Metadata)
	}

	in = input()
	in.CustomerID, in.CustomerDomain, in.OrderID = "", domain2, orderA2
	_, err = h.app.CreateSupportRequest(as(adminA), in)
	wantErr(t, err, errs.PermissionDenied, support.ReasonDelegatedAdminRequired)
}

// DA-4: without delegated admin only the customer may: its Global admin opens a request for its
// own tenant, about an order any partner placed for it, with no delegated-admin check and no
// partner on the request.
func TestCreate_CustomerOwnTenant_NoDelegatedAdminNeeded_DA4(t *testing.T) {
	h := newHarness()
	for _, tc := range []struct {
		name string
		in   func(*support.CreateInput)
	}{
		{"by ID, order of partner B", func(in *support.CreateInput) { in.OrderID = orderB1 }},
		{"by domain, direct subscription", func(in *support.CreateInput) {
			in.CustomerID, in.CustomerDomain, in.OrderID, in.SubscriptionID = "", domain1, "", subC1D
		}},
	} {
		in := input()
		tc.in(&in)
		got, err := h.app.CreateSupportRequest(as(custAdm1), in)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got.PartnerID != "" || got.OpenedByKind != auth.OrgCustomer || got.CustomerID != cust1 || got.CustomerDomain != domain1 {
			t.Errorf("%s: %+v", tc.name, got)
		}
	}
	if h.da.count() != 0 {
		t.Errorf("delegatedadmin asked %v; a customer needs no delegated admin", h.da.calls)
	}
}

// ID-8: a customer opens requests for its own tenant only: another tenant by ID or by domain is
// TENANT_MISMATCH.
func TestCreate_CustomerOtherTenant_TenantMismatch_ID8(t *testing.T) {
	h := newHarness()
	in := input()
	in.CustomerID = cust2
	_, err := h.app.CreateSupportRequest(as(custAdm1), in)
	wantErr(t, err, errs.PermissionDenied, errs.ReasonTenantMismatch)
	in = input()
	in.CustomerID, in.CustomerDomain = "", domain2
	_, err = h.app.CreateSupportRequest(as(custAdm1), in)
	wantErr(t, err, errs.PermissionDenied, errs.ReasonTenantMismatch)
	if len(h.store.rows) != 0 {
		t.Errorf("stored %v", h.store.rows)
	}
}

// OR-6, ID-8: the order must exist, be visible to the caller and be the customer's. Another
// partner's order is not found (its existence does not leak); the partner's own order of another
// customer is TENANT_MISMATCH; a customer never sees another tenant's order.
func TestCreate_OrderSubject_ID8(t *testing.T) {
	h := newHarness()
	for _, tc := range []struct {
		name   string
		caller auth.Principal
		order  string
		kind   errs.Kind
		reason errs.Reason
	}{
		{"unknown order", adminA, order9, errs.NotFound, errs.ReasonResourceNotFound},
		{"another partner's order", adminA, orderB1, errs.NotFound, errs.ReasonResourceNotFound},
		{"own order of another customer", adminA, orderA2, errs.PermissionDenied, errs.ReasonTenantMismatch},
		{"customer: another tenant's order", custAdm1, orderA2, errs.NotFound, errs.ReasonResourceNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := input()
			in.OrderID = tc.order
			_, err := h.app.CreateSupportRequest(as(tc.caller), in)
			wantErr(t, err, tc.kind, tc.reason)
		})
	}
}

// OR-6, SU-8, SU-16: a subscription of the customer counts whoever sold it (a direct purchase
// too); one of another customer is TENANT_MISMATCH only for its partner of record, who can see
// it, and not found for anyone else (ID-8).
func TestCreate_SubscriptionSubject_SU8_ID8(t *testing.T) {
	h := newHarness()
	for _, tc := range []struct {
		name   string
		caller auth.Principal
		sub    string
		kind   errs.Kind
		reason errs.Reason
	}{
		{"partner's own sale", adminA, subC1A, errs.Unknown, ""},
		{"direct purchase of the customer", adminA, subC1D, errs.Unknown, ""},
		{"own sale to another customer", adminA, subC2A, errs.PermissionDenied, errs.ReasonTenantMismatch},
		{"another partner's sale to another customer", adminA, subC2B, errs.NotFound, errs.ReasonResourceNotFound},
		{"unknown", adminA, sub9, errs.NotFound, errs.ReasonResourceNotFound},
		{"customer: another tenant's", custAdm1, subC2A, errs.NotFound, errs.ReasonResourceNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := input()
			in.OrderID, in.SubscriptionID = "", tc.sub
			got, err := h.app.CreateSupportRequest(as(tc.caller), in)
			if tc.kind == errs.Unknown {
				if err != nil || got.SubscriptionID != tc.sub || got.OrderID != "" {
					t.Fatalf("%+v, %v", got, err)
				}
				return
			}
			wantErr(t, err, tc.kind, tc.reason)
		})
	}
}

// OR-6: the request names tenant, subject, reason, amount and contact; every bad field is listed
// at once as a field violation of INVALID_REQUEST.
func TestCreate_Validation_OR6(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	for _, tc := range []struct {
		name   string
		in     func(*support.CreateInput)
		fields []string
	}{
		{"no request ID", func(in *support.CreateInput) { in.RequestID = "" }, []string{"request_id"}},
		{"no customer", func(in *support.CreateInput) { in.CustomerID = "" }, []string{"customer"}},
		{"both customer forms", func(in *support.CreateInput) { in.CustomerDomain = domain1 }, []string{"customer"}},
		{"customer not a UUID", func(in *support.CreateInput) { in.CustomerID = "c1" }, []string{"customer_id"}},
		{"domain without a dot", func(in *support.CreateInput) { in.CustomerID, in.CustomerDomain = "", "contoso" }, []string{"customer_domain"}},
		{"no subject", func(in *support.CreateInput) { in.OrderID = "" }, []string{"subject"}},
		{"both subjects", func(in *support.CreateInput) { in.SubscriptionID = subC1A }, []string{"subject"}},
		{"order not a UUID", func(in *support.CreateInput) { in.OrderID = "o1" }, []string{"order_id"}},
		{"subscription not a UUID", func(in *support.CreateInput) { in.OrderID, in.SubscriptionID = "", "s1" }, []string{"subscription_id"}},
		{"no reason", func(in *support.CreateInput) { in.RefundReason = "" }, []string{"refund_reason"}},
		{"unknown reason", func(in *support.CreateInput) { in.RefundReason = "BORED" }, []string{"refund_reason"}},
		{"OTHER without details", func(in *support.CreateInput) { in.RefundReason, in.ReasonDetails = support.ReasonOther, " " },
			[]string{"refund_reason_details"}},
		{"details too long", func(in *support.CreateInput) { in.ReasonDetails = long(2001) }, []string{"refund_reason_details"}},
		{"zero amount", func(in *support.CreateInput) { in.Amount.Minor = 0 }, []string{"amount_requested.amount_minor"}},
		{"negative amount", func(in *support.CreateInput) { in.Amount.Minor = -5 }, []string{"amount_requested.amount_minor"}},
		{"bad currency", func(in *support.CreateInput) { in.Amount.Currency = "eur" }, []string{"amount_requested.currency_code"}},
		{"no contact name", func(in *support.CreateInput) { in.Contact.Name = "" }, []string{"contact.name"}},
		{"no contact email", func(in *support.CreateInput) { in.Contact.Email = "" }, []string{"contact.email"}},
		{"bad email", func(in *support.CreateInput) { in.Contact.Email = "Jane <jane@contoso.com>" }, []string{"contact.email"}},
		{"bad phone", func(in *support.CreateInput) { in.Contact.Phone = "030 123456" }, []string{"contact.phone"}},
		{"phone with a leading 0", func(in *support.CreateInput) { in.Contact.Phone = "+0301234" }, []string{"contact.phone"}},
		{"phone of 16 digits", func(in *support.CreateInput) { in.Contact.Phone = "+1234567890123456" }, []string{"contact.phone"}},
		{"four-letter currency", func(in *support.CreateInput) { in.Amount.Currency = "EURO" }, []string{"amount_requested.currency_code"}},
		{"title too long", func(in *support.CreateInput) { in.Title = long(201) }, []string{"title"}},
		{"everything missing", func(in *support.CreateInput) { *in = support.CreateInput{} },
			[]string{"request_id", "customer", "subject", "refund_reason", "amount_requested.amount_minor",
				"amount_requested.currency_code", "contact.name", "contact.email"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness()
			in := input()
			tc.in(&in)
			_, err := h.app.CreateSupportRequest(as(adminA), in)
			e := wantErr(t, err, errs.InvalidArgument, errs.ReasonInvalidRequest)
			var fields []string
			for _, v := range e.Violations {
				fields = append(fields, v.Field)
			}
			if !reflect.DeepEqual(fields, tc.fields) {
				t.Errorf("violations %v; want %v", fields, tc.fields)
			}
			if h.da.count() != 0 || len(h.store.rows) != 0 {
				t.Errorf("a bad request reached delegatedadmin or the store")
			}
		})
	}
	// The limits themselves are allowed, and OTHER with details.
	h := newHarness()
	in := input()
	in.RefundReason, in.ReasonDetails, in.Title, in.Contact.Phone = support.ReasonOther, long(2000), long(200), "+123456789012345"
	if _, err := h.app.CreateSupportRequest(as(adminA), in); err != nil {
		t.Errorf("at the limits: %v", err)
	}
}

// The roles of the contract, each for its kind of organisation: a Sales agent, a plain customer
// user and a service acting for no one may not open requests.
func TestCreate_Roles(t *testing.T) {
	h := newHarness()
	for _, p := range []auth.Principal{salesA, accountA, custUser1, service} {
		_, err := h.app.CreateSupportRequest(as(p), input())
		wantErr(t, err, errs.PermissionDenied, errs.ReasonRoleRequired)
	}
	if _, err := h.app.CreateSupportRequest(context.Background(), input()); errs.KindOf(err) != errs.Unauthenticated {
		t.Errorf("no principal: %v", err)
	}
}

// OR-7: a retry with the same request_id returns the first request without asking anyone again
// (so a relationship ended in between does not turn the first answer into a refusal); the same
// ID with another request is REQUEST_ID_REUSED. Another organisation's same ID is its own.
func TestCreate_Retry_ReturnsFirst_OR7(t *testing.T) {
	h := newHarness()
	in := input()
	first, err := h.app.CreateSupportRequest(as(adminA), in)
	if err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Minute)
	h.da.err = errors.New("must not be asked")
	again, err := h.app.CreateSupportRequest(as(obo(adminA)), in)
	if err != nil || !reflect.DeepEqual(again, first) {
		t.Fatalf("retry = %+v, %v; want the first", again, err)
	}
	changed := in
	changed.Amount.Minor++
	_, err = h.app.CreateSupportRequest(as(adminA), changed)
	wantErr(t, err, errs.AlreadyExists, errs.ReasonRequestIDReused)

	h.da.err = nil
	mine, err := h.app.CreateSupportRequest(as(custAdm1), in)
	if err != nil || mine.ID == first.ID {
		t.Fatalf("the customer's own request with the same ID: %+v, %v", mine, err)
	}
}

// A peer or database failure is passed on with its kind (the server maps it: UNAVAILABLE is
// DEPENDENCY_UNAVAILABLE) and wrapped with what failed.
func TestCreate_DependencyFailures(t *testing.T) {
	down := errs.Unavailablef("down")
	for name, breakIt := range map[string]func(h *harness){
		"delegatedadmin": func(h *harness) { h.da.err = down },
		"identity":       func(h *harness) { h.custs.err = down },
		"subscriptions":  func(h *harness) { h.subs.err = down },
		"store":          func(h *harness) { h.store.err = down },
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness()
			breakIt(h)
			in := input()
			in.OrderID, in.SubscriptionID = "", subC1A
			_, err := h.app.CreateSupportRequest(as(adminA), in)
			if errs.KindOf(err) != errs.Unavailable || !errors.Is(err, down) {
				t.Fatalf("err = %v; want the UNAVAILABLE it got", err)
			}
		})
	}
}

// ID-8: a partner lists the requests it opened, a customer every request about its tenant
// (its own and its partners'), a service acting for no one everything; newest first.
func TestList_Visibility_ID8(t *testing.T) {
	h := newHarness()
	open := func(p auth.Principal, mutate func(*support.CreateInput)) support.Request {
		t.Helper()
		in := input()
		if mutate != nil {
			mutate(&in)
		}
		r, err := h.app.CreateSupportRequest(as(p), in)
		if err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(time.Second)
		return r
	}
	a1 := open(adminA, nil)
	c1 := open(custAdm1, func(in *support.CreateInput) { in.OrderID = orderB1 })
	c2 := open(custAdm2, func(in *support.CreateInput) { in.CustomerID, in.OrderID = cust2, orderA2 })
	a2 := open(helpdeskA, func(in *support.CreateInput) { in.OrderID, in.SubscriptionID = "", subC1D })

	for _, tc := range []struct {
		name   string
		caller auth.Principal
		want   []support.Request
	}{
		{"partner A's admin", adminA, []support.Request{a2, a1}},
		{"partner A's account admin", accountA, []support.Request{a2, a1}},
		{"partner A via a service", obo(helpdeskA), []support.Request{a2, a1}},
		{"partner B", adminB, nil},
		{"customer C1", custAdm1, []support.Request{a2, c1, a1}},
		{"customer C2", custAdm2, []support.Request{c2}},
		{"service", service, []support.Request{a2, c2, c1, a1}},
	} {
		got, next, err := h.app.ListSupportRequests(as(tc.caller), support.ListInput{})
		if err != nil || next != "" || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %v, %q, %v; want %v", tc.name, idsOf(got), next, err, idsOf(tc.want))
		}
	}
	// A customer filtering on another tenant is told so; a partner filtering on any customer
	// gets its own requests about it.
	_, _, err := h.app.ListSupportRequests(as(custAdm1), support.ListInput{CustomerID: cust2})
	wantErr(t, err, errs.PermissionDenied, errs.ReasonTenantMismatch)
	if got, _, err := h.app.ListSupportRequests(as(adminB), support.ListInput{CustomerID: cust1}); err != nil || len(got) != 0 {
		t.Errorf("partner B about C1: %v, %v; want none", idsOf(got), err)
	}
	for _, p := range []auth.Principal{salesA, custUser1} {
		_, _, err := h.app.ListSupportRequests(as(p), support.ListInput{})
		wantErr(t, err, errs.PermissionDenied, errs.ReasonRoleRequired)
	}
}

func idsOf(rs []support.Request) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

// The filters of the contract, and pages that follow each other by token; a token is bound to
// its caller and filters (INVALID_PAGE_TOKEN otherwise).
func TestList_FiltersAndPaging(t *testing.T) {
	h := newHarness()
	var all []support.Request
	for i := range 5 {
		in := input()
		if i%2 == 1 {
			in.OrderID, in.SubscriptionID = "", subC1A
		}
		r, err := h.app.CreateSupportRequest(as(adminA), in)
		if err != nil {
			t.Fatal(err)
		}
		all = append([]support.Request{r}, all...) // newest first
		h.clock.Advance(time.Hour)
	}
	// Billing support moved the oldest on.
	h.store.rows[0].State = support.StateGranted

	for _, tc := range []struct {
		name string
		in   support.ListInput
		want []string
	}{
		{"order", support.ListInput{OrderID: orderA1}, idsOf([]support.Request{all[0], all[2], all[4]})},
		{"subscription", support.ListInput{SubscriptionID: subC1A}, idsOf([]support.Request{all[1], all[3]})},
		{"customer", support.ListInput{CustomerID: cust1}, idsOf(all)},
		{"states", support.ListInput{States: []support.State{support.StateGranted, support.StateGranted}}, []string{all[4].ID}},
		{"open", support.ListInput{States: []support.State{support.StateOpen}}, idsOf(all[:4])},
		{"time range", support.ListInput{Start: t0.Add(time.Hour), End: t0.Add(3 * time.Hour)}, idsOf(all[2:4])},
	} {
		got, _, err := h.app.ListSupportRequests(as(adminA), tc.in)
		if err != nil || !reflect.DeepEqual(idsOf(got), tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.name, idsOf(got), err, tc.want)
		}
	}

	var pages [][]string
	token := ""
	for {
		got, next, err := h.app.ListSupportRequests(as(adminA), support.ListInput{PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, idsOf(got))
		if next == "" {
			break
		}
		token = next
		if len(pages) > 5 {
			t.Fatal("paging does not end")
		}
	}
	if want := [][]string{idsOf(all[:2]), idsOf(all[2:4]), idsOf(all[4:])}; !reflect.DeepEqual(pages, want) {
		t.Errorf("pages %v; want %v", pages, want)
	}

	_, token, _ = h.app.ListSupportRequests(as(adminA), support.ListInput{PageSize: 1})
	for name, call := range map[string]func() error{
		"another partner": func() error {
			_, _, err := h.app.ListSupportRequests(as(adminB), support.ListInput{PageSize: 1, PageToken: token})
			return err
		},
		"other filters": func() error {
			_, _, err := h.app.ListSupportRequests(as(adminA), support.ListInput{PageSize: 1, PageToken: token, OrderID: orderA1})
			return err
		},
		"garbage": func() error {
			_, _, err := h.app.ListSupportRequests(as(adminA), support.ListInput{PageToken: "!!"})
			return err
		},
	} {
		if err := call(); errs.ReasonOf(err) != errs.ReasonInvalidPageToken {
			t.Errorf("%s: %v; want INVALID_PAGE_TOKEN", name, err)
		}
	}
}

// Bad filters are INVALID_REQUEST with their fields; a negative page size too.
func TestList_Validation(t *testing.T) {
	h := newHarness()
	for _, tc := range []struct {
		in    support.ListInput
		field string
	}{
		{support.ListInput{CustomerID: "c1"}, "customer_id"},
		{support.ListInput{OrderID: "o1"}, "order_id"},
		{support.ListInput{SubscriptionID: "s1"}, "subscription_id"},
		{support.ListInput{States: []support.State{support.StateOpen, "CLOSED"}}, "states[1]"},
		{support.ListInput{Start: t0, End: t0}, "end_time"},
		{support.ListInput{PageSize: -1}, "page_size"},
	} {
		_, _, err := h.app.ListSupportRequests(as(adminA), tc.in)
		e := wantErr(t, err, errs.InvalidArgument, errs.ReasonInvalidRequest)
		if len(e.Violations) != 1 || e.Violations[0].Field != tc.field {
			t.Errorf("%+v: violations %v; want %s", tc.in, e.Violations, tc.field)
		}
	}
}
