// Package pbconv maps catalog's domain values to and from partnerhub.catalog.v1 messages. The
// gRPC port uses it for requests and responses, the cache decorator to store values in their
// compact wire form. No rules here: a value the contract does not know maps to a domain value
// the rules refuse.
package pbconv

import (
	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	"github.com/partnerhub/partnerhub/pkg/pbenum"
	"github.com/partnerhub/partnerhub/pkg/pbtime"
	"github.com/partnerhub/partnerhub/services/catalog/internal/domain"
)

// Enums map by name through pkg/pbenum ("PRODUCT_KIND_ONLINE_SERVICE" ⇄ "ONLINE_SERVICE").

// Kind maps a product kind.
func Kind(k catalogv1.ProductKind) domain.ProductKind {
	return pbenum.Name[domain.ProductKind](k, "PRODUCT_KIND_")
}

// KindPB maps a product kind.
func KindPB(k domain.ProductKind) catalogv1.ProductKind {
	return pbenum.Value[catalogv1.ProductKind](catalogv1.ProductKind_value, "PRODUCT_KIND_", k)
}

// Program maps a sales program.
func Program(p catalogv1.SalesProgram) domain.SalesProgram {
	return pbenum.Name[domain.SalesProgram](p, "SALES_PROGRAM_")
}

// ProgramPB maps a sales program.
func ProgramPB(p domain.SalesProgram) catalogv1.SalesProgram {
	return pbenum.Value[catalogv1.SalesProgram](catalogv1.SalesProgram_value, "SALES_PROGRAM_", p)
}

// Term maps a term.
func Term(t catalogv1.Term) domain.Term { return pbenum.Name[domain.Term](t, "TERM_") }

// TermPB maps a term.
func TermPB(t domain.Term) catalogv1.Term {
	return pbenum.Value[catalogv1.Term](catalogv1.Term_value, "TERM_", t)
}

// Plan maps a billing plan.
func Plan(p catalogv1.BillingPlan) domain.BillingPlan {
	return pbenum.Name[domain.BillingPlan](p, "BILLING_PLAN_")
}

// PlanPB maps a billing plan.
func PlanPB(p domain.BillingPlan) catalogv1.BillingPlan {
	return pbenum.Value[catalogv1.BillingPlan](catalogv1.BillingPlan_value, "BILLING_PLAN_", p)
}

// ProductPB maps a product.
func ProductPB(p domain.Product) *catalogv1.Product {
	out := &catalogv1.Product{
		ProductId: p.ID, DisplayName: p.DisplayName, Description: p.Description, Kind: KindPB(p.Kind),
		Publisher: p.Publisher, SkuCount: int32(p.SkuCount), Etag: p.Etag,
		CreateTime: pbtime.From(p.CreateTime), UpdateTime: pbtime.From(p.UpdateTime),
	}
	for _, sp := range p.SalesPrograms {
		out.SalesPrograms = append(out.SalesPrograms, ProgramPB(sp))
	}
	return out
}

// Product maps a product.
func Product(p *catalogv1.Product) domain.Product {
	out := domain.Product{
		ID: p.GetProductId(), DisplayName: p.GetDisplayName(), Description: p.GetDescription(),
		Kind: Kind(p.GetKind()), Publisher: p.GetPublisher(), SkuCount: int(p.GetSkuCount()), Etag: p.GetEtag(),
		CreateTime: pbtime.To(p.GetCreateTime()), UpdateTime: pbtime.To(p.GetUpdateTime()),
	}
	for _, sp := range p.GetSalesPrograms() {
		out.SalesPrograms = append(out.SalesPrograms, Program(sp))
	}
	return out
}

// AvailabilityPB maps a market list.
func AvailabilityPB(a domain.Availability) *catalogv1.MarketAvailability {
	return &catalogv1.MarketAvailability{
		Mode:         pbenum.Value[catalogv1.AvailabilityMode](catalogv1.AvailabilityMode_value, "AVAILABILITY_MODE_", a.Mode),
		CountryCodes: a.Countries,
	}
}

// Availability maps a market list.
func Availability(a *catalogv1.MarketAvailability) domain.Availability {
	return domain.Availability{
		Mode:      pbenum.Name[domain.AvailabilityMode](a.GetMode(), "AVAILABILITY_MODE_"),
		Countries: a.GetCountryCodes(),
	}
}

// SkuPB maps a SKU.
func SkuPB(s domain.Sku) *catalogv1.Sku {
	out := &catalogv1.Sku{
		SkuId: s.ID, ProductId: s.ProductID, ProductKind: KindPB(s.ProductKind), DisplayName: s.DisplayName,
		Description: s.Description,
		CancellationPolicy: &catalogv1.CancellationPolicy{
			Kind: pbenum.Value[catalogv1.CancellationPolicyKind](catalogv1.CancellationPolicyKind_value,
				"CANCELLATION_POLICY_KIND_", s.Cancellation.Kind),
			WindowDays: s.Cancellation.WindowDays,
		},
		AutorenewDefault: &catalogv1.AutoRenewDefault{
			Enabled: s.AutoRenew.Enabled, EffectiveFrom: pbtime.From(s.AutoRenew.EffectiveFrom), Renewable: s.AutoRenew.Renewable,
		},
		KeyType:                            pbenum.Value[catalogv1.KeyType](catalogv1.KeyType_value, "KEY_TYPE_", s.KeyType),
		InstallationInstructionsUrl:        s.InstallationInstructionsURL,
		MaximumQuantity:                    s.MaximumQuantity,
		Availability:                       AvailabilityPB(s.Availability),
		AzureHybridBenefitMaxSavingPercent: s.AHBMaxSavingPercent,
		Discontinued:                       s.Discontinued,
		DiscontinueTime:                    pbtime.From(s.DiscontinueTime),
		EquivalentSkuId:                    s.EquivalentSkuID,
		Etag:                               s.Etag,
		CreateTime:                         pbtime.From(s.CreateTime),
		UpdateTime:                         pbtime.From(s.UpdateTime),
	}
	for _, o := range s.TermOptions {
		t := &catalogv1.TermOption{Term: TermPB(o.Term)}
		for _, p := range o.Plans {
			t.BillingPlans = append(t.BillingPlans, PlanPB(p))
		}
		out.TermOptions = append(out.TermOptions, t)
	}
	for _, d := range s.DownloadVariants {
		out.DownloadVariants = append(out.DownloadVariants, &catalogv1.DownloadVariant{
			VariantId: d.ID, Version: d.Version, Language: d.Language, FileType: d.FileType,
			OperatingSystem: d.OperatingSystem, SizeBytes: d.SizeBytes,
		})
	}
	return out
}

