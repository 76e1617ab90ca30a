package events

// canonical re-encodes JSON with sorted object keys and numbers kept verbatim.
func canonical(raw []byte) ([]byte, error) {
	var h Hasher
	if out, ok := h.canonical(raw, false, false); ok {
		return out, nil
	}
	return canonicalReference(raw)
}
