package errs_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// A peer's status arrives at the caller's app layer as an *errs.Error with the peer's kind,
// reason and metadata.
func TestUnaryClientInterceptor_MapsPeerErrorsBack(t *testing.T) {
	peer := errs.New(errs.FailedPrecondition, "MARKET_NOT_AVAILABLE", "not sold in CN").With("market", "CN")
	st, _ := errs.ToStatus(peer)
	invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return st.Err() }
	err := errs.UnaryClientInterceptor()(context.Background(), "/x.v1.S/M", nil, nil, nil, invoker)
	e, ok := errs.As(err)
	if !ok || e.Kind != errs.FailedPrecondition || e.Reason != "MARKET_NOT_AVAILABLE" || e.Metadata["market"] != "CN" {
		t.Fatalf("got %v; want FAILED_PRECONDITION / MARKET_NOT_AVAILABLE with market=CN", err)
	}
	ok200 := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil }
	if err := errs.UnaryClientInterceptor()(context.Background(), "/x.v1.S/M", nil, nil, nil, ok200); err != nil {
		t.Fatalf("success became %v", err)
	}
}