// Sku maps a SKU.
func Sku(s *catalogv1.Sku) domain.Sku {
	out := domain.Sku{
		ID: s.GetSkuId(), ProductID: s.GetProductId(), ProductKind: Kind(s.GetProductKind()),
		DisplayName: s.GetDisplayName(), Description: s.GetDescription(),
		Cancellation: domain.CancellationPolicy{
			Kind:       pbenum.Name[domain.CancellationKind](s.GetCancellationPolicy().GetKind(), "CANCELLATION_POLICY_KIND_"),
			WindowDays: s.GetCancellationPolicy().GetWindowDays(),
		},
		AutoRenew: domain.AutoRenewDefault{
			Enabled:       s.GetAutorenewDefault().GetEnabled(),
			EffectiveFrom: pbtime.To(s.GetAutorenewDefault().GetEffectiveFrom()),
			Renewable:     s.GetAutorenewDefault().GetRenewable(),
		},
		KeyType:                     pbenum.Name[domain.KeyType](s.GetKeyType(), "KEY_TYPE_"),
		InstallationInstructionsURL: s.GetInstallationInstructionsUrl(),
		MaximumQuantity:             s.GetMaximumQuantity(),
		Availability:                Availability(s.GetAvailability()),
		AHBMaxSavingPercent:         s.GetAzureHybridBenefitMaxSavingPercent(),
		Discontinued:                s.GetDiscontinued(),
		DiscontinueTime:             pbtime.To(s.GetDiscontinueTime()),
		EquivalentSkuID:             s.GetEquivalentSkuId(),
		Etag:                        s.GetEtag(),
		CreateTime:                  pbtime.To(s.GetCreateTime()),
		UpdateTime:                  pbtime.To(s.GetUpdateTime()),
	}
	for _, o := range s.GetTermOptions() {
		t := domain.TermOption{Term: Term(o.GetTerm())}
		for _, p := range o.GetBillingPlans() {
			t.Plans = append(t.Plans, Plan(p))
		}
		out.TermOptions = append(out.TermOptions, t)
	}
	for _, d := range s.GetDownloadVariants() {
		out.DownloadVariants = append(out.DownloadVariants, domain.DownloadVariant{
			ID: d.GetVariantId(), Version: d.GetVersion(), Language: d.GetLanguage(), FileType: d.GetFileType(),
			OperatingSystem: d.GetOperatingSystem(), SizeBytes: d.GetSizeBytes(),
		})
	}
	return out
}

// MoneyPB maps an amount.
func MoneyPB(m domain.Money) *commonv1.Money {
	return &commonv1.Money{AmountMinor: m.AmountMinor, CurrencyCode: m.CurrencyCode}
}

// Money maps an amount.
func Money(m *commonv1.Money) domain.Money {
	return domain.Money{AmountMinor: m.GetAmountMinor(), CurrencyCode: m.GetCurrencyCode()}
}

// PricePB maps a price, with the derived fields: periods per term, term price, tax-inclusive
// (CA-4, BI-2).
func PricePB(p domain.Price) *catalogv1.Price {
	return &catalogv1.Price{
		SkuId: p.SkuID, CountryCode: p.CountryCode, Term: TermPB(p.Term), BillingPlan: PlanPB(p.Plan),
		BillingPeriodPrice:    MoneyPB(p.BillingPeriodPrice),
		BillingPeriodsPerTerm: p.PeriodsPerTerm(),
		TermPrice:             MoneyPB(p.TermPrice()),
		TaxInclusive:          p.TaxInclusive(),
		Etag:                  p.Etag,
		CreateTime:            pbtime.From(p.CreateTime),
		UpdateTime:            pbtime.From(p.UpdateTime),
	}
}

// Price maps a price (the derived fields are recomputed from the rest, never read).
func Price(p *catalogv1.Price) domain.Price {
	return domain.Price{
		PriceKey: domain.PriceKey{SkuID: p.GetSkuId(), CountryCode: p.GetCountryCode(),
			Term: Term(p.GetTerm()), Plan: Plan(p.GetBillingPlan())},
		BillingPeriodPrice: Money(p.GetBillingPeriodPrice()),
		Etag:               p.GetEtag(),
		CreateTime:         pbtime.To(p.GetCreateTime()),
		UpdateTime:         pbtime.To(p.GetUpdateTime()),
	}
}

// All maps every element of in with f: the list form of the mappers above, e.g.
// All(products, ProductPB).
func All[A, B any](in []A, f func(A) B) []B {
	if in == nil {
		return nil
	}
	out := make([]B, 0, len(in))
	for _, v := range in {
		out = append(out, f(v))
	}
	return out
}
