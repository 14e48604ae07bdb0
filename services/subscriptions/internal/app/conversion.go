package app

import (
	"context"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
)

// converter checks that the caller is a partner with an active reseller relationship to the
// customer of a Web-Direct subscription (the partner it would become partner of record of).
func (a *App) converter(ctx context.Context, id string) (View, auth.Principal, error) {
	v, p, err := a.view(ctx, id)
	if err != nil {
		return View{}, p, err
	}
	if p.OrgKind != auth.OrgPartner {
		return View{}, p, errs.New(errs.PermissionDenied, errs.ReasonRoleRequired,
			"a channel conversion is made by the partner that takes the subscription over")
	}
	// A partner that is not the partner of record saw the subscription only through its
	// relationship with the customer (view); its own subscriptions are checked here.
	ok := true
	if v.Sub.PartnerID == p.OrgID {
		if ok, err = a.related(ctx, p.OrgID, v.Sub.CustomerID); err != nil {
			return View{}, p, err
		}
	}
	if !ok {
		return View{}, p, errs.New(errs.FailedPrecondition, domain.ReasonRelationshipRequired,
			"an active reseller relationship with customer %s is needed to take its subscription over (ID-4)", v.Sub.CustomerID).
			With("customer_id", v.Sub.CustomerID)
	}
	return v, p, nil
}

// PreviewChannelConversion shows the path and the cost of switching a Web-Direct subscription to
// Open now (SU-15), changing nothing.
func (a *App) PreviewChannelConversion(ctx context.Context, id string, target domain.Channel) (domain.Conversion, error) {
	v, _, err := a.converter(ctx, id)
	if err != nil {
		return domain.Conversion{}, err
	}
	return domain.PlanConversion(v.Sub, v.Now, target)
}

// ConvertInput is one ConvertChannel call.
type ConvertInput struct {
	Change
	Target             domain.Channel
	KeyReservationID   string
	AcknowledgePenalty bool
}

// ConvertChannel switches a Web-Direct subscription to Open with the caller as partner of record
// (SU-15): autorenew must be off; in the renewal window no charge, in the first 30 days the
// first month, mid-term a penalty of 25 % of the remaining term's value (emitted as PENALTY).
// Emits CHANNEL_CONVERTED.
func (a *App) ConvertChannel(ctx context.Context, in ConvertInput) (View, domain.Conversion, error) {
	cur, p, err := a.converter(ctx, in.SubscriptionID)
	if err != nil {
		return View{}, domain.Conversion{}, err
	}
	var conv domain.Conversion
	var out domain.Subscription
	var now time.Time
	err = a.commit(ctx, func(ctx context.Context, tx Tx) ([]domain.Event, error) {
		s, err := tx.Subscription(ctx, in.SubscriptionID)
		if err != nil {
			return nil, err
		}
		if s.PartnerID != cur.Sub.PartnerID || s.Channel != cur.Sub.Channel {
			return nil, errs.New(errs.Aborted, errs.ReasonEtagMismatch, "subscription %s changed meanwhile; read it again", s.ID)
		}
		if in.Etag != "" && in.Etag != domain.Etag(s) {
			return nil, errs.New(errs.Aborted, errs.ReasonEtagMismatch,
				"subscription %s changed since the etag was read; read it again", s.ID).With("subscription_id", s.ID)
		}
		now = a.now()
		conv, err = domain.PlanConversion(s, now, in.Target)
		if err != nil {
			return nil, err
		}
		if err := inTransfer(s); err != nil {
			return nil, err
		}
		if conv.Path != domain.PathRenewalWindow && !in.AcknowledgePenalty {
			return nil, errs.Invalid("acknowledge_penalty",
				"the conversion now takes the %s path with a charge; preview it and acknowledge it", conv.Path)
		}
		out = s
		out.PartnerID, out.Channel = p.OrgID, in.Target
		out.TermStart, out.TermEnd = conv.NewStart, conv.NewEnd
		out.State, out.StateTime = domain.StateActive, now
		out.RemindersSent = nil
		out.Version, out.UpdateTime = s.Version+1, now
		if err := tx.UpdateSubscription(ctx, out); err != nil {
			return nil, err
		}
		e := a.event(out, domain.EventChannelConverted, in.RequestID, now)
		e.ChannelConverted = &domain.ChannelConvertedPayload{FromChannel: s.Channel, ToChannel: in.Target,
			TermStart: out.TermStart, TermEnd: out.TermEnd, FirstMonthCharge: conv.FirstMonthCharge}
		evs := []domain.Event{e}
		if conv.Path == domain.PathMidTermPenalty {
			pe := a.event(out, domain.EventPenalty, in.RequestID, now)
			pe.Penalty = &domain.PenaltyPayload{Amount: conv.Penalty, RemainingTermValue: conv.RemainingTermValue,
				RateBasisPoints: domain.PenaltyRateBasisPoints, Reason: "SU-15: Web-Direct to Open mid-term"}
			evs = append(evs, pe)
		}
		return evs, nil
	})
	if err != nil {
		return View{}, domain.Conversion{}, err
	}
	return View{Sub: out, Now: now}, conv, nil
}
