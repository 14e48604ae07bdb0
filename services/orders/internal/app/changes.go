package app

import (
	"sync"

	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

// Changes tells WatchOrder streams of this process that an order changed, so that they send the
// new snapshot at once instead of at their next poll. Publish carries the order as the change
// left it (the saga runner has it at hand), so the watcher need not read it again; Notify is a
// bare signal after which the watcher reads the order. A watcher that has not taken the previous
// signal gets only the newest.
type Changes struct {
	mu   sync.Mutex
	subs map[string]map[chan domain.Order]struct{}
}

// NewChanges returns an empty hub.
func NewChanges() *Changes { return &Changes{subs: map[string]map[chan domain.Order]struct{}{}} }

// Subscribe returns a channel that receives after each change of the order — the order itself
// when published, or an order with only its ID (Version 0) for a bare Notify — and the function
// that ends the subscription.
func (c *Changes) Subscribe(orderID string) (<-chan domain.Order, func()) {
	ch := make(chan domain.Order, 1)
	c.mu.Lock()
	if c.subs[orderID] == nil {
		c.subs[orderID] = map[chan domain.Order]struct{}{}
	}
	c.subs[orderID][ch] = struct{}{}
	c.mu.Unlock()
	return ch, func() {
		c.mu.Lock()
		delete(c.subs[orderID], ch)
		if len(c.subs[orderID]) == 0 {
			delete(c.subs, orderID)
		}
		c.mu.Unlock()
	}
}

// Notify signals every subscriber of the order that it changed.
func (c *Changes) Notify(orderID string) { c.send(orderID, domain.Order{ID: orderID}) }

// Publish gives every subscriber of o's order o as it is now. Subscribers only read it.
func (c *Changes) Publish(o domain.Order) { c.send(o.ID, o) }

func (c *Changes) send(orderID string, o domain.Order) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for ch := range c.subs[orderID] {
		select { // replace a signal not taken yet: the newest is what counts
		case <-ch:
		default:
		}
		select {
		case ch <- o:
		default:
		}
	}
}
