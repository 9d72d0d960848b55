package epixeltest

import (
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/mapping/epixelmap"
	"github.com/crmsync/crmsync/providers/simkit"
)

// The route templates, relative to the base URL; Requests() is keyed by
// "<METHOD> <template>".
const (
	routeLogin      = "/user/login/"
	routeRefresh    = "/user/token/refresh/"
	routeList       = "/leads/list/"
	routeView       = "/leads/view/lead/"
	routeCreate     = "/leads/create/lead/"
	routeUpdate     = "/leads/update/lead/"
	routeDelete     = "/leads/delete/lead/"
	routeNoteCreate = "/leads/create/leadnote/"
	routeNoteDelete = "/leads/delete/leadnote/"
)

// The verbatim detail messages.
const (
	msgBadAPIKey    = "Invalid API key."
	msgAuthFailed   = "Authentication failed"
	msgBadLogin     = "No active account found with the given credentials"
	msgBadRefresh   = "Token is invalid or expired"
	msgNotExist     = "Requested lead does not esixt."
	msgSlugInvalid  = "Requested slug is invalid."
	msgViewSlug     = "This field is required and this may not be blank."
	msgLeadNotFound = "Requested lead not found."
	msgLeadDeleted  = "Requested lead already has a deleted status."
	msgNoteNotFound = "Requested note not found."
	msgNoteBadID    = "Invalid note id."
	msgAssignee     = "Assignee not found."
)

type handler func(w http.ResponseWriter, r *http.Request, form url.Values)

type route struct {
	method string
	auth   bool // needs a bearer token
	write  bool // a POST with a form body
	h      handler
}

func (s *Server) routes() map[string]route {
	return map[string]route{
		routeLogin:      {http.MethodPost, false, true, s.handleLogin},
		routeRefresh:    {http.MethodPost, false, true, s.handleRefresh},
		routeList:       {http.MethodGet, true, false, s.handleList},
		routeView:       {http.MethodGet, true, false, s.handleView},
		routeCreate:     {http.MethodPost, true, true, s.handleCreate},
		routeUpdate:     {http.MethodPost, true, true, s.handleUpdate},
		routeDelete:     {http.MethodPost, true, true, s.handleDelete},
		routeNoteCreate: {http.MethodPost, true, true, s.handleNoteCreate},
		routeNoteDelete: {http.MethodPost, true, true, s.handleNoteDelete},
	}
}

func epixelToPerson(l epixelmap.Lead) (mapping.Person, time.Time, []string) {
	return epixelmap.ToPerson(l, mapping.DefaultStageMap("epixel"), "")
}

// ServeHTTP answers one request: latency, rate limit, faults, apikey, bearer
// token, content type, then the route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, s.opts.Prefix)
	rt, known := s.table[path]
	key := r.Method + " " + path
	if !ok || !known {
		key = r.Method + " /(unknown)"
	}
	s.Counters.Add(key)
	if !s.Latency.Wait(r.Context()) {
		return
	}
	if wait := s.Limiter.Admit(r.Header.Get("apikey")); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		writeDetail(w, http.StatusTooManyRequests, "Request was throttled. Expected available in "+strconv.Itoa(wait)+" seconds.")
		return
	}
	status, applyFirst := s.Faults.Draw()
	if status != 0 && !(applyFirst && known && rt.write && r.Method == rt.method) {
		writeDetail(w, status, http.StatusText(status))
		return
	}
	if status != 0 {
		// A lost reply: the write is applied, the answer is a 5xx.
		s.serve(&simkit.Discard{}, r, path, ok && known, rt)
		writeDetail(w, status, http.StatusText(status))
		return
	}
	s.serve(w, r, path, ok && known, rt)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, path string, known bool, rt route) {
	if r.Header.Get("apikey") != s.opts.APIKey {
		writeDetail(w, http.StatusUnauthorized, msgBadAPIKey)
		return
	}
	if !known {
		writeDetail(w, http.StatusNotFound, "Not found.")
		return
	}
	if r.Method != rt.method {
		w.Header().Set("Allow", rt.method)
		writeDetail(w, http.StatusMethodNotAllowed, `Method "`+r.Method+`" not allowed.`)
		return
	}
	if rt.auth {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !s.validAccess(strings.TrimSpace(tok)) {
			writeDetail(w, http.StatusUnauthorized, msgAuthFailed)
			return
		}
	}
	var form url.Values
	if rt.write {
		var ok bool
		form, ok = parseForm(w, r)
		if !ok {
			return
		}
	}
	rt.h(w, r, form)
}

