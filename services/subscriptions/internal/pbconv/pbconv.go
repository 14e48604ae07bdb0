// Package pbconv maps the subscriptions domain to and from partnerhub.subscriptions.v1 messages.
// No rules here: the figures a message shows beyond the stored subscription (lifecycle dates,
// cancellation window, refundable seats) come from the domain's functions.
package pbconv

import (
	"slices"
	"time"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	subscriptionsv1 "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/pbenum"
	"github.com/partnerhub/partnerhub/pkg/pbtime"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
)

// State maps a state.
func State(s subscriptionsv1.SubscriptionState) domain.State {
	return pbenum.Name[domain.State](s, "SUBSCRIPTION_STATE_")
}

// StatePB maps a state.
func StatePB(s domain.State) subscriptionsv1.SubscriptionState {
	return pbenum.Value[subscriptionsv1.SubscriptionState](subscriptionsv1.SubscriptionState_value, "SUBSCRIPTION_STATE_", s)
}

// Channel maps a channel.
func Channel(c subscriptionsv1.Channel) domain.Channel {
	return pbenum.Name[domain.Channel](c, "CHANNEL_")
}

// ChannelPB maps a channel.
func ChannelPB(c domain.Channel) subscriptionsv1.Channel {
	return pbenum.Value[subscriptionsv1.Channel](subscriptionsv1.Channel_value, "CHANNEL_", c)
}

// Kind maps a product kind.
func Kind(k subscriptionsv1.ProductKind) domain.ProductKind {
	return pbenum.Name[domain.ProductKind](k, "PRODUCT_KIND_")
}

// KindPB maps a product kind.
func KindPB(k domain.ProductKind) subscriptionsv1.ProductKind {
	return pbenum.Value[subscriptionsv1.ProductKind](subscriptionsv1.ProductKind_value, "PRODUCT_KIND_", k)
}

// Plan maps a billing plan.
func Plan(p subscriptionsv1.BillingPlan) domain.BillingPlan {
	return pbenum.Name[domain.BillingPlan](p, "BILLING_PLAN_")
}

// PlanPB maps a billing plan.
func PlanPB(p domain.BillingPlan) subscriptionsv1.BillingPlan {
	return pbenum.Value[subscriptionsv1.BillingPlan](subscriptionsv1.BillingPlan_value, "BILLING_PLAN_", p)
}

// Policy maps a cancellation policy.
func Policy(p subscriptionsv1.CancellationPolicy) domain.CancellationPolicy {
	return pbenum.Name[domain.CancellationPolicy](p, "CANCELLATION_POLICY_")
}

// PolicyPB maps a cancellation policy.
func PolicyPB(p domain.CancellationPolicy) subscriptionsv1.CancellationPolicy {
	return pbenum.Value[subscriptionsv1.CancellationPolicy](subscriptionsv1.CancellationPolicy_value, "CANCELLATION_POLICY_", p)
}

// EventType maps an event type.
func EventType(t subscriptionsv1.SubscriptionEventType) domain.EventType {
	return pbenum.Name[domain.EventType](t, "SUBSCRIPTION_EVENT_TYPE_")
}

// EventTypePB maps an event type.
func EventTypePB(t domain.EventType) subscriptionsv1.SubscriptionEventType {
	return pbenum.Value[subscriptionsv1.SubscriptionEventType](subscriptionsv1.SubscriptionEventType_value, "SUBSCRIPTION_EVENT_TYPE_", t)
}

// Money maps an amount; nil is the zero amount without a currency.
func Money(m *commonv1.Money) domain.Money {
	return domain.Money{Minor: m.GetAmountMinor(), Currency: m.GetCurrencyCode()}
}

// MoneyPB maps an amount.
func MoneyPB(m domain.Money) *commonv1.Money {
	return &commonv1.Money{AmountMinor: m.Minor, CurrencyCode: m.Currency}
}

