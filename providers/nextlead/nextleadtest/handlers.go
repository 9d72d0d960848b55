package nextleadtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/mapping/nextleadmap"
	"github.com/crmsync/crmsync/providers/simkit"
)

// Verbatim messages.
const (
	msgAuth           = "Missing or invalid automation API key"
	msgInternal       = "Internal server error"
	msgInvalidData    = "Invalid or missing data"
	msgDuplicate      = "A contact with this email already exists"
	msgEditNoKey      = "Contact email or LinkedIn URL required"
	msgEditNotFound   = "Contact not found with provided criteria"
	msgDeleteNoKey    = "Missing or invalid contact email address or LinkedIn account"
	msgDeleteNotFound = "No contact found with this email/LinkedIn"
	msgFindNoKey      = "Missing contact email or LinkedIn URL"
	msgColumnRequired = "Le paramètre 'column' est obligatoire"
	msgNameRequired   = "Le paramètre 'name' est obligatoire"
	msgPriority       = "La priorité doit être 'LOW', 'NORMAL' ou 'HIGH'"
	msgSuccessRate    = "Le taux de succès doit être un nombre entre 0 et 100"
	msgSaleCreate     = "Erreur lors de la création de la vente"
	msgContactEmail   = "Le paramètre 'contact_email' est obligatoire"
	msgSaleNoContact  = "Contact non trouvé avec cet email"
	msgNoSale         = "Aucune vente trouvée pour ce contact"
)

const prefix = "/api/v2/"

