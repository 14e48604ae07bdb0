package saga_test

import (
	"context"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/billing"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/saga"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
	"github.com/partnerhub/partnerhub/services/orders/internal/ledger"
)

// wantCalls compares the calls received with the wanted ones (op, request ID, line, ref).
func wantCalls(t *testing.T, what string, got, want []call) {
	t.Helper()
	strip := func(cs []call) []string {
		out := make([]string, len(cs))
		for i, c := range cs {
			out[i] = c.String()
		}
		return out
	}
	if g, w := strip(got), strip(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got  %q\n want %q", what, g, w)
	}
}

// OR-1: an order of an online service, a perpetual product with keys and a software subscription
// with keys runs every step once, in order, with its deterministic request ID; the order ends
// COMPLETED with every line PROVISIONED and the IDs the callees made; the ledger holds every
// installment of every line once.
func TestRunner_OR1_HappyPath(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		r := e.runner("a", nil, saga.Options{})
		e.start(r)
		placed := e.place(e.app(r), onlineLine(), perpetualLine(), subKeysLine())
		if placed.State != domain.OrderProvisioning {
			t.Fatalf("PlaceOrder returned %s; want PROVISIONING", placed.State)
		}
		o := e.waitOrder(placed.ID, "COMPLETED", settledAs(domain.OrderCompleted))

		// The review made the checks; the saga only acts: subscriptions for the online and the
		// subscription line (none for perpetual software, OR-3), then keys for the two lines with keys.
		wantCalls(t, "peer calls", e.peers.callsOf("provision", "issue", "compensate", "revoke", "cancel"), []call{
			{Op: "provision", RequestID: rid(o, domain.StepCreateSubscription, 0), OrderID: o.ID, LineID: o.Lines[0].ID},
			{Op: "provision", RequestID: rid(o, domain.StepCreateSubscription, 2), OrderID: o.ID, LineID: o.Lines[2].ID},
			{Op: "issue", RequestID: rid(o, domain.StepIssueEntitlements, 1), OrderID: o.ID, LineID: o.Lines[1].ID},
			{Op: "issue", RequestID: rid(o, domain.StepIssueEntitlements, 2), OrderID: o.ID, LineID: o.Lines[2].ID},
		})

		if o.CompleteTime.IsZero() || o.Failure != nil || o.Version <= placed.Version {
			t.Errorf("order: complete_time %v, failure %+v, version %d", o.CompleteTime, o.Failure, o.Version)
		}
		wantSub := []string{e.peers.effectOf("provision", rid(o, domain.StepCreateSubscription, 0)), "",
			e.peers.effectOf("provision", rid(o, domain.StepCreateSubscription, 2))}
		wantEnt := []string{"", e.peers.effectOf("issue", rid(o, domain.StepIssueEntitlements, 1)),
			e.peers.effectOf("issue", rid(o, domain.StepIssueEntitlements, 2))}
		es := e.entries(o.ID)
		for i, l := range o.Lines {
			if l.State != domain.LineProvisioned || l.CompleteTime.IsZero() || l.Failure != nil {
				t.Errorf("line %d: state %s, complete_time %v, failure %+v", i, l.State, l.CompleteTime, l.Failure)
			}
			if l.SubscriptionID != wantSub[i] || l.EntitlementID != wantEnt[i] {
				t.Errorf("line %d: subscription %q entitlement %q; want %q %q", i, l.SubscriptionID, l.EntitlementID, wantSub[i], wantEnt[i])
			}
			// BI-2: every installment of the line's plan once, summing to the term's amount.
			count, err := ledger.InstallmentCount(ledger.TermNamed(string(l.Term)), ledger.PlanNamed(string(l.Plan)))
			if err != nil {
				t.Fatal(err)
			}
			n, sum := sumOf(es, ledger.KindCharge, l.ID)
			if n != count || sum != l.TermAmount().Minor {
				t.Errorf("line %d: %d charges summing to %d; want %d summing to %d", i, n, sum, count, l.TermAmount().Minor)
			}
			if want := firstChargeID(es, l.ID); l.ChargeID == "" || l.ChargeID != want {
				t.Errorf("line %d: charge ID %q; want %q, the entry_id of its first charge", i, l.ChargeID, want)
			}
		}
		if len(es) != 12+1+1 {
			t.Errorf("%d ledger entries; want 14 (12 monthly + 1 one-time + 1 annual)", len(es))
		}
		for _, x := range es {
			if x.Kind != ledger.KindCharge || x.Source.OrderID != o.ID || x.PartnerID != partnerID || x.CustomerID != customerID {
				t.Errorf("unexpected entry %+v", x)
			}
			// The subscription line's charges name its subscription (the projection fed them).
			if x.Source.LineID == o.Lines[0].ID && x.Source.SubscriptionID != wantSub[0] {
				t.Errorf("charge %s names subscription %q; want %q", x.Key, x.Source.SubscriptionID, wantSub[0])
			}
		}

		rec := e.saga(o.ID)
		if rec.Saga.Status != domain.SagaCompleted || rec.LeaseOwner != "" || !rec.LeaseUntil.IsZero() {
			t.Errorf("saga %s, lease %q until %v; want COMPLETED and no lease", rec.Saga.Status, rec.LeaseOwner, rec.LeaseUntil)
		}
		for _, task := range rec.Saga.Tasks {
			if task.Status != domain.TaskDone || task.Attempts != 1 {
				t.Errorf("task %s/%s: %s after %d attempts; want DONE after 1", task.Step, task.LineID, task.Status, task.Attempts)
			}
		}
	})
}

// OR-1: a one-line order of an online service needs no keys: one subscription, the monthly
// charges, done.
func TestRunner_OR1_HappyPathOnlineServiceOnly(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		r := e.runner("a", nil, saga.Options{})
		e.start(r)
		o := e.waitOrder(e.place(e.app(r), onlineLine()).ID, "COMPLETED", settledAs(domain.OrderCompleted))
		sub := rid(o, domain.StepCreateSubscription, 0)
		wantCalls(t, "peer calls", e.peers.callsOf("provision", "issue", "compensate", "revoke", "cancel"), []call{
			{Op: "provision", RequestID: sub, OrderID: o.ID, LineID: o.Lines[0].ID},
		})
		l := o.Lines[0]
		if l.State != domain.LineProvisioned || l.SubscriptionID != e.peers.effectOf("provision", sub) || l.EntitlementID != "" {
			t.Errorf("line %+v", l)
		}
		if n, sum := sumOf(e.entries(o.ID), ledger.KindCharge, l.ID); n != 12 || sum != 10*12000 {
			t.Errorf("%d charges summing to %d; want 12 summing to 120000", n, sum)
		}
		// The charges, written with the subscription's step, name the subscription (BI-2).
		for _, x := range e.entries(o.ID) {
			if x.Source.SubscriptionID != l.SubscriptionID {
				t.Errorf("charge %s names subscription %q; want %q", x.Key, x.Source.SubscriptionID, l.SubscriptionID)
			}
		}
	})
}

