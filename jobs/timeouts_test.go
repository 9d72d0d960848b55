package jobs

import (
	"testing"
	"time"
)

func TestScaledTimeouts(t *testing.T) {
	tests := []struct {
		name   string
		rescue time.Duration
		want   Timeouts
	}{
		{"zero keeps defaults", 0, DefaultTimeouts()},
		{"longer only moves the rescue", 10 * time.Minute,
			Timeouts{Poll: PollTimeout, List: ListTimeout, Push: PushTimeout, Rescue: 10 * time.Minute, PushSlice: pushSlice}},
		{"shorter scales every timeout", RescueStuckJobsAfter / 10,
			Timeouts{Poll: PollTimeout / 10, List: ListTimeout / 10, Push: PushTimeout / 10, Rescue: RescueStuckJobsAfter / 10, PushSlice: pushSlice / 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ScaledTimeouts(tt.rescue)
			if got != tt.want {
				t.Fatalf("ScaledTimeouts(%s) = %+v, want %+v", tt.rescue, got, tt.want)
			}
			// The list timeout is longer than the rescue: list jobs beat.
			for _, d := range []time.Duration{got.Poll, got.Push, got.PushSlice} {
				if d >= got.Rescue {
					t.Errorf("timeout %s not below the rescue %s", d, got.Rescue)
				}
			}
		})
	}
}

func TestTimeoutsFromEnv(t *testing.T) {
	t.Setenv(EnvRescueAfter, "10s")
	if got := TimeoutsFromEnv(); got.Rescue != 10*time.Second || got.Push >= 10*time.Second {
		t.Fatalf("TimeoutsFromEnv() = %+v", got)
	}
	t.Setenv(EnvRescueAfter, "nonsense")
	if got := TimeoutsFromEnv(); got != DefaultTimeouts() {
		t.Fatalf("TimeoutsFromEnv() with a bad value = %+v", got)
	}
}
