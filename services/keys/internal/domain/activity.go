package domain

import "time"

// ActivityAction is what an activity record records (KD-6). The names mirror
// partnerhub.keys.v1.ActivityAction without its prefix.
type ActivityAction string

// The recorded actions.
const (
	ActionKeyRevealed         ActivityAction = "KEY_REVEALED"
	ActionDownloadLinkCreated ActivityAction = "DOWNLOAD_LINK_CREATED"
	ActionDownloadStarted     ActivityAction = "DOWNLOAD_STARTED"
	ActionDownloadRefused     ActivityAction = "DOWNLOAD_REFUSED"
)

// Actor is who acted, as authenticated (KD-6: "who").
type Actor struct {
	UserID      string
	DisplayName string
	OrgID       string
	OrgKind     string // auth.OrgKind's name: PARTNER, CUSTOMER, SERVICE; '' for an anonymous link
	Roles       []string
}

// Activity is one record of the append-only activity log (KD-6): who did what to which key or
// download, when and from where. It never holds a key, only its masked form (KD-8).
type Activity struct {
	ID            string
	Action        ActivityAction
	Actor         Actor
	PartnerID     string // the entitlement's partner: whose log the record belongs to
	CustomerID    string
	EntitlementID string
	KeyID         string
	MaskedKey     string
	ProductName   string
	VariantID     string
	LinkID        string
	Time          time.Time
	PeerAddress   string
	UserAgent     string
	RefusalReason string // the errs.Reason of a refused download; '' otherwise
}

// DownloadLink is a signed, expiring link to one variant of an entitlement (KD-4). The store keeps
// a record of each so that a revocation can count and withdraw them; the link's token itself is
// verified by its signature (sealing.LinkSigner).
type DownloadLink struct {
	ID            string
	RequestID     string // the CreateDownloadLink request
	EntitlementID string
	VariantID     string
	CustomerID    string
	PartnerID     string
	CreatedBy     string // user ID
	ExpireTime    time.Time
	Revoked       bool
	CreateTime    time.Time
}
