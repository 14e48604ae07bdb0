package app_test

import (
	"context"
	"slices"
	"testing"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/catalog/internal/app"
	"github.com/partnerhub/partnerhub/services/catalog/internal/domain"
)

func offerIDs(p app.OfferPage) []string {
	out := []string{}
	for _, o := range p.Offers {
		out = append(out, o.Sku.ID)
	}
	return out
}

// CA-3: a partner sees only the offers its programs allow, sold in the market (CA-2), not
// discontinued (CA-9), with the prices of that market for the terms and plans the SKU allows
// (CA-4, CA-5) and the programs that allow it.
func TestListPurchasableOffers_CA3(t *testing.T) {
	h := loaded(t)
	for _, c := range []struct {
		name string
		ctx  context.Context
		q    app.OffersQuery
		want []string
	}{
		{"CSP direct in DE", as(adminDirect), app.OffersQuery{Country: "DE"}, []string{basic, winServer, azureRes}},
		{"CSP direct in CN (CA-2)", as(adminDirect), app.OffersQuery{Country: "CN"}, []string{basic, winServer}},
		{"Open in DE", as(salesOpen), app.OffersQuery{Country: "DE"}, []string{winServer, sqlPerp}},
		{"Open in US (only listed markets)", as(salesOpen), app.OffersQuery{Country: "US"}, []string{winServer}},
		{"no sales program", as(salesNone), app.OffersQuery{Country: "DE"}, []string{}},
		{"a service for a partner user", onBehalfOf(salesOpen), app.OffersQuery{Country: "DE"}, []string{winServer, sqlPerp}},
		{"of a kind", as(adminDirect), app.OffersQuery{Country: "DE", Kind: domain.KindSoftwareSubscription}, []string{winServer}},
		{"of a product", as(adminDirect), app.OffersQuery{Country: "DE", ProductID: "CFQ7TTC0LH18"}, []string{basic}},
		{"for a customer: its country (ID-4)", as(adminDirect), app.OffersQuery{CustomerID: customerDE}, []string{basic, winServer, azureRes}},
	} {
		t.Run(c.name, func(t *testing.T) {
			page, err := h.app.ListPurchasableOffers(c.ctx, c.q)
			if err != nil || !slices.Equal(offerIDs(page), c.want) {
				t.Errorf("%v %v, want %v", offerIDs(page), err, c.want)
			}
		})
	}

	page, err := h.app.ListPurchasableOffers(as(adminDirect), app.OffersQuery{CustomerID: customerDE, ProductID: "CFQ7TTC0LH18"})
	if err != nil || page.Country != "DE" || len(page.Offers) != 1 {
		t.Fatalf("%+v %v", page, err)
	}
	o := page.Offers[0]
	if o.Product.ID != "CFQ7TTC0LH18" || !slices.Equal(o.Via, []domain.SalesProgram{domain.ProgramCSPDirect}) {
		t.Errorf("offer %+v via %v", o.Product, o.Via)
	}
	// The DE prices in the SKU's term order: P1M monthly, then P1Y annual (no P1Y monthly in DE).
	var got []string
	for _, p := range o.Prices {
		got = append(got, string(p.Term)+"/"+string(p.Plan)+"/"+p.CountryCode)
	}
	if want := []string{"P1M/MONTHLY/DE", "P1Y/ANNUAL/DE"}; !slices.Equal(got, want) {
		t.Errorf("prices %v, want %v", got, want)
	}
}

// Offers page by SKU ID; a token belongs to its query and its partner.
func TestListPurchasableOffers_Paging(t *testing.T) {
	h := loaded(t)
	var ids []string
	token := ""
	for {
		page, err := h.app.ListPurchasableOffers(as(adminDirect), app.OffersQuery{Country: "DE", PageSize: 1, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, offerIDs(page)...)
		if token = page.NextPageToken; token == "" {
			break
		}
	}
	if want := []string{basic, winServer, azureRes}; !slices.Equal(ids, want) {
		t.Errorf("paged %v, want %v", ids, want)
	}
	first, _ := h.app.ListPurchasableOffers(as(adminDirect), app.OffersQuery{Country: "DE", PageSize: 1})
	_, err := h.app.ListPurchasableOffers(as(salesOpen), app.OffersQuery{Country: "DE", PageSize: 1, PageToken: first.NextPageToken})
	wantErr(t, err, errs.InvalidArgument, errs.ReasonInvalidPageToken)
}

// Who may list, and what a partner learns about customers (ID-8): an unknown customer and
// another partner's look the same (RESOURCE_NOT_FOUND); only a customer the partner had a
// relationship with gets TENANT_MISMATCH, since the partner knows it exists.
func TestListPurchasableOffers_ID8_Refusals(t *testing.T) {
	h := loaded(t)
	_, err := h.app.ListPurchasableOffers(as(adminDirect), app.OffersQuery{CustomerID: customerOther})
	e := wantErr(t, err, errs.NotFound, errs.ReasonResourceNotFound)
	_, err = h.app.ListPurchasableOffers(as(adminDirect), app.OffersQuery{CustomerID: "12345678-0000-4000-8000-000000000000"})
	e2 := wantErr(t, err, errs.NotFound, errs.ReasonResourceNotFound)
	if e.Metadata["resource"] != "customer" || e2.Metadata["resource"] != "customer" {
		t.Errorf("another partner's customer and no customer answer differently: %v / %v", e, e2)
	}
	_, err = h.app.ListPurchasableOffers(as(adminDirect), app.OffersQuery{CustomerID: customerMoved})
	wantErr(t, err, errs.PermissionDenied, errs.ReasonTenantMismatch)
	_, err = h.app.ListPurchasableOffers(as(adminDirect), app.OffersQuery{CustomerID: customerFR})
	wantErr(t, err, errs.FailedPrecondition, domain.ReasonCountryNotSupported)
	_, err = h.app.ListPurchasableOffers(as(adminDirect), app.OffersQuery{Country: "FR"})
	wantErr(t, err, errs.FailedPrecondition, domain.ReasonCountryNotSupported)

	// A service on its own account sells nothing: it must act for a partner user.
	_, err = h.app.ListPurchasableOffers(asService(), app.OffersQuery{Country: "DE"})
	wantErr(t, err, errs.PermissionDenied, errs.ReasonRoleRequired)
	_, err = h.app.ListPurchasableOffers(as(billing), app.OffersQuery{Country: "DE"})
	wantErr(t, err, errs.PermissionDenied, errs.ReasonRoleRequired)
	_, err = h.app.ListPurchasableOffers(onBehalfOf(customerGA), app.OffersQuery{Country: "DE"})
	wantErr(t, err, errs.PermissionDenied, errs.ReasonRoleRequired)

	_, err = h.app.ListPurchasableOffers(as(adminDirect), app.OffersQuery{})
	wantFields(t, err, errs.ReasonInvalidRequest, "customer_id")
	_, err = h.app.ListPurchasableOffers(as(adminDirect), app.OffersQuery{CustomerID: "not-a-uuid", Kind: "X", ProductID: "p"})
	wantFields(t, err, errs.ReasonInvalidRequest, "customer_id", "kind", "product_id")
	_, err = h.app.ListPurchasableOffers(as(adminDirect), app.OffersQuery{Country: "de"})
	wantFields(t, err, errs.ReasonInvalidRequest, "country_code")
	h.markets.fail(errs.Unavailablef("identity does not answer"))
	_, err = h.app.ListPurchasableOffers(as(adminDirect), app.OffersQuery{Country: "DE"})
	wantErr(t, err, errs.Unavailable, errs.ReasonDependencyUnavailable)
}
