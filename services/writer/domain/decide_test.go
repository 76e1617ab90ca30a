package domain

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/orosync/orosync/events"
)

func ptr(s string) *string { return &s }

func upsert(id string, sec int, hash, name string) events.Change {
	return events.Change{Tenant: "acme", Op: events.OpUpsert, Aggregate: events.AggregatePerson,
		Source:         events.RecordRef{Tenant: "acme", Type: "contacts", ID: id},
		SourceVersion:  events.SourceVersion{UpdatedAt: time.Unix(int64(sec), 0).UTC(), PayloadHash: hash},
		MappingVersion: "v1", Person: &events.Person{DisplayName: name, FirstName: ptr(name)}}
}

func del(id string, sec int, hash string) events.Change {
	c := upsert(id, sec, hash, "")
	c.Op, c.Person = events.OpDelete, nil
	return c
}

var key = Key{Tenant: "acme", SourceType: "contacts", SourceID: "1"}

func TestNewRecordIsCreated(t *testing.T) {
	out := Plan(State{}, nil, []events.Change{upsert("1", 10, "a", "Ann")})
	if len(out) != 1 || out[0].Before != nil || !out[0].Changed || !reflect.DeepEqual(out[0].Events, []string{"created"}) {
		t.Fatalf("%+v", out)
	}
}

func TestSameVersionAgainChangesNothing(t *testing.T) {
	first := Plan(State{}, nil, []events.Change{upsert("1", 10, "a", "Ann")})[0].After
	if out := Plan(State{Records: map[Key]*Stored{key: &first}}, nil, []events.Change{upsert("1", 10, "a", "Ann")}); len(out) != 0 {
		t.Fatalf("redelivery produced %+v", out)
	}
}

func TestOlderVersionAfterNewerIsIgnored(t *testing.T) {
	newer := Plan(State{}, nil, []events.Change{upsert("1", 20, "b", "Bea")})[0].After
	if out := Plan(State{Records: map[Key]*Stored{key: &newer}}, nil, []events.Change{upsert("1", 10, "a", "Ann")}); len(out) != 0 {
		t.Fatalf("older version applied: %+v", out)
	}
}

func TestArrivalOrderDoesNotMatter(t *testing.T) {
	changes := []events.Change{upsert("1", 10, "a", "Ann"), upsert("1", 20, "b", "Bea"), upsert("1", 20, "c", "Cid"), upsert("1", 15, "d", "Dan")}
	want := Plan(State{}, nil, changes)[0].After
	for range 20 {
		shuffled := append([]events.Change(nil), changes...)
		rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		// Also split the stream in two batches at a random point.
		cut := rand.IntN(len(shuffled) + 1)
		var stored map[Key]*Stored
		if out := Plan(State{}, nil, shuffled[:cut]); len(out) > 0 {
			stored = map[Key]*Stored{key: &out[0].After}
		}
		final := stored[key]
		if out := Plan(State{Records: stored}, nil, shuffled[cut:]); len(out) > 0 {
			final = &out[0].After
		}
		if final == nil || !reflect.DeepEqual(*final, want) {
			t.Fatalf("order %v cut %d gave %+v, want %+v", shuffled, cut, final, want)
		}
	}
	if want.Person.DisplayName != "Cid" {
		t.Errorf("tie on updatedAt must be broken by hash: got %s", want.Person.DisplayName)
	}
}

func TestNewVersionWithSameValuesIsBookkeepingOnly(t *testing.T) {
	first := Plan(State{}, nil, []events.Change{upsert("1", 10, "a", "Ann")})[0].After
	out := Plan(State{Records: map[Key]*Stored{key: &first}}, nil, []events.Change{upsert("1", 11, "b", "Ann")})
	if len(out) != 1 || out[0].Changed || len(out[0].Events) != 0 || out[0].After.Version.PayloadHash != "b" {
		t.Fatalf("%+v", out)
	}
}

func TestReplayUnderNewMappingReapplies(t *testing.T) {
	first := Plan(State{}, nil, []events.Change{upsert("1", 10, "a", "Ann")})[0].After
	c := upsert("1", 10, "a", "Ann B.")
	c.MappingVersion = "v2"
	out := Plan(State{Records: map[Key]*Stored{key: &first}}, nil, []events.Change{c})
	if len(out) != 1 || !out[0].Changed || out[0].After.MappingVersion != "v2" || out[0].Events[0] != "updated" {
		t.Fatalf("%+v", out)
	}
}

func TestDeleteThenReappear(t *testing.T) {
	first := Plan(State{}, nil, []events.Change{upsert("1", 10, "a", "Ann")})[0].After
	out := Plan(State{Records: map[Key]*Stored{key: &first}}, nil, []events.Change{del("1", 10, "a")})
	if len(out) != 1 || !out[0].After.Deleted || out[0].Events[0] != "deleted" {
		t.Fatalf("delete: %+v", out)
	}
	deleted := out[0].After
	if again := Plan(State{Records: map[Key]*Stored{key: &deleted}}, nil, []events.Change{del("1", 10, "a")}); len(again) != 0 {
		t.Fatalf("second tombstone did something: %+v", again)
	}
	back := Plan(State{Records: map[Key]*Stored{key: &deleted}}, nil, []events.Change{upsert("1", 30, "z", "Ann")})
	if len(back) != 1 || back[0].After.Deleted || back[0].Events[0] != "created" {
		t.Fatalf("reappearance: %+v", back)
	}
}

func TestStaleTombstoneDoesNotDeleteNewerVersion(t *testing.T) {
	newer := Plan(State{}, nil, []events.Change{upsert("1", 20, "b", "Bea")})[0].After
	if out := Plan(State{Records: map[Key]*Stored{key: &newer}}, nil, []events.Change{del("1", 10, "a")}); len(out) != 0 {
		t.Fatalf("stale tombstone applied: %+v", out)
	}
}