// OR-1: keys refuse the last line's entitlement. Everything done is undone in exactly the reverse
// order (the other line's keys revoked, then the subscriptions cancelled, last line first); the
// order is FAILED with the callee's reason, message, metadata and the step; the refused line is
// FAILED, the others COMPENSATED without IDs; nothing is charged.
func TestRunner_OR1_RefusalCompensatesInReverseOrder(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		refusal := errs.New(errs.FailedPrecondition, "KEY_POOL_EXHAUSTED", "no MAK keys left for %s", skuSubKeys).
			With("sku_id", skuSubKeys)
		e.peers.fail = func(c call, _ int) error {
			if c.Op == "issue" && c.Sku == skuSubKeys {
				return refusal
			}
			return nil
		}
		r := e.runner("a", nil, saga.Options{})
		e.start(r)
		placed := e.place(e.app(r), onlineLine(), perpetualLine(), subKeysLine())
		o := e.waitOrder(placed.ID, "FAILED", settledAs(domain.OrderFailed))

		wantCalls(t, "peer calls", e.peers.callsOf("provision", "issue", "compensate", "revoke", "cancel"), []call{
			{Op: "provision", RequestID: rid(o, domain.StepCreateSubscription, 0), OrderID: o.ID, LineID: o.Lines[0].ID},
			{Op: "provision", RequestID: rid(o, domain.StepCreateSubscription, 2), OrderID: o.ID, LineID: o.Lines[2].ID},
			{Op: "issue", RequestID: rid(o, domain.StepIssueEntitlements, 1), OrderID: o.ID, LineID: o.Lines[1].ID},
			{Op: "issue", RequestID: rid(o, domain.StepIssueEntitlements, 2), OrderID: o.ID, LineID: o.Lines[2].ID},
			// compensation, reverse order: issue l1, create_subscription l2, (l1 perpetual: no call), l0
			{Op: "revoke", RequestID: crid(o, domain.StepIssueEntitlements, 1), OrderID: o.ID, LineID: o.Lines[1].ID,
				Ref: string(app.RevokeOrderCompensated)},
			{Op: "compensate", RequestID: crid(o, domain.StepCreateSubscription, 2), OrderID: o.ID,
				Ref: rid(o, domain.StepCreateSubscription, 2)},
			{Op: "compensate", RequestID: crid(o, domain.StepCreateSubscription, 0), OrderID: o.ID,
				Ref: rid(o, domain.StepCreateSubscription, 0)},
		})
		if n, m := e.peers.live("provision"), e.peers.live("issue"); n != 0 || m != 0 {
			t.Errorf("%d subscriptions and %d entitlements left after compensation; want none", n, m)
		}

		wantFailure := domain.Failure{Reason: "KEY_POOL_EXHAUSTED", Message: refusal.Message,
			Metadata: map[string]string{"sku_id": skuSubKeys}, Step: domain.StepIssueEntitlements}
		if o.Failure == nil || !reflect.DeepEqual(*o.Failure, wantFailure) {
			t.Errorf("order failure %+v; want %+v", o.Failure, wantFailure)
		}
		if o.CompleteTime.IsZero() {
			t.Error("a FAILED order has no complete_time")
		}
		wantStates := []domain.LineState{domain.LineCompensated, domain.LineCompensated, domain.LineFailed}
		for i, l := range o.Lines {
			if l.State != wantStates[i] || l.SubscriptionID != "" || l.EntitlementID != "" || l.ChargeID != "" {
				t.Errorf("line %d: %s sub %q ent %q charge %q; want %s without IDs", i, l.State, l.SubscriptionID,
					l.EntitlementID, l.ChargeID, wantStates[i])
			}
		}
		if f := o.Lines[2].Failure; f == nil || !reflect.DeepEqual(*f, wantFailure) {
			t.Errorf("refused line's failure %+v; want %+v", f, wantFailure)
		}
		if es := e.entries(o.ID); len(es) != 0 {
			t.Errorf("ledger has %d entries for the failed order; want none: %+v", len(es), es)
		}
		rec := e.saga(o.ID)
		if rec.Saga.Status != domain.SagaFailed || rec.LeaseOwner != "" {
			t.Errorf("saga %s lease %q; want FAILED, no lease", rec.Saga.Status, rec.LeaseOwner)
		}
	})
}

// OR-1, OR-7: retryable failures (UNAVAILABLE, DEADLINE_EXCEEDED) are retried with the very same
// request ID until the callee answers; the callee acts once and the order completes.
func TestRunner_OR7_RetryableErrorsRetriedWithSameRequestID(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		e.peers.fail = func(c call, attempt int) error {
			switch {
			case c.Op == "provision" && attempt <= 2:
				return errs.Unavailablef("subscriptions is restarting")
			case c.Op == "issue" && attempt == 1:
				return errs.New(errs.DeadlineExceeded, "", "keys did not answer in time")
			}
			return nil
		}
		r := e.runner("a", nil, saga.Options{Retry: domain.RetryPolicy{Base: time.Millisecond, Max: time.Millisecond, MaxAttempts: 5}})
		e.start(r)
		placed := e.place(e.app(r), subKeysLine())
		o := e.waitOrder(placed.ID, "COMPLETED", settledAs(domain.OrderCompleted))

		sub, ent := rid(o, domain.StepCreateSubscription, 0), rid(o, domain.StepIssueEntitlements, 0)
		wantCalls(t, "peer calls", e.peers.callsOf("provision", "issue", "compensate", "revoke"), []call{
			{Op: "provision", RequestID: sub, OrderID: o.ID, LineID: o.Lines[0].ID},
			{Op: "provision", RequestID: sub, OrderID: o.ID, LineID: o.Lines[0].ID},
			{Op: "provision", RequestID: sub, OrderID: o.ID, LineID: o.Lines[0].ID},
			{Op: "issue", RequestID: ent, OrderID: o.ID, LineID: o.Lines[0].ID},
			{Op: "issue", RequestID: ent, OrderID: o.ID, LineID: o.Lines[0].ID},
		})
		if n, m := e.peers.live("provision"), e.peers.live("issue"); n != 1 || m != 1 {
			t.Errorf("%d subscriptions, %d entitlements; want 1 and 1", n, m)
		}
		if l := o.Lines[0]; l.State != domain.LineProvisioned || l.SubscriptionID != e.peers.effectOf("provision", sub) ||
			l.EntitlementID != e.peers.effectOf("issue", ent) || l.Failure != nil {
			t.Errorf("line %+v", l)
		}
		if n, sum := sumOf(e.entries(o.ID), ledger.KindCharge, o.Lines[0].ID); n != 1 || sum != 3*30000 {
			t.Errorf("%d charges summing to %d; want 1 of 90000", n, sum)
		}
		rec := e.saga(o.ID)
		attempts := map[domain.Step]int{}
		for _, task := range rec.Saga.Tasks {
			attempts[task.Step] = task.Attempts
		}
		if attempts[domain.StepCreateSubscription] != 3 || attempts[domain.StepIssueEntitlements] != 2 {
			t.Errorf("attempts recorded %v; want create_subscription 3, issue_entitlements 2", attempts)
		}
	})
}

