package main

// The server's clock, which a suite moves ahead (GET /api/clock, POST
// /api/clock/advance): what a Go test has from testing/synctest, for a
// suite in any language whose own clock is fake (freezegun, Jest's fake
// timers). It governs the timing of the faults: greylisting windows
// (greylistFor), rateLimitPer's interval, and the waits of delay,
// trickle, splitReply and idleReply, those in progress included (a wait
// whose end the clock passes ends at once; a move past several pauses of
// a paced reply ends them all); each session live at a move notes it in
// its transcript ("clock moved ahead 5m0s (5m0s in all)"), which the
// normalized transcript leaves out. Nothing else: the times of
// sessions, transcript lines and messages, the read timeout (-read-timeout),
// the waits of the API (timeout=) and the HTTP timeouts are real time, and
// the clock never goes back (DELETE /api/messages leaves it as it is).

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/mocksmtp/mocksmtp"
	"github.com/mocksmtp/mocksmtp/internal/clock"
)

// clockOption gives the server the program's clock: mocksmtp.New takes
// it from FaultClock (clock.Carrier) and applies nothing, so the nil
// Option it embeds, for its method set, is never called.
type clockOption struct {
	mocksmtp.Option
	clock *clock.Clock
}

func (o clockOption) FaultClock() *clock.Clock { return o.clock }

// clockJSON is the clock, as GET /api/clock and POST /api/clock/advance
// answer it.
type clockJSON struct {
	Now    time.Time `json:"now"`    // the server's time: real time plus offset
	Offset duration  `json:"offset"` // how far it was moved ahead, in all
}

// advanceRequest is the body of POST /api/clock/advance.
type advanceRequest struct {
	By json.RawMessage `json:"by"` // a Go duration string, positive
}

// maxClockBody bounds the body of POST /api/clock/advance: a duration
// is a few octets.
const maxClockBody = 4 << 10

const advanceUsage = `want {"by": "5m"}: a Go duration to move the clock ahead by`

func (a *api) getClock(w http.ResponseWriter, r *http.Request) {
	if _, ok := query(w, r, false); !ok {
		return
	}
	off, now := a.clock.Offset()
	writeJSON(w, http.StatusOK, clockJSON{Now: now, Offset: duration(off)})
}

func (a *api) advanceClock(w http.ResponseWriter, r *http.Request) {
	if _, ok := query(w, r, false); !ok {
		return
	}
	data, ok := readBody(w, r, maxClockBody)
	if !ok {
		return
	}
	if len(data) == 0 {
		writeError(w, http.StatusBadRequest, "%s: no body; %s", requestName(r), advanceUsage)
		return
	}
	var req advanceRequest
	if err := decodeStrict(data, &req); err != nil {
		writeError(w, http.StatusBadRequest, "%s: %v; %s", requestName(r), err, advanceUsage)
		return
	}
	by, err := parseAdvance(req.By)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%s: by: %v", requestName(r), err)
		return
	}
	if a.clock == nil {
		writeError(w, http.StatusInternalServerError, "%s: this server has no clock to move", requestName(r))
		return
	}
	off, now, err := a.clock.Advance(by)
	if errors.Is(err, clock.ErrTooFar) {
		writeError(w, http.StatusBadRequest, "%s: by: %v would move the clock %v ahead of real time in all; it moves at most %v (restart mocksmtp to start again)", requestName(r), by, off+by, clock.MaxOffset)
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "%s: by: %v", requestName(r), err)
		return
	}
	a.log.Info("clock advanced", "by", by, "offset", off)
	writeJSON(w, http.StatusOK, clockJSON{Now: now, Offset: duration(off)})
}

// parseAdvance reads the "by" of POST /api/clock/advance: a Go duration
// string, positive.
func parseAdvance(raw json.RawMessage) (time.Duration, error) {
	if raw == nil || string(raw) == "null" {
		return 0, errors.New("missing; " + advanceUsage)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, fmt.Errorf("want a duration string such as \"5m\" or \"1h30m\", got %s", clip(string(raw)))
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return 0, fmt.Errorf("want a duration such as \"5m\" or \"1h30m\": %s", clipQuoted(err))
	case d < 0:
		return 0, fmt.Errorf("%q is negative: the clock never goes back", clip(s))
	case d == 0:
		return 0, fmt.Errorf("%q: want a positive duration", clip(s))
	case d > clock.MaxOffset:
		return 0, fmt.Errorf("%q: the clock moves at most %v ahead of real time in all", clip(s), clock.MaxOffset)
	}
	return d, nil
}
