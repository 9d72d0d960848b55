package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// callKinds is the column order of the calls table.
var callKinds = []string{KindList, KindGet, KindFind, KindCreate, KindUpdate, KindDelete, KindPipeline, KindNote, KindCatalog, KindAuth, KindOther}

// WriteJSON writes r as one JSON object and a newline.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write bench JSON: %w", err)
	}
	return nil
}

// WriteTable writes r as a human-readable report.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "people\t%d\t(seed %d, latency %gms, %d workers/queue)\n", r.People, r.Seed, r.LatencyMS, r.Workers)
	fmt.Fprintf(tw, "records\t%d → %d\n", r.Records, r.RecordsAfter)
	fmt.Fprintf(tw, "resync\t%.2f s\t%.0f people/s\n", r.Seconds, r.PeoplePerSecond)
	fmt.Fprintf(tw, "converged\t%v\t%d distinct people, missing %v\n", r.Converged, r.DistinctPeople, r.Missing)
	fmt.Fprintf(tw, "duplicates\t%d\t(beyond the dataset's Skarbe duplicates)\n", r.Duplicates)
	sims := "in the bench process"
	if r.SimProcesses {
		sims = "one child process each"
	}
	fmt.Fprintf(tw, "simulators\t%s\n", sims)
	var procs []string
	for _, name := range slices.Sorted(maps.Keys(r.PeakRSSByProcess)) {
		procs = append(procs, fmt.Sprintf("%s %.1f", name, float64(r.PeakRSSByProcess[name])/(1<<20)))
	}
	fmt.Fprintf(tw, "peak RSS\t%.1f MiB\t(largest of: %s MiB)\n", float64(r.PeakRSSBytes)/(1<<20), strings.Join(procs, ", "))
	fmt.Fprintf(tw, "API calls\t%d\t%.3f per person\n", r.APICallsTotal, r.APICallsPerPerson)
	if lb := r.LowerBound; lb != nil {
		fmt.Fprintf(tw, "lower bound calls\t%d\t%.3f per person (%d listing, %d creates, %d updates); calls ratio %.3f\n",
			lb.APICalls, lb.APICallsPerPerson, lb.ListCalls, lb.Creates, lb.Updates, r.CallsRatio)
		fmt.Fprintf(tw, "simulator rate\t%.0f list calls/s, %.0f write calls/s\t(medians of %d bursts; write bursts %s)\n",
			lb.ListRate, lb.WriteRate, len(lb.WriteRates), rates(lb.WriteRates))
		fmt.Fprintf(tw, "COPY\t%d rows in %.3f s\n", lb.CopyRows, lb.CopySeconds)
		fmt.Fprintf(tw, "lower bound\t%.2f s\n", lb.Seconds)
		fmt.Fprintf(tw, "ratio\t%.2f\t= seconds / lower_bound\n", r.Ratio)
	}
	if p := r.Propagation; p != nil {
		fmt.Fprintf(tw, "propagation\t%d edits at %.1f/s, %gs polling, %d destinations\n", p.Edits, p.EditRate, p.PollSeconds, p.Destinations)
		fmt.Fprintf(tw, "  latency\tp50 %.2f s\tp95 %.2f s\tmax %.2f s\tlost %d\n", p.P50, p.P95, p.Max, p.Lost)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nAPI calls by CRM and kind:")
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "CRM\t")
	var used []string
	for _, k := range callKinds {
		if r.APICalls.Kind(k) > 0 {
			used = append(used, k)
			fmt.Fprintf(tw, "%s\t", k)
		}
	}
	fmt.Fprint(tw, "total\t\n")
	for _, name := range slices.Sorted(maps.Keys(r.APICalls)) {
		m := r.APICalls[name]
		fmt.Fprintf(tw, "%s\t", name)
		var t int64
		for _, k := range used {
			fmt.Fprintf(tw, "%d\t", m[k])
			t += m[k]
		}
		fmt.Fprintf(tw, "%d\t\n", t)
	}
	return tw.Flush()
}

// rates prints measured rates as whole numbers.
func rates(xs []float64) string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = fmt.Sprintf("%.0f", x)
	}
	return strings.Join(out, ", ")
}
