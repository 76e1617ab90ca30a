package domain

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"
)

// DefaultGracePasses is how many consecutive complete passes must miss a record before its diff tombstone.
const DefaultGracePasses = 2

// Grace remembers which held records recent complete passes missed, so a record briefly absent from a listing
// (a permission flicker, a replica behind) is not deleted on one sighting. Only complete listings advance it.
type Grace struct {
	// Passes are the ids of the latest complete passes, oldest first, at most the grace count.
	Passes []string
	// Missing are the ids missed by the latest pass, with how many consecutive passes missed each (1..grace).
	Missing []GraceEntry
	// Waiting counts the entries of Missing not yet due (for `orosync status`).
	Waiting int
}

// GraceEntry is one missed id.
type GraceEntry struct {
	N     uint64
	Count int
}

// Advance records pass and the ids it missed (ascending). due are the ids missed by need consecutive passes,
// each with the ids of those passes (its evidence); waiting counts the rest.
func (g Grace) Advance(pass string, missing []uint64, need int) (next Grace, due map[uint64][]string, waiting int) {
	need = max(need, 1)
	next.Passes = append(slices.Clone(g.Passes), pass)
	if len(next.Passes) > need {
		next.Passes = next.Passes[len(next.Passes)-need:]
	}
	due = map[uint64][]string{}
	i := 0
	var prev uint64
	for k, n := range missing {
		if k > 0 && n == prev {
			continue // "7" and "007"
		}
		prev = n
		for i < len(g.Missing) && g.Missing[i].N < n {
			i++
		}
		c := 1
		if i < len(g.Missing) && g.Missing[i].N == n {
			c = min(g.Missing[i].Count+1, need)
		}
		next.Missing = append(next.Missing, GraceEntry{N: n, Count: c})
		if c >= need {
			due[n] = next.Passes[len(next.Passes)-min(c, len(next.Passes)):]
		} else {
			waiting++
		}
	}
	next.Waiting = waiting
	return next, due, waiting
}

// graceJSON is Grace as stored: the missed ids delta-encoded as varints (id delta, count), deflated, so a pass that
// misses half a million ids still fits one key-value entry.
type graceJSON struct {
	Passes  []string  `json:"passes"`
	Missing []byte    `json:"missing"`
	Count   int       `json:"count"`
	Waiting int       `json:"waiting"`
	SavedAt time.Time `json:"savedAt"`
}

// MarshalJSON encodes the state compactly.
func (g Grace) MarshalJSON() ([]byte, error) {
	var raw bytes.Buffer
	fw, _ := flate.NewWriter(&raw, flate.BestSpeed) // level is valid
	buf := make([]byte, 0, 2*binary.MaxVarintLen64)
	var prev uint64
	for _, e := range g.Missing {
		buf = binary.AppendUvarint(buf[:0], e.N-prev)
		buf = binary.AppendUvarint(buf, uint64(e.Count))
		prev = e.N
		if _, err := fw.Write(buf); err != nil {
			return nil, err
		}
	}
	if err := fw.Close(); err != nil {
		return nil, err
	}
	return json.Marshal(graceJSON{Passes: g.Passes, Missing: raw.Bytes(), Count: len(g.Missing), Waiting: g.Waiting, SavedAt: time.Now().UTC()})
}

// UnmarshalJSON decodes what MarshalJSON wrote.
func (g *Grace) UnmarshalJSON(b []byte) error {
	var j graceJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("grace state: %w", err)
	}
	data, err := io.ReadAll(flate.NewReader(bytes.NewReader(j.Missing)))
	if err != nil {
		return fmt.Errorf("grace state: missing ids: %w", err)
	}
	out := Grace{Passes: j.Passes, Waiting: j.Waiting, Missing: make([]GraceEntry, 0, j.Count)}
	var prev uint64
	for len(data) > 0 {
		d, n := binary.Uvarint(data)
		if n <= 0 {
			return fmt.Errorf("grace state: missing ids: bad varint")
		}
		c, m := binary.Uvarint(data[n:])
		if m <= 0 {
			return fmt.Errorf("grace state: missing ids: bad varint")
		}
		data = data[n+m:]
		if len(out.Missing) > 0 && d == 0 {
			return fmt.Errorf("grace state: missing ids not ascending")
		}
		prev += d
		out.Missing = append(out.Missing, GraceEntry{N: prev, Count: int(c)})
	}
	*g = out
	return nil
}
