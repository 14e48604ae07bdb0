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

// The user administration rules are those of the service comment of
// partnerhub.identity.v1.UserService ("user admins"):
//   - users of a partner: its GLOBAL_ADMIN and ACCOUNT_ADMIN; only a GLOBAL_ADMIN grants or
//     removes GLOBAL_ADMIN;
//   - users of a customer tenant: its CUSTOMER_GLOBAL_ADMIN, and a partner's ADMIN_AGENT while
//     delegatedadmin says the partner holds USER_ADMINISTRATOR in the tenant (DA-6);
//   - anyone: a service on its own account (operators).
// A service acting on behalf of a principal acts exactly as that principal (Effective).
// Organisations and users the caller cannot see answer RESOURCE_NOT_FOUND, as if they did not
// exist (ID-8).

// DelegatedUserAdminRole is the delegated-admin role (delegatedadmin's AdminRole) that lets a
// partner manage a customer tenant's users; delegatedadmin answers true for GLOBAL_ADMINISTRATOR
// as well.
const DelegatedUserAdminRole = "USER_ADMINISTRATOR"

// userRights is what a caller may do with the users of one organisation.
type userRights struct {
	manage bool // a user admin: create users, change roles, disable
	read   bool // may read and list every user of the organisation
	// denied is the refusal for a caller who knows the organisation but may not do the call:
	// ROLE_REQUIRED or DELEGATED_ADMIN_REQUIRED. nil means the organisation is invisible to the
	// caller, who then gets RESOURCE_NOT_FOUND (ID-8).
	denied error
}

// userRightsIn decides the caller's rights over the users of org. It asks delegatedadmin only
// when a partner's Admin agent targets a customer tenant.
func (a *App) userRightsIn(ctx context.Context, p auth.Principal, org domain.Org) (userRights, error) {
	if isOperatorPrincipal(p) {
		return userRights{manage: true, read: true}, nil
	}
	e := p.Effective()
	own := e.OrgID == org.ID && e.OrgKind == org.Kind
	switch {
	case own && org.Kind == auth.OrgPartner:
		if e.HasRole(auth.GlobalAdmin, auth.AccountAdmin) {
			return userRights{manage: true, read: true}, nil
		}
		// Every partner user may read the users of its partner (GetUser).
		return userRights{read: true, denied: rolesRequired(auth.GlobalAdmin, auth.AccountAdmin)}, nil
	case own && org.Kind == auth.OrgCustomer:
		if e.HasRole(auth.CustomerGlobalAdmin) {
			return userRights{manage: true, read: true}, nil
		}
		return userRights{denied: rolesRequired(auth.CustomerGlobalAdmin)}, nil
	case e.OrgKind == auth.OrgPartner && org.Kind == auth.OrgCustomer && e.HasRole(auth.AdminAgent):
		// Only a partner's Admin agent can ever administer a tenant's users (DA-6); to every
		// other partner user the tenant's users do not exist.
		ok, err := a.delegatedUserAdmin(ctx, e.OrgID, org.ID)
		if err != nil {
			return userRights{}, err
		}
		if ok {
			return userRights{manage: true, read: true}, nil
		}
		// Without delegated admin, the tenant is visible only if it is one of the partner's own
		// customers (an active reseller relationship, ID-4/ID-8); then the refusal may say why.
		mine, err := a.repo.ActiveReseller(ctx, e.OrgID, org.ID)
		if err != nil || !mine {
			return userRights{}, err
		}
		return userRights{denied: errs.New(errs.PermissionDenied, "DELEGATED_ADMIN_REQUIRED",
			"no active delegated-admin relationship grants %s in this tenant (DA-6)", DelegatedUserAdminRole).
			With("customer_id", org.ID).With("required_admin_role", DelegatedUserAdminRole)}, nil
	}
	return userRights{}, nil
}

// delegatedUserAdmin asks delegatedadmin whether the partner may administer the tenant's users
// (DA-6). Without a DelegatedAccess every such check is denied.
func (a *App) delegatedUserAdmin(ctx context.Context, partnerID, customerID string) (bool, error) {
	if a.opts.DelegatedAccess == nil {
		return false, nil
	}
	return a.opts.DelegatedAccess.Allowed(ctx, partnerID, customerID, DelegatedUserAdminRole)
}

