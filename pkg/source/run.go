package source

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/gitopsd/gitopsd/pkg/logkey"
)

// jitter spreads each wait by up to this fraction either way, so that many
// daemons started together do not poll a server in step.
const jitter = 0.1

// Run polls until ctx ends, then returns nil. It polls at once, then every
// Interval; after a failure it waits Interval, doubling with each further
// failure up to MaxBackoff. Trigger cuts a wait short. Failures are logged
// here and kept in Status; the last good snapshot stays current.
func (p *Poller) Run(ctx context.Context) error {
	defer p.setNextPoll(time.Time{})
	for {
		start := time.Now()
		_, err := p.Poll(ctx)
		if ctx.Err() != nil {
			return nil
		}
		st := p.Status()
		delay := spread(backoff(p.opts.Interval, p.opts.MaxBackoff, st.ConsecutiveFailures), rand.Float64())
		next := time.Now().Add(delay)
		p.setNextPoll(next)
		if err != nil {
			p.log.Warn("poll failed", logkey.Error, err, logkey.Reason, ReasonOf(err),
				logkey.ConsecutiveFailures, st.ConsecutiveFailures, logkey.NextPoll, next)
		} else {
			p.log.Debug("polled", logkey.Commit, st.Commit, logkey.Duration, time.Since(start), logkey.NextPoll, next)
		}

		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-p.trigger:
			t.Stop()
		case <-t.C:
		}
	}
}

// backoff is the wait after failures consecutive failed rounds: interval
// when none, then interval doubled per failure, capped at max.
func backoff(interval, max time.Duration, failures int) time.Duration {
	d := interval
	for i := 1; i < failures && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// spread moves d by up to ±jitter; r is uniform in [0, 1).
func spread(d time.Duration, r float64) time.Duration {
	return time.Duration(float64(d) * (1 - jitter + 2*jitter*r))
}
