package app_test

import (
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	"github.com/partnerhub/partnerhub/services/catalog/internal/domain"
)

func newProduct() domain.Product {
	return domain.Product{ID: "RHEL00000001", DisplayName: "Red Hat Enterprise Linux", Kind: domain.KindSoftwarePlan,
		Publisher: "Red Hat", SalesPrograms: []domain.SalesProgram{domain.ProgramCSPIndirectReseller}}
}

func newSku() domain.Sku {
	return domain.Sku{ID: "RHEL00000001:0001", ProductID: "RHEL00000001", DisplayName: "RHEL Server",
		TermOptions:     []domain.TermOption{{Term: domain.TermP1Y, Plans: []domain.BillingPlan{domain.PlanAnnual}}},
		Cancellation:    domain.CancellationPolicy{Kind: domain.CancelNever},
		KeyType:         domain.KeyNone,
		MaximumQuantity: 100,
		Availability:    domain.Availability{Mode: domain.OnlyListed, Countries: []string{"US", "DE"}},
	}
}

// UpsertProduct creates, then replaces; an etag guards it; a product with SKUs keeps its kind
// (CA-1, CA-10).
func TestUpsertProduct(t *testing.T) {
	h := loaded(t)
	ctx := asService()
	p, created, err := h.app.UpsertProduct(ctx, newProduct())
	if err != nil || !created || p.Etag == "" || !p.CreateTime.Equal(t0) {
		t.Fatalf("create: %+v %v %v", p, created, err)
	}
	again, created, err := h.app.UpsertProduct(ctx, newProduct())
	if err != nil || created || again.Etag != p.Etag {
		t.Errorf("same content: %+v %v %v", again, created, err)
	}
	h.clock.Advance(time.Hour)
	in := newProduct()
	in.DisplayName, in.Etag = "RHEL", p.Etag
	upd, created, err := h.app.UpsertProduct(ctx, in)
	if err != nil || created || upd.Etag == p.Etag || !upd.UpdateTime.Equal(t0.Add(time.Hour)) {
		t.Errorf("update: %+v %v %v", upd, created, err)
	}
	if got, _ := h.app.GetProduct(ctx, in.ID); got.DisplayName != "RHEL" {
		t.Errorf("read after update: %+v", got)
	}
	_, _, err = h.app.UpsertProduct(ctx, in) // in.Etag is now stale
	wantErr(t, err, errs.Aborted, errs.ReasonEtagMismatch)

	m365, _ := h.app.GetProduct(ctx, "CFQ7TTC0LH18")
	m365.Kind, m365.Etag = domain.KindSoftwarePlan, ""
	_, _, err = h.app.UpsertProduct(ctx, m365)
	wantFields(t, err, errs.ReasonInvalidRequest, "product.kind")
	_, _, err = h.app.UpsertProduct(ctx, domain.Product{ID: "x"})
	wantFields(t, err, errs.ReasonInvalidRequest, "product.product_id", "product.display_name", "product.kind", "product.publisher", "product.sales_programs")
	_, _, err = h.app.UpsertProduct(onBehalfOf(adminDirect), newProduct())
	if err != nil {
		t.Errorf("a service acting for someone is still a service: %v", err)
	}
	_, _, err = h.app.UpsertProduct(as(adminDirect), newProduct())
	wantErr(t, err, errs.PermissionDenied, errs.ReasonServiceTokenRequired)
}

// UpsertSku: its product must exist; the product's kind decides the rules; a KMS key is refused
// (CA-8); the stored availability and discontinuation are kept.
func TestUpsertSku_CA8_KeepsMarketsAndDiscontinuation(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn)
		ctx := asService()
		_, _, err := h.app.UpsertSku(ctx, newSku())
		wantErr(t, err, errs.NotFound, errs.ReasonResourceNotFound)
		if _, _, err := h.app.UpsertProduct(ctx, newProduct()); err != nil {
			t.Fatal(err)
		}
		s, created, err := h.app.UpsertSku(ctx, newSku())
		if err != nil || !created || s.ProductKind != domain.KindSoftwarePlan || s.Availability.Countries[0] != "DE" {
			t.Fatalf("create: %+v %v %v", s, created, err)
		}
		if p, _ := h.app.GetProduct(ctx, s.ProductID); p.SkuCount != 1 {
			t.Errorf("product SKU count %d after a new SKU", p.SkuCount)
		}
		in := newSku()
		in.MaximumQuantity = 50
		in.Availability = domain.Availability{Mode: domain.AllExceptListed}
		in.Discontinued, in.EquivalentSkuID = true, "CFQ7TTC0LH18:0001"
		upd, created, err := h.app.UpsertSku(ctx, in)
		if err != nil || created || upd.MaximumQuantity != 50 || upd.Availability.Mode != domain.OnlyListed || upd.Discontinued {
			t.Errorf("update: %+v %v %v", upd, created, err)
		}
		if got, _ := h.app.GetSku(ctx, in.ID); got.MaximumQuantity != 50 || got.Etag != upd.Etag {
			t.Errorf("read after update: %+v", got)
		}

		kms := newSku()
		kms.KeyType = "3" // a key type the contract does not have: the only other is KMS
		_, _, err = h.app.UpsertSku(ctx, kms)
		wantErr(t, err, errs.FailedPrecondition, domain.ReasonKMSNotAllowed)
		kms.KeyType = domain.KeyKMS
		_, _, err = h.app.UpsertSku(ctx, kms)
		wantErr(t, err, errs.FailedPrecondition, domain.ReasonKMSNotAllowed)

		bad := newSku()
		bad.Cancellation = domain.CancellationPolicy{Kind: domain.CancelProratedRefundWindow, WindowDays: 7}
		_, _, err = h.app.UpsertSku(ctx, bad)
		wantFields(t, err, errs.ReasonInvalidRequest, "sku.cancellation_policy.kind") // CA-10
		bad = newSku()
		bad.ID = "CFQ7TTC0LH18:0001"
		_, _, err = h.app.UpsertSku(ctx, bad)
		wantFields(t, err, errs.ReasonInvalidRequest, "sku.sku_id")
		bad = newSku()
		bad.Etag = "stale"
		_, _, err = h.app.UpsertSku(ctx, bad)
		wantErr(t, err, errs.Aborted, errs.ReasonEtagMismatch)
	})
}

