// Package grpcapi maps partnerhub.catalog.v1 to catalog's use cases: proto in, app call, proto
// out. No business rules here.
package grpcapi

import (
	"context"

	"google.golang.org/grpc"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	"github.com/partnerhub/partnerhub/pkg/pbenum"
	"github.com/partnerhub/partnerhub/services/catalog/internal/app"
	"github.com/partnerhub/partnerhub/services/catalog/internal/catalogfile"
	"github.com/partnerhub/partnerhub/services/catalog/internal/domain"
	"github.com/partnerhub/partnerhub/services/catalog/internal/pbconv"
)

// Server implements CatalogService and CatalogAdminService. Authentication, each RPC's access
// rule (CatalogAdminService is service-only) and idempotency by request_id run before it, in the
// server stack.
type Server struct {
	catalogv1.UnimplementedCatalogServiceServer
	catalogv1.UnimplementedCatalogAdminServiceServer
	app  *app.App
	skus *skuResponses
}

// Register adds both catalog services to gs.
func Register(gs *grpc.Server, a *app.App) {
	s := &Server{app: a, skus: newSkuResponses(10_000)}
	catalogv1.RegisterCatalogServiceServer(gs, s)
	catalogv1.RegisterCatalogAdminServiceServer(gs, s)
}

// ListProducts implements catalogv1.CatalogServiceServer.
func (s *Server) ListProducts(ctx context.Context, req *catalogv1.ListProductsRequest) (*catalogv1.ListProductsResponse, error) {
	page, err := s.app.ListProducts(ctx, app.ListProductsQuery{PageSize: req.GetPageSize(), PageToken: req.GetPageToken(),
		Kind: pbconv.Kind(req.GetKind()), Country: req.GetCountryCode()})
	if err != nil {
		return nil, err
	}
	return &catalogv1.ListProductsResponse{Products: pbconv.All(page.Products, pbconv.ProductPB),
		NextPageToken: page.NextPageToken}, nil
}

// GetProduct implements catalogv1.CatalogServiceServer.
func (s *Server) GetProduct(ctx context.Context, req *catalogv1.GetProductRequest) (*catalogv1.GetProductResponse, error) {
	p, err := s.app.GetProduct(ctx, req.GetProductId())
	if err != nil {
		return nil, err
	}
	return &catalogv1.GetProductResponse{Product: pbconv.ProductPB(p)}, nil
}

// ListSkus implements catalogv1.CatalogServiceServer.
func (s *Server) ListSkus(ctx context.Context, req *catalogv1.ListSkusRequest) (*catalogv1.ListSkusResponse, error) {
	page, err := s.app.ListSkus(ctx, app.ListSkusQuery{PageSize: req.GetPageSize(), PageToken: req.GetPageToken(),
		ProductID: req.GetProductId(), Kind: pbconv.Kind(req.GetKind()), Country: req.GetCountryCode(),
		IncludeDiscontinued: req.GetIncludeDiscontinued()})
	if err != nil {
		return nil, err
	}
	return &catalogv1.ListSkusResponse{Skus: pbconv.All(page.Skus, pbconv.SkuPB), NextPageToken: page.NextPageToken}, nil
}

// GetSku implements catalogv1.CatalogServiceServer.
func (s *Server) GetSku(ctx context.Context, req *catalogv1.GetSkuRequest) (*catalogv1.GetSkuResponse, error) {
	sku, err := s.app.GetSku(ctx, req.GetSkuId())
	if err != nil {
		return nil, err
	}
	return s.skus.response(sku)
}

// CheckAvailability implements catalogv1.CatalogServiceServer.
func (s *Server) CheckAvailability(ctx context.Context, req *catalogv1.CheckAvailabilityRequest) (*catalogv1.CheckAvailabilityResponse, error) {
	a, err := s.app.CheckAvailability(ctx, req.GetSkuId(), req.GetCountryCode())
	if err != nil {
		return nil, err
	}
	resp := &catalogv1.CheckAvailabilityResponse{Available: a.Available, Message: a.Message, EquivalentSkuId: a.Equivalent}
	if a.Reason != "" {
		resp.Reason = pbenum.Value[commonv1.ErrorReason](commonv1.ErrorReason_value, "ERROR_REASON_", a.Reason)
	}
	return resp, nil
}

// GetPrice implements catalogv1.CatalogServiceServer.
func (s *Server) GetPrice(ctx context.Context, req *catalogv1.GetPriceRequest) (*catalogv1.GetPriceResponse, error) {
	p, ahb, err := s.app.GetPrice(ctx, domain.PriceKey{SkuID: req.GetSkuId(), CountryCode: req.GetCountryCode(),
		Term: pbconv.Term(req.GetTerm()), Plan: pbconv.Plan(req.GetBillingPlan())})
	if err != nil {
		return nil, err
	}
	return &catalogv1.GetPriceResponse{Price: pbconv.PricePB(p), AzureHybridBenefitMaxSavingPercent: ahb}, nil
}

// ListPurchasableOffers implements catalogv1.CatalogServiceServer.
func (s *Server) ListPurchasableOffers(ctx context.Context, req *catalogv1.ListPurchasableOffersRequest) (*catalogv1.ListPurchasableOffersResponse, error) {
	page, err := s.app.ListPurchasableOffers(ctx, app.OffersQuery{PageSize: req.GetPageSize(), PageToken: req.GetPageToken(),
		CustomerID: req.GetCustomerId(), Country: req.GetCountryCode(), Kind: pbconv.Kind(req.GetKind()),
		ProductID: req.GetProductId()})
	if err != nil {
		return nil, err
	}
	resp := &catalogv1.ListPurchasableOffersResponse{CountryCode: page.Country, NextPageToken: page.NextPageToken}
	for _, o := range page.Offers {
		resp.Offers = append(resp.Offers, &catalogv1.PurchasableOffer{Sku: pbconv.SkuPB(o.Sku),
			Product: pbconv.ProductPB(o.Product), Prices: pbconv.All(o.Prices, pbconv.PricePB),
			ViaPrograms: pbconv.All(o.Via, pbconv.ProgramPB)})
	}
	return resp, nil
}

