package ligotest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/crmsync/crmsync/mapping"
	"github.com/crmsync/crmsync/providers/simkit"
)

// Verbatim messages of the API.
const (
	msgInvalidCredentials = "Invalid credentials."
	msgNotFound           = "Not Found"
	msgSyntax             = "Syntax error"
	msgNotBlank           = "This value should not be blank."
	msgBadEmail           = "This value is not a valid email address."
	msgBadState           = "This pipeline state does not exist."
	msgPageTooLow         = "Page should not be less than 1"
	msgTooManyRequests    = "Too Many Requests"
	msgNoContentType      = `The "Content-Type" header must exist.`

	codeNotBlank = "c1051bb4-d103-4f74-8988-acbcafc7fdc3"
	codeBadEmail = "bd79c0ab-ddba-46cc-a703-a7a4b08de310"
	codeBadState = "ba785a8c-82cb-4283-967c-3cf342181b40"
)

var (
	postTypes  = []string{"application/ld+json", "application/json"}
	patchTypes = []string{"application/merge-patch+json", "application/json"}
)

// maxBody bounds a request body.
const maxBody = 1 << 20

// Route templates, as Requests reports them.
const (
	routeList       = "GET /api/contacts"
	routeGet        = "GET /api/contacts/{id}"
	routeCreate     = "POST /api/contacts"
	routePatch      = "PATCH /api/contacts/{id}"
	routeSetState   = "PATCH /api/contacts/{id}/pipeline-state"
	routeStates     = "GET /api/pipeline_states"
	routeAddNote    = "POST /api/contacts/{id}/notes"
	routeDeleteNote = "DELETE /api/contacts/{id}/notes/{noteId}"
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	s.handle(mux, routeList, false, s.listContacts)
	s.handle(mux, routeGet, false, s.getContact)
	s.handle(mux, routeCreate, true, s.createContact)
	s.handle(mux, routePatch, true, s.patchContact)
	s.handle(mux, routeSetState, true, s.setPipelineState)
	s.handle(mux, routeStates, false, s.listPipelineStates)
	s.handle(mux, routeAddNote, true, s.addNote)
	s.handle(mux, routeDeleteNote, true, s.deleteNote)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.Counters.Add(r.Method + " ?")
		if knownPath(r.URL.Path) {
			writeHydraError(w, http.StatusMethodNotAllowed, http.StatusText(http.StatusMethodNotAllowed))
			return
		}
		writeHydraError(w, http.StatusNotFound, msgNotFound)
	})
	return mux
}

// handle wraps h with the common rules, in order: counting, latency, auth,
// rate limit, fault injection (a faulted write is applied about half the
// time before the 5xx, as a lost reply).
func (s *Server) handle(mux *http.ServeMux, route string, write bool, h http.HandlerFunc) {
	mux.HandleFunc(route, func(w http.ResponseWriter, r *http.Request) {
		s.Counters.Add(route)
		if !s.Latency.Wait(r.Context()) {
			return
		}
		tok, ok := s.authorized(r)
		if !ok {
			writeJSON(w, http.StatusUnauthorized, "application/json", map[string]any{"code": 401, "message": msgInvalidCredentials})
			return
		}
		if wait := s.Limiter.Admit(tok); wait > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(wait))
			writeHydraError(w, http.StatusTooManyRequests, msgTooManyRequests)
			return
		}
		if code, apply := s.Faults.Draw(); code != 0 {
			if write && apply {
				h(&simkit.Discard{}, r)
			}
			writeHydraError(w, code, http.StatusText(code))
			return
		}
		h(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, ctype string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ctype+"; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeHydraError answers an API Platform error.
func writeHydraError(w http.ResponseWriter, status int, desc string) {
	writeJSON(w, status, "application/ld+json", map[string]any{
		"@context": "/api/contexts/Error", "@type": "hydra:Error",
		"hydra:title": "An error occurred", "hydra:description": desc,
	})
}

type violation struct {
	PropertyPath string `json:"propertyPath"`
	Message      string `json:"message"`
	Code         string `json:"code"`
}

// writeViolations answers API Platform's 422 ConstraintViolationList.
func writeViolations(w http.ResponseWriter, vs []violation) {
	descs := make([]string, len(vs))
	for i, v := range vs {
		descs[i] = v.PropertyPath + ": " + v.Message
	}
	writeJSON(w, http.StatusUnprocessableEntity, "application/ld+json", map[string]any{
		"@context": "/api/contexts/ConstraintViolationList", "@type": "ConstraintViolationList",
		"hydra:title": "An error occurred", "hydra:description": strings.Join(descs, "\n"),
		"violations": vs,
	})
}

// checkContentType answers 415 unless the request's media type is allowed.
func checkContentType(w http.ResponseWriter, r *http.Request, allowed []string) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		writeHydraError(w, http.StatusUnsupportedMediaType, msgNoContentType)
		return false
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil {
		for _, a := range allowed {
			if mt == a {
				return true
			}
		}
	}
	quoted := make([]string, len(allowed))
	for i, a := range allowed {
		quoted[i] = `"` + a + `"`
	}
	writeHydraError(w, http.StatusUnsupportedMediaType, fmt.Sprintf(
		`The content-type "%s" is not supported. Supported MIME types are %s.`, ct, strings.Join(quoted, ", ")))
	return false
}

// readObject reads a JSON object body; on failure it answers 400 and
// returns false. An empty body is an empty object when emptyOK.
func readObject(w http.ResponseWriter, r *http.Request, emptyOK bool) (map[string]json.RawMessage, bool) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(b) > maxBody {
		writeHydraError(w, http.StatusBadRequest, msgSyntax)
		return nil, false
	}
	if emptyOK && len(bytes.TrimSpace(b)) == 0 {
		return map[string]json.RawMessage{}, true
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		writeHydraError(w, http.StatusBadRequest, msgSyntax)
		return nil, false
	}
	return m, true
}

