package catalog_test

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/adapters/catalog"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
)

// fakeCatalog knows one discontinued SKU and fails for "boom".
type fakeCatalog struct {
	catalogv1.UnimplementedCatalogServiceServer
}

func (fakeCatalog) GetSku(_ context.Context, req *catalogv1.GetSkuRequest) (*catalogv1.GetSkuResponse, error) {
	switch req.GetSkuId() {
	case "OLD:0001":
		return &catalogv1.GetSkuResponse{Sku: &catalogv1.Sku{SkuId: "OLD:0001", ProductId: "OLD", DisplayName: "Old plan",
			MaximumQuantity: 300, Discontinued: true, EquivalentSkuId: "NEW:0001"}}, nil
	case "boom":
		return nil, status.Error(codes.Internal, "boom")
	}
	return nil, status.Error(codes.NotFound, "no such SKU")
}

func dial(t *testing.T) *grpc.ClientConn {
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	catalogv1.RegisterCatalogServiceServer(gs, fakeCatalog{})
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// CA-9: a discontinued SKU comes back with its equivalent; unknown is NOT_FOUND, a failing
// catalog DEPENDENCY_UNAVAILABLE.
func TestSku_CA9(t *testing.T) {
	c := catalog.New(dial(t))
	ctx := context.Background()
	got, err := c.Sku(ctx, "OLD:0001")
	want := domain.SkuInfo{ID: "OLD:0001", ProductID: "OLD", DisplayName: "Old plan", MaxQuantity: 300,
		Discontinued: true, EquivalentSkuID: "NEW:0001"}
	if err != nil || got != want {
		t.Errorf("Sku = %+v, %v; want %+v", got, err, want)
	}
	if _, err := c.Sku(ctx, "NOPE:0001"); errs.KindOf(err) != errs.NotFound {
		t.Errorf("unknown SKU: %v", err)
	}
	if _, err := c.Sku(ctx, "boom"); errs.ReasonOf(err) != errs.ReasonDependencyUnavailable {
		t.Errorf("failing catalog: %v", err)
	}
}
