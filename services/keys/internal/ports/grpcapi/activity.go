package grpcapi

import (
	"context"

	keysv1 "github.com/partnerhub/partnerhub/gen/partnerhub/keys/v1"
	"github.com/partnerhub/partnerhub/services/keys/internal/app"
	"github.com/partnerhub/partnerhub/services/keys/internal/pbconv"
)

// ListActivity implements keysv1.ActivityLogServiceServer.
func (s *Server) ListActivity(ctx context.Context, req *keysv1.ListActivityRequest) (*keysv1.ListActivityResponse, error) {
	start, err := pbconv.Time("start_time", req.GetStartTime())
	if err != nil {
		return nil, err
	}
	end, err := pbconv.Time("end_time", req.GetEndTime())
	if err != nil {
		return nil, err
	}
	recs, next, err := s.app.ListActivity(ctx, app.ActivityInput{PageSize: req.GetPageSize(), PageToken: req.GetPageToken(),
		Start: start, End: end, CustomerID: req.GetCustomerId(), UserID: req.GetUserId(),
		Actions: pbconv.ActivityActions(req.GetActions())})
	if err != nil {
		return nil, err
	}
	return &keysv1.ListActivityResponse{Records: pbconv.ActivitiesPB(recs), NextPageToken: next}, nil
}