// SubscriptionPB maps a subscription as the caller sees it at now: its lifecycle dates,
// cancellation window and refundable seats on the service clock, and ro, why the caller may not
// change it ("" when it may).
func SubscriptionPB(s domain.Subscription, now time.Time, ro domain.ReadOnlyReason) *subscriptionsv1.Subscription {
	lots := make([]*subscriptionsv1.SeatLot, 0, len(s.Lots))
	for _, l := range s.Lots {
		until := domain.SeatsRefundableUntil(s, l)
		lots = append(lots, &subscriptionsv1.SeatLot{
			LotId: l.ID, Quantity: l.Quantity, AddTime: pbtime.From(l.AddTime),
			RefundableUntilTime: pbtime.From(until), Refundable: now.Before(until),
			OrderId: l.OrderID, UnitPrice: MoneyPB(l.UnitPrice),
		})
	}
	return &subscriptionsv1.Subscription{
		SubscriptionId:     s.ID,
		CustomerId:         s.CustomerID,
		PartnerId:          s.PartnerID,
		SkuId:              s.SkuID,
		ProductId:          s.ProductID,
		DisplayName:        s.DisplayName,
		ProductKind:        KindPB(s.Kind),
		State:              StatePB(s.State),
		Channel:            ChannelPB(s.Channel),
		Quantity:           s.Quantity,
		MaxQuantity:        s.MaxQuantity,
		SeatLots:           lots,
		RefundableQuantity: domain.RefundableQuantity(s, now),
		BillingPlan:        PlanPB(s.Plan),
		TermDuration:       string(s.Term),
		TermStartTime:      pbtime.From(s.TermStart),
		TermEndTime:        pbtime.From(s.TermEnd),
		AutoRenew:          s.AutoRenew,
		UnitPrice:          MoneyPB(s.UnitPrice),
		Lifecycle:          SchedulePB(domain.ScheduleOf(s)),
		Cancellation:       WindowPB(domain.CancellationWindowOf(s, now)),
		ReadOnly:           ro != "",
		ReadOnlyReason: pbenum.Value[subscriptionsv1.ReadOnlyReason](subscriptionsv1.ReadOnlyReason_value,
			"READ_ONLY_REASON_", ro),
		OrderId:           s.OrderID,
		PurchaseTime:      pbtime.From(s.PurchaseTime),
		StateTime:         pbtime.From(s.StateTime),
		PendingTransferId: s.PendingTransferID,
		Etag:              domain.Etag(s),
		CreateTime:        pbtime.From(s.CreateTime),
		UpdateTime:        pbtime.From(s.UpdateTime),
		LicensedUserIds:   slices.Clone(s.LicensedUserIDs),
	}
}

// SchedulePB maps the lifecycle dates.
func SchedulePB(sc domain.Schedule) *subscriptionsv1.LifecycleSchedule {
	rs := make([]*subscriptionsv1.RenewalReminderSchedule, 0, len(sc.Reminders))
	for _, r := range sc.Reminders {
		rs = append(rs, &subscriptionsv1.RenewalReminderSchedule{
			DaysBeforeExpiry: r.DaysBefore, DueTime: pbtime.From(r.Due), Sent: r.Sent})
	}
	return &subscriptionsv1.LifecycleSchedule{
		NextStep:              stepPB(sc.NextStep),
		NextStepTime:          pbtime.From(sc.NextStepTime),
		RenewTime:             pbtime.From(sc.RenewTime),
		ExpireTime:            pbtime.From(sc.ExpireTime),
		DisableTime:           pbtime.From(sc.DisableTime),
		DeleteTime:            pbtime.From(sc.DeleteTime),
		RenewalWindowOpenTime: pbtime.From(sc.RenewalWindowOpen),
		Reminders:             rs,
	}
}

func stepPB(s domain.LifecycleStep) subscriptionsv1.LifecycleStep {
	return pbenum.Value[subscriptionsv1.LifecycleStep](subscriptionsv1.LifecycleStep_value, "LIFECYCLE_STEP_", s)
}

