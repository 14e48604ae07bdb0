package app_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
)

func TestRetryable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errs.Unavailablef("down"), true},
		{fmt.Errorf("catalog GetSku: %w", errs.Unavailablef("down")), true},
		{errs.New(errs.DeadlineExceeded, "", "slow"), true},
		{errs.New(errs.Aborted, "", "conflict"), true},
		{fmt.Errorf("tenancy check: %w", context.DeadlineExceeded), true},
		{context.Canceled, true},
		{errs.New(errs.FailedPrecondition, "MARKET_NOT_AVAILABLE", "no"), false},
		{errs.New(errs.InvalidArgument, errs.ReasonInvalidRequest, "bad"), false},
		{errs.NotFoundf("sku", "x"), false},
		{errs.New(errs.Internal, "", "bug"), false},
		{errors.New("plain"), false},
	} {
		if got := app.Retryable(tc.err); got != tc.want {
			t.Errorf("Retryable(%v) = %v; want %v", tc.err, got, tc.want)
		}
	}
}
