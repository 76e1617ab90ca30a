package orosim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// resourceDoc is one resource of a JSON:API write request.
type resourceDoc struct {
	Type          string                     `json:"type"`
	ID            json.RawMessage            `json:"id"`
	Attributes    map[string]json.RawMessage `json:"attributes"`
	Relationships map[string]json.RawMessage `json:"relationships"`
	Meta          struct {
		Update bool `json:"update"`
	} `json:"meta"`
}

func (d resourceDoc) id() string {
	var s string
	if json.Unmarshal(d.ID, &s) == nil {
		return s
	}
	return strings.Trim(string(d.ID), `"`)
}

// fieldsOf turns a resource document into the attribute map store writes
// take; unknown names are errors with pointers, as Oro reports them.
func fieldsOf(def *typeDef, d resourceDoc, prefix string) (map[string]any, []apiError) {
	out := map[string]any{}
	var errs []apiError
	for k, v := range d.Attributes {
		if _, ok := def.attr(k); !ok {
			errs = append(errs, pointerError("extra fields constraint", fmt.Sprintf("This form should not contain extra fields: \"%s\".", k), prefix+"/attributes"))
			continue
		}
		out[k] = v
	}
	for k, v := range d.Relationships {
		if _, ok := def.rel(k); !ok {
			errs = append(errs, pointerError("extra fields constraint", fmt.Sprintf("This form should not contain extra fields: \"%s\".", k), prefix+"/relationships"))
			continue
		}
		out[k] = v
	}
	return out, errs
}

// prepare fills defaults Oro fills and checks a candidate record; it returns
// the (possibly completed) fields and the validation errors.
func (s *Server) prepare(def *typeDef, base *record, fields map[string]any, create bool, prefix string) (map[string]any, []apiError) {
	if create && def.Name == "leads" {
		if _, ok := fields["status"]; !ok {
			fields["status"] = map[string]any{"data": ref{Type: "leadstatuses", ID: "new"}}
		}
	}
	cand := &record{Attrs: map[string]any{}, Rels: map[string][]ref{}}
	if base != nil {
		cand = base.clone()
	}
	if err := applyAttrs(def, cand, fields); err != nil {
		detail := strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": ")
		return nil, []apiError{{Status: "400", Title: "form constraint", Detail: detail, Source: &errorSource{Pointer: prefix}}}
	}
	if (def.Name == "opportunities" || def.Name == "leads") && len(cand.Rels["account"]) == 0 && len(cand.Rels["customer"]) > 0 {
		// The account follows from the customer (customerAssociation).
		if id, err := strconv.ParseInt(cand.Rels["customer"][0].ID, 10, 64); err == nil {
			if cust, ok := s.store.get("b2bcustomers", id); ok && len(cust.Rels["account"]) > 0 {
				fields["account"] = map[string]any{"data": cust.Rels["account"][0]}
				cand.Rels["account"] = cust.Rels["account"]
			}
		}
	}
	if def.validate != nil {
		errs := def.validate(cand)
		for i := range errs {
			if errs[i].Source != nil && prefix != "/data" {
				errs[i].Source.Pointer = prefix + strings.TrimPrefix(errs[i].Source.Pointer, "/data")
			}
		}
		return fields, errs
	}
	return fields, nil
}

func readDoc(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 10<<20)).Decode(v); err != nil {
		writeErrors(w, http.StatusBadRequest, apiError{Status: "400", Title: "request data constraint", Detail: "The request data should not be empty.", Source: &errorSource{Pointer: "/data"}})
		return false
	}
	return true
}

func typeConflict(w http.ResponseWriter, pointer string) {
	writeErrors(w, http.StatusConflict, apiError{Status: "409", Title: "conflict constraint", Detail: "The entity class is not expected.", Source: &errorSource{Pointer: pointer}})
}

func writeFailure(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		writeErrors(w, http.StatusNotFound, apiError{Status: "404", Title: "not found http exception", Detail: "An entity with the requested identifier does not exist."})
	case errors.Is(err, ErrInvalid):
		writeErrors(w, http.StatusBadRequest, apiError{Status: "400", Title: "form constraint", Detail: strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": ")})
	default:
		writeErrors(w, http.StatusInternalServerError, apiError{Status: "500", Title: "runtime exception", Detail: err.Error()})
	}
}

// handleCreate is POST /api/{type}: 201 with Location and the resource.
func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request, def *typeDef) {
	var body struct {
		Data resourceDoc `json:"data"`
	}
	if !readDoc(w, r, &body) {
		return
	}
	if body.Data.Type != def.Name {
		typeConflict(w, "/data/type")
		return
	}
	fields, errs := fieldsOf(def, body.Data, "/data")
	if len(errs) == 0 {
		fields, errs = s.prepare(def, nil, fields, true, "/data")
	}
	if len(errs) > 0 {
		writeErrors(w, http.StatusBadRequest, errs...)
		return
	}
	rec, err := s.createRecord(def.Name, fields, s.requestUser(r))
	if err != nil {
		writeFailure(w, err)
		return
	}
	rd := renderer{base: s.apiRoot(r), links: !xInclude(r)["noHateoas"]}
	w.Header().Set("Location", rd.base+"/"+def.Name+"/"+rec.idString())
	writeJSON(w, http.StatusCreated, mediaType, object{{"data", rd.resource(def, rec)}})
}