// PathPB maps a channel conversion path (SU-15).
func PathPB(p domain.ConversionPath) subscriptionsv1.ChannelConversionPath {
	return pbenum.Value[subscriptionsv1.ChannelConversionPath](subscriptionsv1.ChannelConversionPath_value,
		"CHANNEL_CONVERSION_PATH_", p)
}

// ReasonPB maps an error reason to the contract's enum.
func ReasonPB(r errs.Reason) commonv1.ErrorReason {
	return pbenum.Value[commonv1.ErrorReason](commonv1.ErrorReason_value, "ERROR_REASON_", r)
}

// WindowPB maps a cancellation window.
func WindowPB(w domain.Window) *subscriptionsv1.CancellationWindow {
	return &subscriptionsv1.CancellationWindow{
		Policy:               PolicyPB(w.Policy),
		WindowEndTime:        pbtime.From(w.End),
		WindowPassed:         w.Passed,
		RefundIfCancelledNow: MoneyPB(w.Refund),
		WindowDays:           w.WindowDays,
	}
}

// QuantityChangePB maps the figures of a seat-count change.
func QuantityChangePB(c domain.QuantityChange) *subscriptionsv1.QuantityChangeSummary {
	return &subscriptionsv1.QuantityChangeSummary{
		OldQuantity:        c.OldQuantity,
		NewQuantity:        c.NewQuantity,
		OldTermEndTime:     pbtime.From(c.OldTermEnd),
		NewTermEndTime:     pbtime.From(c.NewTermEnd),
		CoTerminated:       c.CoTerminated,
		PriceDelta:         MoneyPB(c.PriceDelta),
		RefundableQuantity: c.RefundableAfter,
	}
}

