package mapping

import (
	"fmt"
	"maps"
	"strings"
)

// StageMap maps one CRM's lead-stage values to canonical stages and back.
// Keys of In are the CRM's values trimmed and lower-cased. Out, where set for
// a stage, names the CRM value to write for it; otherwise the first catalog
// value (in the CRM's order) that maps inbound to the stage is written.
type StageMap struct {
	In  map[string]Stage
	Out map[Stage]string
}

func stageKey(v string) string { return strings.ToLower(CollapseSpace(v)) }

// Inbound returns the canonical stage for the CRM value v, and false when v
// is unmapped (the canonical stage is then left untouched and the value
// reported).
func (m StageMap) Inbound(v string) (Stage, bool) {
	s, ok := m.In[stageKey(v)]
	return s, ok
}

// Outbound returns the CRM value to write for stage s given the CRM's catalog
// of values in its own order (nil when the CRM has a fixed set), and false
// when no value maps to s (the stage is then not written).
func (m StageMap) Outbound(s Stage, catalog []string) (string, bool) {
	if s == "" {
		return "", false
	}
	if v, ok := m.Out[s]; ok {
		if catalog == nil {
			return v, true
		}
		for _, c := range catalog {
			if stageKey(c) == stageKey(v) {
				return c, true
			}
		}
		return "", false
	}
	for _, c := range catalog {
		if got, ok := m.Inbound(c); ok && got == s {
			return c, true
		}
	}
	return "", false
}

// With returns a copy of m with overrides applied: in maps CRM values to
// canonical stage names, out maps canonical stage names to CRM values. An
// unknown canonical stage name is an error naming it.
func (m StageMap) With(in map[string]string, out map[string]string) (StageMap, error) {
	r := StageMap{In: maps.Clone(m.In), Out: maps.Clone(m.Out)}
	if r.In == nil {
		r.In = map[string]Stage{}
	}
	if r.Out == nil {
		r.Out = map[Stage]string{}
	}
	for k, v := range in {
		if !ValidStage(Stage(v)) {
			return StageMap{}, fmt.Errorf("stage_map: %q maps to unknown stage %q (want one of %v)", k, v, Stages)
		}
		r.In[stageKey(k)] = Stage(v)
	}
	for k, v := range out {
		if !ValidStage(Stage(k)) {
			return StageMap{}, fmt.Errorf("stage_outbound: unknown stage %q (want one of %v)", k, Stages)
		}
		r.Out[Stage(k)] = v
	}
	return r, nil
}

// DefaultStageMap returns the default stage map of providers.md for a
// provider kind (nextlead, skarbe, epixel, ligo); an empty map for others.
func DefaultStageMap(provider string) StageMap {
	switch provider {
	case "nextlead":
		return StageMap{In: map[string]Stage{
			"new": StageNew, "lead": StageNew, "contacted": StageContacted,
			"qualified": StageQualified, "won": StageConverted, "converted": StageConverted,
			"client": StageConverted, "lost": StageLost, "disqualified": StageDisqualified,
		}}
	case "skarbe":
		return StageMap{In: map[string]Stage{
			"lead": StageNew, "qualified": StageQualified, "disqualified": StageDisqualified,
		}}
	case "epixel":
		return StageMap{
			In: map[string]Stage{
				"prospect": StageNew, "contact": StageContacted, "potential": StageQualified,
				"tentative": StageQualified, "customer": StageConverted, "closed": StageLost,
			},
			Out: map[Stage]string{
				StageNew: "prospect", StageContacted: "contact", StageQualified: "potential",
				StageConverted: "customer", StageLost: "closed", StageDisqualified: "closed",
			},
		}
	case "ligo":
		return StageMap{In: map[string]Stage{
			"pending": StageNew, "enriched": StageNew, "contacted": StageContacted,
			"qualified": StageQualified, "converted": StageConverted, "lost": StageLost,
		}}
	}
	return StageMap{In: map[string]Stage{}}
}

// MatchPipeline returns the catalog entry whose name equals stage, trimmed and
// case-insensitively, after aliases (canonical name → CRM name, or CRM name →
// canonical name) are applied; false when none matches.
func MatchPipeline(stage string, catalog []string, aliases map[string]string) (string, bool) {
	key := stageKey(stage)
	if key == "" {
		return "", false
	}
	want := []string{key}
	for k, v := range aliases {
		if stageKey(k) == key {
			want = append(want, stageKey(v))
		}
		if stageKey(v) == key {
			want = append(want, stageKey(k))
		}
	}
	for _, w := range want {
		for _, c := range catalog {
			if stageKey(c) == w {
				return c, true
			}
		}
	}
	return "", false
}