func rolesRequired(roles ...auth.Role) error {
	// An empty principal holds no role, so this is exactly the ROLE_REQUIRED error of pkg/auth.
	return auth.Principal{}.RequireRole(roles...)
}

func isSelf(p auth.Principal, u domain.User) bool {
	e := p.Effective()
	return e.Subject == u.ID && e.OrgID == u.OrgID && e.OrgKind == u.OrgKind
}

func userOrg(u domain.User) domain.Org { return domain.Org{ID: u.OrgID, Kind: u.OrgKind} }

// findUser loads a user; a missing one is RESOURCE_NOT_FOUND naming it.
func (a *App) findUser(ctx context.Context, id string) (domain.User, error) {
	u, err := a.repo.User(ctx, id)
	if errs.KindOf(err) == errs.NotFound {
		return domain.User{}, errs.NotFoundf("user", id)
	}
	return u, err
}

// findOrg loads an organisation; a missing one is RESOURCE_NOT_FOUND naming it.
func (a *App) findOrg(ctx context.Context, id string) (domain.Org, error) {
	org, err := a.repo.Org(ctx, id)
	if errs.KindOf(err) == errs.NotFound {
		return domain.Org{}, errs.NotFoundf("organisation", id)
	}
	return org, err
}

// managedUser loads a user the caller must administer (UpdateUserRoles, DisableUser). A caller
// who cannot see the user gets RESOURCE_NOT_FOUND; one who can, or who knows the tenant, gets
// why it may not (ROLE_REQUIRED, DELEGATED_ADMIN_REQUIRED).
func (a *App) managedUser(ctx context.Context, p auth.Principal, id string) (domain.User, error) {
	u, err := a.findUser(ctx, id)
	if err != nil {
		return domain.User{}, err
	}
	rights, err := a.userRightsIn(ctx, p, userOrg(u))
	if err != nil {
		return domain.User{}, err
	}
	switch {
	case rights.manage:
		return u, nil
	case rights.denied == nil,
		// a customer's plain user sees no other user of its tenant
		!rights.read && !isSelf(p, u) && p.Effective().OrgKind == auth.OrgCustomer:
		return domain.User{}, errs.NotFoundf("user", id)
	}
	return domain.User{}, rights.denied
}

// NewUser is the input of CreateUser.
type NewUser struct {
	OrgID       string // "" for the caller's own organisation
	UserName    string
	DisplayName string
	Email       string
	Roles       []auth.Role
}

// CreateUser creates an active user in a partner organisation or a customer tenant. The roles
// must belong to the organisation kind's set; a customer user's name must be in the tenant's
// default domain (ID-2); the name must be unused anywhere (USER_NAME_TAKEN).
func (a *App) CreateUser(ctx context.Context, in NewUser) (domain.User, error) {
	p, err := auth.MustFromContext(ctx)
	if err != nil {
		return domain.User{}, err
	}
	orgID := in.OrgID
	if orgID == "" && !isOperatorPrincipal(p) {
		orgID = p.Effective().OrgID
	}
	var v errs.Violations
	if orgID == "" {
		v.Add("org_id", "required for a service acting on its own account")
	} else {
		checkUUID(&v, "org_id", orgID)
	}
	name := domain.NormalizeUserName(in.UserName)
	domain.CheckUserName("user_name", name, &v)
	display, email := strings.TrimSpace(in.DisplayName), strings.TrimSpace(in.Email)
	domain.CheckText("display_name", display, false, domain.MaxDisplayNameLen, &v)
	domain.CheckEmail("email", email, &v)
	roles := domain.CheckRoles("roles", in.Roles, &v)
	if err := v.Err(); err != nil {
		return domain.User{}, err
	}

	org, err := a.findOrg(ctx, orgID)
	if err != nil {
		return domain.User{}, err
	}
	rights, err := a.userRightsIn(ctx, p, org)
	if err != nil {
		return domain.User{}, err
	}
	if !rights.manage {
		if rights.denied == nil {
			return domain.User{}, errs.NotFoundf("organisation", orgID)
		}
		return domain.User{}, rights.denied
	}
	// Checks that need the organisation come after the rights check, so that they tell nothing
	// about an organisation the caller may not manage.
	domain.CheckRolesFor(org.Kind, "roles", roles, &v)
	if org.Kind == auth.OrgCustomer && domain.UserNameDomain(name) != org.DefaultDomain {
		v.Add("user_name", "must end in @%s, the tenant's default domain (ID-2)", org.DefaultDomain)
	}
	if err := v.Err(); err != nil {
		return domain.User{}, err
	}
	if slices.Contains(roles, auth.GlobalAdmin) {
		if err := requireGlobalAdminChange(p); err != nil {
			return domain.User{}, err
		}
	}
	now := a.stamp()
	u := domain.User{
		ID: uuid.NewString(), OrgID: org.ID, OrgKind: org.Kind, UserName: name, DisplayName: display,
		Email: email, Roles: roles, Etag: uuid.NewString(), CreateTime: now, UpdateTime: now,
	}
	if err := a.repo.AddUser(ctx, u); err != nil {
		return domain.User{}, err
	}
	return u, nil
}