// EventPB maps a feed event with its typed payload.
func EventPB(e domain.Event) *subscriptionsv1.SubscriptionEvent {
	m := &subscriptionsv1.SubscriptionEvent{
		EventId:        e.ID,
		Sequence:       e.Sequence,
		EventType:      EventTypePB(e.Type),
		PartnerId:      e.PartnerID,
		CustomerId:     e.CustomerID,
		SubscriptionId: e.SubscriptionID,
		EventTime:      pbtime.From(e.Time),
		RequestId:      e.RequestID,
		State:          StatePB(e.State),
	}
	t := pbtime.From
	switch {
	case e.Created != nil:
		p := e.Created
		m.Payload = &subscriptionsv1.SubscriptionEvent_Created{Created: &subscriptionsv1.CreatedPayload{
			OrderId: p.OrderID, OrderLineId: p.OrderLineID, SkuId: p.SkuID, Channel: ChannelPB(p.Channel),
			Quantity: p.Quantity, BillingPlan: PlanPB(p.Plan), TermDuration: string(p.Term),
			TermStartTime: t(p.TermStart), TermEndTime: t(p.TermEnd), UnitPrice: MoneyPB(p.UnitPrice),
			AutoRenew: p.AutoRenew}}
	case e.Renewed != nil:
		p := e.Renewed
		m.Payload = &subscriptionsv1.SubscriptionEvent_Renewed{Renewed: &subscriptionsv1.RenewedPayload{
			Kind:          pbenum.Value[subscriptionsv1.RenewalKind](subscriptionsv1.RenewalKind_value, "RENEWAL_KIND_", p.Kind),
			TermStartTime: t(p.TermStart), TermEndTime: t(p.TermEnd), Quantity: p.Quantity,
			BillingPlan: PlanPB(p.Plan), AmountDue: MoneyPB(p.AmountDue), TermAmount: MoneyPB(p.TermAmount), OrderId: p.OrderID}}
	case e.QuantityChanged != nil:
		p := e.QuantityChanged
		m.Payload = &subscriptionsv1.SubscriptionEvent_QuantityChanged{QuantityChanged: &subscriptionsv1.QuantityChangedPayload{
			OldQuantity: p.OldQuantity, NewQuantity: p.NewQuantity, OldTermEndTime: t(p.OldTermEnd),
			NewTermEndTime: t(p.NewTermEnd), PriceDelta: MoneyPB(p.PriceDelta), OrderId: p.OrderID}}
	case e.Suspended != nil:
		m.Payload = &subscriptionsv1.SubscriptionEvent_Suspended{Suspended: &subscriptionsv1.SuspendedPayload{
			Reason: e.Suspended.Reason}}
	case e.Reactivated != nil:
		p := e.Reactivated
		m.Payload = &subscriptionsv1.SubscriptionEvent_Reactivated{Reactivated: &subscriptionsv1.ReactivatedPayload{
			FromState: StatePB(p.FromState), TermStartTime: t(p.TermStart), TermEndTime: t(p.TermEnd),
			AmountDue: MoneyPB(p.AmountDue)}}
	case e.Expired != nil:
		m.Payload = &subscriptionsv1.SubscriptionEvent_Expired{Expired: &subscriptionsv1.ExpiredPayload{
			TermEndTime: t(e.Expired.TermEnd), DisableTime: t(e.Expired.DisableTime)}}
	case e.Disabled != nil:
		m.Payload = &subscriptionsv1.SubscriptionEvent_Disabled{Disabled: &subscriptionsv1.DisabledPayload{
			DeleteTime: t(e.Disabled.DeleteTime)}}
	case e.Deleted != nil:
		m.Payload = &subscriptionsv1.SubscriptionEvent_Deleted{Deleted: &subscriptionsv1.DeletedPayload{
			TermEndTime: t(e.Deleted.TermEnd)}}
	case e.Cancelled != nil:
		p := e.Cancelled
		m.Payload = &subscriptionsv1.SubscriptionEvent_Cancelled{Cancelled: &subscriptionsv1.CancelledPayload{
			Refund: MoneyPB(p.Refund), Quantity: p.Quantity, Compensation: p.Compensation, Reason: p.Reason}}
	case e.Transferred != nil:
		p := e.Transferred
		m.Payload = &subscriptionsv1.SubscriptionEvent_Transferred{Transferred: &subscriptionsv1.TransferredPayload{
			TransferId: p.TransferID, FromPartnerId: p.FromPartnerID, ToPartnerId: p.ToPartnerID,
			TargetSubscriptionId: p.TargetSubscriptionID}}
	case e.RenewalReminder != nil:
		p := e.RenewalReminder
		m.Payload = &subscriptionsv1.SubscriptionEvent_RenewalReminder{RenewalReminder: &subscriptionsv1.RenewalReminderPayload{
			DaysBeforeExpiry: p.DaysBeforeExpiry, TermEndTime: t(p.TermEnd), AutoRenew: p.AutoRenew, Quantity: p.Quantity}}
	case e.Penalty != nil:
		p := e.Penalty
		m.Payload = &subscriptionsv1.SubscriptionEvent_Penalty{Penalty: &subscriptionsv1.PenaltyPayload{
			Amount: MoneyPB(p.Amount), RemainingTermValue: MoneyPB(p.RemainingTermValue),
			RateBasisPoints: p.RateBasisPoints, Reason: p.Reason}}
	case e.AutoRenewChanged != nil:
		m.Payload = &subscriptionsv1.SubscriptionEvent_AutoRenewChanged{AutoRenewChanged: &subscriptionsv1.AutoRenewChangedPayload{
			AutoRenew: e.AutoRenewChanged.AutoRenew}}
	case e.ChannelConverted != nil:
		p := e.ChannelConverted
		m.Payload = &subscriptionsv1.SubscriptionEvent_ChannelConverted{ChannelConverted: &subscriptionsv1.ChannelConvertedPayload{
			FromChannel: ChannelPB(p.FromChannel), ToChannel: ChannelPB(p.ToChannel), TermStartTime: t(p.TermStart),
			TermEndTime: t(p.TermEnd), FirstMonthCharge: MoneyPB(p.FirstMonthCharge)}}
	}
	return m
}
