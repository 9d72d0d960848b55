// Package integration is crmsync's end-to-end suite: a Postgres container
// (internal/pgtest), the four CRM simulators seeded with one overlapping
// dataset, and three worker processes of the real crmsync binary. Every
// scenario asserts on the simulators' own state, never on crmsync's word.
//
// Run it with `source scripts/test-env.sh && go test ./integration/`; with
// -short it is skipped.
package integration