// requireGlobalAdminChange: only a partner's GLOBAL_ADMIN (or an operator) grants or removes
// GLOBAL_ADMIN, so an ACCOUNT_ADMIN cannot raise anyone, itself included, above its own rights.
func requireGlobalAdminChange(p auth.Principal) error {
	if isOperatorPrincipal(p) {
		return nil
	}
	return p.RequireRole(auth.GlobalAdmin)
}

// GetUser returns a user to itself, to the user admins of its organisation, to any user of the
// same partner, and to operators; everyone else gets RESOURCE_NOT_FOUND (ID-8).
func (a *App) GetUser(ctx context.Context, id string) (domain.User, error) {
	p, err := auth.MustFromContext(ctx)
	if err != nil {
		return domain.User{}, err
	}
	var bad errs.Violations
	checkID(&bad, "user_id", id)
	if err := bad.Err(); err != nil {
		return domain.User{}, err
	}
	u, err := a.findUser(ctx, id)
	if err != nil {
		return domain.User{}, err
	}
	if isSelf(p, u) {
		return u, nil
	}
	rights, err := a.userRightsIn(ctx, p, userOrg(u))
	if err != nil {
		return domain.User{}, err
	}
	if !rights.read {
		return domain.User{}, errs.NotFoundf("user", id)
	}
	return u, nil
}

// User states as the contract names them (partnerhub.identity.v1.UserState without prefix).
const (
	UserStateActive   = "ACTIVE"
	UserStateDisabled = "DISABLED"
)

