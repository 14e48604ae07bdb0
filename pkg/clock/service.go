package clock

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	testingv1 "github.com/partnerhub/partnerhub/gen/partnerhub/testing/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
)

// Service serves partnerhub.testing.v1.ClockService over a Fake. Register it only when the
// service runs with --fake-clock.
type Service struct {
	testingv1.UnimplementedClockServiceServer
	fake *Fake
}

// NewService returns the ClockService for f.
func NewService(f *Fake) *Service { return &Service{fake: f} }

// GetTime implements testingv1.ClockServiceServer.
func (s *Service) GetTime(context.Context, *testingv1.GetTimeRequest) (*testingv1.GetTimeResponse, error) {
	return &testingv1.GetTimeResponse{Now: timestamppb.New(s.fake.Now())}, nil
}

// SetTime implements testingv1.ClockServiceServer.
func (s *Service) SetTime(_ context.Context, req *testingv1.SetTimeRequest) (*testingv1.SetTimeResponse, error) {
	if req.GetTime() == nil || req.GetTime().CheckValid() != nil {
		return nil, errs.Invalid("time", "a valid timestamp is required")
	}
	now, err := s.fake.Set(req.GetTime().AsTime())
	if err != nil {
		return nil, err
	}
	return &testingv1.SetTimeResponse{Now: timestamppb.New(now)}, nil
}

// Advance implements testingv1.ClockServiceServer.
func (s *Service) Advance(_ context.Context, req *testingv1.AdvanceRequest) (*testingv1.AdvanceResponse, error) {
	if req.GetBy() == nil || req.GetBy().CheckValid() != nil {
		return nil, errs.Invalid("by", "a valid positive duration is required")
	}
	now, err := s.fake.Advance(req.GetBy().AsDuration())
	if err != nil {
		return nil, err
	}
	return &testingv1.AdvanceResponse{Now: timestamppb.New(now)}, nil
}