// OR-1: a callee that keeps failing retryably exhausts the retries. The step is Uncertain (the
// callee may have acted — here the first call did, and its reply was lost) and is compensated
// like a done step, before the earlier steps, in reverse order; the order is FAILED with
// DEPENDENCY_UNAVAILABLE at that step.
func TestRunner_OR1_RetriesExhaustedUncertainIsCompensated(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		e.peers.lost = func(_ context.Context, c call, _ int) error {
			if c.Op == "provision" && c.Sku == skuSubKeys {
				return errs.Unavailablef("connection reset")
			}
			return nil
		}
		r := e.runner("a", nil, saga.Options{Retry: domain.RetryPolicy{Base: time.Millisecond, Max: time.Millisecond, MaxAttempts: 3}})
		e.start(r)
		placed := e.place(e.app(r), onlineLine(), subKeysLine())
		o := e.waitOrder(placed.ID, "FAILED", settledAs(domain.OrderFailed))

		sub0, sub1 := rid(o, domain.StepCreateSubscription, 0), rid(o, domain.StepCreateSubscription, 1)
		wantCalls(t, "peer calls", e.peers.callsOf("provision", "issue", "compensate", "revoke"), []call{
			{Op: "provision", RequestID: sub0, OrderID: o.ID, LineID: o.Lines[0].ID},
			{Op: "provision", RequestID: sub1, OrderID: o.ID, LineID: o.Lines[1].ID},
			{Op: "provision", RequestID: sub1, OrderID: o.ID, LineID: o.Lines[1].ID},
			{Op: "provision", RequestID: sub1, OrderID: o.ID, LineID: o.Lines[1].ID},
			{Op: "compensate", RequestID: crid(o, domain.StepCreateSubscription, 1), OrderID: o.ID, Ref: sub1},
			{Op: "compensate", RequestID: crid(o, domain.StepCreateSubscription, 0), OrderID: o.ID, Ref: sub0},
		})
		if n := e.peers.live("provision"); n != 0 {
			t.Errorf("%d subscriptions left; want none (the uncertain one too)", n)
		}
		if f := o.Failure; f == nil || f.Reason != domain.ReasonDependencyUnavailable || f.Step != domain.StepCreateSubscription {
			t.Errorf("order failure %+v; want DEPENDENCY_UNAVAILABLE at create_subscription", f)
		}
		if o.Lines[0].State != domain.LineCompensated {
			t.Errorf("line 0 is %s; want COMPENSATED", o.Lines[0].State)
		}
		t.Run("the line whose step gave up is FAILED", func(t *testing.T) {
			if l := o.Lines[1]; l.State != domain.LineFailed || l.Failure == nil || l.Failure.Step != domain.StepCreateSubscription {
				t.Errorf("line 1 is %s with failure %+v; want FAILED at create_subscription", l.State, l.Failure)
			}
		})
		rec := e.saga(o.ID)
		for _, task := range rec.Saga.Tasks {
			if task.Step == domain.StepCreateSubscription && task.LineID == o.Lines[1].ID &&
				(!task.Uncertain || task.Attempts != 3 || task.Status != domain.TaskCompensated) {
				t.Errorf("uncertain task %+v; want COMPENSATED, uncertain, 3 attempts", task)
			}
		}
		if es := e.entries(o.ID); len(es) != 0 {
			t.Errorf("ledger has %d entries; want none", len(es))
		}
	})
}

// OR-7, DESIGN (saga recovery): replica A dies (its process and database connections are gone)
// right after create_subscription, while keys has just issued the entitlement — the reply never
// reached A. Replica B leaves the saga alone while A's lease runs (wall clock), then resumes it
// where A stopped, repeating the keys call with the same request ID. The result: one
// subscription, one entitlement, one charge.
func TestRunner_OR7_CrashResumeAfterLeaseRunsOut(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		const lease = 30 * time.Second
		storeA := &dyingStore{Store: e.store}
		ctxA, crashA := context.WithCancel(context.Background())
		e.peers.lost = func(ctx context.Context, c call, _ int) error {
			if c.Op != "issue" || !storeA.dead.CompareAndSwap(false, true) {
				return nil
			}
			crashA() // A is gone: it writes nothing more, not even a release of its lease
			<-ctx.Done()
			return ctx.Err()
		}
		a := e.runner("a", storeA, saga.Options{Lease: lease})
		aDone := make(chan struct{})
		go func() {
			defer close(aDone)
			a.Run(ctxA)
		}()
		t.Cleanup(func() { crashA(); <-aDone })
		placed := e.place(e.app(a), subKeysLine())
		waitFor(t, "replica a to stop", func() bool {
			select {
			case <-aDone:
				return true
			default:
				return false
			}
		})

		sub, ent := rid(placed, domain.StepCreateSubscription, 0), rid(placed, domain.StepIssueEntitlements, 0)
		rec := e.saga(placed.ID)
		leaseEnd := wallStart.Add(lease)
		if rec.LeaseOwner != "a" || !rec.LeaseUntil.Equal(leaseEnd) {
			t.Fatalf("after the crash the saga is leased to %q until %v; want a until %v", rec.LeaseOwner, rec.LeaseUntil, leaseEnd)
		}
		if st := taskStatus(rec.Saga, domain.StepCreateSubscription); st != domain.TaskDone {
			t.Fatalf("create_subscription is %s after the crash; want DONE", st)
		}
		if st := taskStatus(rec.Saga, domain.StepIssueEntitlements); st != domain.TaskPending {
			t.Fatalf("issue_entitlements is %s after the crash; want PENDING (its outcome was lost)", st)
		}
		if o := e.order(placed.ID); o.State != domain.OrderProvisioning || o.Lines[0].SubscriptionID == "" {
			t.Fatalf("order after the crash: %s, subscription %q", o.State, o.Lines[0].SubscriptionID)
		}

		cs := newCountingStore(e.store, e.wall)
		b := e.runner("b", cs, saga.Options{Lease: lease})
		e.start(b)
		cs.waitPolls(t, 3)
		if _, err := e.wall.Advance(lease - time.Second); err != nil {
			t.Fatal(err)
		}
		cs.waitPolls(t, 3)
		if n := e.peers.attemptsOf("issue", ent); n != 1 {
			t.Fatalf("keys called %d times while A's lease ran; want 1", n)
		}
		if rec := e.saga(placed.ID); rec.LeaseOwner != "a" {
			t.Fatalf("saga taken by %q while A's lease ran", rec.LeaseOwner)
		}
		if _, err := e.wall.Advance(time.Second); err != nil { // now == lease end: it has run out
			t.Fatal(err)
		}
		o := e.waitOrder(placed.ID, "COMPLETED", settledAs(domain.OrderCompleted))

		if at, ok := cs.dueAt(placed.ID); !ok || at.Before(leaseEnd) {
			t.Errorf("B first saw the saga due at %v (listed: %v); want not before %v", at, ok, leaseEnd)
		}
		checkResumed(t, e, o, sub, ent)
	})
}