// ListUsers lists the users of one organisation ("" for the caller's own), ordered by user name,
// optionally only those holding a role or in a state (UserStateActive, UserStateDisabled). A
// caller who may not list them gets RESOURCE_NOT_FOUND for a foreign organisation and
// ROLE_REQUIRED (or DELEGATED_ADMIN_REQUIRED for a partner's own customer) otherwise.
func (a *App) ListUsers(ctx context.Context, orgID string, role auth.Role, state string, pageSize int32, pageToken string) ([]domain.User, string, error) {
	p, err := auth.MustFromContext(ctx)
	if err != nil {
		return nil, "", err
	}
	if orgID == "" && !isOperatorPrincipal(p) {
		orgID = p.Effective().OrgID
	}
	var v errs.Violations
	if orgID == "" {
		v.Add("org_id", "required for a service acting on its own account")
	} else {
		checkUUID(&v, "org_id", orgID)
	}
	if role != "" && !domain.ValidRole(role) {
		v.Add("role", "not a role")
	}
	f := UserFilter{OrgID: orgID, Role: role}
	switch state {
	case "":
	case UserStateActive, UserStateDisabled:
		disabled := state == UserStateDisabled
		f.Disabled = &disabled
	default:
		v.Add("state", "not a user state")
	}
	if pageSize < 0 {
		v.Add("page_size", "must not be negative")
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	size, _ := paging.Size(pageSize) // validated above
	// The caller is part of the query: a token replayed by someone else is refused.
	query := paging.Fingerprint("users", orgID, role, state, p.Subject, p.Effective().Subject)
	after, err := paging.Decode(pageToken, query, 1)
	if err != nil {
		return nil, "", err
	}
	if after != nil {
		f.AfterUserName = after[0]
	}

	org, err := a.findOrg(ctx, orgID)
	if err != nil {
		return nil, "", err
	}
	rights, err := a.userRightsIn(ctx, p, org)
	if err != nil {
		return nil, "", err
	}
	if !rights.read {
		if rights.denied == nil {
			return nil, "", errs.NotFoundf("organisation", orgID)
		}
		return nil, "", rights.denied
	}
	rows, err := a.repo.ListUsers(ctx, f, size+1)
	if err != nil {
		return nil, "", err
	}
	page, next := paging.Trim(rows, size, query, func(u domain.User) []string { return []string{u.UserName} })
	return page, next, nil
}

// UpdateUserRoles replaces a user's roles (a complete set of its organisation kind). Tokens
// already issued keep their roles until they expire. A disabled user is refused
// (USER_DISABLED); so is removing the last active GLOBAL_ADMIN of a partner or
// CUSTOMER_GLOBAL_ADMIN of a tenant (LAST_GLOBAL_ADMIN), and granting or removing GLOBAL_ADMIN by
// anyone but a GLOBAL_ADMIN.
func (a *App) UpdateUserRoles(ctx context.Context, id string, roles []auth.Role, etag string) (domain.User, error) {
	p, err := auth.MustFromContext(ctx)
	if err != nil {
		return domain.User{}, err
	}
	var v errs.Violations
	checkID(&v, "user_id", id)
	roles = domain.CheckRoles("roles", roles, &v)
	if err := v.Err(); err != nil {
		return domain.User{}, err
	}
	target, err := a.managedUser(ctx, p, id)
	if err != nil {
		return domain.User{}, err
	}
	domain.CheckRolesFor(target.OrgKind, "roles", roles, &v)
	if err := v.Err(); err != nil {
		return domain.User{}, err
	}
	now := a.stamp()
	return a.repo.UpdateUser(ctx, id, func(u *domain.User, otherTopAdmins int) (bool, error) {
		if etag != "" && etag != u.Etag {
			return false, staleEtag("user", u.ID)
		}
		if u.Disabled {
			return false, domain.ErrUserDisabled()
		}
		if slices.Equal(domain.SortRoles(slices.Clone(u.Roles)), roles) {
			return false, nil
		}
		if u.HasRole(auth.GlobalAdmin) != slices.Contains(roles, auth.GlobalAdmin) {
			if err := requireGlobalAdminChange(p); err != nil {
				return false, err
			}
		}
		if top := domain.TopAdminRole(u.OrgKind); u.HasRole(top) && !slices.Contains(roles, top) && otherTopAdmins == 0 {
			return false, domain.ErrLastGlobalAdmin(*u)
		}
		u.Roles, u.Etag, u.UpdateTime = roles, uuid.NewString(), now
		return true, nil
	})
}

// DisableUser disables a user for good: its credentials stop issuing tokens at once (IssueToken
// checks the user), tokens already issued run out within minutes. Disabling a disabled user
// returns it unchanged, whatever the etag: the state is final, so nothing concurrent can be lost.
// Disabling a GLOBAL_ADMIN takes a GLOBAL_ADMIN (it removes one), and the last active one of an
// organisation cannot be disabled (LAST_GLOBAL_ADMIN).
func (a *App) DisableUser(ctx context.Context, id, etag string) (domain.User, error) {
	p, err := auth.MustFromContext(ctx)
	if err != nil {
		return domain.User{}, err
	}
	var bad errs.Violations
	checkID(&bad, "user_id", id)
	if err := bad.Err(); err != nil {
		return domain.User{}, err
	}
	if _, err := a.managedUser(ctx, p, id); err != nil {
		return domain.User{}, err
	}
	now := a.stamp()
	return a.repo.UpdateUser(ctx, id, func(u *domain.User, otherTopAdmins int) (bool, error) {
		if u.Disabled {
			return false, nil
		}
		if etag != "" && etag != u.Etag {
			return false, staleEtag("user", u.ID)
		}
		if u.HasRole(auth.GlobalAdmin) {
			if err := requireGlobalAdminChange(p); err != nil {
				return false, err
			}
		}
		if u.ActiveTopAdmin() && otherTopAdmins == 0 {
			return false, domain.ErrLastGlobalAdmin(*u)
		}
		u.Disabled, u.DisableTime, u.Etag, u.UpdateTime = true, now, uuid.NewString(), now
		return true, nil
	})
}

// credentialUser loads the user whose credentials the caller wants to create, list or revoke.
// Allowed: the user itself; its partner's GLOBAL_ADMIN and ACCOUNT_ADMIN; its tenant's
// CUSTOMER_GLOBAL_ADMIN; operators. Partners never create or see a customer's credentials, not
// even with delegated admin: those users' credentials are invisible to them (RESOURCE_NOT_FOUND).
// A credential acts with its user's roles, so creating one for a GLOBAL_ADMIN is granting
// GLOBAL_ADMIN rights, which takes a GLOBAL_ADMIN as for UpdateUserRoles.
func (a *App) credentialUser(ctx context.Context, p auth.Principal, userID string, creating bool) (domain.User, error) {
	u, err := a.findUser(ctx, userID)
	if err != nil {
		return domain.User{}, err
	}
	if isOperatorPrincipal(p) || isSelf(p, u) {
		return u, nil
	}
	e := p.Effective()
	sameOrg := e.OrgID == u.OrgID && e.OrgKind == u.OrgKind
	switch {
	case sameOrg && u.OrgKind == auth.OrgPartner:
		if !e.HasRole(auth.GlobalAdmin, auth.AccountAdmin) {
			return domain.User{}, rolesRequired(auth.GlobalAdmin, auth.AccountAdmin)
		}
		if creating && u.HasRole(auth.GlobalAdmin) {
			if err := requireGlobalAdminChange(p); err != nil {
				return domain.User{}, err
			}
		}
		return u, nil
	case sameOrg && u.OrgKind == auth.OrgCustomer && e.HasRole(auth.CustomerGlobalAdmin):
		return u, nil
	}
	return domain.User{}, errs.NotFoundf("user", userID)
}

// CreateApiCredential creates a credential for a user ("" for the caller itself) and returns
// its secret, shown only here. expire zero means 365 days from now; otherwise it must be in the
// future and at most 730 days away. A disabled user gets none (USER_DISABLED).
func (a *App) CreateApiCredential(ctx context.Context, userID, label string, expire time.Time) (domain.Credential, string, error) {
	p, err := auth.MustFromContext(ctx)
	if err != nil {
		return domain.Credential{}, "", err
	}
	if userID == "" && !isOperatorPrincipal(p) {
		userID = p.Effective().Subject
	}
	now := a.stamp()
	var v errs.Violations
	if userID == "" {
		v.Add("user_id", "required for a service acting on its own account")
	} else {
		checkUUID(&v, "user_id", userID)
	}
	label = strings.TrimSpace(label)
	domain.CheckText("display_name", label, true, domain.MaxCredentialLabel, &v)
	switch {
	case expire.IsZero():
		expire = now.Add(domain.DefaultCredentialLifetime)
	case !expire.After(now):
		v.Add("expire_time", "must be in the future")
	case expire.After(now.Add(domain.MaxCredentialLifetime)):
		v.Add("expire_time", "must be at most %d days from now", int(domain.MaxCredentialLifetime/(24*time.Hour)))
	}
	if err := v.Err(); err != nil {
		return domain.Credential{}, "", err
	}
	u, err := a.credentialUser(ctx, p, userID, true)
	if err != nil {
		return domain.Credential{}, "", err
	}
	if u.Disabled {
		return domain.Credential{}, "", domain.ErrUserDisabled()
	}
	cred, secret := domain.NewCredential(u, label, expire.UTC().Truncate(time.Microsecond), now)
	if err := a.repo.AddCredential(ctx, cred); err != nil {
		return domain.Credential{}, "", err
	}
	return cred, secret, nil
}

// CredentialPage is a page of ListApiCredentials with the instant its states were judged at, so
// the states shown are those the filter used.
type CredentialPage struct {
	Credentials []domain.Credential
	Next        string
	At          time.Time
}

// ListApiCredentials lists a user's credentials ("" for the caller itself), never their
// secrets, newest first, optionally only those in a state at the service clock's now.
func (a *App) ListApiCredentials(ctx context.Context, userID string, state domain.CredentialState, pageSize int32, pageToken string) (CredentialPage, error) {
	p, err := auth.MustFromContext(ctx)
	if err != nil {
		return CredentialPage{}, err
	}
	if userID == "" && !isOperatorPrincipal(p) {
		userID = p.Effective().Subject
	}
	var v errs.Violations
	if userID == "" {
		v.Add("user_id", "required for a service acting on its own account")
	} else {
		checkUUID(&v, "user_id", userID)
	}
	switch state {
	case "", domain.CredentialActive, domain.CredentialRevoked, domain.CredentialExpired:
	default:
		v.Add("state", "not a credential state")
	}
	if pageSize < 0 {
		v.Add("page_size", "must not be negative")
	}
	if err := v.Err(); err != nil {
		return CredentialPage{}, err
	}
	size, _ := paging.Size(pageSize) // validated above
	query := paging.Fingerprint("credentials", userID, state, p.Subject, p.Effective().Subject)
	after, err := paging.Decode(pageToken, query, 2)
	if err != nil {
		return CredentialPage{}, err
	}
	f := CredentialFilter{UserID: userID, State: state, Now: a.clock.Now()}
	if after != nil {
		if f.BeforeCreateTime, err = paging.ParseTime(after[0]); err != nil {
			return CredentialPage{}, err
		}
		f.BeforeID = after[1]
	}
	if _, err := a.credentialUser(ctx, p, userID, false); err != nil {
		return CredentialPage{}, err
	}
	rows, err := a.repo.ListCredentials(ctx, f, size+1)
	if err != nil {
		return CredentialPage{}, err
	}
	page, next := paging.Trim(rows, size, query, func(c domain.Credential) []string {
		return []string{paging.Time(c.CreateTime), c.ID}
	})
	return CredentialPage{Credentials: page, Next: next, At: f.Now}, nil
}

// RevokeApiCredential revokes a credential: it stops issuing tokens at once. Revoking a revoked
// credential returns it unchanged, whatever the etag (the state is final).
func (a *App) RevokeApiCredential(ctx context.Context, id, etag string) (domain.Credential, error) {
	p, err := auth.MustFromContext(ctx)
	if err != nil {
		return domain.Credential{}, err
	}
	var bad errs.Violations
	checkID(&bad, "credential_id", id)
	if err := bad.Err(); err != nil {
		return domain.Credential{}, err
	}
	c, err := a.repo.CredentialByID(ctx, id)
	if errs.KindOf(err) == errs.NotFound {
		return domain.Credential{}, errs.NotFoundf("api_credential", id)
	}
	if err != nil {
		return domain.Credential{}, err
	}
	if _, err := a.credentialUser(ctx, p, c.UserID, false); err != nil {
		if errs.KindOf(err) == errs.NotFound { // name the credential, not its user
			return domain.Credential{}, errs.NotFoundf("api_credential", id)
		}
		return domain.Credential{}, err
	}
	now := a.stamp()
	c, err = a.repo.UpdateCredential(ctx, id, func(c *domain.Credential) (bool, error) {
		if !c.RevokeTime.IsZero() {
			return false, nil
		}
		if etag != "" && etag != c.Etag {
			return false, staleEtag("api_credential", c.ID)
		}
		c.RevokeTime, c.Etag, c.UpdateTime = now, uuid.NewString(), now
		return true, nil
	})
	if errs.KindOf(err) == errs.NotFound {
		return domain.Credential{}, errs.NotFoundf("api_credential", id)
	}
	return c, err
}