// parseForm reads a multipart or url-encoded body; anything else is 415.
func parseForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return url.Values{}, true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		writeDetail(w, http.StatusUnsupportedMediaType, `Unsupported media type "`+ct+`" in request.`)
		return nil, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	switch mt {
	case "multipart/form-data":
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			writeDetail(w, http.StatusBadRequest, "Multipart form parse error - Invalid boundary in multipart: None")
			return nil, false
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			writeDetail(w, http.StatusBadRequest, "Malformed request.")
			return nil, false
		}
	default:
		writeDetail(w, http.StatusUnsupportedMediaType, `Unsupported media type "`+ct+`" in request.`)
		return nil, false
	}
	return r.PostForm, true
}

// writeEnvelope writes {"status_code","errors","data"} with raw JSON parts.
func writeEnvelope(w http.ResponseWriter, status int, errs, data []byte) {
	b := make([]byte, 0, 64+len(errs)+len(data))
	b = append(b, `{"status_code":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"errors":`...)
	b = append(b, errs...)
	b = append(b, `,"data":`...)
	b = append(b, data...)
	b = append(b, "}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeDetail writes an error envelope with errors {"detail": msg}.
func writeDetail(w http.ResponseWriter, status int, msg string) {
	errs := append([]byte(`{"detail":`), simkit.AppendJSONString(nil, msg)...)
	errs = append(errs, '}')
	writeEnvelope(w, status, errs, []byte("{}"))
}

// writeFieldErrors writes a 400 validation envelope.
func writeFieldErrors(w http.ResponseWriter, fe *fieldErrors) {
	writeEnvelope(w, http.StatusBadRequest, fe.appendJSON(nil), []byte("{}"))
}

func writeData(w http.ResponseWriter, status int, data []byte) {
	writeEnvelope(w, status, []byte("{}"), data)
}

func (s *Server) handleLogin(w http.ResponseWriter, _ *http.Request, form url.Values) {
	var fe fieldErrors
	user := requiredChar(&fe, form, "username", 0)
	pass := requiredChar(&fe, form, "password", 0)
	if !fe.empty() {
		writeFieldErrors(w, &fe)
		return
	}
	if user != s.opts.Username || pass != s.opts.Password {
		writeDetail(w, http.StatusUnauthorized, msgBadLogin)
		return
	}
	access, refresh := s.issue(true)
	b := append([]byte(`{"refresh":`), simkit.AppendJSONString(nil, refresh)...)
	b = append(b, `,"access":`...)
	b = simkit.AppendJSONString(b, access)
	writeData(w, http.StatusOK, append(b, '}'))
}

func (s *Server) handleRefresh(w http.ResponseWriter, _ *http.Request, form url.Values) {
	var fe fieldErrors
	tok := requiredChar(&fe, form, "refresh", 0)
	if !fe.empty() {
		writeFieldErrors(w, &fe)
		return
	}
	if !s.validRefresh(tok) {
		writeDetail(w, http.StatusUnauthorized, msgBadRefresh)
		return
	}
	access, _ := s.issue(false)
	b := append([]byte(`{"access":`), simkit.AppendJSONString(nil, access)...)
	writeData(w, http.StatusOK, append(b, '}'))
}

// requiredChar reads a required text field (trimmed, as Django REST does),
// adding "required", "blank" and, when maxLen > 0, "too long" errors.
func requiredChar(fe *fieldErrors, form url.Values, key string, maxLen int) string {
	vs, ok := form[key]
	if !ok || len(vs) == 0 {
		fe.add(key, epixelmap.MsgRequired)
		return ""
	}
	v := strings.TrimSpace(vs[0])
	if v == "" {
		fe.add(key, epixelmap.MsgBlank)
		return ""
	}
	if maxLen > 0 && utf8.RuneCountInString(v) > maxLen {
		fe.add(key, "Ensure this field has no more than "+strconv.Itoa(maxLen)+" characters.")
	}
	return v
}

// optionalChar reads an optional text field.
func optionalChar(fe *fieldErrors, form url.Values, key string) string {
	v := strings.TrimSpace(form.Get(key))
	if utf8.RuneCountInString(v) > epixelmap.MaxLen {
		fe.add(key, epixelmap.MsgTooLong)
	}
	return v
}

// choice reads an optional choice field; empty means absent.
func choice(fe *fieldErrors, form url.Values, key string, choices []string) string {
	v := strings.TrimSpace(form.Get(key))
	if v != "" && !slices.Contains(choices, v) {
		fe.add(key, `"`+v+`" is not a valid choice.`)
	}
	return v
}

// leadForm validates the lead fields of create and update (s.mu held).
func (s *Server) leadForm(fe *fieldErrors, form url.Values) fields {
	var l fields
	l.firstName = requiredChar(fe, form, "first_name", epixelmap.MaxLen)
	l.lastName = requiredChar(fe, form, "last_name", epixelmap.MaxLen)
	l.email = requiredChar(fe, form, "email", epixelmap.MaxLen)
	if l.email != "" {
		if _, err := mapping.NormalizeEmail(l.email); err != nil {
			fe.add("email", epixelmap.MsgInvalidMail)
		}
	}
	l.phone = requiredChar(fe, form, "phone", 0)
	if l.phone != "" && !epixelmap.PhonePattern.MatchString(l.phone) {
		fe.add("phone", epixelmap.MsgPhoneFormat)
	}
	l.location = optionalChar(fe, form, "location")
	l.message = optionalChar(fe, form, "message")
	l.status = choice(fe, form, "status", epixelmap.Statuses)
	if l.status == "" {
		l.status = "prospect"
	}
	l.source = choice(fe, form, "source", epixelmap.Sources)
	if vs, ok := form["assignee"]; ok && len(vs) > 0 {
		a := strings.TrimSpace(vs[0])
		switch {
		case a == "":
			fe.add("assignee", epixelmap.MsgBlank)
		case !s.st.hasUser(a):
			fe.add("assignee", msgAssignee)
		default:
			l.assignee = a
		}
	}
	return l
}

func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request, form url.Values) {
	s.mu.Lock()
	var fe fieldErrors
	l := s.leadForm(&fe, form)
	if !fe.empty() {
		s.mu.Unlock()
		writeFieldErrors(w, &fe)
		return
	}
	idx := s.st.add(l, s.opts.Now())
	b := s.st.appendLead(nil, idx, false)
	s.mu.Unlock()
	writeData(w, http.StatusCreated, b)
}

func (s *Server) handleUpdate(w http.ResponseWriter, r *http.Request, form url.Values) {
	s.mu.Lock()
	var fe fieldErrors
	slug := requiredChar(&fe, form, "slug", 258)
	l := s.leadForm(&fe, form)
	if !fe.empty() {
		s.mu.Unlock()
		writeFieldErrors(w, &fe)
		return
	}
	idx, ok := s.st.find(slug)
	if !ok || s.st.leads[idx].deleted {
		s.mu.Unlock()
		writeDetail(w, http.StatusUnauthorized, msgNotExist)
		return
	}
	s.st.set(idx, l)
	b := s.st.appendLead(nil, idx, false)
	s.mu.Unlock()
	writeData(w, http.StatusOK, b)
}

// liveLead validates a slug field naming a live lead (s.mu held).
func (s *Server) liveLead(fe *fieldErrors, form url.Values) (int32, bool) {
	slug := requiredChar(fe, form, "slug", 0)
	if slug == "" {
		return 0, false
	}
	idx, ok := s.st.find(slug)
	if !ok {
		fe.add("slug", msgLeadNotFound)
		return 0, false
	}
	if s.st.leads[idx].deleted {
		fe.add("slug", msgLeadDeleted)
		return 0, false
	}
	return idx, true
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request, form url.Values) {
	s.mu.Lock()
	var fe fieldErrors
	idx, ok := s.liveLead(&fe, form)
	if !ok {
		s.mu.Unlock()
		writeFieldErrors(w, &fe)
		return
	}
	s.st.remove(idx)
	s.mu.Unlock()
	writeData(w, http.StatusOK, []byte("{}"))
}

func (s *Server) handleNoteCreate(w http.ResponseWriter, r *http.Request, form url.Values) {
	s.mu.Lock()
	var fe fieldErrors
	idx, ok := s.liveLead(&fe, form)
	text := requiredChar(&fe, form, "note", 499)
	if !ok || !fe.empty() {
		s.mu.Unlock()
		writeFieldErrors(w, &fe)
		return
	}
	n := note{id: s.st.nextNote, text: text, createdMS: s.st.stamp(s.opts.Now())}
	s.st.nextNote++
	notes := append(s.st.notesOf(idx), n)
	s.st.leads[idx].notes = &notes
	s.st.noteLead[n.id] = idx
	b := s.st.appendNote(nil, n)
	s.mu.Unlock()
	writeData(w, http.StatusCreated, b)
}

func (s *Server) handleNoteDelete(w http.ResponseWriter, r *http.Request, form url.Values) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var fe fieldErrors
	raw := requiredChar(&fe, form, "note_id", 0)
	if !fe.empty() {
		writeFieldErrors(w, &fe)
		return
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		fe.add("note_id", msgNoteBadID)
		writeFieldErrors(w, &fe)
		return
	}
	idx, ok := s.st.noteLead[id]
	if !ok {
		fe.add("note_id", msgNoteNotFound)
		writeFieldErrors(w, &fe)
		return
	}
	notes := slices.DeleteFunc(s.st.notesOf(idx), func(n note) bool { return n.id == id })
	s.st.leads[idx].notes = &notes
	delete(s.st.noteLead, id)
	writeData(w, http.StatusOK, []byte("{}"))
}

