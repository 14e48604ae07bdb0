package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	subscriptionsv1 "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
)

// The lifecycle scenarios d (expiry → EXPIRED → DISABLED → DELETED, reactivation before deletion,
// SU-2) and n's reminders without autorenew (SU-3) are TestE2E_SubscriptionLifecycle_SU2_SU3
// (subscriptions_test.go). This file adds the reminders of an autorenewing subscription across
// two terms, with clock jumps over several due dates at once.

// TestE2E_RenewalRemindersOncePerTerm_SU3: the partner of record gets the renewal reminders 60,
// 30, 7 and 1 day before the end of each term, exactly once each (SU-3), on its events feed. The
// clock first jumps from the purchase straight to one day before the end: the four reminders due
// by then come once each, in due order. At the end the subscription autorenews (SU-9, RENEWED)
// and its new term starts with no reminder sent; the clock then jumps to 30 days before the new
// end (60 and 30 due) and to 7 days before it. The watched stream and ListEvents hold each
// reminder once per term and nothing else.
func TestE2E_RenewalRemindersOncePerTerm_SU3(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tn := newLifecycleTenant(t, ctx)
	subs := subscriptionsv1.NewSubscriptionServiceClient(stack.Conn("subscriptions"))
	agent := withToken(ctx, tn.agentToken)
	s := tn.provisionSKU(t, ctx, skuM365, 3, 0)
	id := s.GetSubscriptionId()
	ids := map[string]string{id: "s"}
	end := s.GetTermEndTime().AsTime()
	w := watchEvents(t, agent, tn.customerID)
	want := []string{"s CREATED"}
	w.waitFor(t, ids, want)

	// One jump over four due dates.
	stack.AdvanceTo(ctx, t, end.Add(-day))
	for _, d := range []int32{60, 30, 7, 1} {
		want = append(want, fmt.Sprint("s RENEWAL_REMINDER ", d))
	}
	waitSub(t, subs, agent, id, "reminders 60, 30, 7, 1 sent (SU-3)", func(s *subscriptionsv1.Subscription) bool {
		return slices.Equal(sentReminders(s), []int32{60, 30, 7, 1})
	})
	evs := w.waitFor(t, ids, want)
	var order []int32
	for _, e := range evs {
		if e.GetEventType() == evReminder {
			order = append(order, e.GetRenewalReminder().GetDaysBeforeExpiry())
			if r := e.GetRenewalReminder(); !r.GetTermEndTime().AsTime().Equal(end) || !r.GetAutoRenew() || r.GetQuantity() != 3 ||
				e.GetPartnerId() != tn.partnerID {
				t.Errorf("reminder %v of partner %s; want term end %v, autorenew on, 3 seats, partner %s", r, e.GetPartnerId(), end, tn.partnerID)
			}
		}
	}
	if !slices.Equal(order, []int32{60, 30, 7, 1}) {
		t.Errorf("reminders in feed order %v; want 60, 30, 7, 1 (due order)", order)
	}

	// The end: autorenewed, a new term without reminders sent yet.
	stack.AdvanceTo(ctx, t, end)
	newEnd := addYear(end)
	renewed := waitSub(t, subs, agent, id, "renewed into a new term (SU-9)", func(s *subscriptionsv1.Subscription) bool {
		return s.GetTermStartTime().AsTime().Equal(end)
	})
	if renewed.GetState() != stActive || !renewed.GetTermEndTime().AsTime().Equal(newEnd) || len(sentReminders(renewed)) != 0 {
		t.Fatalf("after the renewal: %v, term %v – %v, reminders sent %v; want ACTIVE, %v – %v, none",
			renewed.GetState(), renewed.GetTermStartTime().AsTime(), renewed.GetTermEndTime().AsTime(), sentReminders(renewed), end, newEnd)
	}
	want = append(want, "s RENEWED")
	w.waitFor(t, ids, want)

	// The new term's reminders, once each: 60 and 30 in one jump, then 7.
	stack.AdvanceTo(ctx, t, newEnd.Add(-30*day))
	want = append(want, "s RENEWAL_REMINDER 60", "s RENEWAL_REMINDER 30")
	waitSub(t, subs, agent, id, "reminders 60, 30 of the new term sent", func(s *subscriptionsv1.Subscription) bool {
		return slices.Equal(sentReminders(s), []int32{60, 30})
	})
	w.waitFor(t, ids, want)
	stack.AdvanceTo(ctx, t, newEnd.Add(-7*day))
	want = append(want, "s RENEWAL_REMINDER 7")
	waitSub(t, subs, agent, id, "reminders 60, 30, 7 of the new term sent", func(s *subscriptionsv1.Subscription) bool {
		return slices.Equal(sentReminders(s), []int32{60, 30, 7})
	})
	watched := w.waitFor(t, ids, want)

	perTerm := map[string]int{}
	for _, e := range watched {
		if e.GetEventType() == evReminder {
			r := e.GetRenewalReminder()
			perTerm[fmt.Sprint(r.GetTermEndTime().AsTime().Format(time.DateOnly), " ", r.GetDaysBeforeExpiry())]++
		}
	}
	for k, n := range perTerm {
		if n != 1 {
			t.Errorf("reminder %s delivered %d times; want once (SU-3)", k, n)
		}
	}
	if len(perTerm) != 7 {
		t.Errorf("reminders %v; want 4 of the first term and 3 of the second", perTerm)
	}
	for i := 1; i < len(watched); i++ {
		if watched[i].GetSequence() <= watched[i-1].GetSequence() {
			t.Errorf("event %d has sequence %d after %d; want strictly increasing", i, watched[i].GetSequence(), watched[i-1].GetSequence())
		}
	}
	if got, exp := eventIDs(listEvents(t, agent, tn.customerID)), eventIDs(watched); !slices.Equal(got, exp) {
		t.Errorf("ListEvents returned %v;\nWatchEvents had %v", got, exp)
	}
}