// phpType names a JSON value's type as API Platform's messages do.
func phpType(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "null"
	}
	switch t[0] {
	case '"':
		return "string"
	case 'n':
		return "null"
	case 't', 'f':
		return "bool"
	case '[', '{':
		return "array"
	}
	if bytes.ContainsAny(t, ".eE") {
		return "float"
	}
	return "int"
}

func typeError(key, want, got string) string {
	return fmt.Sprintf(`The type of the "%s" attribute must be "%s", "%s" given.`, key, want, got)
}

// input is a decoded write body: the documented keys present.
type input struct {
	strs  map[int]string   // packed field index → value ("" for null)
	lists map[int][]string // fEmails/fPhones → value (nil for null)
}

// decodeInput type-checks the documented keys of a contact body; it answers
// 400 and returns false on a type error. Unknown keys are ignored.
func decodeInput(w http.ResponseWriter, m map[string]json.RawMessage) (input, bool) {
	in := input{strs: map[int]string{}, lists: map[int][]string{}}
	for i, key := range stringKeys {
		raw, ok := m[key]
		if !ok {
			continue
		}
		switch phpType(raw) {
		case "null":
			in.strs[i] = ""
		case "string":
			var v string
			_ = json.Unmarshal(raw, &v)
			in.strs[i] = cleanString(v)
		default:
			writeHydraError(w, http.StatusBadRequest, typeError(key, "string", phpType(raw)))
			return in, false
		}
	}
	for _, l := range []struct {
		i   int
		key string
	}{{fEmails, "emails"}, {fPhones, "phones"}} {
		raw, ok := m[l.key]
		if !ok {
			continue
		}
		switch phpType(raw) {
		case "null":
			in.lists[l.i] = nil
			continue
		case "array":
		default:
			writeHydraError(w, http.StatusBadRequest, typeError(l.key, "array", phpType(raw)))
			return in, false
		}
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			writeHydraError(w, http.StatusBadRequest, typeError(l.key, "array", "array"))
			return in, false
		}
		vals := make([]string, 0, len(elems))
		for j, e := range elems {
			if phpType(e) != "string" {
				writeHydraError(w, http.StatusBadRequest, typeError(fmt.Sprintf("%s[%d]", l.key, j), "string", phpType(e)))
				return in, false
			}
			var v string
			_ = json.Unmarshal(e, &v)
			vals = append(vals, cleanString(v))
		}
		in.lists[l.i] = vals
	}
	return in, true
}

// validate checks a contact's values after a write: name not blank, every
// email valid.
func validate(vals [nFields]string) []violation {
	var vs []violation
	if strings.TrimSpace(vals[fName]) == "" {
		vs = append(vs, violation{PropertyPath: "name", Message: msgNotBlank, Code: codeNotBlank})
	}
	if vals[fEmails] != "" {
		for i, e := range strings.Split(vals[fEmails], listSep) {
			if _, err := mapping.NormalizeEmail(e); err != nil {
				vs = append(vs, violation{PropertyPath: fmt.Sprintf("emails[%d]", i), Message: msgBadEmail, Code: codeBadEmail})
			}
		}
	}
	return vs
}