// maxBody bounds request bodies.
const maxBody = 1 << 20

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(method, path string, h func(w http.ResponseWriter, r *http.Request, body []byte), write bool) {
		pattern := method + " " + prefix + path
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			s.serve(w, r, pattern, write, h)
		})
	}
	handle(http.MethodPost, "receive/contact/new-contact", s.newContact, true)
	handle(http.MethodPost, "receive/contact/edit-contact", s.editContact, true)
	handle(http.MethodPost, "receive/contact/delete-contact", s.deleteContact, true)
	handle(http.MethodPost, "receive/contact/find-contact", s.findContact, false)
	handle(http.MethodGet, "receive/contact/get-conversion", s.getConversion, false)
	handle(http.MethodGet, "receive/sales/get-columns", s.getColumns, false)
	handle(http.MethodPost, "receive/sales/create-sale", s.createSale, true)
	handle(http.MethodPut, "receive/sales/update-sale", s.updateSale, true)
	handle(http.MethodGet, "polling/contact/user-created", s.userCreated, false)
	handle(http.MethodGet, "polling/contact/user-edited", s.userEdited, false)
	handle(http.MethodGet, "polling/contact/user-deleted", s.userDeleted, false)
	return mux
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, route string, write bool,
	h func(w http.ResponseWriter, r *http.Request, body []byte)) {
	s.Counters.Add(route)
	if !s.Latency.Wait(r.Context()) {
		return
	}
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(key) != s.opts.APIKey {
		writeError(w, http.StatusUnauthorized, msgAuth)
		return
	}
	if wait := s.Limiter.Admit(key); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		writeError(w, http.StatusTooManyRequests, "Too many requests")
		return
	}
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
		if err != nil {
			writeError(w, http.StatusBadRequest, msgInvalidData)
			return
		}
		body = b
	}
	if status, apply := s.Faults.Draw(); status != 0 {
		if write && apply {
			h(&simkit.Discard{}, r, body)
		}
		if status == http.StatusInternalServerError {
			writeError(w, status, msgInternal)
		} else {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, "<html><body><h1>"+strconv.Itoa(status)+" "+http.StatusText(status)+"</h1></body></html>")
		}
		return
	}
	h(w, r, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type errorBody struct {
	Status int    `json:"status"`
	Error  string `json:"error"`
}

type dataBody struct {
	Status int `json:"status"`
	Data   any `json:"data"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Status: status, Error: msg})
}

func writeData(w http.ResponseWriter, status int, data any) {
	writeJSON(w, status, dataBody{Status: status, Data: data})
}

// decodeBody decodes a JSON object body into a map of raw values; a body that
// is not an object is an error.
func decodeBody(body []byte) (map[string]json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(body)) == 0 {
		return m, nil
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	if m == nil {
		m = map[string]json.RawMessage{}
	}
	return m, nil
}

// str reads a string (or number) key; absent or null is ("", false).
func str(m map[string]json.RawMessage, k string) (string, bool, error) {
	raw, ok := m[k]
	if !ok || string(raw) == "null" {
		return "", false, nil
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		var n json.Number
		if json.Unmarshal(raw, &n) == nil {
			return n.String(), true, nil
		}
		return "", false, err
	}
	return v, true, nil
}

// first returns the first element of an array key (or the object itself,
// tolerated), decoded as an object.
func first(m map[string]json.RawMessage, k string) (map[string]json.RawMessage, error) {
	raw, ok := m[k]
	if !ok || string(raw) == "null" {
		return map[string]json.RawMessage{}, nil
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '[' {
		var l []json.RawMessage
		if err := json.Unmarshal(raw, &l); err != nil {
			return nil, err
		}
		if len(l) == 0 {
			return map[string]json.RawMessage{}, nil
		}
		raw = l[0]
	}
	return decodeBody(raw)
}

// tagName resolves a conversion status name case-insensitively to the
// catalog's spelling.
func (s *Server) tagName(v string) (string, bool) {
	v = strings.TrimSpace(v)
	for _, t := range s.tags {
		if strings.EqualFold(t.Name, v) {
			return t.Name, true
		}
	}
	return "", false
}

// newContact: POST receive/contact/new-contact.
func (s *Server) newContact(w http.ResponseWriter, _ *http.Request, body []byte) {
	m, err := decodeBody(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, msgInvalidData)
		return
	}
	socials, err1 := first(m, "socials")
	cfg, err2 := first(m, "nextlead_config")
	if err1 != nil || err2 != nil {
		writeError(w, http.StatusBadRequest, msgInvalidData)
		return
	}
	var c nextleadmap.Contact
	c.Type, c.Status = "LEAD", "ACTIVE"
	fields := []struct {
		m   map[string]json.RawMessage
		key string
		dst *string
	}{
		{m, "firstName", &c.FirstName}, {m, "lastName", &c.LastName}, {m, "email", &c.Email},
		{m, "phone", &c.Phone}, {socials, "linkedin", &c.LinkedIn}, {socials, "facebook", &c.Facebook},
		{socials, "instagram", &c.Instagram}, {cfg, "conversion_status", &c.ConversionStatus},
	}
	for _, f := range fields {
		v, _, err := str(f.m, f.key)
		if err != nil {
			writeError(w, http.StatusBadRequest, msgInvalidData)
			return
		}
		*f.dst = v
	}
	c.Email = strings.TrimSpace(c.Email)
	c.LinkedIn = strings.TrimSpace(c.LinkedIn)
	if raw, ok := cfg["lead_score"]; ok {
		if err := json.Unmarshal(raw, &c.LeadScore); err != nil {
			writeError(w, http.StatusBadRequest, msgInvalidData)
			return
		}
	}
	if l, ok, _ := str(cfg, "add_to_list"); ok && l != "" {
		c.ListIDs = []string{l}
	}
	if c.Email == "" && c.LinkedIn == "" {
		writeError(w, http.StatusBadRequest, msgInvalidData)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.ConversionStatus != "" {
		name, ok := s.tagName(c.ConversionStatus)
		if !ok {
			writeError(w, http.StatusBadRequest, msgInvalidData)
			return
		}
		c.ConversionStatus = name
	}
	if c.Email != "" && len(s.findEmail(c.Email)) > 0 {
		writeError(w, http.StatusConflict, msgDuplicate)
		return
	}
	i, err := s.insert(&c, s.tick())
	if err != nil {
		writeError(w, http.StatusInternalServerError, "Error creating contact")
		return
	}
	writeData(w, http.StatusCreated, map[string]any{
		"message": "Contact successfully added",
		"contact": map[string]any{
			"id": s.contactID(i), "firstName": c.FirstName, "lastName": c.LastName, "email": c.Email,
			"phone": c.Phone, "organizationId": s.orgID, "createdAt": c.CreatedAt,
		},
	})
}

// editContact: POST receive/contact/edit-contact.
func (s *Server) editContact(w http.ResponseWriter, _ *http.Request, body []byte) {
	m, err := decodeBody(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, msgInvalidData)
		return
	}
	mail, _, err1 := str(m, "mail")
	li, _, err2 := str(m, "linkedin_find")
	vals, err3 := first(m, "values_update")
	if err1 != nil || err2 != nil || err3 != nil {
		writeError(w, http.StatusBadRequest, msgInvalidData)
		return
	}
	if strings.TrimSpace(mail) == "" && strings.TrimSpace(li) == "" {
		writeError(w, http.StatusBadRequest, msgEditNoKey)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	found := s.find(mail, li)
	if len(found) == 0 {
		writeError(w, http.StatusNotFound, msgEditNotFound)
		return
	}
	i := found[0]
	c := s.contact(i)
	for key, dst := range map[string]*string{"firstName": &c.FirstName, "lastName": &c.LastName, "phone": &c.Phone} {
		v, ok, err := str(vals, key)
		if err != nil {
			writeError(w, http.StatusBadRequest, msgInvalidData)
			return
		}
		if ok {
			*dst = v
		}
	}
	if raw, ok := vals["lead_score"]; ok {
		var sc nextleadmap.Score
		if err := json.Unmarshal(raw, &sc); err != nil {
			writeError(w, http.StatusBadRequest, msgInvalidData)
			return
		}
		c.LeadScore = sc
	}
	if v, ok, err := str(vals, "conversion_status"); err != nil {
		writeError(w, http.StatusBadRequest, msgInvalidData)
		return
	} else if ok && strings.TrimSpace(v) != "" {
		name, known := s.tagName(v)
		if !known {
			writeError(w, http.StatusBadRequest, msgInvalidData)
			return
		}
		c.ConversionStatus = name
	}
	if l, ok, _ := str(vals, "add_to_list"); ok && l != "" {
		c.ListIDs = append(c.ListIDs, l)
	}
	s.touch(i, &c)
	writeData(w, http.StatusOK, map[string]any{
		"message": "Contact successfully updated",
		"contact": map[string]any{"id": c.ID, "firstName": c.FirstName, "lastName": c.LastName, "updatedAt": c.UpdatedAt},
	})
}

// deleteContact: POST receive/contact/delete-contact.
func (s *Server) deleteContact(w http.ResponseWriter, _ *http.Request, body []byte) {
	m, err := decodeBody(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, msgDeleteNoKey)
		return
	}
	email, _, err1 := str(m, "email")
	li, _, err2 := str(m, "linkedin")
	if err1 != nil || err2 != nil || (strings.TrimSpace(email) == "" && strings.TrimSpace(li) == "") {
		writeError(w, http.StatusBadRequest, msgDeleteNoKey)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	found := s.find(email, li)
	if len(found) == 0 {
		writeError(w, http.StatusNotFound, msgDeleteNotFound)
		return
	}
	c := s.remove(found[0])
	writeData(w, http.StatusOK, map[string]any{
		"message": "Contact successfully deleted",
		"contact": map[string]any{"id": c.ID, "email": c.Email},
		"success": true,
	})
}

// findContact: POST receive/contact/find-contact.
func (s *Server) findContact(w http.ResponseWriter, _ *http.Request, body []byte) {
	m, err := decodeBody(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, msgFindNoKey)
		return
	}
	email, _, err1 := str(m, "email")
	li, _, err2 := str(m, "linkedin_url")
	if err1 != nil || err2 != nil || (strings.TrimSpace(email) == "" && strings.TrimSpace(li) == "") {
		writeError(w, http.StatusBadRequest, msgFindNoKey)
		return
	}
	s.mu.RLock()
	found := s.find(email, li)
	var items [][]byte
	var u unpacked
	for _, i := range found {
		r := &s.recs[i]
		unpack(r.data, s.names, &u)
		rec := appendContact(nil, s.appendID(nil, i), &u, r.created, r.updated)
		items = append(items, append([]byte(`{"found":true,`), rec[1:]...))
	}
	s.mu.RUnlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriter(w)
	_, _ = bw.WriteString(`{"status":200,"data":[`)
	if len(items) == 0 {
		_, _ = bw.WriteString(`{"found":false}`)
	}
	for n, b := range items {
		if n > 0 {
			_ = bw.WriteByte(',')
		}
		_, _ = bw.Write(b)
	}
	_, _ = bw.WriteString("]}\n")
	_ = bw.Flush()
}

func (s *Server) getConversion(w http.ResponseWriter, _ *http.Request, _ []byte) {
	writeData(w, http.StatusOK, s.Tags())
}

func (s *Server) getColumns(w http.ResponseWriter, _ *http.Request, _ []byte) {
	writeData(w, http.StatusOK, s.Columns())
}

// validSale checks the optional priority and success_rate keys.
func validSale(m map[string]json.RawMessage) string {
	if p, ok, err := str(m, "priority"); err != nil || (ok && p != "LOW" && p != "NORMAL" && p != "HIGH") {
		return msgPriority
	}
	if raw, ok := m["success_rate"]; ok && string(raw) != "null" {
		var v float64
		if json.Unmarshal(raw, &v) != nil {
			sv, _, err := str(m, "success_rate")
			f, perr := strconv.ParseFloat(strings.TrimSpace(sv), 64)
			if err != nil || perr != nil {
				return msgSuccessRate
			}
			v = f
		}
		if v < 0 || v > 100 || math.IsNaN(v) {
			return msgSuccessRate
		}
	}
	return ""
}

func (s *Server) column(id string) bool {
	for _, c := range s.columns {
		if c.ID == id {
			return true
		}
	}
	return false
}

// createSale: POST receive/sales/create-sale.
func (s *Server) createSale(w http.ResponseWriter, _ *http.Request, body []byte) {
	m, err := decodeBody(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, msgColumnRequired)
		return
	}
	column, _, _ := str(m, "column")
	name, _, _ := str(m, "name")
	contact, _, _ := str(m, "contact")
	switch {
	case strings.TrimSpace(column) == "":
		writeError(w, http.StatusBadRequest, msgColumnRequired)
		return
	case strings.TrimSpace(name) == "":
		writeError(w, http.StatusBadRequest, msgNameRequired)
		return
	}
	if msg := validSale(m); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	priority, ok, _ := str(m, "priority")
	if !ok {
		priority = "LOW"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	owner := int32(-1)
	if strings.TrimSpace(contact) != "" {
		found := s.findEmail(contact)
		if len(found) == 0 {
			writeError(w, http.StatusInternalServerError, msgSaleCreate)
			return
		}
		owner = found[0]
	}
	if !s.column(column) {
		writeError(w, http.StatusInternalServerError, msgSaleCreate)
		return
	}
	ms := s.tick()
	sa := sale{id: s.auxID("d", len(s.sales)), name: name, column: column, contact: owner, created: ms, updated: ms}
	s.sales = append(s.sales, sa)
	if owner >= 0 {
		s.salesOf[owner] = append(s.salesOf[owner], int32(len(s.sales)-1))
	}
	writeData(w, http.StatusCreated, map[string]any{
		"message": "Vente créée avec succès",
		"salesDeal": map[string]any{"id": sa.id, "name": sa.name, "priority": priority, "stageId": column,
			"organizationId": s.orgID, "createdAt": fmtMs(ms)},
	})
}

// updateSale: PUT receive/sales/update-sale.
func (s *Server) updateSale(w http.ResponseWriter, _ *http.Request, body []byte) {
	m, err := decodeBody(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, msgContactEmail)
		return
	}
	email, _, _ := str(m, "contact_email")
	if strings.TrimSpace(email) == "" {
		writeError(w, http.StatusBadRequest, msgContactEmail)
		return
	}
	if msg := validSale(m); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	found := s.findEmail(email)
	if len(found) == 0 {
		writeError(w, http.StatusNotFound, msgSaleNoContact)
		return
	}
	l := s.salesOf[found[0]]
	if len(l) == 0 {
		writeError(w, http.StatusNotFound, msgNoSale)
		return
	}
	sa := &s.sales[l[len(l)-1]]
	if column, ok, _ := str(m, "column"); ok && column != "" {
		if !s.column(column) {
			writeError(w, http.StatusInternalServerError, msgInternal)
			return
		}
		sa.column = column
	}
	if name, ok, _ := str(m, "name"); ok && name != "" {
		sa.name = name
	}
	sa.updated = s.tick()
	writeData(w, http.StatusOK, map[string]any{
		"message":   "Vente mise à jour avec succès",
		"salesDeal": map[string]any{"id": sa.id, "name": sa.name, "updatedAt": fmtMs(sa.updated)},
	})
}

// userCreated streams every live contact, oldest first, in chunks so that
// writers are never blocked for the whole listing.
func (s *Server) userCreated(w http.ResponseWriter, r *http.Request, _ []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	_, _ = bw.WriteString(`{"status":200,"data":[`)
	const chunk = 1024
	type item struct {
		rec record
		i   int32
	}
	buf := make([]item, 0, chunk)
	var (
		u     unpacked
		b, id []byte
		names []string
	)
	n := 0
	for next := 0; ; {
		buf = buf[:0]
		s.mu.RLock()
		end := len(s.recs)
		for next < end && len(buf) < chunk {
			if rec := s.recs[next]; rec.data != "" {
				buf = append(buf, item{rec: rec, i: int32(next)})
			}
			next++
		}
		names = s.names // append-only: the prefix read is never written
		s.mu.RUnlock()
		for _, it := range buf {
			b = b[:0]
			if n > 0 {
				b = append(b, ',')
			}
			n++
			unpack(it.rec.data, names, &u)
			id = s.appendID(id[:0], it.i)
			b = appendContact(b, id, &u, it.rec.created, it.rec.updated)
			if _, err := bw.Write(b); err != nil {
				return
			}
		}
		if next >= end {
			break
		}
		if r.Context().Err() != nil {
			return
		}
	}
	_, _ = bw.WriteString("]}\n")
	_ = bw.Flush()
}

func (s *Server) userEdited(w http.ResponseWriter, _ *http.Request, _ []byte) {
	s.mu.RLock()
	items := s.edited
	s.mu.RUnlock()
	s.writeFeed(w, items, "updated_at", false)
}

func (s *Server) userDeleted(w http.ResponseWriter, _ *http.Request, _ []byte) {
	s.mu.RLock()
	items := s.deleted
	s.mu.RUnlock()
	s.writeFeed(w, items, "deleted_at", true)
}

// writeFeed streams the items of an append-only feed (its items below len
// never change, so they are read without the lock), their time under key
// (decoded: see appendFeedItem).
func (s *Server) writeFeed(w http.ResponseWriter, items []feedItem, key string, decoded bool) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	_, _ = bw.WriteString(`{"status":200,"data":[`)
	var b, id []byte
	for n, it := range items {
		b = b[:0]
		if n > 0 {
			b = append(b, ',')
		}
		id = s.appendID(id[:0], it.i)
		b = appendFeedItem(b, id, it.data, it.at, key, decoded)
		if _, err := bw.Write(b); err != nil {
			return
		}
	}
	_, _ = bw.WriteString("]}\n")
	_ = bw.Flush()
}