// FindEquivalentOffers implements catalogv1.CatalogServiceServer.
func (s *Server) FindEquivalentOffers(ctx context.Context, req *catalogv1.FindEquivalentOffersRequest) (*catalogv1.FindEquivalentOffersResponse, error) {
	offers, err := s.app.FindEquivalentOffers(ctx, req.GetSkuId(), req.GetCountryCode())
	if err != nil {
		return nil, err
	}
	resp := &catalogv1.FindEquivalentOffersResponse{}
	for _, o := range offers {
		kind := catalogv1.EquivalenceKind_EQUIVALENCE_KIND_DESIGNATED_EQUIVALENT
		if o.Same {
			kind = catalogv1.EquivalenceKind_EQUIVALENCE_KIND_SAME_OFFER
		}
		resp.Offers = append(resp.Offers, &catalogv1.EquivalentOffer{Sku: pbconv.SkuPB(o.Sku), Kind: kind,
			AvailableInMarket: o.AvailableInMarket})
	}
	return resp, nil
}

// ImportCatalog implements catalogv1.CatalogAdminServiceServer.
func (s *Server) ImportCatalog(ctx context.Context, req *catalogv1.ImportCatalogRequest) (*catalogv1.ImportCatalogResponse, error) {
	var f catalogfile.Format
	switch req.GetFormat() {
	case catalogv1.CatalogFormat_CATALOG_FORMAT_YAML:
		f = catalogfile.YAML
	case catalogv1.CatalogFormat_CATALOG_FORMAT_JSON:
		f = catalogfile.JSON
	}
	sum, err := s.app.ImportCatalog(ctx, req.GetContent(), f, req.GetDryRun())
	if err != nil {
		return nil, err
	}
	return &catalogv1.ImportCatalogResponse{DryRun: req.GetDryRun(), Summary: &catalogv1.ImportSummary{
		ProductsCreated: int32(sum.ProductsCreated), ProductsUpdated: int32(sum.ProductsUpdated),
		ProductsUnchanged: int32(sum.ProductsUnchanged), SkusCreated: int32(sum.SkusCreated),
		SkusUpdated: int32(sum.SkusUpdated), SkusUnchanged: int32(sum.SkusUnchanged),
		PricesSet: int32(sum.PricesSet), PricesUnchanged: int32(sum.PricesUnchanged),
	}}, nil
}

// UpsertProduct implements catalogv1.CatalogAdminServiceServer.
func (s *Server) UpsertProduct(ctx context.Context, req *catalogv1.UpsertProductRequest) (*catalogv1.UpsertProductResponse, error) {
	p, created, err := s.app.UpsertProduct(ctx, pbconv.Product(req.GetProduct()))
	if err != nil {
		return nil, err
	}
	return &catalogv1.UpsertProductResponse{Product: pbconv.ProductPB(p), Created: created}, nil
}

// UpsertSku implements catalogv1.CatalogAdminServiceServer.
func (s *Server) UpsertSku(ctx context.Context, req *catalogv1.UpsertSkuRequest) (*catalogv1.UpsertSkuResponse, error) {
	sku, created, err := s.app.UpsertSku(ctx, pbconv.Sku(req.GetSku()))
	if err != nil {
		return nil, err
	}
	return &catalogv1.UpsertSkuResponse{Sku: pbconv.SkuPB(sku), Created: created}, nil
}

// SetAvailability implements catalogv1.CatalogAdminServiceServer.
func (s *Server) SetAvailability(ctx context.Context, req *catalogv1.SetAvailabilityRequest) (*catalogv1.SetAvailabilityResponse, error) {
	sku, err := s.app.SetAvailability(ctx, req.GetSkuId(), pbconv.Availability(req.GetAvailability()), req.GetEtag())
	if err != nil {
		return nil, err
	}
	return &catalogv1.SetAvailabilityResponse{Sku: pbconv.SkuPB(sku)}, nil
}

// SetPrice implements catalogv1.CatalogAdminServiceServer.
func (s *Server) SetPrice(ctx context.Context, req *catalogv1.SetPriceRequest) (*catalogv1.SetPriceResponse, error) {
	p, err := s.app.SetPrice(ctx, domain.Price{
		PriceKey: domain.PriceKey{SkuID: req.GetSkuId(), CountryCode: req.GetCountryCode(),
			Term: pbconv.Term(req.GetTerm()), Plan: pbconv.Plan(req.GetBillingPlan())},
		BillingPeriodPrice: pbconv.Money(req.GetBillingPeriodPrice()),
		Etag:               req.GetEtag(),
	})
	if err != nil {
		return nil, err
	}
	return &catalogv1.SetPriceResponse{Price: pbconv.PricePB(p)}, nil
}

// DiscontinueSku implements catalogv1.CatalogAdminServiceServer.
func (s *Server) DiscontinueSku(ctx context.Context, req *catalogv1.DiscontinueSkuRequest) (*catalogv1.DiscontinueSkuResponse, error) {
	sku, err := s.app.DiscontinueSku(ctx, req.GetSkuId(), req.GetEquivalentSkuId(), req.GetEtag())
	if err != nil {
		return nil, err
	}
	return &catalogv1.DiscontinueSkuResponse{Sku: pbconv.SkuPB(sku)}, nil
}