func (s *Server) handleView(w http.ResponseWriter, r *http.Request, _ url.Values) {
	slug := strings.TrimSpace(r.URL.Query().Get("slug"))
	var fe fieldErrors
	if slug == "" {
		fe.add("slug", msgViewSlug)
		writeFieldErrors(w, &fe)
		return
	}
	s.mu.RLock()
	idx, ok := s.st.find(slug)
	if !ok || s.st.leads[idx].deleted {
		s.mu.RUnlock()
		fe.add("slug", msgSlugInvalid)
		writeFieldErrors(w, &fe)
		return
	}
	b := s.st.appendLead(nil, idx, true)
	s.mu.RUnlock()
	writeData(w, http.StatusOK, b)
}

// listFilter is the list route's optional filters; each compares the trimmed
// stored value exactly, email case-insensitively.
type listFilter struct {
	email, firstName, lastName, phone, status string
	any                                       bool
}

func (f *listFilter) match(l *fields) bool {
	return (f.email == "" || strings.EqualFold(l.email, f.email)) &&
		(f.firstName == "" || l.firstName == f.firstName) &&
		(f.lastName == "" || l.lastName == f.lastName) &&
		(f.phone == "" || l.phone == f.phone) &&
		(f.status == "" || l.status == f.status)
}

// nonNegInt parses a paging parameter as Django REST does: invalid or
// negative values fall back to def.
func nonNegInt(s string, def int) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return def
	}
	return n
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request, _ url.Values) {
	q := r.URL.Query()
	limit := nonNegInt(q.Get("limit"), s.opts.PageSize)
	if limit == 0 {
		limit = s.opts.PageSize
	}
	limit = min(limit, s.opts.MaxPageSize)
	offset := nonNegInt(q.Get("offset"), 0)
	f := listFilter{
		email: strings.TrimSpace(q.Get("email")), firstName: strings.TrimSpace(q.Get("first_name")),
		lastName: strings.TrimSpace(q.Get("last_name")), phone: strings.TrimSpace(q.Get("phone")),
		status: strings.TrimSpace(q.Get("status")),
	}
	f.any = f.email != "" || f.firstName != "" || f.lastName != "" || f.phone != "" || f.status != ""

	b := make([]byte, 0, 256+limit*320)
	b = append(b, `{"status_code":200,"errors":{},"data":{"count":`...)
	s.mu.RLock()
	var count int
	var page []int32
	if !f.any {
		live := s.st.live
		count = len(live)
		for i := offset; i < offset+limit && i < count; i++ {
			page = append(page, live[count-1-i])
		}
	} else {
		for i := len(s.st.live) - 1; i >= 0; i-- {
			idx := s.st.live[i]
			if l := s.st.get(idx); f.match(&l) {
				if count >= offset && len(page) < limit {
					page = append(page, idx)
				}
				count++
			}
		}
	}
	b = strconv.AppendInt(b, int64(count), 10)
	b = append(b, `,"next":`...)
	if offset+limit < count {
		b = simkit.AppendJSONString(b, pageURL(r, offset+limit, limit))
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"previous":`...)
	if offset > 0 {
		b = simkit.AppendJSONString(b, pageURL(r, max(offset-limit, 0), limit))
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"results":[`...)
	for i, idx := range page {
		if i > 0 {
			b = append(b, ',')
		}
		b = s.st.appendLead(b, idx, false)
	}
	s.mu.RUnlock()
	b = append(b, "]}}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// pageURL is the absolute URL of the list page at offset, keeping the
// request's other parameters (Django REST's previous link to the first page
// drops offset).
func pageURL(r *http.Request, offset, limit int) string {
	q := r.URL.Query()
	q.Set("limit", strconv.Itoa(limit))
	if offset > 0 {
		q.Set("offset", strconv.Itoa(offset))
	} else {
		q.Del("offset")
	}
	u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawQuery: q.Encode()}
	if r.TLS != nil {
		u.Scheme = "https"
	}
	return u.String()
}