func (in input) apply(vals *[nFields]string) {
	for i, v := range in.strs {
		vals[i] = v
	}
	for i, v := range in.lists {
		vals[i] = joinList(v)
	}
}

// pageParam parses ?page=N (default 1); it answers 400 below 1.
func pageParam(w http.ResponseWriter, r *http.Request) (int, bool) {
	q := r.URL.Query().Get("page")
	if q == "" {
		return 1, true
	}
	n, err := strconv.Atoi(q)
	if err != nil || n < 1 {
		writeHydraError(w, http.StatusBadRequest, msgPageTooLow)
		return 0, false
	}
	return n, true
}

// collection writes a Hydra collection page, calling member for each item.
func writeCollection(w http.ResponseWriter, path, ctx string, page, size, total, n int, member func(b []byte, i int) []byte) {
	w.Header().Set("Content-Type", "application/ld+json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 16<<10)
	b := make([]byte, 0, 2048)
	b = append(b, `{"@context":"/api/contexts/`...)
	b = append(b, ctx...)
	b = append(b, `","@id":"`...)
	b = append(b, path...)
	b = append(b, `","@type":"hydra:Collection","hydra:member":[`...)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = member(b, i)
		if len(b) > 8<<10 {
			_, _ = bw.Write(b)
			b = b[:0]
		}
	}
	last := (total + size - 1) / size
	if last < 1 {
		last = 1
	}
	pageURL := func(b []byte, p int) []byte {
		b = append(b, '"')
		b = append(b, path...)
		b = append(b, "?page="...)
		b = appendInt(b, p)
		return append(b, '"')
	}
	b = append(b, `],"hydra:totalItems":`...)
	b = appendInt(b, total)
	b = append(b, `,"hydra:view":{"@id":`...)
	b = pageURL(b, page)
	b = append(b, `,"@type":"hydra:PartialCollectionView","hydra:first":`...)
	b = pageURL(b, 1)
	b = append(b, `,"hydra:last":`...)
	b = pageURL(b, last)
	if page > 1 {
		b = append(b, `,"hydra:previous":`...)
		b = pageURL(b, page-1)
	}
	if page < last {
		b = append(b, `,"hydra:next":`...)
		b = pageURL(b, page+1)
	}
	b = append(b, "}}"...)
	_, _ = bw.Write(b)
	_ = bw.Flush()
}

func (s *Server) listContacts(w http.ResponseWriter, r *http.Request) {
	page, ok := pageParam(w, r)
	if !ok {
		return
	}
	s.mu.RLock()
	total := s.nLive
	start := min((page-1)*s.page, total)
	if page-1 > total/s.page+1 { // overflow-safe for huge page numbers
		start = total
	}
	end := min(start+s.page, total)
	items := make([]record, 0, end-start)
	if start < end {
		for idx := s.nth(start); len(items) < end-start; idx = s.nextLive(idx + 1) {
			items = append(items, *s.rec(idx))
		}
	}
	names := s.names // append-only: the prefix read is never written
	s.mu.RUnlock()
	var u unpacked
	writeCollection(w, "/api/contacts", "Contact", page, s.page, total, len(items), func(b []byte, i int) []byte {
		s.unpack(items[i].data, names, &u)
		return s.appendContact(b, items[i].id, &u)
	})
}

