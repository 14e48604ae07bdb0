package idempotency_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/idempotency"
	"github.com/partnerhub/partnerhub/pkg/store"
)

const method = "/partnerhub.identity.v1.UserService/DisableUser"

// scopeKey carries the caller's org in the tests, where a service would use its auth principal.
type scopeKey struct{}

func scope(ctx context.Context) string {
	org, _ := ctx.Value(scopeKey{}).(string)
	return org + method
}

// fixture is the interceptor around a handler that counts its runs.
type fixture struct {
	intercept grpc.UnaryServerInterceptor
	runs      atomic.Int32
	delay     time.Duration
	fail      atomic.Pointer[error]
	panics    atomic.Bool
}

func newFixture(s *idempotency.Store) *fixture {
	return &fixture{intercept: idempotency.UnaryServerInterceptor(s, scope)}
}

func (f *fixture) handler(_ context.Context, req any) (any, error) {
	n := f.runs.Add(1)
	time.Sleep(f.delay)
	if f.panics.Load() {
		panic("handler panic")
	}
	if err := f.fail.Load(); err != nil {
		return nil, *err
	}
	r := req.(*identityv1.DisableUserRequest)
	// The response depends on the run, so a replay is distinguishable from a second run.
	return &identityv1.DisableUserResponse{User: &identityv1.User{
		UserId: r.GetUserId(), DisplayName: "run " + string('0'+n), Etag: r.GetEtag()}}, nil
}

func (f *fixture) call(ctx context.Context, req proto.Message) (*identityv1.DisableUserResponse, error) {
	resp, err := f.intercept(ctx, req, &grpc.UnaryServerInfo{FullMethod: method}, f.handler)
	if err != nil {
		return nil, err
	}
	return resp.(*identityv1.DisableUserResponse), nil
}

func org(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, scopeKey{}, id)
}

const rid = "6f1c2b9e-3a4d-4e5f-8a7b-1c2d3e4f5a6b"

func TestInterceptorReplay(t *testing.T) {
	forEachDB(t, idempotency.Options{}, func(t *testing.T, s *idempotency.Store, _ *store.DB) {
		f := newFixture(s)
		ctx := org(t.Context(), "partner-1")
		req := &identityv1.DisableUserRequest{RequestId: rid, UserId: "u1", Etag: "e1"}
		first, err := f.call(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		again, err := f.call(ctx, proto.Clone(req))
		if err != nil {
			t.Fatal(err)
		}
		if f.runs.Load() != 1 {
			t.Errorf("handler ran %d times, want 1", f.runs.Load())
		}
		if !proto.Equal(first, again) {
			t.Errorf("replayed response %v differs from the first %v", again, first)
		}

		// The same request_id with another request is refused...
		_, err = f.call(ctx, &identityv1.DisableUserRequest{RequestId: rid, UserId: "u2"})
		if errs.KindOf(err) != errs.AlreadyExists || !errs.HasReason(err, errs.ReasonRequestIDReused) {
			t.Errorf("reused request_id: %v; want ALREADY_EXISTS REQUEST_ID_REUSED", err)
		}
		// ...but in another caller's scope it is another key.
		if _, err := f.call(org(t.Context(), "partner-2"), &identityv1.DisableUserRequest{RequestId: rid, UserId: "u2"}); err != nil {
			t.Errorf("same request_id for another org: %v", err)
		}
		if f.runs.Load() != 2 {
			t.Errorf("handler ran %d times, want 2", f.runs.Load())
		}
	})
}

func TestInterceptorValidatesRequestID(t *testing.T) {
	forEachDB(t, idempotency.Options{}, func(t *testing.T, s *idempotency.Store, _ *store.DB) {
		f := newFixture(s)
		for _, id := range []string{"", "not-a-uuid", "{" + rid + "}", "6f1c2b9e3a4d4e5f8a7b1c2d3e4f5a6b"} {
			_, err := f.call(t.Context(), &identityv1.DisableUserRequest{RequestId: id, UserId: "u1"})
			e, ok := errs.As(err)
			if !ok || e.Kind != errs.InvalidArgument || len(e.Violations) != 1 || e.Violations[0].Field != "request_id" {
				t.Errorf("request_id %q: %v; want INVALID_ARGUMENT with a violation on request_id", id, err)
			}
		}
		if f.runs.Load() != 0 {
			t.Errorf("handler ran %d times for invalid requests", f.runs.Load())
		}
		// A request without a request_id field is not idempotent and passes through.
		resp, err := f.intercept(t.Context(), &identityv1.GetUserRequest{}, &grpc.UnaryServerInfo{FullMethod: "/x/Get"},
			func(context.Context, any) (any, error) { return "passed", nil })
		if err != nil || resp != "passed" {
			t.Errorf("request without request_id: %v, %v", resp, err)
		}
	})
}

func TestInterceptorDoesNotStoreFailures(t *testing.T) {
	forEachDB(t, idempotency.Options{}, func(t *testing.T, s *idempotency.Store, _ *store.DB) {
		f := newFixture(s)
		ctx := org(t.Context(), "p")
		req := &identityv1.DisableUserRequest{RequestId: rid, UserId: "u1"}

		failure := errs.Unavailablef("peer down")
		var asErr error = failure
		f.fail.Store(&asErr)
		if _, err := f.call(ctx, req); !errors.Is(err, failure) {
			t.Fatalf("first call: %v, want the handler's error", err)
		}
		f.fail.Store(nil)
		f.panics.Store(true)
		func() {
			defer func() {
				if recover() == nil {
					t.Error("panic did not propagate")
				}
			}()
			_, _ = f.call(ctx, req)
		}()
		f.panics.Store(false)
		// Neither the error nor the panic left a claim: the retry runs the handler.
		if _, err := f.call(ctx, req); err != nil {
			t.Fatalf("retry: %v", err)
		}
		if f.runs.Load() != 3 {
			t.Errorf("handler ran %d times, want 3", f.runs.Load())
		}
	})
}

func TestInterceptorConcurrentIdenticalCalls(t *testing.T) {
	forEachDB(t, idempotency.Options{}, func(t *testing.T, s *idempotency.Store, _ *store.DB) {
		f := newFixture(s)
		f.delay = 200 * time.Millisecond // all 20 arrive while the first still runs
		ctx := org(t.Context(), "p")
		const callers = 20
		resps := make([]*identityv1.DisableUserResponse, callers)
		errsSeen := make([]error, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				resps[i], errsSeen[i] = f.call(ctx, &identityv1.DisableUserRequest{RequestId: rid, UserId: "u1", Etag: "e"})
			})
		}
		wg.Wait()
		if n := f.runs.Load(); n != 1 {
			t.Errorf("handler ran %d times for %d identical concurrent calls, want 1", n, callers)
		}
		for i := range callers {
			if errsSeen[i] != nil {
				t.Errorf("call %d: %v", i, errsSeen[i])
			} else if !proto.Equal(resps[i], resps[0]) {
				t.Errorf("call %d got %v, call 0 got %v", i, resps[i], resps[0])
			}
		}
	})
}
