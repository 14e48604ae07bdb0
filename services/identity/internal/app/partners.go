package app

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/paging"
	"github.com/partnerhub/partnerhub/services/identity/internal/domain"
)

// NewPartner is the input of CreatePartner.
type NewPartner struct {
	LegalName   string
	CountryCode string
	Programs    []domain.Program
	Admin       *PartnerFirstAdmin // required
}

// PartnerFirstAdmin describes the partner's first user (InitialAdmin in the contract).
type PartnerFirstAdmin struct {
	UserName    string
	DisplayName string
	Email       string
}

// CreatedPartner is what CreatePartner returns: the secret is shown only here.
type CreatedPartner struct {
	Partner    domain.Partner
	Admin      domain.User
	Credential domain.Credential
	Secret     string
}

// initialCredentialLabel names the credential CreatePartner creates, so the partner can tell it
// from the ones it creates later.
const initialCredentialLabel = "created with the partner"

// CreatePartner onboards a partner with its programs and its first user, a GLOBAL_ADMIN and
// ACCOUNT_ADMIN, and an API credential for that user (ID-1). Operators only (SERVICE without
// on_behalf_of). Bad input is INVALID_ARGUMENT; a well-formed country that is not a market is
// COUNTRY_NOT_SUPPORTED (ID-3); DELEGATED_ADMIN without a cloud program is PROGRAM_NOT_ENROLLED
// (DA-2).
func (a *App) CreatePartner(ctx context.Context, in NewPartner) (CreatedPartner, error) {
	if err := requireOperatorCall(ctx); err != nil {
		return CreatedPartner{}, err
	}
	var v errs.Violations
	legalName := strings.TrimSpace(in.LegalName)
	domain.CheckText("legal_name", legalName, false, domain.MaxLegalNameLen, &v)
	if !domain.ValidCountryCode(in.CountryCode) {
		v.Add("country_code", "must be an ISO 3166-1 alpha-2 code in upper case, e.g. DE")
	}
	programs := domain.CheckPrograms("programs", in.Programs, &v)
	var admin PartnerFirstAdmin
	if in.Admin == nil {
		v.Add("admin", "required")
	} else {
		admin = PartnerFirstAdmin{
			UserName: domain.NormalizeUserName(in.Admin.UserName), DisplayName: strings.TrimSpace(in.Admin.DisplayName),
			Email: strings.TrimSpace(in.Admin.Email),
		}
		domain.CheckUserName("admin.user_name", admin.UserName, &v)
		domain.CheckText("admin.display_name", admin.DisplayName, false, domain.MaxDisplayNameLen, &v)
		domain.CheckEmail("admin.email", admin.Email, &v)
	}
	if err := v.Err(); err != nil {
		return CreatedPartner{}, err
	}
	if _, ok := a.opts.Markets.Lookup(in.CountryCode); !ok {
		return CreatedPartner{}, partnerCountryNotSupported(in.CountryCode)
	}
	if err := domain.CheckDelegatedAdminEligible(programs); err != nil {
		return CreatedPartner{}, err
	}

	now := a.stamp()
	p := domain.Partner{
		ID: uuid.NewString(), LegalName: legalName, CountryCode: in.CountryCode,
		Enrolments: domain.Enrol(nil, programs, now), Etag: uuid.NewString(), CreateTime: now, UpdateTime: now,
	}
	u := domain.User{
		ID: uuid.NewString(), OrgID: p.ID, OrgKind: auth.OrgPartner, UserName: admin.UserName,
		DisplayName: admin.DisplayName, Email: admin.Email,
		Roles: domain.SortRoles([]auth.Role{auth.GlobalAdmin, auth.AccountAdmin}),
		Etag:  uuid.NewString(), CreateTime: now, UpdateTime: now,
	}
	cred, secret := domain.NewCredential(u, initialCredentialLabel, now.Add(domain.DefaultCredentialLifetime), now)
	if err := a.repo.AddPartnerWithAdmin(ctx, p, u, cred); err != nil {
		return CreatedPartner{}, err
	}
	return CreatedPartner{Partner: p, Admin: u, Credential: cred, Secret: secret}, nil
}

// GetPartner returns a partner to its own users and to services (ID-8). Another organisation's
// caller gets NOT_FOUND, exactly as for a partner that does not exist. A service acting on behalf
// of someone sees what that principal sees.
func (a *App) GetPartner(ctx context.Context, id string) (domain.Partner, error) {
	p, err := auth.MustFromContext(ctx)
	if err != nil {
		return domain.Partner{}, err
	}
	var v errs.Violations
	checkID(&v, "partner_id", id)
	if err := v.Err(); err != nil {
		return domain.Partner{}, err
	}
	eff := p.Effective()
	if !(eff.OrgKind == auth.OrgPartner && eff.OrgID == id) && !isOperatorPrincipal(p) {
		return domain.Partner{}, errs.NotFoundf("partner", id)
	}
	partner, err := a.repo.Partner(ctx, id)
	if errs.KindOf(err) == errs.NotFound {
		return domain.Partner{}, errs.NotFoundf("partner", id)
	}
	return partner, err
}

