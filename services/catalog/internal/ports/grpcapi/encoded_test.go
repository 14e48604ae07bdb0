package grpcapi

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	"github.com/partnerhub/partnerhub/services/catalog/internal/domain"
	"github.com/partnerhub/partnerhub/services/catalog/internal/pbconv"
)

// The memoised GetSku answer is on the wire exactly what the plain mapping gives, decodes to the
// same SKU, is reused for the same version and never for another.
func TestSkuResponses_SameWireFormAndVersioned(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	sku := domain.Sku{
		ID: "DG7GMGF0D65N:0001", ProductID: "DG7GMGF0D65N", ProductKind: domain.ProductKind("SOFTWARE_SUBSCRIPTION"),
		DisplayName: "Windows Server 2022 Standard", MaximumQuantity: 100,
		DownloadVariants: []domain.DownloadVariant{{ID: "2022-en-us-iso-x64", Version: "2022", Language: "en-US", FileType: "ISO"}},
		CreateTime:       t0, UpdateTime: t0,
	}
	sku.Etag = sku.ContentEtag()
	r := newSkuResponses(10)

	got, err := r.response(sku)
	if err != nil {
		t.Fatal(err)
	}
	wire, err := proto.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := proto.Marshal(&catalogv1.GetSkuResponse{Sku: pbconv.SkuPB(sku)})
	if string(wire) != string(want) {
		t.Fatalf("memoised wire form differs:\n got %x\nwant %x", wire, want)
	}
	var decoded catalogv1.GetSkuResponse
	if err := proto.Unmarshal(wire, &decoded); err != nil || !proto.Equal(decoded.GetSku(), pbconv.SkuPB(sku)) {
		t.Fatalf("decoded %v, %v", decoded.GetSku(), err)
	}
	if again, _ := r.response(sku); again != got {
		t.Error("the same version was encoded again")
	}

	changed := sku
	changed.DisplayName = "Windows Server 2022 Standard (renamed)"
	changed.Etag, changed.UpdateTime = changed.ContentEtag(), t0.Add(time.Minute)
	other, _ := r.response(changed)
	if other == got {
		t.Fatal("a changed SKU got the old answer")
	}
	otherWire, _ := proto.Marshal(other)
	var otherDecoded catalogv1.GetSkuResponse
	if err := proto.Unmarshal(otherWire, &otherDecoded); err != nil || otherDecoded.GetSku().GetDisplayName() != changed.DisplayName {
		t.Errorf("changed SKU decoded as %q, %v", otherDecoded.GetSku().GetDisplayName(), err)
	}
}
