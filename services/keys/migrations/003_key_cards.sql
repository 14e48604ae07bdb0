-- +goose Up
-- Open product key cards, their mint batches and the reservations that redeem them (KD-1, KD-2,
-- ID-1). Portable dialect as 002_keys.sql (enum CHECKs as OR chains, times bound from Go).
--
-- Keys (KD-8): a card holds its key only sealed (the keyring's value, bound to the card ID) and
-- as `lookup`, hex of HMAC-SHA256 of the normalised key under the service's lookup key. The lookup
-- is UNIQUE: a typed key finds its card through that index without anything being opened, and
-- the database never holds a plain key. `masked` is for lists and the activity log.
--
-- A key is redeemed at most once (KD-1): the adapter changes a card's state only by conditional
-- UPDATEs (a card becomes REDEEMED only WHERE state = 'RESERVED' AND reservation_id = the
-- confirmed reservation) and checks their row counts, inside a transaction that holds the
-- reservation's row lock; REDEEMED is never left. The row CHECK below keeps each state's columns
-- consistent whatever the code does.
--
-- A reservation that lapses is not swept: the service counts a HELD reservation past expire_time
-- as EXPIRED, and a card RESERVED by it as AVAILABLE, at read time; a new reservation takes such a
-- card directly.

-- One MintKeyCards call. (scope, request_id) is unique: a retried request finds its batch, also
-- after a crash, and two concurrent ones cannot both mint.
CREATE TABLE key_card_batches (
    id             TEXT PRIMARY KEY,
    scope          TEXT NOT NULL, -- the caller's organisation, "KIND:ID", as the idempotency interceptor's
    request_id     TEXT NOT NULL,
    partner_id     TEXT NOT NULL,
    sku_id         TEXT NOT NULL,
    seats          BIGINT NOT NULL CHECK (seats >= 1),
    term_duration  TEXT NOT NULL CHECK (term_duration = 'P1M' OR term_duration = 'P1Y' OR term_duration = 'P3Y'),
    card_count     BIGINT NOT NULL CHECK (card_count >= 1 AND card_count <= 1000),
    created_at     TIMESTAMP NOT NULL,
    UNIQUE (scope, request_id)
);

-- One ReserveProductKeys call: the cards of one redemption, held until expire_time. The state as
-- stored: HELD until confirmed, released, or released after it lapsed (EXPIRED).
CREATE TABLE key_reservations (
    id               TEXT PRIMARY KEY,
    scope            TEXT NOT NULL,
    request_id       TEXT NOT NULL,
    redemption_id    TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state = 'HELD' OR state = 'CONFIRMED' OR state = 'RELEASED' OR state = 'EXPIRED'),
    expire_time      TIMESTAMP NOT NULL,
    customer_id      TEXT NOT NULL, -- CONFIRMED: the customer the cards were redeemed for; '' before
    subscription_id  TEXT NOT NULL, -- CONFIRMED: the subscription they created or renewed; '' before
    version          BIGINT NOT NULL CHECK (version >= 1),
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    UNIQUE (scope, request_id),
    CHECK (state <> 'CONFIRMED' OR (customer_id <> '' AND subscription_id <> ''))
);

CREATE TABLE key_cards (
    id               TEXT PRIMARY KEY,
    batch_id         TEXT NOT NULL REFERENCES key_card_batches (id),
    position         BIGINT NOT NULL CHECK (position >= 0), -- in the batch, mint order
    partner_id       TEXT NOT NULL,
    sku_id           TEXT NOT NULL,
    seats            BIGINT NOT NULL CHECK (seats >= 1),
    term_duration    TEXT NOT NULL,
    masked           TEXT NOT NULL,
    sealed           TEXT NOT NULL CHECK (sealed <> ''),
    lookup           TEXT NOT NULL UNIQUE CHECK (lookup <> ''),
    state            TEXT NOT NULL CHECK (state = 'AVAILABLE' OR state = 'RESERVED' OR state = 'REDEEMED'),
    -- RESERVED: the holding reservation; REDEEMED: the confirmed one; NULL when AVAILABLE.
    reservation_id   TEXT REFERENCES key_reservations (id),
    reserve_expiry   TIMESTAMP, -- RESERVED: when the hold lapses; NULL otherwise
    redemption_id    TEXT NOT NULL, -- REDEEMED: the redemption (orders.v1); '' before
    subscription_id  TEXT NOT NULL, -- REDEEMED: the subscription created, extended or renewed
    customer_id      TEXT NOT NULL, -- REDEEMED: the customer tenant
    redeem_time      TIMESTAMP, -- REDEEMED: when; NULL before
    version          BIGINT NOT NULL CHECK (version >= 1),
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    UNIQUE (batch_id, position),
    CHECK ((state = 'AVAILABLE' AND reservation_id IS NULL AND reserve_expiry IS NULL AND redeem_time IS NULL
                AND redemption_id = '')
        OR (state = 'RESERVED' AND reservation_id IS NOT NULL AND reserve_expiry IS NOT NULL AND redeem_time IS NULL
                AND redemption_id = '')
        OR (state = 'REDEEMED' AND reservation_id IS NOT NULL AND reserve_expiry IS NULL AND redeem_time IS NOT NULL
                AND redemption_id <> '' AND subscription_id <> '' AND customer_id <> ''))
);
-- A partner's cards newest first, in keyset order (created_at, id); the cards a reservation holds
-- (confirm, release). The UNIQUE constraints' indexes serve a batch's cards and the lookup.
CREATE INDEX key_cards_partner ON key_cards (partner_id, created_at, id);
CREATE INDEX key_cards_reservation ON key_cards (reservation_id);

-- The cards a reservation was made for, in request order. A card's reservation_id says who holds
-- it now; this says what a reservation asked for, also after it ended.
CREATE TABLE key_reservation_cards (
    reservation_id  TEXT NOT NULL REFERENCES key_reservations (id),
    position        BIGINT NOT NULL CHECK (position >= 0),
    key_card_id     TEXT NOT NULL REFERENCES key_cards (id),
    PRIMARY KEY (reservation_id, position),
    UNIQUE (reservation_id, key_card_id)
);

-- +goose Down
DROP TABLE key_reservation_cards;
DROP TABLE key_cards;
DROP TABLE key_reservations;
DROP TABLE key_card_batches;