// ListPartners lists every partner, ordered by create time then ID, optionally only those of a
// country or enrolled in a program. Operators only.
func (a *App) ListPartners(ctx context.Context, countryCode string, program domain.Program, pageSize int32, pageToken string) ([]domain.Partner, string, error) {
	if err := requireOperatorCall(ctx); err != nil {
		return nil, "", err
	}
	var v errs.Violations
	if countryCode != "" && !domain.ValidCountryCode(countryCode) {
		v.Add("country_code", "must be an ISO 3166-1 alpha-2 code in upper case, e.g. DE")
	}
	if program != "" && !domain.ValidProgram(program) {
		v.Add("program", "not a program")
	}
	if pageSize < 0 {
		v.Add("page_size", "must not be negative")
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	size, _ := paging.Size(pageSize) // validated above
	query := paging.Fingerprint("partners", countryCode, program)
	after, err := paging.Decode(pageToken, query, 2)
	if err != nil {
		return nil, "", err
	}
	f := PartnerFilter{CountryCode: countryCode, Program: program}
	if after != nil {
		if f.AfterCreateTime, err = paging.ParseTime(after[0]); err != nil {
			return nil, "", err
		}
		f.AfterID = after[1]
	}
	rows, err := a.repo.ListPartners(ctx, f, size+1)
	if err != nil {
		return nil, "", err
	}
	page, next := paging.Trim(rows, size, query, func(p domain.Partner) []string {
		return []string{paging.Time(p.CreateTime), p.ID}
	})
	return page, next, nil
}

// UpdatePartnerPrograms replaces the programs a partner is enrolled in (ID-1). Programs kept keep
// their enrolment time. DELEGATED_ADMIN without a cloud program is refused (DA-2); dropping
// DELEGATED_ADMIN leaves existing delegated-admin relationships alone (they live in
// delegatedadmin). Operators only.
func (a *App) UpdatePartnerPrograms(ctx context.Context, id string, programs []domain.Program, etag string) (domain.Partner, error) {
	if err := requireOperatorCall(ctx); err != nil {
		return domain.Partner{}, err
	}
	var v errs.Violations
	checkID(&v, "partner_id", id)
	programs = domain.CheckPrograms("programs", programs, &v)
	if err := v.Err(); err != nil {
		return domain.Partner{}, err
	}
	now := a.stamp()
	p, err := a.repo.UpdatePartner(ctx, id, func(p *domain.Partner) (bool, error) {
		if etag != "" && etag != p.Etag {
			return false, staleEtag("partner", p.ID)
		}
		if err := domain.CheckDelegatedAdminEligible(programs); err != nil {
			return false, err
		}
		if slices.Equal(p.Programs(), programs) {
			return false, nil // nothing to change: keep the etag, so other writers are not aborted
		}
		p.Enrolments = domain.Enrol(p.Enrolments, programs, now)
		p.Etag, p.UpdateTime = uuid.NewString(), now
		return true, nil
	})
	if errs.KindOf(err) == errs.NotFound {
		return domain.Partner{}, errs.NotFoundf("partner", id)
	}
	return p, err
}

// partnerCountryNotSupported refuses a country that is not a market (ID-3).
func partnerCountryNotSupported(code string) error {
	return errs.New(errs.FailedPrecondition, "COUNTRY_NOT_SUPPORTED",
		"partnerhub is not offered in %s", code).With("country_code", code)
}

// staleEtag is the answer to an update based on an old read.
func staleEtag(resource, id string) error {
	return errs.New(errs.Aborted, errs.ReasonEtagMismatch, "the %s was changed since it was read", resource).
		With("resource", resource).With("id", id)
}

// requireOperatorCall admits partnerhub operators only: a service token without on_behalf_of
// (the contract's "SERVICE without on_behalf_of"). It answers as the access rule would: a user
// token gets SERVICE_TOKEN_REQUIRED, a service acting for someone gets ROLE_REQUIRED (it acts with
// that principal's roles, which never include SERVICE).
func requireOperatorCall(ctx context.Context) error {
	p, err := auth.MustFromContext(ctx)
	if err != nil {
		return err
	}
	if !p.IsService() {
		return errs.New(errs.PermissionDenied, errs.ReasonServiceTokenRequired, "for partnerhub operators only")
	}
	if p.OnBehalfOf != nil {
		return p.RequireRole(auth.Service)
	}
	return nil
}

// isOperatorPrincipal reports whether p is a service acting on its own account: full rights.
func isOperatorPrincipal(p auth.Principal) bool { return p.IsService() && p.OnBehalfOf == nil }

// stamp is the service clock's now at the precision both database engines keep, so what a
// mutation returns equals what a later read returns.
func (a *App) stamp() time.Time { return a.clock.Now().UTC().Truncate(time.Microsecond) }
