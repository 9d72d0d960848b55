package mapping

import (
	"strings"
	"testing"
)

func TestDefaultStageMapInbound(t *testing.T) {
	t.Parallel()
	tests := []struct {
		provider, value string
		want            Stage // "" when unmapped
	}{
		// nextlead: tag names, case-insensitive.
		{"nextlead", "New", StageNew},
		{"nextlead", "Lead", StageNew},
		{"nextlead", "Contacted", StageContacted},
		{"nextlead", "Qualified", StageQualified},
		{"nextlead", "Won", StageConverted},
		{"nextlead", "Converted", StageConverted},
		{"nextlead", "Client", StageConverted},
		{"nextlead", "Lost", StageLost},
		{"nextlead", "Disqualified", StageDisqualified},
		{"nextlead", "  WON ", StageConverted},
		{"nextlead", "lead", StageNew},
		{"nextlead", "VIP", ""},
		{"nextlead", "", ""},
		// skarbe: status types.
		{"skarbe", "lead", StageNew},
		{"skarbe", "qualified", StageQualified},
		{"skarbe", "disqualified", StageDisqualified},
		{"skarbe", "contacted", ""},
		{"skarbe", "converted", ""},
		{"skarbe", "lost", ""},
		// epixel.
		{"epixel", "prospect", StageNew},
		{"epixel", "contact", StageContacted},
		{"epixel", "potential", StageQualified},
		{"epixel", "tentative", StageQualified},
		{"epixel", "customer", StageConverted},
		{"epixel", "closed", StageLost},
		{"epixel", "new", ""},
		// ligo.
		{"ligo", "pending", StageNew},
		{"ligo", "enriched", StageNew},
		{"ligo", "contacted", StageContacted},
		{"ligo", "qualified", StageQualified},
		{"ligo", "converted", StageConverted},
		{"ligo", "lost", StageLost},
		{"ligo", "disqualified", ""},
		// unknown provider, any case of a known one.
		{"other", "new", ""},
		{"NextLead", "Won", StageConverted},
	}
	for _, tt := range tests {
		got, ok := DefaultStageMap(tt.provider).Inbound(tt.value)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("%s Inbound(%q) = %q, %v; want %q", tt.provider, tt.value, got, ok, tt.want)
		}
	}
}

func TestDefaultStageMapOutbound(t *testing.T) {
	t.Parallel()
	nlTags := []string{"VIP", "Lead", "New", "Contacted", "Qualified", "Client", "Won", "Converted", "Lost", "Disqualified"}
	skTypes := []string{"qualified", "lead", "lead", "disqualified"} // by status order
	tests := []struct {
		provider string
		catalog  []string
		stage    Stage
		want     string // "" when not written
	}{
		{"nextlead", nlTags, StageNew, "Lead"}, // first by API order
		{"nextlead", nlTags, StageContacted, "Contacted"},
		{"nextlead", nlTags, StageQualified, "Qualified"},
		{"nextlead", nlTags, StageConverted, "Client"},
		{"nextlead", nlTags, StageLost, "Lost"},
		{"nextlead", nlTags, StageDisqualified, "Disqualified"},
		{"nextlead", []string{"won", "Converted"}, StageConverted, "won"},
		{"nextlead", []string{"VIP"}, StageNew, ""},
		{"nextlead", nlTags, "", ""},

		{"skarbe", skTypes, StageNew, "lead"},
		{"skarbe", skTypes, StageQualified, "qualified"},
		{"skarbe", skTypes, StageDisqualified, "disqualified"},
		{"skarbe", skTypes, StageContacted, ""},
		{"skarbe", skTypes, StageConverted, ""},
		{"skarbe", skTypes, StageLost, ""},
		{"skarbe", []string{"lead"}, StageQualified, ""},

		{"epixel", nil, StageNew, "prospect"},
		{"epixel", nil, StageContacted, "contact"},
		{"epixel", nil, StageQualified, "potential"},
		{"epixel", nil, StageConverted, "customer"},
		{"epixel", nil, StageLost, "closed"},
		{"epixel", nil, StageDisqualified, "closed"},

		{"ligo", nil, StageNew, ""},
		{"ligo", nil, StageContacted, ""},
		{"ligo", nil, StageQualified, ""},
		{"ligo", nil, StageConverted, ""},
		{"ligo", nil, StageLost, ""},
		{"ligo", nil, StageDisqualified, ""},
	}
	for _, tt := range tests {
		got, ok := DefaultStageMap(tt.provider).Outbound(tt.stage, tt.catalog)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("%s Outbound(%q, %q) = %q, %v; want %q", tt.provider, tt.stage, tt.catalog, got, ok, tt.want)
		}
	}
}

