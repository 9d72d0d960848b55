package bench

import (
	"strings"
)

// Call kinds: what an API call was for, from its route template.
const (
	KindList     = "list"     // a listing page or a change feed
	KindGet      = "get"      // one record by ID
	KindFind     = "find"     // a lookup by email or LinkedIn URL
	KindCreate   = "create"   // a contact created
	KindUpdate   = "update"   // a contact updated
	KindDelete   = "delete"   // a contact deleted
	KindPipeline = "pipeline" // a pipeline stage written (NextLead sale, Ligo state)
	KindNote     = "note"     // a note created or deleted
	KindCatalog  = "catalog"  // a stage catalog, identity or settings read
	KindAuth     = "auth"     // a login or token refresh
	KindOther    = "other"    // anything else (unknown routes)
)

// Classify returns the call kind of a simulator Requests key (a route
// template such as "GET /api/contacts" or "POST /api/v2/receive/contact/new-contact").
func Classify(route string) string {
	method, path, _ := strings.Cut(route, " ")
	switch {
	case strings.Contains(path, "login") || strings.Contains(path, "token/refresh"):
		return KindAuth
	case strings.Contains(path, "note"):
		return KindNote
	case strings.Contains(path, "sale") || strings.Contains(path, "pipeline-state"):
		return KindPipeline
	case strings.Contains(path, "get-conversion") || strings.Contains(path, "get-columns") ||
		strings.Contains(path, "get-team") || strings.Contains(path, "get-custom-fields") ||
		strings.Contains(path, "lead-statuses") || strings.Contains(path, "pipeline_states") ||
		strings.HasSuffix(path, "/me") || strings.Contains(path, "identify-user"):
		return KindCatalog
	case strings.Contains(path, "polling/") || strings.Contains(path, "/leads/list"):
		return KindList
	case strings.Contains(path, "find-contact"):
		return KindFind
	case strings.Contains(path, "new-contact") || strings.Contains(path, "/create/lead"):
		return KindCreate
	case strings.Contains(path, "edit-contact") || strings.Contains(path, "/update/lead"):
		return KindUpdate
	case strings.Contains(path, "delete"):
		return KindDelete
	case strings.Contains(path, "/leads/view"):
		return KindGet
	case strings.HasSuffix(path, "/contacts") || strings.HasSuffix(path, "/contacts/"):
		// Ligo's and Skarbe's collection routes: GET lists (Skarbe's
		// ?query= lookups share the route), POST creates.
		if method == "POST" {
			return KindCreate
		}
		if method == "GET" {
			return KindList
		}
	case strings.HasSuffix(path, "/{id}"):
		switch method {
		case "GET":
			return KindGet
		case "PATCH", "PUT":
			return KindUpdate
		case "DELETE":
			return KindDelete
		}
	}
	return KindOther
}

// CallCounts are API calls by CRM, then by kind.
type CallCounts map[string]map[string]int64

// Total sums every call.
func (c CallCounts) Total() int64 {
	var n int64
	for _, m := range c {
		for _, v := range m {
			n += v
		}
	}
	return n
}

// Kind sums the calls of one kind across CRMs.
func (c CallCounts) Kind(kind string) int64 {
	var n int64
	for _, m := range c {
		n += m[kind]
	}
	return n
}

// diffRequests returns after − before, classified.
func diffRequests(before, after map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for route, n := range after {
		if d := n - before[route]; d > 0 {
			out[Classify(route)] += d
		}
	}
	return out
}

// requestTotal sums a Requests map.
func requestTotal(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}
