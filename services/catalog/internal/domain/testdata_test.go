package domain_test

import (
	"time"

	"github.com/partnerhub/partnerhub/services/catalog/internal/domain"
)

// Valid examples of every kind, which the tests break one field at a time.

func product(kind domain.ProductKind) domain.Product {
	return domain.Product{ID: "CFQ7TTC0LH18", DisplayName: "Microsoft 365 Business Basic", Kind: kind,
		Publisher: "Microsoft", SalesPrograms: []domain.SalesProgram{domain.ProgramCSPDirect, domain.ProgramOpen}}
}

func onlineSku() domain.Sku {
	return domain.Sku{
		ID: "CFQ7TTC0LH18:0001", ProductID: "CFQ7TTC0LH18", DisplayName: "Business Basic",
		TermOptions: []domain.TermOption{
			{Term: domain.TermP1M, Plans: []domain.BillingPlan{domain.PlanMonthly}},
			{Term: domain.TermP1Y, Plans: []domain.BillingPlan{domain.PlanMonthly, domain.PlanAnnual}},
		},
		Cancellation:    domain.CancellationPolicy{Kind: domain.CancelProratedRefundWindow, WindowDays: 7},
		AutoRenew:       domain.AutoRenewDefault{Enabled: true, Renewable: true},
		KeyType:         domain.KeyNone,
		MaximumQuantity: 300,
		Availability:    domain.Availability{Mode: domain.AllExceptListed},
	}
}

func softwareSubscriptionSku() domain.Sku {
	return domain.Sku{
		ID: "DG7GMGF0D7FV:0002", ProductID: "DG7GMGF0D7FV", DisplayName: "Windows Server 2022 Standard, 3 years",
		TermOptions: []domain.TermOption{
			{Term: domain.TermP1Y, Plans: []domain.BillingPlan{domain.PlanAnnual}},
			{Term: domain.TermP3Y, Plans: []domain.BillingPlan{domain.PlanAnnual, domain.PlanTriennial}},
		},
		Cancellation: domain.CancellationPolicy{Kind: domain.CancelProratedRefundWindow, WindowDays: 7},
		AutoRenew:    domain.AutoRenewDefault{Enabled: true, EffectiveFrom: time.Date(2021, 10, 14, 0, 0, 0, 0, time.UTC), Renewable: true},
		KeyType:      domain.KeyMAK,
		DownloadVariants: []domain.DownloadVariant{
			{ID: "2022-en-us-iso-x64", Version: "2022", Language: "en-US", FileType: "ISO", OperatingSystem: "Windows x64", SizeBytes: 5368709120},
		},
		MaximumQuantity:     1000,
		Availability:        domain.Availability{Mode: domain.AllExceptListed},
		AHBMaxSavingPercent: 40,
	}
}

func perpetualSku() domain.Sku {
	return domain.Sku{
		ID: "DG7GMGF0FKZV:0001", ProductID: "DG7GMGF0FKZV", DisplayName: "SQL Server 2022 Standard",
		TermOptions:     []domain.TermOption{{Term: domain.TermPerpetual, Plans: []domain.BillingPlan{domain.PlanOneTime}}},
		Cancellation:    domain.CancellationPolicy{Kind: domain.CancelFullCreditWindow, WindowDays: 30},
		KeyType:         domain.KeyMAK,
		MaximumQuantity: 100,
		Availability:    domain.Availability{Mode: domain.AllExceptListed},
	}
}

func softwarePlanSku() domain.Sku {
	return domain.Sku{
		ID: "RHEL00000001:0001", ProductID: "RHEL00000001", DisplayName: "Red Hat Enterprise Linux Server",
		TermOptions:     []domain.TermOption{{Term: domain.TermP1Y, Plans: []domain.BillingPlan{domain.PlanMonthly, domain.PlanAnnual}}},
		Cancellation:    domain.CancellationPolicy{Kind: domain.CancelNever},
		KeyType:         domain.KeyNone,
		MaximumQuantity: 100,
		Availability:    domain.Availability{Mode: domain.AllExceptListed},
	}
}

func reservationSku() domain.Sku {
	return domain.Sku{
		ID: "DZH318Z0BQ3Q:0001", ProductID: "DZH318Z0BQ3Q", DisplayName: "Azure Reservation D2s v5, 1 year",
		TermOptions:     []domain.TermOption{{Term: domain.TermP1Y, Plans: []domain.BillingPlan{domain.PlanMonthly, domain.PlanAnnual}}},
		Cancellation:    domain.CancellationPolicy{Kind: domain.CancelNever},
		KeyType:         domain.KeyNone,
		MaximumQuantity: 50,
		Availability:    domain.Availability{Mode: domain.AllExceptListed, Countries: []string{"AX", "CN", "MM"}},
	}
}

// markets serves a few countries with their currencies.
func markets(c string) (domain.Market, bool) {
	cur, ok := map[string]string{"US": "USD", "DE": "EUR", "AT": "EUR", "GB": "GBP", "AU": "AUD", "BR": "BRL",
		"JP": "JPY", "CN": "CNY", "MM": "USD", "AX": "EUR"}[c]
	return domain.Market{CountryCode: c, CurrencyCode: cur}, ok
}