// handleUpdate is PATCH /api/{type}/{id}: only the sent fields change.
func (s *Server) handleUpdate(w http.ResponseWriter, r *http.Request, def *typeDef, id int64) {
	var body struct {
		Data resourceDoc `json:"data"`
	}
	if !readDoc(w, r, &body) {
		return
	}
	if body.Data.Type != def.Name {
		typeConflict(w, "/data/type")
		return
	}
	if body.Data.id() != strconv.FormatInt(id, 10) {
		writeErrors(w, http.StatusConflict, apiError{Status: "409", Title: "conflict constraint",
			Detail: "The 'id' property of the primary data object should match 'id' parameter of the query sting.", Source: &errorSource{Pointer: "/data/id"}})
		return
	}
	cur, ok := s.store.get(def.Name, id)
	if !ok {
		writeFailure(w, ErrNotFound)
		return
	}
	fields, errs := fieldsOf(def, body.Data, "/data")
	if len(errs) == 0 {
		fields, errs = s.prepare(def, cur, fields, false, "/data")
	}
	if len(errs) > 0 {
		writeErrors(w, http.StatusBadRequest, errs...)
		return
	}
	user := s.requestUser(r)
	if _, ok := def.rel("updatedBy"); ok {
		if _, given := fields["updatedBy"]; !given {
			fields["updatedBy"] = ref{Type: "users", ID: strconv.FormatInt(user, 10)}
		}
	}
	rec, err := s.updateRecord(def.Name, id, fields, user)
	if err != nil {
		writeFailure(w, err)
		return
	}
	rd := renderer{base: s.apiRoot(r), links: !xInclude(r)["noHateoas"]}
	writeJSON(w, http.StatusOK, mediaType, object{{"data", rd.resource(def, rec)}})
}

// handleDelete is DELETE /api/{type}/{id}: 204.
func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request, def *typeDef, id int64) {
	if err := s.removeRecord(def.Name, id, s.requestUser(r)); err != nil {
		writeFailure(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// batchLimit is the sync batch API's limit of primary resources.
const batchLimit = 100

// handleBatch is PATCH /api/{type} with X-Mode: sync: every item is checked
// first, then all are written in order; items are created unless marked
// meta.update. Without X-Mode: sync Oro answers 202 and runs the batch
// asynchronously; the simulator only offers the synchronous mode.
func (s *Server) handleBatch(w http.ResponseWriter, r *http.Request, def *typeDef) {
	if !strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Mode")), "sync") {
		writeErrors(w, http.StatusBadRequest, apiError{Status: "400", Title: "request data constraint",
			Detail: "The simulator only supports the synchronous batch API: send \"X-Mode: sync\"."})
		return
	}
	var body struct {
		Data []resourceDoc `json:"data"`
	}
	if !readDoc(w, r, &body) {
		return
	}
	if len(body.Data) > batchLimit {
		writeErrors(w, http.StatusBadRequest, apiError{Status: "400", Title: "request data constraint",
			Detail: fmt.Sprintf("The data limit for the synchronous operation exceeded. The maximum number of records is %d.", batchLimit), Source: &errorSource{Pointer: "/data"}})
		return
	}
	type op struct {
		id     int64
		update bool
		fields map[string]any
	}
	ops := make([]op, len(body.Data))
	var errs []apiError
	for i, d := range body.Data {
		prefix := "/data/" + strconv.Itoa(i)
		if d.Type != def.Name {
			errs = append(errs, apiError{Status: "409", Title: "conflict constraint", Detail: "The entity class is not expected.", Source: &errorSource{Pointer: prefix + "/type"}})
			continue
		}
		fields, fe := fieldsOf(def, d, prefix)
		if len(fe) > 0 {
			errs = append(errs, fe...)
			continue
		}
		var base *record
		if d.Meta.Update {
			id, err := strconv.ParseInt(d.id(), 10, 64)
			cur, ok := s.store.get(def.Name, id)
			if err != nil || !ok {
				errs = append(errs, apiError{Status: "404", Title: "not found http exception", Detail: "The entity does not exist.", Source: &errorSource{Pointer: prefix}})
				continue
			}
			base, ops[i].id, ops[i].update = cur, id, true
		}
		fields, fe = s.prepare(def, base, fields, !d.Meta.Update, prefix)
		errs = append(errs, fe...)
		ops[i].fields = fields
	}
	if len(errs) > 0 {
		writeErrors(w, http.StatusBadRequest, errs...)
		return
	}
	user := s.requestUser(r)
	rd := renderer{base: s.apiRoot(r), links: !xInclude(r)["noHateoas"]}
	data := make([]object, 0, len(ops))
	for i, o := range ops {
		var rec *record
		var err error
		if o.update {
			rec, err = s.updateRecord(def.Name, o.id, o.fields, user)
		} else {
			rec, err = s.createRecord(def.Name, o.fields, user)
		}
		if err != nil {
			writeFailure(w, err)
			return
		}
		data = append(data, append(rd.resource(def, rec), member{"meta", object{{"dataId", "/data/" + strconv.Itoa(i)}}}))
	}
	writeJSON(w, http.StatusOK, mediaType, object{{"data", data}})
}
