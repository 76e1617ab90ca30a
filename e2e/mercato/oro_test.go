//go:build mercatoe2e

package mercato

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/orosync/orosync/oro"
)

// oroCount is how many records of typ Oro holds (X-Include: totalCount).
func (w *world) oroCount(ctx context.Context, typ string) (int, error) {
	p, err := w.oro.List(ctx, typ, oro.Query{PageSize: 1, TotalCount: true})
	if err != nil {
		return 0, fmt.Errorf("oro %s: %w", typ, err)
	}
	return p.Total, nil
}

// oroAll lists every record of typ with the given included relationships.
func (w *world) oroAll(ctx context.Context, typ string, include ...string) (*oro.Page, error) {
	return w.oro.List(ctx, typ, oro.Query{PageSize: -1, Include: include})
}

// oroAdmin changes Oro's data behind orosync's back, as a user of Oro would (the simulator's admin endpoints).
func (w *world) oroAdmin(ctx context.Context, method, typ, id string, attrs map[string]any) error {
	var body bytes.Buffer
	if attrs != nil {
		if err := json.NewEncoder(&body).Encode(attrs); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, fmt.Sprintf("%s/__admin/%s/%s", w.simBase, typ, id), &body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d", method, req.URL, res.StatusCode)
	}
	return nil
}

func attr(r oro.Resource, name string) string {
	var s string
	_ = json.Unmarshal(r.Attributes[name], &s)
	return s
}

func refIDs(r oro.Resource, rel string) []string {
	var ids []string
	for _, ref := range r.Relationships[rel].Data {
		ids = append(ids, ref.ID)
	}
	return ids
}
