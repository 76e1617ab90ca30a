package orosim

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// handleAdmin serves the simulator's own endpoints, which real Oro does not
// have; tests and demos use them to change data behind the client's back:
//
//	GET    /__admin/stats          {"contacts": N, ...}
//	POST   /__admin/{type}         create from a JSON object of attributes
//	PATCH  /__admin/{type}/{id}    update from a JSON object of attributes
//	DELETE /__admin/{type}/{id}    hard delete
//
// Attribute objects may also hold relationships as JSON:API linkage.
func (s *Server) handleAdmin(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/__admin/"), "/")
	if len(parts) == 1 && parts[0] == "stats" {
		if r.Method != http.MethodGet {
			adminError(w, http.StatusMethodNotAllowed, "use GET")
			return
		}
		stats := map[string]int{}
		for name := range s.store.cols {
			stats[name] = s.store.count(name)
		}
		writeJSON(w, http.StatusOK, "application/json", stats)
		return
	}
	if _, ok := s.store.def(parts[0]); !ok || len(parts) > 2 {
		adminError(w, http.StatusNotFound, "unknown admin route")
		return
	}
	typ := parts[0]
	switch {
	case len(parts) == 1 && r.Method == http.MethodPost:
		attrs, ok := readAttrs(w, r)
		if !ok {
			return
		}
		rec, err := s.store.create(typ, attrs, s.clock())
		if err != nil {
			adminFailure(w, err)
			return
		}
		s.writeAdminResource(w, r, http.StatusCreated, typ, rec)
	case len(parts) == 2 && r.Method == http.MethodPatch:
		attrs, ok := readAttrs(w, r)
		if !ok {
			return
		}
		id, err := parseID(parts[1])
		if err != nil {
			adminFailure(w, err)
			return
		}
		rec, err := s.store.update(typ, id, attrs, s.clock())
		if err != nil {
			adminFailure(w, err)
			return
		}
		s.writeAdminResource(w, r, http.StatusOK, typ, rec)
	case len(parts) == 2 && r.Method == http.MethodDelete:
		id, err := parseID(parts[1])
		if err == nil {
			err = s.store.remove(typ, id)
		}
		if err != nil {
			adminFailure(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		adminError(w, http.StatusMethodNotAllowed, "use POST on /__admin/{type}, PATCH or DELETE on /__admin/{type}/{id}")
	}
}

func readAttrs(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	var attrs map[string]any
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&attrs); err != nil {
		adminError(w, http.StatusBadRequest, "body must be a JSON object of attributes: "+err.Error())
		return nil, false
	}
	return attrs, true
}

func (s *Server) writeAdminResource(w http.ResponseWriter, r *http.Request, status int, typ string, rec *record) {
	def, _ := s.store.def(typ)
	rd := renderer{base: s.apiRoot(r)}
	writeJSON(w, status, mediaType, object{{"data", rd.resource(def, rec)}})
}

func adminFailure(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		adminError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, ErrInvalid):
		adminError(w, http.StatusBadRequest, err.Error())
	default:
		adminError(w, http.StatusInternalServerError, err.Error())
	}
}

func adminError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, "application/json", map[string]string{"error": msg})
}