// checkResumed checks a one-line order of skuSubKeys resumed after its keys call was lost.
func checkResumed(t *testing.T, e *env, o domain.Order, sub, ent string) {
	t.Helper()
	if n := e.peers.attemptsOf("provision", sub); n != 1 {
		t.Errorf("subscriptions called %d times; want 1 (the resumed saga starts after the done step)", n)
	}
	if got := e.peers.callsOf("issue"); len(got) != 2 || got[0].RequestID != ent || got[1].RequestID != ent {
		t.Errorf("keys calls %v; want the lost call and its repeat, both with %s", got, ent)
	}
	if n, m := e.peers.live("provision"), e.peers.live("issue"); n != 1 || m != 1 {
		t.Errorf("%d subscriptions, %d entitlements; want exactly one each", n, m)
	}
	// The resumed saga acts for the principal that placed the order (read back from the store).
	for _, c := range e.peers.callsOf("provision", "issue") {
		if c.Principal != "agent-1@"+partnerID {
			t.Errorf("%s acts for %q; want agent-1@%s", c, c.Principal, partnerID)
		}
	}
	l := o.Lines[0]
	if l.State != domain.LineProvisioned || l.SubscriptionID != e.peers.effectOf("provision", sub) ||
		l.EntitlementID != e.peers.effectOf("issue", ent) {
		t.Errorf("line %s IDs %q %q; want PROVISIONED with the callee's %q %q", l.State, l.SubscriptionID,
			l.EntitlementID, e.peers.effectOf("provision", sub), e.peers.effectOf("issue", ent))
	}
	if es := e.entries(o.ID); len(es) != 1 || es[0].Kind != ledger.KindCharge || es[0].Amount.Minor != 3*30000 ||
		es[0].Source.SubscriptionID != l.SubscriptionID {
		t.Errorf("ledger %+v; want one charge of 90000 for subscription %s", es, l.SubscriptionID)
	}
	if rec := e.saga(o.ID); rec.Saga.Status != domain.SagaCompleted || rec.LeaseOwner != "" {
		t.Errorf("saga %s lease %q; want COMPLETED, free", rec.Saga.Status, rec.LeaseOwner)
	}
}

// DESIGN (saga recovery): a replica that stops (its Run context ends) in the middle of a call
// hands the saga back at once: another replica resumes it without waiting for the lease (the
// wall clock does not move), repeating the call whose answer was lost with the same request ID.
func TestRunner_OR7_StoppedReplicaHandsSagaOver(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		ctxA, stopA := context.WithCancel(context.Background())
		var stopped atomic.Bool
		e.peers.lost = func(ctx context.Context, c call, _ int) error {
			if c.Op != "issue" || !stopped.CompareAndSwap(false, true) {
				return nil
			}
			stopA()
			<-ctx.Done()
			return ctx.Err()
		}
		a := e.runner("a", nil, saga.Options{})
		aDone := make(chan struct{})
		go func() {
			defer close(aDone)
			a.Run(ctxA)
		}()
		t.Cleanup(func() { stopA(); <-aDone })
		placed := e.place(e.app(a), subKeysLine())
		<-aDone
		if rec := e.saga(placed.ID); rec.LeaseOwner != "" {
			t.Fatalf("a stopped replica keeps its lease: owner %q until %v", rec.LeaseOwner, rec.LeaseUntil)
		}
		e.start(e.runner("b", nil, saga.Options{}))
		o := e.waitOrder(placed.ID, "COMPLETED", settledAs(domain.OrderCompleted))
		checkResumed(t, e, o, rid(o, domain.StepCreateSubscription, 0), rid(o, domain.StepIssueEntitlements, 0))
	})
}

// dyingStore is a replica's store connection that dies with the replica.
type dyingStore struct {
	app.Store
	dead atomic.Bool
}

var errDead = errs.Unavailablef("the replica's process is gone")

func (d *dyingStore) Tx(ctx context.Context, fn func(ctx context.Context, tx app.Tx) error) error {
	if d.dead.Load() {
		return errDead
	}
	return d.Store.Tx(ctx, fn)
}

func (d *dyingStore) DueSagas(ctx context.Context, now time.Time, limit int) ([]string, error) {
	if d.dead.Load() {
		return nil, errDead
	}
	return d.Store.DueSagas(ctx, now, limit)
}

func (d *dyingStore) PendingCancellations(ctx context.Context, limit int) ([]string, error) {
	if d.dead.Load() {
		return nil, errDead
	}
	return d.Store.PendingCancellations(ctx, limit)
}

func taskStatus(s domain.Saga, step domain.Step) domain.TaskStatus {
	for _, t := range s.Tasks {
		if t.Step == step {
			return t.Status
		}
	}
	return ""
}

