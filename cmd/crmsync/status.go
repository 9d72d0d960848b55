package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/crmsync/crmsync/engine"
)

func runStatus(ctx context.Context, g *globals, args []string) error {
	fs := newFlags(g, "status")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	a, err := g.openApp(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	st, err := a.Engine.Status(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	printStatus(g.stdout, st)
	return nil
}

func printStatus(w io.Writer, st *engine.Status) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "CONNECTION\tPROVIDER\tLINKED\tLAST POLL\tQUEUED\tJOBS\tRUNNING\tCREATES\tUPDATES\tDELETES\tSKIPS\tFAILURES\n")
	for _, c := range st.Connections {
		last := "never"
		if c.LastPollOK != nil {
			last = time.Since(*c.LastPollOK).Round(time.Second).String() + " ago"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", c.Name, c.Provider, c.Linked, last, c.Queued,
			c.JobsAvailable, c.JobsRunning, c.Writes["create"], c.Writes["update"], c.Writes["delete"], sum(c.Skips), sum(c.Failures))
	}
	tw.Flush()
	fmt.Fprintf(w, "\npeople: %d   merges: %d\n", st.People, st.Merges)
	for _, c := range st.Connections {
		printReasons(w, c.Name, "skipped", c.Skips)
		printReasons(w, c.Name, "failed", c.Failures)
		if c.LastError != "" {
			fmt.Fprintf(w, "%s last poll error: %s\n", c.Name, c.LastError)
		}
	}
	if r := st.LastRun; r != nil {
		fmt.Fprintf(w, "\nlast resync #%d: %s (connections %v)\n", r.ID, r.State, r.Connections)
		for _, p := range r.Progress {
			fmt.Fprintf(w, "  %-10s listed %d%s, creates %d, updates %d, skips %d, failures %d, queued %d\n", p.Connection,
				p.Listed, map[bool]string{true: " (done)", false: ""}[p.ListDone], p.Creates, p.Updates, p.Skips, p.Failures, p.Queued)
		}
	}
}

func printReasons(w io.Writer, conn, what string, m map[string]int64) {
	type kv struct {
		k string
		v int64
	}
	var list []kv
	for k, v := range m {
		list = append(list, kv{k, v})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].v > list[j].v })
	for i, e := range list {
		if i == 5 {
			fmt.Fprintf(w, "  … %d more reasons\n", len(list)-5)
			break
		}
		fmt.Fprintf(w, "%s %s %d× %s\n", conn, what, e.v, e.k)
	}
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}
