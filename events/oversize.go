package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RuleMaxSize is the rule of a dead letter for a message bigger than its stream or the server takes.
const RuleMaxSize = "max-size"

// Oversize is the dead letter of a message of size bytes (headers and body) that a stream or the server (limit
// bytes) will not store. It keeps no payload (the dead-letter stream would refuse it too); where says where the
// original can be read again, and the reason names the largest values of body, which decide what to change.
func Oversize(stage string, ref *RecordRef, stream, subject string, body []byte, size, limit int, where string, at time.Time) DeadLetter {
	reason := fmt.Sprintf("%s bytes exceed the limit of %s bytes of %s", thousands(size), thousands(limit), stream)
	if limit <= 0 {
		reason = fmt.Sprintf("%s bytes exceed what %s or the server takes", thousands(size), stream)
	}
	if ref != nil {
		reason = ref.Type + " " + ref.ID + ": " + reason
	}
	if big := LargestValues(body, 3); len(big) > 0 {
		parts := make([]string, len(big))
		for i, v := range big {
			parts[i] = v.Path + " (" + thousands(v.Size) + " bytes)"
		}
		reason += "; largest values: " + strings.Join(parts, ", ")
	}
	if where != "" {
		reason += "; " + where
	}
	return DeadLetter{Stage: stage, Record: ref, Rule: RuleMaxSize, Reason: reason, Stream: stream, Subject: subject,
		Size: size, Limit: limit, FailedAt: at.UTC()}
}

// SizedValue is one value of a JSON document and the bytes it takes.
type SizedValue struct {
	Path string // dotted member names, [i] for array elements
	Size int
}

// LargestValues returns up to n values of a JSON document that account for most of its size, largest first, each
// at least a twentieth of it: strings, numbers and literals, and objects and arrays made of many small members (none
// a tenth of the whole), not the objects around big members. Nothing when doc is not JSON.
func LargestValues(doc []byte, n int) []SizedValue {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	type open struct {
		path    string
		start   int64
		next    int // index of the next element (arrays)
		key     string
		isArray bool
		biggest int // size of its largest member
	}
	var (
		stack []open
		out   []SizedValue
	)
	done := func(path string, size int) {
		if len(stack) > 0 {
			top := &stack[len(stack)-1]
			top.biggest = max(top.biggest, size)
		}
		if path != "" {
			out = append(out, SizedValue{Path: path, Size: size})
		}
	}
	pathOf := func() string {
		if len(stack) == 0 {
			return ""
		}
		top := &stack[len(stack)-1]
		var name string
		if top.isArray {
			name = top.path + "[" + strconv.Itoa(top.next) + "]"
			top.next++
		} else if top.path == "" {
			name = top.key
		} else {
			name = top.path + "." + top.key
		}
		return name
	}
	expectKey := func() bool { return len(stack) > 0 && !stack[len(stack)-1].isArray && stack[len(stack)-1].key == "" }
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				stack = append(stack, open{path: pathOf(), start: start, isArray: t == '['})
			case '}', ']':
				o := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				size := int(dec.InputOffset() - o.start)
				if o.biggest*10 >= size {
					o.path = "" // its big members are reported, not it
				}
				done(o.path, size)
				if len(stack) > 0 && !stack[len(stack)-1].isArray {
					stack[len(stack)-1].key = ""
				}
			}
		default:
			if key, ok := t.(string); ok && expectKey() {
				stack[len(stack)-1].key = key
				continue
			}
			done(pathOf(), int(dec.InputOffset()-start))
			if len(stack) > 0 && !stack[len(stack)-1].isArray {
				stack[len(stack)-1].key = ""
			}
		}
	}
	slices.SortStableFunc(out, func(a, b SizedValue) int { return b.Size - a.Size })
	out = out[:min(n, len(out))]
	for i, v := range out {
		if v.Size*20 < len(doc) {
			return out[:i]
		}
	}
	return out
}

// thousands writes n with comma separators (1,048,576).
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