func TestDefaultStageMapFresh(t *testing.T) {
	t.Parallel()
	m := DefaultStageMap("nextlead")
	m.In["vip"] = StageQualified
	if _, ok := DefaultStageMap("nextlead").Inbound("VIP"); ok {
		t.Errorf("DefaultStageMap shares its maps between calls")
	}
	if DefaultStageMap("nextlead").IsZero() || !(StageMap{}).IsZero() {
		t.Errorf("IsZero is wrong")
	}
}

func TestStageMapWith(t *testing.T) {
	t.Parallel()
	base := DefaultStageMap("nextlead")
	m, err := base.With(
		map[string]string{"  VIP ": "Qualified", "Lost": "", "Signed": "converted"},
		map[string]string{"converted": "Signed", "Lost": ""},
	)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		value string
		want  Stage
	}{{"vip", StageQualified}, {"signed", StageConverted}, {"Lost", ""}, {"Won", StageConverted}}
	for _, c := range checks {
		if got, ok := m.Inbound(c.value); got != c.want || ok != (c.want != "") {
			t.Errorf("Inbound(%q) = %q, %v; want %q", c.value, got, ok, c.want)
		}
	}
	tags := []string{"Client", "signed", "Lost"}
	if got, ok := m.Outbound(StageConverted, tags); !ok || got != "signed" {
		t.Errorf("Outbound(converted) = %q, %v; want the catalog's spelling %q", got, ok, "signed")
	}
	if got, ok := m.Outbound(StageConverted, []string{"Client"}); ok {
		t.Errorf("Outbound(converted) with the override missing from the catalog = %q, want not written", got)
	}
	if got, ok := m.Outbound(StageLost, tags); ok {
		t.Errorf("Outbound(lost) = %q, want never written", got)
	}
	if got, ok := m.Outbound(StageQualified, []string{"VIP", "Qualified"}); !ok || got != "VIP" {
		t.Errorf("Outbound(qualified) = %q, %v; want VIP", got, ok)
	}
	// The base map is untouched.
	if _, ok := base.Inbound("vip"); ok {
		t.Errorf("With changed its receiver")
	}
	if got, ok := base.Inbound("Lost"); !ok || got != StageLost {
		t.Errorf("With changed its receiver")
	}
	// Epixel outbound override with a fixed set.
	e, err := DefaultStageMap("epixel").With(nil, map[string]string{"disqualified": "tentative"})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := e.Outbound(StageDisqualified, nil); got != "tentative" {
		t.Errorf("epixel Outbound(disqualified) = %q", got)
	}
	// A zero map accepts overrides.
	z, err := StageMap{}.With(map[string]string{"a": "new"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := z.Inbound("A"); got != StageNew {
		t.Errorf("zero.With: Inbound(A) = %q", got)
	}
}

func TestStageMapWithErrors(t *testing.T) {
	t.Parallel()
	_, err := DefaultStageMap("nextlead").With(
		map[string]string{"VIP": "golden", "Won": "won", "": "new"},
		map[string]string{"signed": "Signed"},
	)
	if err == nil {
		t.Fatal("With accepted unknown stages")
	}
	for _, want := range []string{`"golden"`, `"won"`, `"signed"`, "empty CRM value", "stage_map", "stage_outbound", "new, contacted, qualified"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestMatchPipeline(t *testing.T) {
	t.Parallel()
	catalog := []string{"To contact", "Proposal Sent", "Negotiation", "Won"}
	aliases := map[string]string{"Devis envoyé": "proposal sent", "Signed": "Won", "Closing": "Negotiation"}
	tests := []struct {
		stage string
		want  string
	}{
		{"To contact", "To contact"},
		{"  to   CONTACT ", "To contact"},
		{"proposal sent", "Proposal Sent"},
		{"Devis envoyé", "Proposal Sent"},     // alias key → value
		{"  devis  ENVOYÉ ", "Proposal Sent"}, // alias, trimmed, case-insensitive
		{"signed", "Won"},
		{"Lost", ""},
		{"", ""},
		{"   ", ""},
	}
	for _, tt := range tests {
		got, ok := MatchPipeline(tt.stage, catalog, aliases)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("MatchPipeline(%q) = %q, %v; want %q", tt.stage, got, ok, tt.want)
		}
	}
	// Alias value → key: the CRM calls it "Devis envoyé", the canonical name
	// is "Proposal Sent".
	got, ok := MatchPipeline("Proposal Sent", []string{"Devis envoyé", "Gagné"}, aliases)
	if !ok || got != "Devis envoyé" {
		t.Errorf("reverse alias = %q, %v", got, ok)
	}
	// A direct match wins over an alias.
	got, _ = MatchPipeline("Won", []string{"Signed", "Won"}, aliases)
	if got != "Won" {
		t.Errorf("direct match lost to an alias: %q", got)
	}
	if _, ok := MatchPipeline("Won", nil, nil); ok {
		t.Errorf("matched in an empty catalog")
	}
}
