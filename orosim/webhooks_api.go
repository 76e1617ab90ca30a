package orosim

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
)

// webhookResource renders a webhook as Oro's `webhooks` resource; the
// secret is write-only.
func (s *Server) webhookResource(r *http.Request, h Webhook) object {
	return object{
		{"type", "webhooks"}, {"id", h.ID},
		{"links", object{{"self", s.apiRoot(r) + "/webhooks/" + h.ID}}},
		{"attributes", object{{"notificationUrl", h.NotificationURL}, {"enabled", h.Enabled}, {"verifySsl", h.VerifySSL}}},
		{"relationships", object{
			{"topic", object{{"data", ref{Type: "webhooktopics", ID: h.Topic}}}},
			{"format", object{{"data", ref{Type: "webhookformats", ID: h.Format}}}},
		}},
	}
}

// webhookDoc is a JSON:API write document for `webhooks`.
type webhookDoc struct {
	Data struct {
		Type       string `json:"type"`
		ID         string `json:"id"`
		Attributes struct {
			NotificationURL *string `json:"notificationUrl"`
			Enabled         *bool   `json:"enabled"`
			Secret          *string `json:"secret"`
			VerifySSL       *bool   `json:"verifySsl"`
		} `json:"attributes"`
		Relationships struct {
			Topic  *struct{ Data *ref } `json:"topic"`
			Format *struct{ Data *ref } `json:"format"`
		} `json:"relationships"`
	} `json:"data"`
}

func (d *webhookDoc) apply(h *Webhook) {
	a := d.Data.Attributes
	if a.NotificationURL != nil {
		h.NotificationURL = *a.NotificationURL
	}
	if a.Enabled != nil {
		h.Enabled = *a.Enabled
	}
	if a.Secret != nil {
		h.Secret = *a.Secret
	}
	if a.VerifySSL != nil {
		h.VerifySSL = *a.VerifySSL
	}
	if t := d.Data.Relationships.Topic; t != nil && t.Data != nil {
		h.Topic = t.Data.ID
	}
	if f := d.Data.Relationships.Format; f != nil && f.Data != nil {
		h.Format = f.Data.ID
	}
}

// validate returns Oro's validation errors for a webhook.
func validateWebhook(h Webhook) []apiError {
	var errs []apiError
	if h.NotificationURL == "" {
		errs = append(errs, apiError{Status: "400", Title: "not blank constraint", Detail: "This value should not be blank.", Source: &errorSource{Pointer: "/data/attributes/notificationUrl"}})
	}
	if h.Topic == "" {
		errs = append(errs, apiError{Status: "400", Title: "not blank constraint", Detail: "This value should not be blank.", Source: &errorSource{Pointer: "/data/relationships/topic/data"}})
	} else if !validTopic(h.Topic) {
		errs = append(errs, apiError{Status: "400", Title: "form constraint", Detail: "The entity does not exist.", Source: &errorSource{Pointer: "/data/relationships/topic/data"}})
	}
	if h.Format != "" && h.Format != "default" && h.Format != "thin" {
		errs = append(errs, apiError{Status: "400", Title: "form constraint", Detail: "The entity does not exist.", Source: &errorSource{Pointer: "/data/relationships/format/data"}})
	}
	return errs
}

func readWebhookDoc(w http.ResponseWriter, r *http.Request) (*webhookDoc, bool) {
	var d webhookDoc
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&d); err != nil {
		writeErrors(w, http.StatusBadRequest, apiError{Status: "400", Title: "request data constraint", Detail: "The request data should not be empty.", Source: &errorSource{Pointer: "/data"}})
		return nil, false
	}
	if d.Data.Type != "webhooks" {
		writeErrors(w, http.StatusConflict, apiError{Status: "409", Title: "conflict constraint", Detail: "The entity class is not expected.", Source: &errorSource{Pointer: "/data/type"}})
		return nil, false
	}
	return &d, true
}

// handleWebhooksAPI serves /api/webhooks and /api/webhooks/{id}.
func (s *Server) handleWebhooksAPI(w http.ResponseWriter, r *http.Request, parts []string) {
	const listMethods, itemMethods = "OPTIONS, GET, POST, DELETE", "OPTIONS, GET, PATCH, DELETE"
	if len(parts) > 2 {
		notAccessible(w)
		return
	}
	if len(parts) == 1 {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			hooks := s.Webhooks()
			data := make([]object, len(hooks))
			for i, h := range hooks {
				data[i] = s.webhookResource(r, h)
			}
			writeJSON(w, http.StatusOK, mediaType, object{{"data", data}})
		case http.MethodPost:
			d, ok := readWebhookDoc(w, r)
			if !ok {
				return
			}
			h := Webhook{Enabled: true, VerifySSL: true, Format: "default"}
			d.apply(&h)
			if errs := validateWebhook(h); len(errs) > 0 {
				writeErrors(w, http.StatusBadRequest, errs...)
				return
			}
			h, err := s.AddWebhook(h)
			if err != nil {
				writeErrors(w, http.StatusBadRequest, apiError{Status: "400", Title: "form constraint", Detail: err.Error()})
				return
			}
			w.Header().Set("Location", s.apiRoot(r)+"/webhooks/"+h.ID)
			writeJSON(w, http.StatusCreated, mediaType, object{{"data", s.webhookResource(r, h)}})
		case http.MethodOptions:
			w.Header().Set("Allow", listMethods)
			w.WriteHeader(http.StatusOK)
		default:
			methodNotAllowed(w, r, listMethods)
		}
		return
	}
	id := parts[1]
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		writeErrors(w, http.StatusBadRequest, apiError{Status: "400", Title: "entity identifier constraint", Detail: "Expected integer value. Given \"" + id + "\"."})
		return
	}
	h, ok := s.hooks.get(id)
	if !ok && r.Method != http.MethodOptions {
		writeErrors(w, http.StatusNotFound, apiError{Status: "404", Title: "not found http exception", Detail: "An entity with the requested identifier does not exist."})
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		writeJSON(w, http.StatusOK, mediaType, object{{"data", s.webhookResource(r, h)}})
	case http.MethodPatch:
		d, ok := readWebhookDoc(w, r)
		if !ok {
			return
		}
		if d.Data.ID != id {
			writeErrors(w, http.StatusConflict, apiError{Status: "409", Title: "conflict constraint", Detail: "The 'id' property of the primary data object should match 'id' parameter of the query sting.", Source: &errorSource{Pointer: "/data/id"}})
			return
		}
		d.apply(&h)
		if errs := validateWebhook(h); len(errs) > 0 {
			writeErrors(w, http.StatusBadRequest, errs...)
			return
		}
		s.hooks.mu.Lock()
		if cur, ok := s.hooks.hooks[id]; ok {
			*cur = h
		}
		s.hooks.mu.Unlock()
		writeJSON(w, http.StatusOK, mediaType, object{{"data", s.webhookResource(r, h)}})
	case http.MethodDelete:
		if err := s.RemoveWebhook(id); err != nil && !errors.Is(err, ErrNotFound) {
			writeErrors(w, http.StatusInternalServerError, apiError{Status: "500", Title: "runtime exception", Detail: err.Error()})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case http.MethodOptions:
		w.Header().Set("Allow", itemMethods)
		w.WriteHeader(http.StatusOK)
	default:
		methodNotAllowed(w, r, itemMethods)
	}
}
