package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	keysv1 "github.com/partnerhub/partnerhub/gen/partnerhub/keys/v1"
)

// TestE2E_Stack_StopKillStart_Keys checks the fault helpers on a service that tolerates them:
// keys is stopped (docker stop), the clocks move while it is down, it is started again and
// answers on the connection made before the stop, with its data (PostgreSQL) and a fake clock
// that agrees with the others; then it is killed (SIGKILL) and started once more. Logs reads the
// output of all three containers.
func TestE2E_Stack_StopKillStart_Keys(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	tn := newLifecycleTenant(t, ctx)
	stack.Restore(t, "keys") // up again for the next tests even if this one fails half-way
	// One client for the whole test: Conn("keys") follows the restarts.
	ents := keysv1.NewEntitlementServiceClient(stack.Conn("keys"))
	agent := withToken(ctx, tn.agentToken)
	issued, err := ents.IssueEntitlements(withToken(ctx, tn.sagaToken(t, ctx)), &keysv1.IssueEntitlementsRequest{
		RequestId: uuid.NewString(), OrderId: uuid.NewString(), OrderLineId: uuid.NewString(),
		CustomerId: tn.customerID, PartnerId: tn.partnerID, SkuId: "DG7GMGF0DVSV:0001", ProductId: "DG7GMGF0DVSV",
		ProductName: "Windows Server 2022 Standard - 16 Core License Pack", Quantity: 1, KeyType: keysv1.KeyType_KEY_TYPE_MAK, KeyCount: 1,
	})
	if err != nil {
		t.Fatalf("IssueEntitlements: %v", err)
	}
	want := issued.GetEntitlement().GetEntitlementId()
	listed := func(when string) {
		t.Helper()
		resp, err := ents.ListSoftware(agent, &keysv1.ListSoftwareRequest{CustomerId: tn.customerID, IncludeLicenseOnly: true})
		if err != nil || len(resp.GetEntitlements()) != 1 || resp.GetEntitlements()[0].GetEntitlementId() != want {
			t.Fatalf("%s: ListSoftware = %v, %v; want the entitlement %s issued before", when, resp.GetEntitlements(), err, want)
		}
	}
	listed("before the stop")
	before := stack.Now(ctx, t)
	// Other tests may have restarted keys before this one: count the starts from here on.
	startLogs, err := stack.Logs(ctx, "keys")
	if err != nil {
		t.Fatal(err)
	}
	starts := strings.Count(startLogs, "running on a fake clock")

	// Stopped: calls fail UNAVAILABLE; the other clocks move on without it.
	if err := stack.Stop(ctx, "keys"); err != nil {
		t.Fatal(err)
	}
	if _, err := ents.ListSoftware(agent, &keysv1.ListSoftwareRequest{CustomerId: tn.customerID}); status.Code(err) != codes.Unavailable {
		t.Fatalf("ListSoftware while keys is stopped: %v; want UNAVAILABLE", err)
	}
	if err := stack.Start(ctx, "keys"); err != nil {
		t.Fatal(err)
	}
	if err := stack.Start(ctx, "keys"); err == nil {
		t.Fatalf("Start of a running service succeeded; want an error")
	}
	listed("after stop and start")
	if now := stack.Now(ctx, t); !now.Equal(before) {
		t.Fatalf("clock after a restart without a move: %v; want %v", now, before)
	}

	// Killed while the clocks move: started again at the stack's new time (Now checks that every
	// fake clock, keys' included, agrees).
	if err := stack.Kill(ctx, "keys"); err != nil {
		t.Fatal(err)
	}
	moved := stack.Advance(ctx, t, 3*day)
	if err := stack.Start(ctx, "keys"); err != nil {
		t.Fatal(err)
	}
	listed("after kill and start")
	if now := stack.Now(ctx, t); !now.Equal(moved) || !moved.Equal(before.Add(3*day)) {
		t.Fatalf("clock after a kill, a 3-day move and a start: %v; want %v", now, before.Add(3*day))
	}

	logs, err := stack.Logs(ctx, "keys")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs, "running on a fake clock") - starts; n != 2 {
		t.Errorf("keys logs hold %d more starts on a fake clock; want 2 (two restarts)", n)
	}
}
