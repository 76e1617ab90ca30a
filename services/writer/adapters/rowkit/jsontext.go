package rowkit

// AppendJSONString appends s as a JSON string (quotes, backslashes and control characters escaped).
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	return append(AppendJSONStringBody(b, s), '"')
}

// AppendJSONStringBody is appendJSONString without the quotes.
func AppendJSONStringBody(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	return append(b, s[start:]...)
}
