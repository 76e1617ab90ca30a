package app

import (
	"github.com/orosync/orosync/events"
)

// PreviewCounts is what a replay would do with one Oro type's raw messages.
type PreviewCounts struct {
	Messages    int `json:"messages"`
	Changes     int `json:"changes"`     // changes it would publish
	Unchanged   int `json:"unchanged"`   // records the base maps alike, not published
	DeadLetters int `json:"deadLetters"` // bad input under the new mapping
	Skipped     int `json:"skipped"`     // ignored or embedded types: no change under either mapping
	// Examples are the first record ids whose change would be published.
	Examples []string `json:"examples,omitempty"`
}

// maxExamples is how many record ids a preview names per type.
const maxExamples = 5

// PreviewReplay is the dry run of a replay: it maps messages as the replay's Transform (WithBase) would and
// counts, per Oro type, what would be published, without publishing anything.
type PreviewReplay struct {
	Transform Transform
	Counts    map[string]*PreviewCounts
}

// Add maps one raw message and counts what became of it. An error means it could not be mapped now (not bad input).
func (p *PreviewReplay) Add(in Incoming) error {
	typ := "(bad subject)"
	ref, err := events.ParseRawSubject(in.Subject)
	if err == nil {
		typ = ref.Type
	}
	if p.Counts == nil {
		p.Counts = map[string]*PreviewCounts{}
	}
	c := p.Counts[typ]
	if c == nil {
		c = &PreviewCounts{}
		p.Counts[typ] = c
	}
	unchanged := false
	tr := p.Transform
	tr.Unchanged = func() { unchanged = true }
	out, err := tr.Handle(in)
	if err != nil {
		return err
	}
	c.Messages++
	switch {
	case unchanged:
		c.Unchanged++
	case len(out) == 0:
		c.Skipped++
	case out[0].Envelope.Type == events.TypeDeadLetter:
		c.DeadLetters++
	default:
		c.Changes++
		if len(c.Examples) < maxExamples {
			c.Examples = append(c.Examples, ref.ID)
		}
	}
	return nil
}
