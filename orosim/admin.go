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
//	GET    /__admin/faults         the active Faults as JSON
//	PUT    /__admin/faults         replace the active Faults
//	GET    /__admin/requests       {"GET /api/contacts": N, ...}
//	GET    /__admin/webhooks       the webhooks, secrets included
//	POST   /__admin/webhooks       subscribe: {"notificationUrl","topic","secret","enabled"}
//	DELETE /__admin/webhooks/{id}  unsubscribe
//
// Attribute objects may also hold relationships as JSON:API linkage.
func (s *Server) handleAdmin(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/__admin/"), "/")
	switch parts[0] {
	case "faults":
		s.adminFaults(w, r, parts)
		return
	case "requests":
		if len(parts) != 1 || r.Method != http.MethodGet {
			adminError(w, http.StatusMethodNotAllowed, "use GET /__admin/requests")
			return
		}
		writeJSON(w, http.StatusOK, "application/json", s.Requests())
		return
	case "webhooks":
		s.adminWebhooks(w, r, parts)
		return
	}
	if len(parts) == 1 && parts[0] == "stats" {
		if r.Method != http.MethodGet {
			adminError(w, http.StatusMethodNotAllowed, "use GET")
			return
		}
		stats := map[string]int{}
		for name := range s.store.cols {
			if n := s.store.count(name); n > 0 || name == "contacts" {
				stats[name] = n
			}
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
		rec, err := s.createRecord(typ, attrs, adminUser)
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
		rec, err := s.updateRecord(typ, id, attrs, adminUser)
		if err != nil {
			adminFailure(w, err)
			return
		}
		s.writeAdminResource(w, r, http.StatusOK, typ, rec)
	case len(parts) == 2 && r.Method == http.MethodDelete:
		id, err := parseID(parts[1])
		if err == nil {
			err = s.removeRecord(typ, id, adminUser)
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

func (s *Server) adminFaults(w http.ResponseWriter, r *http.Request, parts []string) {
	if len(parts) != 1 {
		adminError(w, http.StatusNotFound, "unknown admin route")
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, "application/json", s.Faults())
	case http.MethodPut:
		var f Faults
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			adminError(w, http.StatusBadRequest, "body must be a Faults JSON object: "+err.Error())
			return
		}
		s.SetFaults(f)
		writeJSON(w, http.StatusOK, "application/json", f)
	default:
		adminError(w, http.StatusMethodNotAllowed, "use GET or PUT")
	}
}

func (s *Server) adminWebhooks(w http.ResponseWriter, r *http.Request, parts []string) {
	switch {
	case len(parts) == 1 && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, "application/json", s.Webhooks())
	case len(parts) == 1 && r.Method == http.MethodPost:
		var in struct {
			Webhook
			Enabled   *bool `json:"enabled"`
			VerifySSL *bool `json:"verifySsl"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil {
			adminError(w, http.StatusBadRequest, "body must be a webhook JSON object: "+err.Error())
			return
		}
		h := in.Webhook
		h.Enabled = in.Enabled == nil || *in.Enabled
		h.VerifySSL = in.VerifySSL == nil || *in.VerifySSL
		h, err := s.AddWebhook(h)
		if err != nil {
			adminFailure(w, err)
			return
		}
		writeJSON(w, http.StatusCreated, "application/json", h)
	case len(parts) == 2 && r.Method == http.MethodDelete:
		if err := s.RemoveWebhook(parts[1]); err != nil {
			adminFailure(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		adminError(w, http.StatusMethodNotAllowed, "use GET or POST on /__admin/webhooks, DELETE on /__admin/webhooks/{id}")
	}
}
