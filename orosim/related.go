package orosim

import (
	"net/http"
	"strconv"
	"strings"
)

// enumCatalog is built once; enum options never change.
var enumCatalog = enums()

// resolve renders a related resource: a stored record, an enum option, or
// nothing when the target is unknown (files, channels, ...).
func (s *Server) resolve(rd renderer, x ref) (object, *record, *typeDef) {
	if def, ok := s.store.def(x.Type); ok {
		id, err := strconv.ParseInt(x.ID, 10, 64)
		if err != nil {
			return nil, nil, nil
		}
		rec, ok := s.store.get(x.Type, id)
		if !ok {
			return nil, nil, nil
		}
		return rd.resource(def, rec), rec, def
	}
	for i, it := range enumCatalog[x.Type] {
		if it.id == x.ID {
			return enumResource(x.Type, i, it), nil, nil
		}
	}
	return nil, nil, nil
}

// included follows include paths (include=account,lead.account) from the
// primary records and renders every resource reached once, primary ones
// excluded, in order of discovery.
func (s *Server) included(rd renderer, def *typeDef, primary []*record, paths [][]string) []object {
	type node struct {
		def *typeDef
		rec *record
	}
	seen := map[ref]bool{}
	for _, r := range primary {
		seen[ref{Type: def.Name, ID: r.idString()}] = true
	}
	out := []object{}
	for _, path := range paths {
		frontier := make([]node, len(primary))
		for i, r := range primary {
			frontier[i] = node{def, r}
		}
		for _, seg := range path {
			var next []node
			for _, n := range frontier {
				if _, ok := n.def.rel(seg); !ok {
					continue
				}
				for _, x := range n.rec.Rels[seg] {
					res, rec, d := s.resolve(rd, x)
					if res == nil {
						continue
					}
					if !seen[x] {
						seen[x] = true
						out = append(out, res)
					}
					if rec != nil {
						next = append(next, node{d, rec})
					}
				}
			}
			frontier = next
		}
	}
	return out
}

// handleEnum serves the read-only enum and dictionary types.
func (s *Server) handleEnum(w http.ResponseWriter, r *http.Request, typ string, parts []string) {
	const allow = "OPTIONS, GET, HEAD"
	switch {
	case len(parts) > 2:
		notAccessible(w)
		return
	case r.Method == http.MethodOptions:
		w.Header().Set("Allow", allow)
		w.WriteHeader(http.StatusOK)
		return
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		methodNotAllowed(w, r, allow)
		return
	}
	items := enumCatalog[typ]
	if len(parts) == 2 {
		for i, it := range items {
			if it.id == parts[1] {
				writeJSON(w, http.StatusOK, mediaType, object{{"data", enumResource(typ, i, it)}})
				return
			}
		}
		writeErrors(w, http.StatusNotFound, apiError{Status: "404", Title: "not found http exception", Detail: "An entity with the requested identifier does not exist."})
		return
	}
	data := make([]object, len(items))
	for i, it := range items {
		data[i] = enumResource(typ, i, it)
	}
	writeJSON(w, http.StatusOK, mediaType, object{{"data", data}})
}

// handleRelated serves GET /api/{type}/{id}/{rel} (the related resources)
// and GET /api/{type}/{id}/relationships/{rel} (the linkage only).
func (s *Server) handleRelated(w http.ResponseWriter, r *http.Request, def *typeDef, parts []string) {
	linkage := len(parts) == 4 && parts[2] == "relationships"
	name := parts[len(parts)-1]
	if len(parts) > 4 || (len(parts) == 4 && !linkage) {
		notAccessible(w)
		return
	}
	rel, ok := def.rel(name)
	if !ok {
		notAccessible(w)
		return
	}
	const allow = "OPTIONS, GET, HEAD"
	switch {
	case r.Method == http.MethodOptions:
		w.Header().Set("Allow", allow)
		w.WriteHeader(http.StatusOK)
		return
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		methodNotAllowed(w, r, allow)
		return
	}
	id, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, apiError{Status: "400", Title: "entity identifier constraint", Detail: "Expected integer value. Given \"" + parts[1] + "\"."})
		return
	}
	rec, ok := s.store.get(def.Name, id)
	if !ok {
		writeErrors(w, http.StatusNotFound, apiError{Status: "404", Title: "not found http exception", Detail: "The parent entity does not exist."})
		return
	}
	refs := rec.Rels[rel.Name]
	if linkage {
		var data any = refs
		switch {
		case rel.ToMany && refs == nil:
			data = []ref{}
		case !rel.ToMany && len(refs) == 0:
			data = nil
		case !rel.ToMany:
			data = refs[0]
		}
		writeJSON(w, http.StatusOK, mediaType, object{{"data", data}})
		return
	}
	rd := renderer{base: s.apiRoot(r), links: !xInclude(r)["noHateoas"]}
	if rel.ToMany {
		data := []object{}
		for _, x := range refs {
			if res, _, _ := s.resolve(rd, x); res != nil {
				data = append(data, res)
			}
		}
		writeJSON(w, http.StatusOK, mediaType, object{{"data", data}})
		return
	}
	var data any
	if len(refs) > 0 {
		if res, _, _ := s.resolve(rd, refs[0]); res != nil {
			data = res
		}
	}
	writeJSON(w, http.StatusOK, mediaType, object{{"data", data}})
}

// handleUserProfile is GET /api/userprofile: the user behind the token.
func (s *Server) handleUserProfile(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, r, "OPTIONS, GET, HEAD")
		return
	}
	uid := s.requestUser(r)
	def, _ := s.store.def("users")
	rd := renderer{base: s.apiRoot(r), links: !xInclude(r)["noHateoas"]}
	if rec, ok := s.store.get("users", uid); ok {
		writeJSON(w, http.StatusOK, mediaType, object{{"data", rd.resource(def, rec)}})
		return
	}
	// Users are not seeded: describe the user from the configuration.
	name := username(strconv.FormatInt(uid, 10))
	for n := range s.cfg.Users {
		if id, ok := s.userID(n, s.cfg.Users[n]); ok && id == uid {
			name = n
		}
	}
	rec := &record{ID: uid, Attrs: map[string]any{"username": name, "email": name + "@example.com", "enabled": true,
		"emails": []string(nil)}, Rels: map[string][]ref{"organization": {{Type: "organizations", ID: "1"}}}}
	writeJSON(w, http.StatusOK, mediaType, object{{"data", rd.resource(def, rec)}})
}

// requestUser is the user id behind a request's bearer token.
func (s *Server) requestUser(r *http.Request) int64 {
	_, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if info, ok := s.tokens.lookup(strings.TrimSpace(tok)); ok && info.userID > 0 {
		return info.userID
	}
	return adminUser
}
