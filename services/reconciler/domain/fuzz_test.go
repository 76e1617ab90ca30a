package domain

import (
	"encoding/json"
	"slices"
	"testing"
)

// FuzzGraceState feeds arbitrary bytes to the grace state decoder (it reads what the key-value store holds): it
// must fail cleanly or yield ascending ids that survive another round trip.
func FuzzGraceState(f *testing.F) {
	g, _, _ := Grace{}.Advance("p1", []uint64{1, 2, 900, 1 << 40}, 2)
	seed, _ := json.Marshal(g)
	f.Add(seed)
	f.Add([]byte(`{"passes":["a"],"missing":"","count":0}`))
	f.Add([]byte(`{"missing":"AAAA"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var g Grace
		if err := json.Unmarshal(b, &g); err != nil {
			return
		}
		for i := 1; i < len(g.Missing); i++ {
			if g.Missing[i].N <= g.Missing[i-1].N {
				t.Fatalf("ids not ascending: %v", g.Missing[i-1:i+1])
			}
		}
		again, err := json.Marshal(g)
		if err != nil {
			t.Fatal(err)
		}
		var back Grace
		if err := json.Unmarshal(again, &back); err != nil || !slices.Equal(back.Missing, g.Missing) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