// OR-7, DESIGN (lease): two replicas race over the same due sagas. Every call is held until both
// recovery loops have looked for due sagas twice more — the moment the other replica would start
// the saga again if the lease did not keep it out. No saga ever has two calls in flight, every
// request is made exactly once, and every order completes.
func TestRunner_OR7_RacingRunnersNeverRunOneSagaTwice(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		parked := e.app(parkedSagas{})
		var orders []domain.Order
		for range 8 {
			orders = append(orders, e.place(parked, onlineLine(), subKeysLine()))
		}
		sa, sb := newCountingStore(e.store, e.wall), newCountingStore(e.store, e.wall)
		e.peers.during = func(ctx context.Context, _ call) {
			na, nb := sa.polls.Load(), sb.polls.Load()
			waitCtx(ctx, func() bool { return sa.polls.Load() >= na+2 && sb.polls.Load() >= nb+2 })
		}
		a, b := e.runner("a", sa, saga.Options{}), e.runner("b", sb, saga.Options{})
		e.start(a)
		e.start(b)
		for _, o := range orders {
			e.waitOrder(o.ID, "COMPLETED", settledAs(domain.OrderCompleted))
		}
		e.peers.mu.Lock()
		overlaps := e.peers.overlaps
		e.peers.mu.Unlock()
		if len(overlaps) > 0 {
			t.Errorf("calls made while another call of the same saga was in flight: %v", overlaps)
		}
		for _, o := range orders {
			for _, x := range []struct {
				op   string
				step domain.Step
				line int
			}{{"provision", domain.StepCreateSubscription, 0}, {"provision", domain.StepCreateSubscription, 1},
				{"issue", domain.StepIssueEntitlements, 1}} {
				if n := e.peers.attemptsOf(x.op, rid(o, x.step, x.line)); n != 1 {
					t.Errorf("order %s: %s of line %d made %d times; want once", o.ID, x.op, x.line, n)
				}
			}
			if es := e.entries(o.ID); len(es) != 12+1 {
				t.Errorf("order %s: %d ledger entries; want 13", o.ID, len(es))
			}
		}
		if n, m := e.peers.live("provision"), e.peers.live("issue"); n != 2*len(orders) || m != len(orders) {
			t.Errorf("%d subscriptions, %d entitlements; want %d and %d", n, m, 2*len(orders), len(orders))
		}
	})
}

// ---- cancellation applier (cancel.go) ----

// placeCompleted places an order through a running runner and waits for it to complete.
func (e *env) placeCompleted(_ *saga.Runner, a *app.App, lines ...domain.LineInput) domain.Order {
	e.t.Helper()
	o := e.place(a, lines...)
	return e.waitOrder(o.ID, "COMPLETED", settledAs(domain.OrderCompleted))
}

func (e *env) cancel(a *app.App, orderID string, lineIDs ...string) (domain.Order, domain.CancelPlan) {
	e.t.Helper()
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{Subject: "agent-2", OrgID: partnerID,
		OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AdminAgent}})
	o, plan, err := a.CancelOrder(ctx, app.CancelInput{RequestID: "7d1e2f30-0000-4000-8000-0000000000f1",
		OrderID: orderID, LineIDs: lineIDs, Reason: "bought by mistake"})
	if err != nil {
		e.t.Fatalf("CancelOrder: %v", err)
	}
	return o, plan
}

// OR-3, BI-3, KD-7: a perpetual line cancelled within its window: keys revoke its keys and
// links (once, ORDER_CANCELLED), the ledger gets a 100 % credit on the monthly invoice after the
// cancellation, subscriptions is not asked, and the order ends CANCELLED.
func TestCancellation_OR3_PerpetualLine(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		r := e.runner("a", nil, saga.Options{})
		e.start(r)
		a := e.app(r)
		o := e.placeCompleted(r, a, perpetualLine())
		if _, err := e.biz.Advance(15 * 24 * time.Hour); err != nil { // 2026-04-04: inside the 30 days
			t.Fatal(err)
		}
		cancelAt := e.biz.Now()
		got, plan := e.cancel(a, o.ID)
		if got.State != domain.OrderCancelling || !got.CancellationPending {
			t.Fatalf("CancelOrder returned %s pending=%v; want CANCELLING, pending", got.State, got.CancellationPending)
		}
		if len(plan.Lines) != 1 || plan.Lines[0].Credit != eur(-100000) || plan.Lines[0].Route != domain.RoutePerpetualCredit {
			t.Errorf("plan %+v; want one perpetual line with a credit of -100000 EUR", plan)
		}
		o = e.waitOrder(o.ID, "CANCELLED", settledAs(domain.OrderCancelled))

		l := o.Lines[0]
		wantCalls(t, "cancellation calls", e.peers.callsOf("revoke", "cancel", "compensate"), []call{
			{Op: "revoke", RequestID: domain.CancelRequestIDFor(o.ID, l.ID, domain.ServiceKeys), OrderID: o.ID,
				LineID: l.ID, Ref: string(app.RevokeOrderCancelled)},
		})
		if e.peers.live("issue") != 0 {
			t.Error("the perpetual line's entitlement was not revoked")
		}
		if c := e.peers.callsOf("revoke"); len(c) == 1 && c[0].Principal != "agent-2@"+partnerID {
			t.Errorf("the revocation acts for %q; want the cancelling agent agent-2@%s", c[0].Principal, partnerID)
		}
		c := l.Cancellation
		if l.State != domain.LineCancelled || c == nil || !c.Applied() || c.Credit != eur(-100000) ||
			c.CompleteTime.IsZero() || c.Reason != "bought by mistake" {
			t.Errorf("line %s cancellation %+v; want CANCELLED, applied, credit -100000", l.State, c)
		}
		es := e.entries(o.ID)
		n, sum := sumOf(es, ledger.KindCredit, l.ID)
		if n != 1 || sum != -100000 {
			t.Fatalf("%d credits summing to %d; want one of -100000 (100 %%)", n, sum)
		}
		for _, x := range es {
			if x.Kind != ledger.KindCredit {
				continue
			}
			if want := ledger.NextInvoiceMonth(cancelAt); x.InvoiceMonth != want {
				t.Errorf("credit on the %s invoice; want %s (the month after the cancellation)", x.InvoiceMonth, want)
			}
			if x.Source.Kind != ledger.SourceOrderCancellation || x.Source.OrderID != o.ID || !x.CreateTime.Equal(cancelAt) {
				t.Errorf("credit %+v", x)
			}
		}
		if _, charged := sumOf(es, ledger.KindCharge, l.ID); charged+sum != 0 {
			t.Errorf("charged %d, credited %d: not 100 %%", charged, sum)
		}
	})
}

