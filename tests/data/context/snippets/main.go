package store

import (
	"errors"
	"sync"
)

type Cache struct {
	mu    sync.Mutex
	items map[string]string
}

func NewCache() *Cache {
	return &Cache{items: make(map[string]string)}
}

func (c *Cache) Get(key string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	value, ok := c.items[key]
	if !ok {
		return "", errors.New("missing")
	}
	return value, nil
}
