package app

import "sync"

// Changes tells WatchOrder streams of this process that an order changed, so that they send the
// new snapshot at once instead of at their next poll. A signal carries no data: the watcher
// re-reads the order. Signals to a watcher that has not consumed the previous one coalesce.
type Changes struct {
	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
}

// NewChanges returns an empty hub.
func NewChanges() *Changes { return &Changes{subs: map[string]map[chan struct{}]struct{}{}} }

// Subscribe returns a channel signalled after each change of the order, and the function that
// ends the subscription.
func (c *Changes) Subscribe(orderID string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	c.mu.Lock()
	if c.subs[orderID] == nil {
		c.subs[orderID] = map[chan struct{}]struct{}{}
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

// Notify signals every subscriber of the order.
func (c *Changes) Notify(orderID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for ch := range c.subs[orderID] {
		select {
		case ch <- struct{}{}:
		default: // a signal is pending already
		}
	}
}
