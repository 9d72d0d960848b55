package mapping

import (
	"fmt"
	"maps"
	"slices"
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
// of values in its own order (nil when the CRM has a fixed set of values),
// and false when no value maps to s: the stage is then not written.
//
// When Out names a value for s, that value is written: with a catalog, the
// catalog's spelling of it (compared trimmed and case-insensitively), or
// false when the catalog lacks it; an empty Out value means "never write s".
// Otherwise the first catalog value, in the catalog's order, that maps
// inbound to s is written (NextLead: the first tag by API order; Skarbe: the
// first status type, the adapter passing types by status order).
func (m StageMap) Outbound(s Stage, catalog []string) (string, bool) {
	if s == "" {
		return "", false
	}
	if v, ok := m.Out[s]; ok {
		if stageKey(v) == "" {
			return "", false
		}
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

// IsZero reports whether m is the zero StageMap (no inbound and no outbound
// entries), which providers.Options reads as "the provider's default".
func (m StageMap) IsZero() bool { return len(m.In) == 0 && len(m.Out) == 0 }

// With returns a copy of m with a connection's overrides applied; m is not
// changed. in is the config's stage_map (CRM value → canonical stage name)
// and out its stage_outbound (canonical stage name → CRM value). CRM values
// compare trimmed and case-insensitively; canonical stage names are trimmed
// and lower-cased. An empty canonical stage in in removes the CRM value's
// mapping (it becomes unmapped); an empty CRM value in out means the stage is
// never written. Every unknown canonical stage name, and an empty CRM value
// key in in, is an error naming them all.
func (m StageMap) With(in map[string]string, out map[string]string) (StageMap, error) {
	r := StageMap{In: maps.Clone(m.In), Out: maps.Clone(m.Out)}
	if r.In == nil {
		r.In = map[string]Stage{}
	}
	if r.Out == nil {
		r.Out = map[Stage]string{}
	}
	var bad []string
	for _, k := range slices.Sorted(maps.Keys(in)) {
		v := stageKey(in[k])
		switch {
		case stageKey(k) == "":
			bad = append(bad, fmt.Sprintf("stage_map: an empty CRM value maps to %q", in[k]))
		case v == "":
			delete(r.In, stageKey(k))
		case !ValidStage(Stage(v)):
			bad = append(bad, fmt.Sprintf("stage_map: %q maps to unknown stage %q", k, in[k]))
		default:
			r.In[stageKey(k)] = Stage(v)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(out)) {
		st := Stage(stageKey(k))
		if !ValidStage(st) {
			bad = append(bad, fmt.Sprintf("stage_outbound: unknown stage %q", k))
			continue
		}
		r.Out[st] = CollapseSpace(out[k])
	}
	if len(bad) > 0 {
		return StageMap{}, fmt.Errorf("%s (canonical stages are %s)", strings.Join(bad, "; "), stageNames())
	}
	return r, nil
}

func stageNames() string {
	names := make([]string, len(Stages))
	for i, s := range Stages {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// DefaultStageMap returns a fresh copy of the default stage map of
// providers.md for a provider kind (nextlead, skarbe, epixel, ligo; any case);
// an empty map for others. The CRM values are:
//   - nextlead: conversion tag names (New/Lead, Contacted, Qualified,
//     Won/Converted/Client, Lost, Disqualified); outbound is the first tag of
//     the catalog, in API order, that maps to the stage;
//   - skarbe: lead status types (lead, qualified, disqualified); outbound is
//     the first type mapping to the stage, and contacted, converted and lost
//     are never written;
//   - epixel: status values, with a fixed outbound table (disqualified is
//     written as closed);
//   - ligo: the read-only status (pending and enriched are new); nothing is
//     written.
func DefaultStageMap(provider string) StageMap {
	switch strings.ToLower(strings.TrimSpace(provider)) {
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

// MatchPipeline returns the catalog entry (a NextLead sale column or a Ligo
// pipeline state name) whose name equals stage, trimmed, with white space
// collapsed and case-insensitively; false when none matches (the stage is
// then not written). aliases are the connection's pipeline_aliases: each
// entry makes its two names equivalent, in either direction, so it may map a
// canonical name to the CRM's or the CRM's to the canonical one. A direct
// match wins over an alias; among aliases, the first catalog entry (in
// catalog order) that matches wins, so the result does not depend on map
// order.
func MatchPipeline(stage string, catalog []string, aliases map[string]string) (string, bool) {
	key := stageKey(stage)
	if key == "" {
		return "", false
	}
	for _, c := range catalog {
		if stageKey(c) == key {
			return c, true
		}
	}
	var want []string
	for k, v := range aliases {
		switch key {
		case stageKey(k):
			want = append(want, stageKey(v))
		case stageKey(v):
			want = append(want, stageKey(k))
		}
	}
	for _, c := range catalog {
		if ck := stageKey(c); ck != "" && slices.Contains(want, ck) {
			return c, true
		}
	}
	return "", false
}
