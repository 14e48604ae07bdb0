// Package grpcapi maps partnerhub.keys.v1 to keys's use cases: proto in, app call, proto out. No
// business rules here.
package grpcapi

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	keysv1 "github.com/partnerhub/partnerhub/gen/partnerhub/keys/v1"
	"github.com/partnerhub/partnerhub/services/keys/internal/app"
	"github.com/partnerhub/partnerhub/services/keys/internal/pbconv"
)

// Server implements the keys services: EntitlementService here, ActivityLogService in
// activity.go, ProductKeyService in cards.go. Authentication, each RPC's access rule and
// idempotency by request_id run before it, in the server stack; RevealKey's response must never
// be stored for replay (the composition root lists
// keysv1.EntitlementService_RevealKey_FullMethodName as not replayed), as it carries a whole key.
type Server struct {
	// The Unimplemented types keep the server compiling when the contract gains an RPC; every RPC
	// it has now is implemented (TestServer_EveryRPCImplemented).
	keysv1.UnimplementedEntitlementServiceServer
	keysv1.UnimplementedProductKeyServiceServer
	keysv1.UnimplementedActivityLogServiceServer
	app *app.App
}

// Register adds every keys service to gs.
func Register(gs *grpc.Server, a *app.App) {
	s := &Server{app: a}
	keysv1.RegisterEntitlementServiceServer(gs, s)
	keysv1.RegisterProductKeyServiceServer(gs, s)
	keysv1.RegisterActivityLogServiceServer(gs, s)
}

// peerAddress is the network address the call came from ("ip:port"), for the activity log.
func peerAddress(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return ""
}

// userAgent is the client's user agent as gRPC received it, for the activity log.
func userAgent(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("user-agent"); len(v) > 0 {
		return v[0]
	}
	return ""
}

// orDefault returns v, or def when v is empty.
func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// IssueEntitlements implements keysv1.EntitlementServiceServer.
func (s *Server) IssueEntitlements(ctx context.Context, req *keysv1.IssueEntitlementsRequest) (*keysv1.IssueEntitlementsResponse, error) {
	e, err := s.app.IssueEntitlements(ctx, pbconv.IssueInput(req))
	if err != nil {
		return nil, err
	}
	return &keysv1.IssueEntitlementsResponse{Entitlement: pbconv.EntitlementPB(e)}, nil
}

// RevokeEntitlements implements keysv1.EntitlementServiceServer.
func (s *Server) RevokeEntitlements(ctx context.Context, req *keysv1.RevokeEntitlementsRequest) (*keysv1.RevokeEntitlementsResponse, error) {
	es, links, err := s.app.RevokeEntitlements(ctx, app.RevokeInput{RequestID: req.GetRequestId(), OrderID: req.GetOrderId(),
		OrderLineIDs: req.GetOrderLineIds(), Reason: pbconv.RevocationReason(req.GetReason())})
	if err != nil {
		return nil, err
	}
	return &keysv1.RevokeEntitlementsResponse{Entitlements: pbconv.EntitlementsPB(es), RevokedLinkCount: int32(links)}, nil
}

// ListSoftware implements keysv1.EntitlementServiceServer.
func (s *Server) ListSoftware(ctx context.Context, req *keysv1.ListSoftwareRequest) (*keysv1.ListSoftwareResponse, error) {
	es, next, err := s.app.ListSoftware(ctx, app.SoftwareInput{PageSize: req.GetPageSize(), PageToken: req.GetPageToken(),
		CustomerID: req.GetCustomerId(), OrderID: req.GetOrderId(), IncludeLicenseOnly: req.GetIncludeLicenseOnly(),
		State: pbconv.EntitlementState(req.GetState())})
	if err != nil {
		return nil, err
	}
	return &keysv1.ListSoftwareResponse{Entitlements: pbconv.EntitlementsPB(es), NextPageToken: next}, nil
}

// GetDownloadOptions implements keysv1.EntitlementServiceServer.
func (s *Server) GetDownloadOptions(ctx context.Context, req *keysv1.GetDownloadOptionsRequest) (*keysv1.GetDownloadOptionsResponse, error) {
	o, err := s.app.GetDownloadOptions(ctx, app.OptionsInput{EntitlementID: req.GetEntitlementId(), Version: req.GetVersion(),
		Language: req.GetLanguage(), FileType: req.GetFileType(), OperatingSystem: req.GetOperatingSystem()})
	if err != nil {
		return nil, err
	}
	return pbconv.DownloadOptionsPB(o), nil
}

// RevealKey implements keysv1.EntitlementServiceServer. It is the one place a whole key is put
// into a message (KD-8).
func (s *Server) RevealKey(ctx context.Context, req *keysv1.RevealKeyRequest) (*keysv1.RevealKeyResponse, error) {
	r, err := s.app.RevealKey(ctx, app.RevealInput{RequestID: req.GetRequestId(), KeyID: req.GetKeyId(),
		PeerAddress: peerAddress(ctx), UserAgent: userAgent(ctx)})
	if err != nil {
		return nil, err
	}
	// EntitlementId is empty for a key card's key (Revealed.Entitlement is zero).
	return &keysv1.RevealKeyResponse{KeyId: r.KeyID, Key: r.Key.Reveal(), KeyType: pbconv.KeyTypePB(r.KeyType),
		EntitlementId: r.Entitlement.ID, ActivityId: r.ActivityID}, nil
}

// CreateDownloadLink implements keysv1.EntitlementServiceServer.
func (s *Server) CreateDownloadLink(ctx context.Context, req *keysv1.CreateDownloadLinkRequest) (*keysv1.CreateDownloadLinkResponse, error) {
	ttl, err := pbconv.Duration("ttl", req.GetTtl())
	if err != nil {
		return nil, err
	}
	l, err := s.app.CreateDownloadLink(ctx, app.LinkInput{RequestID: req.GetRequestId(), EntitlementID: req.GetEntitlementId(),
		VariantID: req.GetVariantId(), TTL: ttl, PeerAddress: peerAddress(ctx), UserAgent: userAgent(ctx)})
	if err != nil {
		return nil, err
	}
	return &keysv1.CreateDownloadLinkResponse{Link: pbconv.LinkPB(l)}, nil
}

// ResolveDownloadLink implements keysv1.EntitlementServiceServer. The download front end passes
// the downloader's address and user agent; without them the call's own are recorded.
func (s *Server) ResolveDownloadLink(ctx context.Context, req *keysv1.ResolveDownloadLinkRequest) (*keysv1.ResolveDownloadLinkResponse, error) {
	d, err := s.app.ResolveDownloadLink(ctx, app.ResolveInput{RequestID: req.GetRequestId(), Link: req.GetLink(),
		ClientAddress: orDefault(req.GetClientAddress(), peerAddress(ctx)),
		UserAgent:     orDefault(req.GetUserAgent(), userAgent(ctx))})
	if err != nil {
		return nil, err
	}
	return pbconv.DownloadPB(d), nil
}