// OR-4, SU-10: a subscription line's cancellation goes to subscriptions once; its refund is the
// line's credit (the ledger books it from the subscriptions feed, not here); keys revoke the
// line's keys as SUBSCRIPTION_CANCELLED; the other line stays and the order is PARTIALLY_CANCELLED.
func TestCancellation_OR4_SubscriptionLine(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		e.peers.window = app.CancelWindow{End: bizStart.Add(7 * 24 * time.Hour), Refund: eur(-29000)}
		e.peers.refund = eur(-28500)
		r := e.runner("a", nil, saga.Options{})
		e.start(r)
		a := e.app(r)
		o := e.placeCompleted(r, a, onlineLine(), subKeysLine())
		l := o.Lines[1]
		_, plan := e.cancel(a, o.ID, l.ID)
		if len(plan.Lines) != 1 || plan.Lines[0].Route != domain.RouteViaSubscriptions || plan.Lines[0].Credit != eur(-29000) {
			t.Errorf("plan %+v; want the subscriptions route with the previewed refund", plan)
		}
		o = e.waitOrder(o.ID, "PARTIALLY_CANCELLED", settledAs(domain.OrderPartiallyCancelled))

		wantCalls(t, "cancellation calls", e.peers.callsOf("revoke", "cancel", "compensate"), []call{
			{Op: "cancel", RequestID: domain.CancelRequestIDFor(o.ID, l.ID, domain.ServiceSubscriptions), Ref: l.SubscriptionID},
			{Op: "revoke", RequestID: domain.CancelRequestIDFor(o.ID, l.ID, domain.ServiceKeys), OrderID: o.ID,
				LineID: l.ID, Ref: string(app.RevokeSubscriptionCancelled)},
		})
		got := o.Lines[1]
		if got.State != domain.LineCancelled || got.Cancellation == nil || !got.Cancellation.Applied() ||
			got.Cancellation.Credit != eur(-28500) {
			t.Errorf("line %s cancellation %+v; want CANCELLED with the refund subscriptions gave (-28500)", got.State, got.Cancellation)
		}
		if o.Lines[0].State != domain.LineProvisioned || o.Lines[0].Cancellation != nil {
			t.Errorf("the other line is %s with %+v; want PROVISIONED, untouched", o.Lines[0].State, o.Lines[0].Cancellation)
		}
		for _, x := range e.entries(o.ID) {
			if x.Kind != ledger.KindCharge {
				t.Errorf("orders recorded %+v; the refund is booked from the subscriptions feed (BI-3)", x)
			}
		}
	})
}

// OR-4, SU-10: subscriptions refuses a confirmed cancellation (the window closed in between):
// the line is PROVISIONED again without a cancellation, the order COMPLETED and no longer
// pending, keys are not asked, and nobody tries again.
func TestCancellation_OR4_RefusedBySubscriptionsPutsLineBack(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		e.peers.window = app.CancelWindow{End: bizStart.Add(7 * 24 * time.Hour), Refund: eur(-1000)}
		cs := newCountingStore(e.store, e.wall)
		r := e.runner("a", cs, saga.Options{})
		e.start(r)
		a := e.app(r)
		o := e.placeCompleted(r, a, subKeysLine())
		e.peers.set(func(f *fakePeers) {
			f.fail = func(c call, _ int) error {
				if c.Op == "cancel" {
					return errs.New(errs.FailedPrecondition, domain.ReasonCancellationWindowClosed, "the window ended")
				}
				return nil
			}
		})
		e.cancel(a, o.ID)
		o = e.waitOrder(o.ID, "COMPLETED again", settledAs(domain.OrderCompleted))
		cs.waitPolls(t, 3)

		l := o.Lines[0]
		if l.State != domain.LineProvisioned || l.Cancellation != nil || l.EntitlementID == "" || l.SubscriptionID == "" {
			t.Errorf("line %s cancellation %+v; want PROVISIONED as before", l.State, l.Cancellation)
		}
		if n := len(e.peers.callsOf("cancel")); n != 1 {
			t.Errorf("subscriptions asked %d times; want once", n)
		}
		if got := e.peers.callsOf("revoke"); len(got) != 0 {
			t.Errorf("keys revoked %v after subscriptions refused", got)
		}
		if e.peers.live("issue") != 1 {
			t.Error("the entitlement is gone")
		}
		for _, x := range e.entries(o.ID) {
			if x.Kind != ledger.KindCharge {
				t.Errorf("unexpected entry %+v", x)
			}
		}
	})
}

// OR-4: a transient failure of subscriptions leaves the cancellation pending; the recovery loop
// applies it at a later poll with the same request ID, and subscriptions acts once.
func TestCancellation_OR4_TransientFailureRetriedByRecoveryLoop(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		e.peers.refund = eur(-500)
		r := e.runner("a", nil, saga.Options{})
		e.start(r)
		a := e.app(r)
		o := e.placeCompleted(r, a, onlineLine())
		e.peers.set(func(f *fakePeers) {
			f.fail = func(c call, attempt int) error {
				if c.Op == "cancel" && attempt == 1 {
					return errs.Unavailablef("subscriptions is restarting")
				}
				return nil
			}
		})
		e.cancel(a, o.ID)
		o = e.waitOrder(o.ID, "CANCELLED", settledAs(domain.OrderCancelled))
		req := domain.CancelRequestIDFor(o.ID, o.Lines[0].ID, domain.ServiceSubscriptions)
		if n := e.peers.attemptsOf("cancel", req); n != 2 {
			t.Errorf("subscriptions asked %d times with %s; want 2", n, req)
		}
		if got := e.peers.callsOf("cancel"); len(got) != 2 || got[0].RequestID != got[1].RequestID {
			t.Errorf("cancel calls %v; want the same request ID twice", got)
		}
		if c := o.Lines[0].Cancellation; c == nil || c.Credit != eur(-500) {
			t.Errorf("cancellation %+v; want the refund -500", c)
		}
	})
}

// The helpers below map the order's enums to the ledger's for the checks (the proto numbers).
// firstChargeID is the entry ID (LedgerEntry.entry_id) of the line's first installment.
func firstChargeID(es []ledger.Entry, lineID string) string {
	var first *ledger.Entry
	for i, x := range es {
		if x.Kind == ledger.KindCharge && x.Source.LineID == lineID && (first == nil || x.Key.Installment < first.Key.Installment) {
			first = &es[i]
		}
	}
	if first == nil {
		return ""
	}
	return billing.EntryID(first.Key)
}

