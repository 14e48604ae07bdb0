package domain

import "time"

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func eur(m int64) Money { return Money{Minor: m, Currency: "EUR"} }

func perpetualLine(id string) OrderLine {
	return OrderLine{ID: id, SkuID: "DG7GMGF0D7FV:0002", Kind: KindPerpetualSoftware, Quantity: 2,
		Term: TermPerpetual, Plan: PlanOneTime, KeyType: KeyMAK, HasDownloads: true,
		UnitPeriodPrice: eur(50000), UnitTermPrice: eur(50000), Policy: PolicyFullCreditWindow,
		WindowDays: 30, State: LineProvisioned, SubscriptionID: "sub-" + id, EntitlementID: "ent-" + id,
		ChargeID: "chg-" + id}
}

func onlineLine(id string) OrderLine {
	return OrderLine{ID: id, SkuID: "CFQ7TTC0LH18:0001", Kind: KindOnlineService, Quantity: 10,
		Term: TermP1Y, Plan: PlanMonthly, KeyType: KeyNone, UnitPeriodPrice: eur(1050),
		UnitTermPrice: eur(12600), Policy: PolicyProratedRefundWindow, WindowDays: 7,
		State: LineProvisioned, SubscriptionID: "sub-" + id, ChargeID: "chg-" + id}
}

func planLine_(id string) OrderLine {
	l := onlineLine(id)
	l.Kind, l.Policy, l.WindowDays = KindSoftwarePlan, PolicyNever, 0
	return l
}

func completedOrder(lines ...OrderLine) Order {
	return Order{ID: "ord-1", PartnerID: "p-1", CustomerID: "c-1", State: OrderCompleted,
		Lines: lines, Version: 3, CreateTime: t0}
}
