package app

import (
	"context"

	"github.com/google/uuid"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/identity/internal/domain"
)

// Demo identifiers: fixed, so a second start finds what the first one created.
const (
	DemoPartnerID = "00000000-0000-4000-8000-00000000d001"
	DemoUserID    = "00000000-0000-4000-8000-00000000d002"
	DemoClientID  = "demo-admin"
)

// SeedDemo creates, once, a demo partner (CSP direct, Open, delegated-admin eligible; Germany)
// with an Admin agent user and an API credential whose secret is the given one. It returns
// whether it created anything; a second start finds the demo partner and changes nothing.
func (a *App) SeedDemo(ctx context.Context, secret string) (created bool, err error) {
	if _, err := a.repo.Partner(ctx, DemoPartnerID); err == nil {
		return false, nil
	} else if errs.KindOf(err) != errs.NotFound {
		return false, err
	}
	now := a.clock.Now()
	p := domain.Partner{
		ID: DemoPartnerID, LegalName: "Contoso Cloud Partner GmbH (demo)", CountryCode: "DE",
		Enrolments: []domain.Enrolment{
			{Program: domain.ProgramCSPDirect, Time: now}, {Program: domain.ProgramOpen, Time: now},
			{Program: domain.ProgramDelegatedAdmin, Time: now},
		},
		Etag: uuid.NewString(), CreateTime: now, UpdateTime: now,
	}
	u := domain.User{
		ID: DemoUserID, OrgID: DemoPartnerID, OrgKind: auth.OrgPartner, UserName: "demo-admin@contoso-partner.example",
		DisplayName: "Demo Admin agent", Email: "demo-admin@contoso-partner.example", Roles: []auth.Role{auth.AdminAgent, auth.SalesAgent},
		Etag: uuid.NewString(), CreateTime: now, UpdateTime: now,
	}
	cred := domain.Credential{
		ID: uuid.NewString(), ClientID: DemoClientID, UserID: u.ID, OrgID: u.OrgID, DisplayName: "demo",
		SecretHash: domain.HashSecret(secret), Etag: uuid.NewString(), CreateTime: now, UpdateTime: now,
	} // no expiry: the devstack's demo credential works for as long as the data directory lives
	if err := a.repo.AddPartnerWithAdmin(ctx, p, u, cred); err != nil {
		return false, err
	}
	return true, nil
}