// OR-1, DESIGN (backoff in wall time): a retry due later than a third of the lease is handed back
// to the recovery loop, which runs it once the wall clock reaches it — not before.
func TestRunner_OR1_LongBackoffWaitsForTheWallClock(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		const backoff = 20 * time.Second // > 30 s / 3
		e.peers.fail = func(c call, attempt int) error {
			if c.Op == "provision" && attempt == 1 {
				return errs.Unavailablef("subscriptions is restarting")
			}
			return nil
		}
		cs := newCountingStore(e.store, e.wall)
		r := e.runner("a", cs, saga.Options{Lease: 30 * time.Second,
			Retry: domain.RetryPolicy{Base: backoff, Max: backoff, MaxAttempts: 3}})
		e.start(r)
		placed := e.place(e.app(r), onlineLine())
		sub := rid(placed, domain.StepCreateSubscription, 0)
		waitFor(t, "the first call", func() bool { return e.peers.attemptsOf("provision", sub) == 1 })
		var rec = e.saga(placed.ID)
		waitFor(t, "the saga handed back with its next run", func() bool {
			rec = e.saga(placed.ID)
			return rec.LeaseOwner == "" && !rec.NextRun.IsZero()
		})
		if want := wallStart.Add(backoff); !rec.NextRun.Equal(want) {
			t.Errorf("next run %v; want %v (wall clock + backoff)", rec.NextRun, want)
		}
		cs.waitPolls(t, 3)
		if _, err := e.wall.Advance(backoff - time.Second); err != nil {
			t.Fatal(err)
		}
		cs.waitPolls(t, 3)
		if n := e.peers.attemptsOf("provision", sub); n != 1 {
			t.Fatalf("retried %d times before the backoff ended; want not yet", n-1)
		}
		if _, err := e.wall.Advance(time.Second); err != nil {
			t.Fatal(err)
		}
		o := e.waitOrder(placed.ID, "COMPLETED", settledAs(domain.OrderCompleted))
		if n := e.peers.attemptsOf("provision", sub); n != 2 || e.peers.live("provision") != 1 {
			t.Errorf("%d calls, %d subscriptions; want 2 calls, 1 subscription", n, e.peers.live("provision"))
		}
		if at, ok := cs.dueAt(placed.ID); !ok || at.Before(wallStart.Add(backoff)) {
			t.Errorf("listed due at %v; want not before %v", at, wallStart.Add(backoff))
		}
		if o.Lines[0].SubscriptionID != e.peers.effectOf("provision", sub) {
			t.Errorf("line subscription %q", o.Lines[0].SubscriptionID)
		}
	})
}

// OR-1: compensations are retried (same request ID) until they succeed — giving up would leave
// an orphan subscription; "nothing to undo" (NOT_FOUND) counts as undone.
func TestRunner_OR1_CompensationRetriedUntilDone(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		e.peers.fail = func(c call, attempt int) error {
			switch {
			case c.Op == "issue":
				return errs.New(errs.FailedPrecondition, "KEY_POOL_EXHAUSTED", "no keys")
			case c.Op == "compensate" && c.Ref == e.peers.firstProvision() && attempt <= 3:
				return errs.Unavailablef("subscriptions is restarting")
			case c.Op == "compensate":
				return errs.NotFoundf("provisioning", c.Ref) // never happened, as far as it knows
			}
			return nil
		}
		r := e.runner("a", nil, saga.Options{Retry: domain.RetryPolicy{Base: time.Millisecond, Max: time.Millisecond, MaxAttempts: 2}})
		e.start(r)
		placed := e.place(e.app(r), onlineLine(), subKeysLine())
		o := e.waitOrder(placed.ID, "FAILED", settledAs(domain.OrderFailed))
		c1, c0 := crid(o, domain.StepCreateSubscription, 1), crid(o, domain.StepCreateSubscription, 0)
		got := e.peers.callsOf("compensate")
		var ids []string
		for _, c := range got {
			ids = append(ids, c.RequestID)
		}
		// line 1 first (reverse order), answered NOT_FOUND; then line 0, failing 3 times.
		if want := []string{c1, c0, c0, c0, c0}; !reflect.DeepEqual(ids, want) {
			t.Errorf("compensations %q; want %q", ids, want)
		}
		if o.Failure == nil || o.Failure.Reason != "KEY_POOL_EXHAUSTED" {
			t.Errorf("failure %+v; want the refusal's, not the compensation's", o.Failure)
		}
		rec := e.saga(o.ID)
		for _, task := range rec.Saga.Tasks {
			if task.Step == domain.StepCreateSubscription && task.LineID == o.Lines[0].ID &&
				(task.Status != domain.TaskCompensated || task.CompensationAttempts != 4) {
				t.Errorf("task %+v; want COMPENSATED after 4 attempts (more than the run steps' 2)", task)
			}
		}
	})
}

// firstProvision is the request ID of the first provisioning call.
func (f *fakePeers) firstProvision() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if c.Op == "provision" {
			return c.RequestID
		}
	}
	return ""
}

// DESIGN (lease): a replica whose call outlasts its lease loses the saga to another replica;
// when its answer finally comes, its write is refused (the saga's version moved on), so it
// cannot set the saga back.
func TestRunner_OR7_ExpiredLeaseLateWriteRefused(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		const lease = 30 * time.Second
		release := make(chan struct{})
		var held atomic.Bool
		e.peers.during = func(ctx context.Context, c call) {
			if c.Op == "provision" && held.CompareAndSwap(false, true) {
				select { // A's call hangs
				case <-release:
				case <-ctx.Done():
				}
			}
		}
		wa := &writeLog{Store: e.store}
		a := e.runner("a", wa, saga.Options{Lease: lease})
		e.start(a)
		placed := e.place(e.app(a), subKeysLine())
		sub := rid(placed, domain.StepCreateSubscription, 0)
		waitFor(t, "A's call", func() bool { return e.peers.attemptsOf("provision", sub) == 1 })
		if _, err := e.wall.Advance(lease); err != nil {
			t.Fatal(err)
		}
		e.start(e.runner("b", nil, saga.Options{Lease: lease}))
		o := e.waitOrder(placed.ID, "COMPLETED", settledAs(domain.OrderCompleted))
		done := e.saga(o.ID)
		close(release)
		waitFor(t, "A's late write", func() bool { return len(wa.errors()) > 0 })
		if err := wa.errors()[0]; !isKind(err, errs.Aborted) {
			t.Errorf("A's late write: %v; want ABORTED", err)
		}
		if rec := e.saga(o.ID); !reflect.DeepEqual(rec, done) {
			t.Errorf("the saga changed after B completed it:\n%+v\n%+v", rec, done)
		}
		if got := e.order(o.ID); got.Version != o.Version || got.State != domain.OrderCompleted {
			t.Errorf("order v%d %s after A's late answer; want v%d COMPLETED", got.Version, got.State, o.Version)
		}
		if n, m := e.peers.live("provision"), e.peers.live("issue"); n != 1 || m != 1 {
			t.Errorf("%d subscriptions, %d entitlements; want 1 each", n, m)
		}
		if es := e.entries(o.ID); len(es) != 1 {
			t.Errorf("%d ledger entries; want 1", len(es))
		}
	})
}

