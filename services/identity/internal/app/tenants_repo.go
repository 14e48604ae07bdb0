package app

// TenantRepo is the persistence of customers, reseller relationships, invitations and moves.
type TenantRepo interface{}
