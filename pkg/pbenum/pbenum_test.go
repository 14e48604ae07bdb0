package pbenum_test

import (
	"testing"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	"github.com/partnerhub/partnerhub/pkg/pbenum"
)

type kind string

func TestNameAndValue(t *testing.T) {
	const prefix = "PRODUCT_KIND_"
	tests := []struct {
		pb catalogv1.ProductKind
		d  kind
	}{
		{catalogv1.ProductKind_PRODUCT_KIND_UNSPECIFIED, ""},
		{catalogv1.ProductKind_PRODUCT_KIND_SOFTWARE_PLAN, "SOFTWARE_PLAN"},
	}
	for _, tt := range tests {
		if got := pbenum.Name[kind](tt.pb, prefix); got != tt.d {
			t.Errorf("Name(%v) = %q, want %q", tt.pb, got, tt.d)
		}
		if got := pbenum.Value[catalogv1.ProductKind](catalogv1.ProductKind_value, prefix, tt.d); got != tt.pb {
			t.Errorf("Value(%q) = %v, want %v", tt.d, got, tt.pb)
		}
	}
	if got := pbenum.Name[kind](catalogv1.ProductKind(99), prefix); got != "99" {
		t.Errorf("unknown number maps to %q, want its digits", got)
	}
	if got := pbenum.Value[catalogv1.ProductKind](catalogv1.ProductKind_value, prefix, kind("NOPE")); got != 0 {
		t.Errorf("unknown name maps to %v, want UNSPECIFIED", got)
	}
}
