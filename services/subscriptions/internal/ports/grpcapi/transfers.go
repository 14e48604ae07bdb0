package grpcapi

import (
	"context"

	subscriptionsv1 "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/app"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/pbconv"
)

// CreateTransfer implements subscriptionsv1.TransferServiceServer.
func (s *Server) CreateTransfer(ctx context.Context, req *subscriptionsv1.CreateTransferRequest) (*subscriptionsv1.CreateTransferResponse, error) {
	in := app.CreateTransferInput{RequestID: req.GetRequestId(), CustomerID: req.GetCustomerId(),
		SourcePartnerID: req.GetSourcePartnerId(), Method: pbconv.Method(req.GetMethod()), Note: req.GetNote()}
	for _, it := range req.GetItems() {
		in.Items = append(in.Items, app.TransferItemSpec{SubscriptionID: it.GetSubscriptionId(), TargetSkuID: it.GetTargetSkuId()})
	}
	t, err := s.app.CreateTransfer(ctx, in)
	if err != nil {
		return nil, err
	}
	return &subscriptionsv1.CreateTransferResponse{Transfer: pbconv.TransferPB(t)}, nil
}

// GetTransfer implements subscriptionsv1.TransferServiceServer.
func (s *Server) GetTransfer(ctx context.Context, req *subscriptionsv1.GetTransferRequest) (*subscriptionsv1.GetTransferResponse, error) {
	t, err := s.app.GetTransfer(ctx, req.GetTransferId())
	if err != nil {
		return nil, err
	}
	return &subscriptionsv1.GetTransferResponse{Transfer: pbconv.TransferPB(t)}, nil
}

// AcceptTransfer implements subscriptionsv1.TransferServiceServer.
func (s *Server) AcceptTransfer(ctx context.Context, req *subscriptionsv1.AcceptTransferRequest) (*subscriptionsv1.AcceptTransferResponse, error) {
	t, err := s.app.AcceptTransfer(ctx, app.Decision{RequestID: req.GetRequestId(), TransferID: req.GetTransferId(),
		Etag: req.GetEtag()}, req.GetReject())
	if err != nil {
		return nil, err
	}
	return &subscriptionsv1.AcceptTransferResponse{Transfer: pbconv.TransferPB(t)}, nil
}

// CancelTransfer implements subscriptionsv1.TransferServiceServer.
func (s *Server) CancelTransfer(ctx context.Context, req *subscriptionsv1.CancelTransferRequest) (*subscriptionsv1.CancelTransferResponse, error) {
	t, err := s.app.CancelTransfer(ctx, app.Decision{RequestID: req.GetRequestId(), TransferID: req.GetTransferId(),
		Etag: req.GetEtag()})
	if err != nil {
		return nil, err
	}
	return &subscriptionsv1.CancelTransferResponse{Transfer: pbconv.TransferPB(t)}, nil
}

// ListTransfers implements subscriptionsv1.TransferServiceServer.
func (s *Server) ListTransfers(ctx context.Context, req *subscriptionsv1.ListTransfersRequest) (*subscriptionsv1.ListTransfersResponse, error) {
	in := app.ListTransfersInput{PageSize: req.GetPageSize(), PageToken: req.GetPageToken(), CustomerID: req.GetCustomerId(),
		Direction: pbconv.Direction(req.GetDirection())}
	for _, st := range req.GetStates() {
		in.States = append(in.States, pbconv.TransferState(st))
	}
	ts, next, err := s.app.ListTransfers(ctx, in)
	if err != nil {
		return nil, err
	}
	resp := &subscriptionsv1.ListTransfersResponse{NextPageToken: next}
	for _, t := range ts {
		resp.Transfers = append(resp.Transfers, pbconv.TransferPB(t))
	}
	return resp, nil
}