// SetAvailability replaces a SKU's markets (CA-2), visible at once.
func TestSetAvailability_CA2(t *testing.T) {
	h := loaded(t)
	ctx := asService()
	if a, _ := h.app.CheckAvailability(ctx, basic, "CN"); !a.Available {
		t.Fatal("sold in CN at first")
	}
	s, err := h.app.SetAvailability(ctx, basic, domain.Availability{Mode: domain.AllExceptListed, Countries: []string{"MM", "CN"}}, "")
	if err != nil || len(s.Availability.Countries) != 2 || s.Availability.Countries[0] != "CN" {
		t.Fatalf("SetAvailability: %+v %v", s, err)
	}
	if a, _ := h.app.CheckAvailability(ctx, basic, "CN"); a.Reason != domain.ReasonMarketNotAvailable {
		t.Errorf("after SetAvailability: %+v", a)
	}
	_, err = h.app.SetAvailability(ctx, basic, domain.Availability{Mode: domain.OnlyListed}, "")
	wantFields(t, err, errs.ReasonInvalidRequest, "availability.country_codes")
	_, err = h.app.SetAvailability(ctx, basic, domain.Availability{Mode: domain.OnlyListed, Countries: []string{"DE"}}, "stale")
	wantErr(t, err, errs.Aborted, errs.ReasonEtagMismatch)
	_, err = h.app.SetAvailability(ctx, "CFQ7TTC0LH18:0099", domain.Availability{Mode: domain.AllExceptListed}, "")
	wantErr(t, err, errs.NotFound, errs.ReasonResourceNotFound)
}

// DiscontinueSku (CA-9): an equivalent is required, not the SKU itself, must exist and be sold;
// the same equivalent again is a no-op, another one replaces it.
func TestDiscontinueSku_CA9(t *testing.T) {
	h := loaded(t)
	ctx := asService()
	_, err := h.app.DiscontinueSku(ctx, winServer, "", "")
	wantFields(t, err, errs.ReasonInvalidRequest, "equivalent_sku_id")
	_, err = h.app.DiscontinueSku(ctx, winServer, winServer, "")
	wantFields(t, err, errs.ReasonInvalidRequest, "equivalent_sku_id")
	_, err = h.app.DiscontinueSku(ctx, winServer, "DG7GMGF0D7FV:0099", "")
	wantErr(t, err, errs.NotFound, errs.ReasonResourceNotFound)
	_, err = h.app.DiscontinueSku(ctx, winServer, retired, "")
	wantFields(t, err, errs.ReasonInvalidRequest, "equivalent_sku_id")
	_, err = h.app.DiscontinueSku(ctx, "DG7GMGF0D7FV:0099", basic, "")
	wantErr(t, err, errs.NotFound, errs.ReasonResourceNotFound)
	_, err = h.app.DiscontinueSku(ctx, winServer, basic, "stale")
	wantErr(t, err, errs.Aborted, errs.ReasonEtagMismatch)

	before, _ := h.app.GetSku(ctx, winServer) // cached
	h.clock.Advance(time.Hour)
	d, err := h.app.DiscontinueSku(ctx, winServer, basic, before.Etag)
	if err != nil || !d.Discontinued || d.EquivalentSkuID != basic || !d.DiscontinueTime.Equal(t0.Add(time.Hour)) {
		t.Fatalf("discontinue: %+v %v", d, err)
	}
	if got, _ := h.app.GetSku(ctx, winServer); !got.Discontinued {
		t.Errorf("GetSku after DiscontinueSku: %+v", got)
	}
	if a, _ := h.app.CheckAvailability(ctx, winServer, "DE"); a.Reason != domain.ReasonSkuDiscontinued || a.Equivalent != basic {
		t.Errorf("availability: %+v", a)
	}
	h.clock.Advance(time.Hour)
	same, err := h.app.DiscontinueSku(ctx, winServer, basic, "")
	if err != nil || same.Etag != d.Etag {
		t.Errorf("same equivalent: %+v %v", same, err)
	}
	other, err := h.app.DiscontinueSku(ctx, winServer, sqlPerp, "")
	if err != nil || other.EquivalentSkuID != sqlPerp || !other.DiscontinueTime.Equal(d.DiscontinueTime) {
		t.Errorf("another equivalent: %+v %v", other, err)
	}
	// A discontinued SKU cannot become the equivalent of the SKU it points to: no loops (CA-9).
	_, err = h.app.DiscontinueSku(ctx, sqlPerp, winServer, "")
	wantFields(t, err, errs.ReasonInvalidRequest, "equivalent_sku_id")
}