// appendContact appends the JSON-LD of a contact.
func (s *Server) appendContact(b []byte, id [16]byte, u *unpacked) []byte {
	b = append(b, `{"@id":"/api/contacts/`...)
	b = appendUUID(b, id)
	b = append(b, `","@type":"Contact","id":"`...)
	b = appendUUID(b, id)
	b = append(b, `","name":`...)
	b = appendSegments(b, u.seg[fName], false)
	b = append(b, `,"emails":`...)
	b = appendList(b, u.seg[fEmails])
	b = append(b, `,"phones":`...)
	b = appendList(b, u.seg[fPhones])
	for _, f := range []int{fCompany, fPosition, fAddress, fWebsite, fLinkedin, fInfo, fMeeting} {
		b = append(b, ',', '"')
		b = append(b, stringKeys[f]...)
		b = append(b, '"', ':')
		b = appendSegments(b, u.seg[f], true)
	}
	b = append(b, `,"status":"`...)
	b = append(b, statusName(u.status)...)
	b = append(b, `","pipelineState":`...)
	if u.state >= 0 {
		st := &s.states[u.state]
		b = append(b, `{"id":"`...)
		b = appendUUID(b, st.id)
		b = append(b, `","name":`...)
		b = simkit.AppendJSONString(b, st.name)
		b = append(b, '}')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"createdAt":"`...)
	b = appendMillis(b, u.created)
	b = append(b, `","updatedAt":"`...)
	b = appendMillis(b, u.updated)
	return append(b, '"', '}')
}

func statusName(i uint8) string {
	names := [...]string{"pending", "enriched", "contacted", "qualified", "converted", "lost"}
	return names[i]
}

// writeContact answers a contact; the caller may hold s.mu.
func (s *Server) writeContact(w http.ResponseWriter, status int, id [16]byte, u *unpacked) {
	b := s.appendContact(make([]byte, 0, 1024), id, u)
	w.Header().Set("Content-Type", "application/ld+json; charset=utf-8")
	if status == http.StatusCreated {
		w.Header().Set("Location", "/api/contacts/"+uuidString(id))
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// lookup finds the live contact of the {id} path value; it answers 404 and
// returns false when there is none. Call with s.mu held.
func (s *Server) lookupLocked(w http.ResponseWriter, r *http.Request) (uint32, bool) {
	idx, ok := s.liveIndex(r.PathValue("id"))
	if !ok {
		writeHydraError(w, http.StatusNotFound, msgNotFound)
	}
	return idx, ok
}

func (s *Server) getContact(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	idx, ok := s.lookupLocked(w, r)
	if !ok {
		s.mu.RUnlock()
		return
	}
	rec := *s.rec(idx)
	names := s.names
	s.mu.RUnlock()
	var u unpacked
	s.unpack(rec.data, names, &u)
	s.writeContact(w, http.StatusOK, rec.id, &u)
}

func (s *Server) createContact(w http.ResponseWriter, r *http.Request) {
	if !checkContentType(w, r, postTypes) {
		return
	}
	m, ok := readObject(w, r, false)
	if !ok {
		return
	}
	in, ok := decodeInput(w, m)
	if !ok {
		return
	}
	var vals [nFields]string
	in.apply(&vals)
	if vs := validate(vals); len(vs) > 0 {
		writeViolations(w, vs)
		return
	}
	id := s.newID()
	now := s.now().UnixMilli()
	u := unpacked{meta: meta{created: now, updated: now, state: -1}}
	s.mu.Lock()
	rec := record{id: id, data: s.pack(vals, u.meta)}
	s.add(rec)
	s.unpack(rec.data, s.names, &u)
	s.mu.Unlock()
	s.writeContact(w, http.StatusCreated, id, &u)
}

func (s *Server) patchContact(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	_, ok := s.lookupLocked(w, r)
	s.mu.RUnlock()
	if !ok || !checkContentType(w, r, patchTypes) {
		return
	}
	m, ok := readObject(w, r, false)
	if !ok {
		return
	}
	in, ok := decodeInput(w, m)
	if !ok {
		return
	}
	s.mu.Lock()
	idx, ok := s.lookupLocked(w, r) // it may have gone meanwhile
	if !ok {
		s.mu.Unlock()
		return
	}
	rec := s.rec(idx)
	var u unpacked
	s.unpack(rec.data, s.names, &u)
	vals := u.fields()
	in.apply(&vals)
	if vs := validate(vals); len(vs) > 0 {
		s.mu.Unlock()
		writeViolations(w, vs)
		return
	}
	if vals != u.fields() {
		u.touch(s.now())
		rec.data = s.pack(vals, u.meta)
		s.unpack(rec.data, s.names, &u)
	}
	id := rec.id
	s.mu.Unlock()
	s.writeContact(w, http.StatusOK, id, &u)
}

func (s *Server) setPipelineState(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	_, ok := s.lookupLocked(w, r)
	s.mu.RUnlock()
	if !ok || !checkContentType(w, r, patchTypes) {
		return
	}
	m, ok := readObject(w, r, true)
	if !ok {
		return
	}
	state := int32(-1)
	if raw, ok := m["stateId"]; ok {
		switch phpType(raw) {
		case "null":
		case "string":
			var v string
			_ = json.Unmarshal(raw, &v)
			u, err := uuid.Parse(v)
			i, known := s.stateByID[u]
			if err != nil || !known {
				writeViolations(w, []violation{{PropertyPath: "stateId", Message: msgBadState, Code: codeBadState}})
				return
			}
			state = i
		default:
			writeHydraError(w, http.StatusBadRequest, typeError("stateId", "string", phpType(raw)))
			return
		}
	}
	s.mu.Lock()
	idx, ok := s.lookupLocked(w, r)
	if !ok {
		s.mu.Unlock()
		return
	}
	rec := s.rec(idx)
	var u unpacked
	s.unpack(rec.data, s.names, &u)
	if u.state != state {
		u.state = state
		u.touch(s.now())
		rec.data = s.withMeta(rec.data, u.meta)
	}
	id := rec.id
	s.mu.Unlock()
	s.writeContact(w, http.StatusOK, id, &u)
}

func (s *Server) listPipelineStates(w http.ResponseWriter, r *http.Request) {
	page, ok := pageParam(w, r)
	if !ok {
		return
	}
	total := len(s.states)
	start := min((page-1)*s.page, total)
	if page-1 > total/s.page+1 {
		start = total
	}
	end := min(start+s.page, total)
	items := s.states[start:end]
	writeCollection(w, "/api/pipeline_states", "PipelineState", page, s.page, total, len(items), func(b []byte, i int) []byte {
		st := &items[i]
		b = append(b, `{"@id":"/api/pipeline_states/`...)
		b = appendUUID(b, st.id)
		b = append(b, `","@type":"PipelineState","id":"`...)
		b = appendUUID(b, st.id)
		b = append(b, `","name":`...)
		b = simkit.AppendJSONString(b, st.name)
		b = append(b, `,"color":`...)
		b = simkit.AppendJSONString(b, st.color)
		b = append(b, `,"position":`...)
		b = appendInt(b, st.position)
		return append(b, '}')
	})
}

func (s *Server) addNote(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	_, ok := s.lookupLocked(w, r)
	s.mu.RUnlock()
	if !ok || !checkContentType(w, r, postTypes) {
		return
	}
	m, ok := readObject(w, r, false)
	if !ok {
		return
	}
	content := ""
	if raw, ok := m["content"]; ok {
		switch phpType(raw) {
		case "null":
		case "string":
			_ = json.Unmarshal(raw, &content)
		default:
			writeHydraError(w, http.StatusBadRequest, typeError("content", "string", phpType(raw)))
			return
		}
	}
	if strings.TrimSpace(content) == "" {
		writeViolations(w, []violation{{PropertyPath: "content", Message: msgNotBlank, Code: codeNotBlank}})
		return
	}
	n := note{id: s.newID(), content: content, created: s.now().UnixMilli()}
	s.mu.Lock()
	idx, ok := s.lookupLocked(w, r)
	if !ok {
		s.mu.Unlock()
		return
	}
	s.notes[idx] = append(s.notes[idx], n) // a note does not move updatedAt
	contactID := s.rec(idx).id
	s.mu.Unlock()
	b := []byte(`{"@id":"/api/contacts/`)
	b = appendUUID(b, contactID)
	b = append(b, "/notes/"...)
	b = appendUUID(b, n.id)
	b = append(b, `","@type":"Note","id":"`...)
	b = appendUUID(b, n.id)
	b = append(b, `","content":`...)
	b = simkit.AppendJSONString(b, n.content)
	b = append(b, `,"createdAt":"`...)
	b = appendMillis(b, n.created)
	b = append(b, `"}`...)
	w.Header().Set("Content-Type", "application/ld+json; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(b)
}

func (s *Server) deleteNote(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, ok := s.lookupLocked(w, r)
	if !ok {
		return
	}
	nid, err := uuid.Parse(r.PathValue("noteId"))
	notes := s.notes[idx]
	for i, n := range notes {
		if err == nil && n.id == nid {
			s.notes[idx] = append(notes[:i:i], notes[i+1:]...)
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	writeHydraError(w, http.StatusNotFound, msgNotFound)
}

// knownPath reports whether path is one of the routes' paths (so that
// another method on it is 405, not 404).
func knownPath(path string) bool {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) < 2 || parts[0] != "api" {
		return false
	}
	switch {
	case len(parts) == 2:
		return parts[1] == "contacts" || parts[1] == "pipeline_states"
	case parts[1] != "contacts":
		return false
	case len(parts) == 3:
		return true
	case len(parts) == 4:
		return parts[3] == "pipeline-state" || parts[3] == "notes"
	case len(parts) == 5:
		return parts[3] == "notes"
	}
	return false
}
