package relay

import (
	"sync"

	"github.com/orosync/orosync/mercatodb/gen/mercato/public/model"
)

// Cache keeps the events of the last few orosync_outbox_batches rows this process inserted, by row id, so
// the relay publishes them from memory instead of reading back and decoding their JSON. It is only an optimisation: the relay uses an entry only for a
// row its own DELETE returned, which proves the row committed with exactly these events (a rolled-back insert's
// id is never used again); any row not here is read from the table as before.
type Cache struct {
	mu      sync.Mutex
	max     int
	batches map[int64][]model.OrosyncOutbox
}

// NewCache keeps at most max batches (the oldest id goes first).
func NewCache(max int) *Cache {
	return &Cache{max: max, batches: make(map[int64][]model.OrosyncOutbox, max+1)}
}

// Put holds the events of the batch row id a transaction of this process inserted (a nil cache holds nothing).
func (c *Cache) Put(id int64, rows []model.OrosyncOutbox) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batches[id] = rows
	for len(c.batches) > c.max {
		oldest := id
		for k := range c.batches {
			oldest = min(oldest, k)
		}
		delete(c.batches, oldest)
	}
}

// held is a copy of what the cache holds now: entries stay usable whatever the cache evicts meanwhile.
func (c *Cache) held() map[int64][]model.OrosyncOutbox {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	held := make(map[int64][]model.OrosyncOutbox, len(c.batches))
	for k, v := range c.batches {
		held[k] = v
	}
	return held
}

// forget drops batches that were relayed.
func (c *Cache) forget(ids []int64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		delete(c.batches, id)
	}
}

// Len is how many batches are held.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.batches)
}
