package pbconv_test

import (
	"reflect"
	"testing"
	"time"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	"github.com/partnerhub/partnerhub/services/catalog/internal/domain"
	"github.com/partnerhub/partnerhub/services/catalog/internal/pbconv"
)

// Every domain enum value has its contract value and back; UNSPECIFIED is "", an unknown number
// maps to a value the rules refuse.
func TestEnums_RoundTrip(t *testing.T) {
	for _, k := range domain.ProductKinds() {
		if pb := pbconv.KindPB(k); pb == 0 || pbconv.Kind(pb) != k {
			t.Errorf("kind %s ⇄ %v", k, pb)
		}
	}
	for _, p := range domain.SalesPrograms() {
		if pb := pbconv.ProgramPB(p); pb == 0 || pbconv.Program(pb) != p {
			t.Errorf("program %s ⇄ %v", p, pb)
		}
	}
	for _, x := range domain.Terms() {
		if pb := pbconv.TermPB(x); pb == 0 || pbconv.Term(pb) != x {
			t.Errorf("term %s ⇄ %v", x, pb)
		}
	}
	for _, p := range domain.BillingPlans() {
		if pb := pbconv.PlanPB(p); pb == 0 || pbconv.Plan(pb) != p {
			t.Errorf("plan %s ⇄ %v", p, pb)
		}
	}
	if pbconv.Kind(catalogv1.ProductKind_PRODUCT_KIND_UNSPECIFIED) != "" || pbconv.Kind(99).Valid() {
		t.Error("UNSPECIFIED or unknown kinds")
	}
}

// A SKU and a price survive the trip to the contract and back (the cache stores them so).
func TestSkuAndPrice_RoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 1, 8, 30, 0, 123456000, time.UTC)
	s := domain.Sku{ID: "DG7GMGF0D7FV:0001", ProductID: "DG7GMGF0D7FV", ProductKind: domain.KindSoftwareSubscription,
		DisplayName: "Windows Server", Description: "16 core",
		TermOptions:  []domain.TermOption{{Term: domain.TermP3Y, Plans: []domain.BillingPlan{domain.PlanAnnual, domain.PlanTriennial}}},
		Cancellation: domain.CancellationPolicy{Kind: domain.CancelProratedRefundWindow, WindowDays: 7},
		AutoRenew:    domain.AutoRenewDefault{Enabled: true, EffectiveFrom: domain.AutoRenewCutoff(), Renewable: true},
		KeyType:      domain.KeyMAK,
		DownloadVariants: []domain.DownloadVariant{{ID: "2022-en-us-iso-x64", Version: "2022", Language: "en-US", FileType: "ISO",
			OperatingSystem: "Windows x64", SizeBytes: 5368709120}},
		InstallationInstructionsURL: "https://learn.example/esu", MaximumQuantity: 1000,
		Availability:        domain.Availability{Mode: domain.AllExceptListed, Countries: []string{"CN", "MM"}},
		AHBMaxSavingPercent: 40, Discontinued: true, DiscontinueTime: at, EquivalentSkuID: "DG7GMGF0D7FV:0002",
		Etag: "e1", CreateTime: at, UpdateTime: at.Add(time.Hour)}
	if got := pbconv.Sku(pbconv.SkuPB(s)); !reflect.DeepEqual(got, s) {
		t.Errorf("SKU\n%+v\nwant\n%+v", got, s)
	}
	p := domain.Price{PriceKey: domain.PriceKey{SkuID: s.ID, CountryCode: "BR", Term: domain.TermP3Y, Plan: domain.PlanAnnual},
		BillingPeriodPrice: domain.Money{AmountMinor: 520000, CurrencyCode: "BRL"}, Etag: "e2", CreateTime: at, UpdateTime: at}
	pb := pbconv.PricePB(p)
	if got := pbconv.Price(pb); !reflect.DeepEqual(got, p) {
		t.Errorf("price\n%+v\nwant\n%+v", got, p)
	}
	if pb.GetBillingPeriodsPerTerm() != 3 || pb.GetTermPrice().GetAmountMinor() != 1560000 || !pb.GetTaxInclusive() {
		t.Errorf("derived fields %v", pb)
	}
	pr := domain.Product{ID: "DG7GMGF0D7FV", DisplayName: "Windows Server", Kind: domain.KindSoftwareSubscription, Publisher: "Microsoft",
		SalesPrograms: []domain.SalesProgram{domain.ProgramCSPDirect, domain.ProgramOpen}, SkuCount: 2, Etag: "e3", CreateTime: at, UpdateTime: at}
	if got := pbconv.Product(pbconv.ProductPB(pr)); !reflect.DeepEqual(got, pr) {
		t.Errorf("product\n%+v\nwant\n%+v", got, pr)
	}
}