func isKind(err error, k errs.Kind) bool { return errs.KindOf(err) == k }

// writeLog records the failed PutSaga calls of a replica.
type writeLog struct {
	app.Store
	mu   sync.Mutex
	errs []error
}

func (w *writeLog) Tx(ctx context.Context, fn func(ctx context.Context, tx app.Tx) error) error {
	return w.Store.Tx(ctx, func(ctx context.Context, tx app.Tx) error { return fn(ctx, &loggedTx{Tx: tx, w: w}) })
}

func (w *writeLog) errors() []error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]error(nil), w.errs...)
}

type loggedTx struct {
	app.Tx
	w *writeLog
}

func (x *loggedTx) PutSaga(ctx context.Context, r app.SagaRecord) error {
	err := x.Tx.PutSaga(ctx, r)
	if err != nil {
		x.w.mu.Lock()
		x.w.errs = append(x.w.errs, err)
		x.w.mu.Unlock()
	}
	return err
}

// OR-4, OR-7: two replicas apply one cancellation at once (both recovery loops see it pending,
// every call is held until both have polled again). Each service may be asked twice, always with
// the same request ID, so it acts once; the credit is recorded once; the order ends CANCELLED.
func TestCancellation_OR4_TwoReplicasApplyOnce(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		e.peers.window = app.CancelWindow{End: bizStart.Add(7 * 24 * time.Hour), Refund: eur(-20000)}
		e.peers.refund = eur(-19000)
		sa, sb := newCountingStore(e.store, e.wall), newCountingStore(e.store, e.wall)
		a := e.runner("a", sa, saga.Options{})
		e.start(a)
		o := e.placeCompleted(a, e.app(a), perpetualLine(), subKeysLine())
		e.start(e.runner("b", sb, saga.Options{}))
		e.peers.set(func(f *fakePeers) {
			f.during = func(ctx context.Context, c call) {
				na, nb := sa.polls.Load(), sb.polls.Load()
				waitCtx(ctx, func() bool { return sa.polls.Load() >= na+2 && sb.polls.Load() >= nb+2 })
			}
		})
		e.cancel(e.app(a), o.ID)
		o = e.waitOrder(o.ID, "CANCELLED", settledAs(domain.OrderCancelled))

		for _, c := range e.peers.callsOf("cancel", "revoke") {
			if c.RequestID != domain.CancelRequestIDFor(o.ID, c.lineOf(o), serviceOf(c)) {
				t.Errorf("call %s: not the cancellation's request ID", c)
			}
		}
		if n := len(e.peers.callsOf("cancel")); n < 1 {
			t.Error("subscriptions never asked")
		}
		t.Logf("subscriptions asked %d times, keys %d times", len(e.peers.callsOf("cancel")), len(e.peers.callsOf("revoke")))
		if e.peers.live("issue") != 0 {
			t.Error("entitlements left")
		}
		es := e.entries(o.ID)
		if n, sum := sumOf(es, ledger.KindCredit, o.Lines[0].ID); n != 1 || sum != -100000 {
			t.Errorf("perpetual line: %d credits summing to %d; want one of -100000", n, sum)
		}
		if n, _ := sumOf(es, ledger.KindCredit, o.Lines[1].ID); n != 0 {
			t.Errorf("subscription line: %d credits recorded by orders; want none (the feed books the refund)", n)
		}
		if c := o.Lines[1].Cancellation; c == nil || c.Credit != eur(-19000) {
			t.Errorf("subscription line cancellation %+v; want the refund -19000", c)
		}
	})
}

// lineOf is the ID of the order line a cancel or revoke call is about.
func (c call) lineOf(o domain.Order) string {
	if c.Op == "cancel" {
		for _, l := range o.Lines {
			if l.SubscriptionID == c.Ref {
				return l.ID
			}
		}
	}
	return c.LineID
}

func serviceOf(c call) domain.Service {
	if c.Op == "cancel" {
		return domain.ServiceSubscriptions
	}
	return domain.ServiceKeys
}

// OR-7: when every worker of the replica is busy, PlaceOrder waits for one no longer than
// StartWait or its caller's context: the order is stored and answered PROVISIONING, its saga
// released, and the recovery loop runs it once a worker is free (a soak had PlaceOrder wait
// minutes).
func TestRunner_OR7_BusyWorkersDoNotHoldPlaceOrder(t *testing.T) {
	e := newEnv(t, testkit.SQLiteDSN(t))
	const lease = 30 * time.Second
	release := make(chan struct{})
	var blocked atomic.Bool
	e.peers.during = func(ctx context.Context, c call) {
		if c.Op == "provision" && blocked.CompareAndSwap(false, true) {
			select { // the first order's saga holds the only worker
			case <-release:
			case <-ctx.Done():
			}
		}
	}
	r := e.runner("a", nil, saga.Options{Workers: 1, Lease: lease, StartWait: 20 * time.Millisecond})
	e.start(r)
	a := e.app(r)
	first := e.place(a, onlineLine())
	waitFor(t, "the first saga to hold the worker", blocked.Load)

	// The worker stays busy until the second order is placed: PlaceOrder waits StartWait, not
	// its caller's deadline.
	second, err := a.PlaceOrder(partnerCtx(), app.PlaceInput{PlaceOrderInput: domain.PlaceOrderInput{RequestID: uuid.NewString(),
		CustomerID: customerID, Lines: []domain.LineInput{onlineLine()}}})
	if err != nil || second.State != domain.OrderProvisioning {
		t.Fatalf("PlaceOrder with every worker busy = %s, %v; want the order, PROVISIONING", second.State, err)
	}
	// A third, whose caller's deadline ends first.
	ctx, cancel := context.WithTimeout(partnerCtx(), time.Millisecond)
	defer cancel()
	third, err := a.PlaceOrder(ctx, app.PlaceInput{PlaceOrderInput: domain.PlaceOrderInput{RequestID: uuid.NewString(),
		CustomerID: customerID, Lines: []domain.LineInput{onlineLine()}}})
	if err != nil && ctx.Err() == nil {
		t.Fatalf("PlaceOrder with a short deadline: %v", err)
	}

	close(release)
	e.waitOrder(first.ID, "COMPLETED", settledAs(domain.OrderCompleted))
	// Released, not leased: the recovery loop starts them as the worker frees, without waiting
	// for their leases (the wall clock stands still).
	e.waitOrder(second.ID, "COMPLETED", settledAs(domain.OrderCompleted))
	if third.ID != "" {
		e.waitOrder(third.ID, "COMPLETED", settledAs(domain.OrderCompleted))
	}
}
